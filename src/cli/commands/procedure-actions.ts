import { userInfo } from "node:os";
import type { LoadedConfig } from "../../config/load-config.ts";
import { KeyproofError } from "../../errors/errors.ts";
import { createRedisConnection } from "../../jobs/queue/redis-connection.ts";
import { resolveService } from "../../jobs/queue/resolve-service.ts";
import type { ProcedureApproval, ProcedureIdentity } from "../../model/review.ts";
import { ProcedureApprovalStore } from "../../procedure/approval-store.ts";
import { procedureIdentityOf, procedureInputOf, procedureTextOf } from "../../procedure/procedure-text.ts";
import type { CliIo, ProcedureApproveOptions, ProcedureShowOptions } from "../cli-types.ts";
import { EXIT_CODES } from "../exit-codes.ts";

/** The work of `keyproof procedure`, imported only when one of its subcommands runs. */

async function withApprovals(
  options: ProcedureShowOptions | ProcedureApproveOptions,
  run: (store: ProcedureApprovalStore, loaded: LoadedConfig) => Promise<number>,
): Promise<number> {
  const { settings, loaded } = await resolveService(options, true);
  // resolveService loads the config whenever it is required; a missing one has already thrown.
  if (loaded === undefined) throw new KeyproofError("INTERNAL", "the config was not loaded");
  const redis = createRedisConnection(settings.redisUrl, "client", "keyproof-procedure");
  try {
    return await run(new ProcedureApprovalStore(redis, settings.prefix), loaded);
  } finally {
    await redis.quit().catch(() => undefined);
  }
}

/** `cli:<os user>`: who recorded an approval from a shell (the API records the token name instead). */
export function cliRecorder(): string {
  try {
    return `cli:${userInfo().username}`;
  } catch {
    // userInfo throws for a uid without a passwd entry (containers); the variable is the next best name.
    return `cli:${process.env.USER ?? process.env.USERNAME ?? "unknown"}`;
  }
}

function describeApproval(approval: ProcedureApproval): string {
  return `${approval.name} (${approval.title}) on ${approval.approvedAt}, version ${approval.version}, recorded by ${approval.recordedBy}`;
}

export async function runProcedureShow(options: ProcedureShowOptions, io: CliIo): Promise<number> {
  return withApprovals(options, async (store, loaded) => {
    const input = procedureInputOf(loaded.config);
    const current: ProcedureIdentity = procedureIdentityOf(input);
    const latest = await store.latestApproval();
    const matches = latest !== undefined && latest.textSha256 === current.textSha256;
    if (options.json === true) {
      io.stdout(
        `${JSON.stringify({ procedure: current, latestApproval: latest ?? null, matchesCurrentText: matches, ...(options.text === true ? { text: procedureTextOf(input) } : {}) }, null, 2)}\n`,
      );
      return EXIT_CODES.OK;
    }
    io.stdout(`procedure version ${current.version}\nsha256 ${current.textSha256}\n`);
    if (latest === undefined) io.stdout("latest approval: none\n");
    else {
      io.stdout(`latest approval: ${describeApproval(latest)}\n`);
      io.stdout(
        matches
          ? "matches the current text\n"
          : `does NOT match the current text (approved sha256 ${latest.textSha256}): approve again\n`,
      );
    }
    if (options.text === true) io.stdout(`\n${procedureTextOf(input)}`);
    return EXIT_CODES.OK;
  });
}

export async function runProcedureApprove(options: ProcedureApproveOptions, io: CliIo): Promise<number> {
  return withApprovals(options, async (store, loaded) => {
    const approval = await store.recordApproval({
      procedure: procedureIdentityOf(procedureInputOf(loaded.config)),
      name: options.name,
      title: options.title,
      recordedBy: cliRecorder(),
    });
    if (options.json === true) io.stdout(`${JSON.stringify(approval, null, 2)}\n`);
    else io.stdout(`approved procedure version ${approval.version}: ${describeApproval(approval)}\n`);
    return EXIT_CODES.OK;
  });
}
