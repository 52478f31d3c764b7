import pino from "pino";
import { KeyproofError, describeError } from "../src/errors/errors.ts";
import { QUEUE_NAMES, isQueueName, type QueueName } from "../src/jobs/queue/job-names.ts";
import { resolveQueueSettings } from "../src/jobs/queue/queue-settings.ts";
import { redactRedisUrl } from "../src/jobs/queue/redis-connection.ts";
import { startWorkerRuntime } from "../src/jobs/queue/worker-runtime.ts";

/**
 * The worker process: connect, check Redis, start one BullMQ worker per queue, and stop gracefully.
 *
 * SIGTERM/SIGINT: workers stop taking jobs and finish the ones in flight (`worker.close()`), then the
 * process exits 0. A second signal exits at once (exit 130); the jobs it cuts off lose their locks and
 * another worker takes them after the lock duration (the steps are safe to run again).
 */
export interface WorkerProcessOptions {
  queues: readonly string[];
  concurrency?: number;
  redisUrl?: string;
  prefix?: string;
  /** Milliseconds; see WorkerTuning.lockDurationMs. Env KEYPROOF_WORKER_LOCK_MS. */
  lockDurationMs?: number;
}

export function parseQueueList(value: string | undefined): QueueName[] {
  if (value === undefined || value.trim() === "" || value === "all") return [...QUEUE_NAMES];
  const names = value
    .split(",")
    .map((name) => name.trim())
    .filter((name) => name !== "");
  const unknown = names.filter((name) => !isQueueName(name));
  if (unknown.length > 0) {
    throw new KeyproofError(
      "ARGUMENT_INVALID",
      `--queues: unknown queue(s) ${unknown.join(", ")}; queues: ${QUEUE_NAMES.join(", ")}`,
    );
  }
  return [...new Set(names as QueueName[])];
}

export async function runWorkerProcess(options: WorkerProcessOptions): Promise<number> {
  const logger = pino({ name: "keyproof-worker", base: { pid: process.pid } }, pino.destination(2));
  const queues = parseQueueList(options.queues.join(","));
  const settings = resolveQueueSettings({
    overrides: {
      ...(options.redisUrl === undefined ? {} : { redisUrl: options.redisUrl }),
      ...(options.prefix === undefined ? {} : { prefix: options.prefix }),
    },
  });
  if (settings.redisUrl === undefined) {
    throw new KeyproofError("ARGUMENT_INVALID", "no Redis configured for the worker", {
      remediation: "set REDIS_URL or pass --redis-url",
    });
  }
  const lockFromEnv = Number(process.env.KEYPROOF_WORKER_LOCK_MS);
  const lockDurationMs =
    options.lockDurationMs ?? (Number.isFinite(lockFromEnv) && lockFromEnv > 0 ? lockFromEnv : undefined);
  const concurrencyFromEnv = Number(process.env.KEYPROOF_WORKER_CONCURRENCY);
  const concurrency =
    options.concurrency ??
    (Number.isInteger(concurrencyFromEnv) && concurrencyFromEnv > 0 ? concurrencyFromEnv : undefined);

  logger.info({ queues, redis: redactRedisUrl(settings.redisUrl), prefix: settings.prefix }, "starting");
  const runtime = await startWorkerRuntime({
    redisUrl: settings.redisUrl,
    prefix: settings.prefix,
    queues,
    tuning: {
      ...(concurrency === undefined ? {} : { concurrency }),
      ...(lockDurationMs === undefined ? {} : { lockDurationMs }),
    },
    logger,
    dataDirectory: settings.dataDirectory,
  });
  if (!runtime.eviction.ok)
    process.stderr.write(`keyproof worker: WARNING: ${runtime.eviction.warning ?? ""}\n`);
  logger.info({ queues }, "ready");

  return new Promise<number>((resolve) => {
    let closing = false;
    const stop = (signal: NodeJS.Signals): void => {
      if (closing) {
        logger.warn({ signal }, "second signal: exiting without waiting for jobs in flight");
        process.exit(130);
      }
      closing = true;
      logger.info({ signal }, "closing: finishing jobs in flight");
      runtime
        .close()
        .then(() => {
          logger.info({}, "closed");
          resolve(0);
        })
        .catch((error: unknown) => {
          logger.error({ err: describeError(error) }, "close failed");
          resolve(1);
        });
    };
    process.on("SIGTERM", () => stop("SIGTERM"));
    process.on("SIGINT", () => stop("SIGINT"));
  });
}

/** For the per-kind entrypoints: run, report a startup error without a stack, set the exit code. */
export async function runWorkerEntrypoint(queues: readonly QueueName[]): Promise<void> {
  try {
    process.exitCode = await runWorkerProcess({ queues });
  } catch (error) {
    process.stderr.write(`keyproof worker: ${describeError(error)}\n`);
    process.exitCode = error instanceof KeyproofError && error.code === "ARGUMENT_INVALID" ? 2 : 1;
  }
}
