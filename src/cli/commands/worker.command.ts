import { InvalidArgumentError, Option, type Command } from "commander";
import { QUEUE_NAMES } from "../../jobs/queue/job-names.ts";
import type { CliIo } from "../cli-types.ts";

/**
 * `keyproof worker [--queues collect,render,...] [--concurrency N]`: a long-running worker process.
 * Redis comes from --redis-url or REDIS_URL; the worker needs no config file (each run's plan is in Redis).
 */
export function registerWorkerCommand(
  program: Command,
  io: CliIo,
  setExitCode: (code: number) => void,
): void {
  program
    .command("worker")
    .description("process queued jobs until SIGTERM (in-flight jobs finish first)")
    .option("--queues <list>", `comma-separated queues: ${QUEUE_NAMES.join(", ")} (default all)`)
    .addOption(
      new Option("--concurrency <n>", "jobs at once per queue in this process").argParser(positiveInteger),
    )
    .option(
      "--redis-url <url>",
      "redis://, rediss://, redis+sentinel://host:port,…/<master> or redis+cluster://host:port,… (default env REDIS_URL)",
    )
    .option("--prefix <prefix>", "queue key prefix (default env KEYPROOF_QUEUE_PREFIX or keyproof)")
    .action(
      async (options: { queues?: string; concurrency?: number; redisUrl?: string; prefix?: string }) => {
        io.stderr(`keyproof worker: queues ${options.queues ?? "all"}\n`);
        // Loaded here, not at the top: bullmq and the providers stay out of `keyproof --help` (src/cli/main.ts).
        const { runWorkerProcess } = await import("../../../workers/bootstrap.ts");
        setExitCode(
          await runWorkerProcess({
            queues: options.queues === undefined ? [...QUEUE_NAMES] : options.queues.split(","),
            ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
            ...(options.redisUrl === undefined ? {} : { redisUrl: options.redisUrl }),
            ...(options.prefix === undefined ? {} : { prefix: options.prefix }),
          }),
        );
      },
    );
}

/** Like positiveInteger, with 0 allowed (`--delivery-wait 0`: do not wait). */
export function nonNegativeInteger(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0)
    throw new InvalidArgumentError(`"${value}" is not a whole number of 0 or more`);
  return parsed;
}

export function positiveInteger(value: string): number {
  const parsed = Number(value);
  // InvalidArgumentError makes commander report the option and exit 2 (bad input), not 1.
  if (!Number.isInteger(parsed) || parsed < 1)
    throw new InvalidArgumentError(`"${value}" is not a positive whole number`);
  return parsed;
}
