import { Option, type Command } from "commander";
import type { QueueCliOptions } from "../../jobs/queue/resolve-service.ts";
import { EXIT_CODES } from "../exit-codes.ts";
import type { CliIo } from "../cli-types.ts";
import { positiveInteger } from "./worker.command.ts";

/**
 * `keyproof serve`: the HTTP API. On start it stores the config for scheduled runs and syncs the
 * schedules; it runs until SIGTERM/SIGINT, then stops accepting requests and closes cleanly.
 */
export function registerServeCommand(program: Command, io: CliIo, setExitCode: (code: number) => void): void {
  program
    .command("serve")
    .description("serve the HTTP API (on-demand evidence requests, run status, downloads)")
    .requiredOption("-c, --config <file>", "keyproof.yaml")
    .option("--host <host>", "address to listen on", "127.0.0.1")
    .addOption(new Option("--port <port>", "port to listen on").default(8080).argParser(positiveInteger))
    .option("--redis-url <url>", "Redis URL (default env REDIS_URL)")
    .option("--prefix <prefix>", "queue key prefix")
    .option("--data-dir <dir>", "shared data directory (bundles)")
    .option("--no-schedules", "do not sync the config's schedules on start")
    .option(
      "--no-render",
      "runs started by the service skip screenshots and PDF reports (no render worker needed)",
    )
    .action(
      async (
        options: QueueCliOptions & { host: string; port: number; schedules: boolean; render: boolean },
      ) => {
        // Loaded here, not at the top: fastify, bullmq and the providers stay out of `keyproof --help`.
        const [
          { buildApiServer },
          { QueueClient },
          { assertRedisReachable, checkEvictionPolicy },
          { describeSettings, resolveService },
          { storeServiceConfig },
          { syncSchedules },
        ] = await Promise.all([
          import("../../api/api-server.ts"),
          import("../../jobs/queue/queue-client.ts"),
          import("../../jobs/queue/redis-connection.ts"),
          import("../../jobs/queue/resolve-service.ts"),
          import("../../jobs/queue/service-config.ts"),
          import("../../jobs/schedules/schedule-sync.ts"),
        ]);
        const service = await resolveService(options, true);
        const loaded = service.loaded;
        if (loaded === undefined) return;
        const client = QueueClient.connect(service.settings.redisUrl, service.settings.prefix);
        await assertRedisReachable(client.redis, service.settings.redisUrl);
        const eviction = await checkEvictionPolicy(client.redis);
        if (!eviction.ok) io.stderr(`keyproof serve: WARNING: ${eviction.warning ?? ""}\n`);
        const serviceContext = {
          config: loaded.config,
          configDirectory: loaded.directory,
          dataDirectory: service.settings.dataDirectory,
          render: options.render,
        };
        await storeServiceConfig(client.redis, client.prefix, serviceContext);
        if (options.schedules) {
          const synced = await syncSchedules(client.queue("schedule"), service.schedules);
          io.stderr(
            `keyproof serve: schedules ${synced.upserted.join(", ") || "(none)"}${synced.removed.length > 0 ? `, removed ${synced.removed.join(", ")}` : ""}\n`,
          );
        }
        const app = await buildApiServer({
          client,
          service: serviceContext,
          logger: { level: process.env.KEYPROOF_LOG_LEVEL ?? "info", redact: ["req.headers.authorization"] },
        });
        const address = await app.listen({ host: options.host, port: options.port });
        io.stderr(`keyproof serve: listening on ${address} (${describeSettings(service.settings)})\n`);
        io.stderr(
          "keyproof serve: the queue dashboard (/admin/queues) needs @bull-board/api and @bull-board/fastify, not installed\n",
        );
        await new Promise<void>((resolve) => {
          const stop = (): void => {
            app
              .close()
              .then(() => client.close())
              .finally(resolve);
          };
          process.once("SIGTERM", stop);
          process.once("SIGINT", stop);
        });
        setExitCode(EXIT_CODES.OK);
      },
    );
}
