import { Option, type Command } from "commander";
import { API_ROLES, ApiTokenStore, type ApiRole } from "../../auth/api-tokens.ts";
import { KeyproofError } from "../../errors/errors.ts";
import type { QueueCliOptions } from "../../jobs/queue/resolve-service.ts";
import { EXIT_CODES } from "../exit-codes.ts";
import type { CliIo } from "../cli-types.ts";

/** `keyproof token create|list|revoke`: API bearer tokens, stored hashed in Redis. */
export function registerTokenCommand(program: Command, io: CliIo, setExitCode: (code: number) => void): void {
  const token = program
    .command("token")
    .description("manage API tokens (stored as SHA-256 digests in Redis)");
  const withQueueOptions = (command: Command): Command =>
    command
      .option("-c, --config <file>", "keyproof.yaml (for its queue: section)")
      .option("--redis-url <url>", "Redis URL (default env REDIS_URL)")
      .option("--prefix <prefix>", "queue key prefix");

  withQueueOptions(
    token
      .command("create")
      .description("create a token; it is printed once and cannot be shown again")
      .addOption(
        new Option("--role <role>", "what the token may do").choices([...API_ROLES]).makeOptionMandatory(),
      )
      .requiredOption("--name <name>", "who or what holds the token, e.g. jane-auditor")
      .option("--json", "print as JSON"),
  ).action(async (options: QueueCliOptions & { role: ApiRole; name: string; json?: boolean }) => {
    setExitCode(
      await withTokens(options, async (tokens) => {
        const created = await tokens.create({ name: options.name, role: options.role });
        if (options.json === true)
          io.stdout(`${JSON.stringify({ token: created.token, ...created.record }, null, 2)}\n`);
        else {
          io.stdout(`${created.token}\n`);
          io.stderr(
            `token ${created.record.name} (${created.record.role}, id ${created.record.id}) created; store it now, it is not kept\n`,
          );
        }
        return EXIT_CODES.OK;
      }),
    );
  });

  withQueueOptions(
    token
      .command("list")
      .description("list tokens (names, roles, ids; never the tokens)")
      .option("--json", "print as JSON"),
  ).action(async (options: QueueCliOptions & { json?: boolean }) => {
    setExitCode(
      await withTokens(options, async (tokens) => {
        const records = await tokens.list();
        if (options.json === true) io.stdout(`${JSON.stringify(records, null, 2)}\n`);
        else if (records.length === 0) io.stdout("no tokens\n");
        else
          for (const record of records)
            io.stdout(
              `${record.id}  ${record.role.padEnd(8)}  ${record.name}  created ${record.createdAt}\n`,
            );
        return EXIT_CODES.OK;
      }),
    );
  });

  withQueueOptions(
    token.command("revoke").description("revoke a token by name or id").argument("<name-or-id>"),
  ).action(async (nameOrId: string, options: QueueCliOptions) => {
    setExitCode(
      await withTokens(options, async (tokens) => {
        const revoked = await tokens.revoke(nameOrId);
        if (revoked === undefined)
          throw new KeyproofError("ARGUMENT_INVALID", `no token named or with id "${nameOrId}"`);
        io.stdout(`revoked ${revoked.name} (${revoked.role}, id ${revoked.id})\n`);
        return EXIT_CODES.OK;
      }),
    );
  });
}

async function withTokens(
  options: QueueCliOptions,
  run: (tokens: ApiTokenStore) => Promise<number>,
): Promise<number> {
  // Loaded here, not at the top: ioredis and the config loader stay out of `keyproof --help`.
  const [{ createRedisConnection }, { resolveService }] = await Promise.all([
    import("../../jobs/queue/redis-connection.ts"),
    import("../../jobs/queue/resolve-service.ts"),
  ]);
  const { settings } = await resolveService(options, false);
  const redis = createRedisConnection(settings.redisUrl, "client", "keyproof-token");
  try {
    return await run(new ApiTokenStore(redis, settings.prefix));
  } finally {
    await redis.quit().catch(() => undefined);
  }
}
