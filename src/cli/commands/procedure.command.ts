import type { Command } from "commander";
import type { CliIo, ProcedureApproveOptions, ProcedureShowOptions } from "../cli-types.ts";

/**
 * `keyproof procedure show|approve`: the key-management procedure text this configuration produces, and
 * its approvals (procedure step 6). Light on purpose: the work (config loader, ioredis) is imported by
 * procedure-actions.ts inside each action, so `keyproof --help` loads none of it.
 */
export function registerProcedureCommand(
  program: Command,
  io: CliIo,
  setExitCode: (code: number) => void,
): void {
  const procedure = program
    .command("procedure")
    .description("the key-management procedure (step 6): show its version and digest, record an approval");
  const withQueueOptions = (command: Command): Command =>
    command
      .requiredOption("-c, --config <file>", "keyproof.yaml: the procedure text is built from it")
      .option("--redis-url <url>", "Redis URL (default env REDIS_URL, then queue.redisUrl)")
      .option("--prefix <prefix>", "queue key prefix");

  withQueueOptions(
    procedure
      .command("show")
      .description(
        "print the current procedure's version and digest, the latest approval and whether it matches",
      )
      .option("--json", "print as JSON")
      .option("--text", "also print the normative text that an approval covers"),
  ).action(async (options: ProcedureShowOptions) => {
    const { runProcedureShow } = await import("./procedure-actions.ts");
    setExitCode(await runProcedureShow(options, io));
  });

  withQueueOptions(
    procedure
      .command("approve")
      .description("record an approval of the CURRENT procedure text (computed from the config) by a person")
      .requiredOption("--name <name>", "who approves, as a signature shows it")
      .requiredOption("--title <title>", "their title, e.g. Engineering Lead")
      .option("--json", "print the approval as JSON"),
  ).action(async (options: ProcedureApproveOptions) => {
    const { runProcedureApprove } = await import("./procedure-actions.ts");
    setExitCode(await runProcedureApprove(options, io));
  });
}
