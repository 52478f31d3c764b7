import { createRedisTokenBucket } from "./redis-token-bucket.ts";
import { DelayedError, WaitingChildrenError, Worker, type Job } from "bullmq";
import type { Cluster, Redis } from "ioredis";
import { describeError } from "../../errors/errors.ts";
import type { ProviderOptions } from "../../providers/create-provider.ts";
import { BrowserPool } from "../../render/browser-pool.ts";
import type { JobContext } from "./job-context.ts";
import { isUnrecoverable, toJobError } from "./job-errors.ts";
import {
  CHILD_JOB_OPTIONS,
  DEFAULT_CONCURRENCY,
  JOB_OPTIONS,
  workerOptions,
  type WorkerTuning,
} from "./job-options.ts";
import { isJobName, type QueueName } from "./job-names.ts";
import { validatePayload } from "./job-payloads.ts";
import { dispatchJob, JOB_REGISTRY, jobsOfQueues, runIdOf } from "./job-registry.ts";
import { ProviderCache } from "./provider-cache.ts";
import { QueueClient } from "./queue-client.ts";
import { checkEvictionPolicy, createRedisConnection, type EvictionCheck } from "./redis-connection.ts";

/** The subset of a pino logger the runtime uses, so tests can pass a collecting one. */
export interface RuntimeLogger {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

export interface WorkerRuntimeOptions {
  redisUrl: string;
  prefix: string;
  queues: readonly QueueName[];
  tuning?: WorkerTuning;
  /** Tests inject a fixed clock so queued and inline bundles are byte-comparable. */
  providerOptions?: ProviderOptions;
  logger?: RuntimeLogger;
  /** This worker's own data directory: scratch space for runs kept in S3 (JobContext.dataDirectory). */
  dataDirectory?: string;
}

export interface WorkerRuntime {
  workers: Worker[];
  eviction: EvictionCheck;
  /**
   * Graceful stop: workers stop taking jobs, in-flight jobs finish (BullMQ `worker.close()`), connections
   * close. A job cut off anyway (process killed) loses its lock and is picked up again by another worker.
   */
  close(): Promise<void>;
}

const silentLogger: RuntimeLogger = { info: () => undefined, warn: () => undefined, error: () => undefined };

/**
 * Starts one BullMQ worker per requested queue in this process. Thin on purpose: all logic is in the job
 * handlers of the registry; this wires connections, payload validation, error mapping and logging.
 */
export async function startWorkerRuntime(options: WorkerRuntimeOptions): Promise<WorkerRuntime> {
  const logger = options.logger ?? silentLogger;
  // Workers block on Redis: `maxRetriesPerRequest: null` is required (redis-connection.ts).
  const connection = createRedisConnection(options.redisUrl, "worker", "keyproof-worker");
  const producer = QueueClient.connect(options.redisUrl, options.prefix);
  const eviction = await checkEvictionPolicy(connection);
  if (eviction.warning !== undefined) logger.warn({ policy: eviction.policy }, eviction.warning);
  // Launched on the first render job only: collect and seal workers never start a browser.
  let pool: BrowserPool | undefined;
  const browserPool = (): BrowserPool => (pool ??= new BrowserPool());
  const providers = new ProviderCache();
  // Every worker of the deployment draws from the same request buckets (KMS quotas per account, region and API).
  const providerOptions: ProviderOptions = {
    tokenBuckets: ({ bucket, ratePerSecond }) =>
      createRedisTokenBucket({ redis: producer.redis, prefix: producer.prefix, bucket, ratePerSecond }),
    ...options.providerOptions,
  };

  const workers = options.queues.map((queueName) => {
    const names = jobsOfQueues([queueName]);
    const worker = new Worker(
      queueName,
      async (job: Job, token?: string) =>
        processJob(job, token, {
          redis: producer.redis,
          producer,
          providerOptions,
          logger,
          browserPool,
          providers,
          ...(options.dataDirectory === undefined ? {} : { dataDirectory: options.dataDirectory }),
        }),
      {
        connection,
        // The producer's prefix: hash-tagged on a Redis Cluster (QueueClient.connect).
        prefix: producer.prefix,
        ...workerOptions(options.tuning ?? {}, DEFAULT_CONCURRENCY[queueName] ?? 1),
      },
    );
    worker.on("error", (error) =>
      logger.error({ queue: queueName }, `worker error: ${describeError(error)}`),
    );
    logger.info({ queue: queueName, jobs: names }, "worker started");
    return worker;
  });
  await Promise.all(workers.map((worker) => worker.waitUntilReady()));

  return {
    workers,
    eviction,
    async close() {
      await Promise.all(workers.map((worker) => worker.close()));
      providers.close();
      await pool?.close();
      await producer.close();
      await connection.quit().catch(() => undefined);
    },
  };
}

async function processJob(
  job: Job,
  token: string | undefined,
  deps: {
    redis: Redis | Cluster;
    producer: QueueClient;
    providerOptions: ProviderOptions;
    logger: RuntimeLogger;
    browserPool: () => BrowserPool;
    providers: ProviderCache;
    dataDirectory?: string;
  },
): Promise<unknown> {
  const maxAttempts = job.opts.attempts ?? 1;
  const context: JobContext = {
    redis: deps.redis,
    prefix: deps.producer.prefix,
    runs: deps.producer.runs,
    providerOptions: deps.providerOptions,
    startRun: deps.producer.startRun,
    browserPool: deps.browserPool,
    providers: deps.providers,
    ...(deps.dataDirectory === undefined ? {} : { dataDirectory: deps.dataDirectory }),
    job: {
      id: job.id ?? "",
      name: job.name,
      attempt: job.attemptsMade + 1,
      maxAttempts,
      timestamp: job.timestamp,
      log: async (message) => {
        await job.log(message);
      },
      enqueue: async (child) => {
        await deps.producer
          .queue(JOB_REGISTRY[child.name].queue)
          .add(child.name, validatePayload(child.name, child.data), {
            ...JOB_OPTIONS[child.name],
            jobId: child.jobId,
          });
      },
      postpone: async (delayMs) => {
        await job.moveToDelayed(Date.now() + delayMs, token);
        throw new DelayedError();
      },
      awaitChildren: async (children) => {
        const parent = { id: job.id ?? "", queue: job.queueQualifiedName };
        for (const child of children) {
          await deps.producer
            .queue(JOB_REGISTRY[child.name].queue)
            .add(child.name, validatePayload(child.name, child.data), {
              ...JOB_OPTIONS[child.name],
              ...CHILD_JOB_OPTIONS,
              jobId: child.jobId,
              parent,
            });
        }
        // Asked even when no child was added: a child that saved its result but is not marked completed yet
        // (its worker stalled) is still pending, and the parent must wait for it. False when every child
        // has completed (a later execution): the handler goes on.
        if (await job.moveToWaitingChildren(token ?? "")) throw new WaitingChildrenError();
      },
    },
  };
  const fields = { job: job.id, name: job.name, attempt: context.job.attempt, of: maxAttempts };
  deps.logger.info(fields, "job started");
  try {
    const result = await dispatchJob(job.name, job.data, context);
    deps.logger.info(fields, "job completed");
    return result;
  } catch (thrown) {
    // A postponed job, or one parked until its children complete, is not a failure: BullMQ must see
    // its DelayedError or WaitingChildrenError as is.
    if (thrown instanceof DelayedError || (thrown instanceof Error && thrown.name === "DelayedError")) {
      deps.logger.info(fields, "job postponed");
      throw thrown;
    }
    if (
      thrown instanceof WaitingChildrenError ||
      (thrown instanceof Error && thrown.name === "WaitingChildrenError")
    ) {
      deps.logger.info(fields, "job waiting for its children");
      throw thrown;
    }
    const error = toJobError(thrown);
    const final = isUnrecoverable(error) || context.job.attempt >= maxAttempts;
    deps.logger.warn({ ...fields, final }, `job failed: ${error.message}`);
    const runId = runIdOf(job.data);
    const failsRun = isJobName(job.name) ? JOB_REGISTRY[job.name].failsRun !== false : true;
    if (final && runId !== undefined && failsRun) {
      // The run fails with this cause and frees its scope; the flow's parents fail too (failParentOnFailure).
      await deps.producer.runs
        .fail(runId, `${job.name} ${job.id ?? ""}: ${error.message}`)
        .catch((failure: unknown) => {
          deps.logger.error(fields, `could not mark run ${runId} failed: ${describeError(failure)}`);
        });
    }
    throw error;
  }
}
