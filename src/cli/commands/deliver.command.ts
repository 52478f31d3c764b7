import type { Command } from "commander";
import type { CliIo } from "../cli-types.ts";
import type { DeliverCliOptions } from "./deliver-actions.ts";

export function registerDeliverCommand(
  program: Command,
  io: CliIo,
  setExitCode: (code: number) => void,
): void {
  program
    .command("deliver")
    .description(
      "deliver a sealed run's evidence to its deliver: targets again: sends only what is missing; exit 0 when every target is delivered, 3 when one failed",
    )
    .requiredOption("--run <id>", "the run whose bundle to deliver")
    .option("--target <name>", "only this deliver: target")
    .option("-c, --config <file>", "keyproof.yaml (default: the config the queued run was made with)")
    .option(
      "--resend <path>",
      "send this artifact (bundle path, or '(finish)') again although it may have been delivered (repeatable)",
      (value: string, previous: string[] | undefined) => [...(previous ?? []), value],
    )
    .option("-o, --out <dir>", "directory the run wrote its bundle to (runs not in the queue)", "evidence")
    .option("--redis-url <url>", "the queue's Redis (default REDIS_URL, then queue.redisUrl)")
    .option("--prefix <prefix>", "queue key prefix (default KEYPROOF_QUEUE_PREFIX, then keyproof)")
    .option("--json", "print the outcomes as JSON")
    .action(async (options: DeliverCliOptions) => {
      const { runDeliverCommand } = await import("./deliver-actions.ts");
      setExitCode(await runDeliverCommand(options, io));
    });
}
