import { readPublishedJson } from "./queue/run-workspace.ts";
import type { LoadedConfig } from "../config/load-config.ts";
import type { TargetDelivery } from "../delivery/deliver-run.ts";
import { KeyproofError, describeError } from "../errors/errors.ts";
import { readFile } from "node:fs/promises";
import type { DateRange } from "../model/snapshot.ts";
import { storageRecordPath, type StorageRecord } from "../storage/store-sealed-bundle.ts";
import { deliverTargetJobId } from "./queue/job-ids.ts";
import type { QueueName } from "./queue/job-names.ts";
import { JOB_REGISTRY } from "./queue/job-registry.ts";
import type { QueueClient } from "./queue/queue-client.ts";
import { runJobsOf } from "./queue/run-flow.ts";
import { readRunProgress, type StepProgress } from "./queue/run-progress.ts";
import type { RunRecord } from "./queue/run-store.ts";
import type { RunSummary } from "./run-summary.ts";

export interface QueuedRunRequest {
  client: QueueClient;
  loaded: LoadedConfig;
  range: DateRange;
  /** Shared data directory; must be the same path on every worker. */
  outDirectory: string;
  runId?: string;
  capturedAt?: Date;
  sources?: string[];
  keys?: string[];
  /** Screenshots and PDF reports (default true): needs a worker serving the render queue. */
  render?: boolean;
  /** Called whenever the progress of a step changes. */
  onProgress?: (progress: StepProgress[], record: RunRecord) => void;
  /** Called when Redis could not be read (it may be restarting); following goes on. */
  onWaiting?: (reason: string) => void;
  /**
   * Called once per queue when jobs of the run have waited there for `noWorkerAfterMs` while no worker
   * consumes it (BullMQ's CLIENT LIST based `getWorkersCount`); following goes on, a worker may start.
   * Called again if the queue is left without a worker later.
   */
  onNoWorker?: (queue: QueueName, message: string) => void;
  /** Default 3000 ms. */
  noWorkerAfterMs?: number;
  /** Default 500 ms. */
  pollIntervalMs?: number;
  /** Give up following after this long (the run goes on in the workers). Default: no limit. */
  timeoutMs?: number;
  /**
   * After the run completes, wait this long for its `deliver:` targets to settle (delivered, or failed for
   * good) before returning. 0: do not wait (the deliveries go on in the workers). Default 0.
   */
  deliveryWaitMs?: number;
  /** Called once when the run completed and its deliveries are being waited for. */
  onWaitingForDeliveries?: (targets: readonly string[]) => void;
}

export interface QueuedRunResult {
  runId: string;
  /** True when an identical run was already going and this request joined it. */
  joined: boolean;
  record: RunRecord;
  summary: RunSummary;
  /** With `storage.s3`, `directory` and `archive` are `s3://` URLs under `remote` (run-workspace.ts). */
  bundle: { directory: string; archive: string; manifestSha256: string; remote?: string };
  /** Where the deliver job stored the bundle (`<bundle>.storage.json`); absent without `storage:`. */
  storage?: StorageRecord;
  /**
   * Each `deliver:` target as it stood when waiting ended (absent with `deliveryWaitMs` 0 or no targets):
   * `delivered` or `failed` once settled; `pending` or `retrying` when the wait ran out first.
   */
  delivery?: TargetDelivery[];
}

/**
 * `keyproof run` with Redis: enqueues the run as a flow (or joins the identical one already running) and
 * follows it to the end, reporting progress per step. Following tolerates Redis going away for a while
 * (a restart): reads are retried until the run completes or fails.
 */
export async function runQueued(request: QueuedRunRequest): Promise<QueuedRunResult> {
  const started = await request.client.startRun({
    config: request.loaded.config,
    configDirectory: request.loaded.directory,
    outDirectory: request.outDirectory,
    range: request.range,
    ...(request.runId === undefined ? {} : { runId: request.runId }),
    ...(request.capturedAt === undefined ? {} : { capturedAt: request.capturedAt }),
    ...(request.sources === undefined ? {} : { sources: request.sources }),
    ...(request.keys === undefined ? {} : { keys: request.keys }),
    ...(request.render === undefined ? {} : { render: request.render }),
    request: { origin: "cli" },
  });
  const record = await followRun(request.client, started.runId, request);
  if (record.status === "failed") {
    throw new KeyproofError("INTERNAL", `run ${record.runId} failed: ${record.error ?? "unknown cause"}`);
  }
  if (record.bundle === undefined || record.summary === undefined) {
    throw new KeyproofError("INTERNAL", `run ${record.runId} completed without a bundle or summary`);
  }
  const storage =
    record.bundle.remote === undefined
      ? await readStorageRecord(record.bundle.directory)
      : await readPublishedJson<StorageRecord>(record.plan, `${record.runId}.storage.json`);
  const waitMs = request.deliveryWaitMs ?? 0;
  let delivery: TargetDelivery[] | undefined;
  if (waitMs > 0 && record.plan.config.deliver.length > 0) {
    request.onWaitingForDeliveries?.(record.plan.config.deliver.map((target) => target.name));
    delivery = await waitForDeliveries(request.client, record.runId, {
      timeoutMs: waitMs,
      pollIntervalMs: request.pollIntervalMs ?? 500,
      ...(request.onWaiting === undefined ? {} : { onWaiting: request.onWaiting }),
    });
  }
  return {
    runId: started.runId,
    joined: started.existing,
    record,
    summary: record.summary,
    bundle: record.bundle,
    ...(storage === undefined ? {} : { storage }),
    ...(delivery === undefined ? {} : { delivery }),
  };
}

/**
 * Follows a completed run's `deliver-target` jobs until every target is settled or `timeoutMs` passes, and
 * returns each target's delivery from the run record. A target is settled when its record says delivered or
 * failed, or when its job ended without a record (a job that failed before delivering anything, e.g. a
 * credential variable missing on the worker: then it is failed, with the job's reason).
 */
export async function waitForDeliveries(
  client: QueueClient,
  runId: string,
  options: { timeoutMs: number; pollIntervalMs: number; onWaiting?: (reason: string) => void },
): Promise<TargetDelivery[]> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    let current: TargetDelivery[] | undefined;
    try {
      current = await readDeliveries(client, runId);
    } catch (error) {
      if (error instanceof KeyproofError) throw error;
      options.onWaiting?.(describeError(error));
    }
    const settled = current?.every((target) => target.state === "delivered" || target.state === "failed");
    if (current !== undefined && (settled === true || Date.now() > deadline)) return current;
    await new Promise((resolve) => setTimeout(resolve, options.pollIntervalMs));
  }
}

/** Every configured target's delivery as the run record and its job have it now. */
async function readDeliveries(client: QueueClient, runId: string): Promise<TargetDelivery[]> {
  const record = await client.runs.get(runId);
  if (record === undefined) throw new KeyproofError("INTERNAL", `run ${runId} has no record`);
  const queue = client.queue("deliver");
  return Promise.all(
    record.plan.config.deliver.map(async (config): Promise<TargetDelivery> => {
      const recorded = record.delivery?.[config.name];
      const outcomes = (recorded?.outcomes ?? []).map((outcome) => ({
        target: config.name,
        type: config.type,
        ...outcome,
      }));
      const job = await queue.getJob(deliverTargetJobId(runId, config.name));
      const jobState = job === undefined ? "unknown" : await job.getState();
      // The handler records before it ends the job, so an ended job's record is its last word.
      if (recorded !== undefined && (jobState === "completed" || jobState === "failed"))
        return { target: config.name, type: config.type, state: recorded.state, outcomes };
      if (recorded === undefined && jobState === "failed") {
        return {
          target: config.name,
          type: config.type,
          state: "failed",
          outcomes: [
            {
              target: config.name,
              type: config.type,
              path: "(target)",
              state: "failed",
              time: new Date(job?.finishedOn ?? Date.now()).toISOString(),
              sha256: "",
              reason: job?.failedReason ?? "the delivery job failed",
            },
          ],
        };
      }
      // Queued, running or waiting for a retry: whatever the record says so far is not final.
      const state = recorded?.state === "failed" || recorded?.state === "retrying" ? "retrying" : "pending";
      return { target: config.name, type: config.type, state, outcomes };
    }),
  );
}

async function readStorageRecord(bundleDirectory: string): Promise<StorageRecord | undefined> {
  try {
    return JSON.parse(
      await readFile(storageRecordPath({ directory: bundleDirectory }), "utf8"),
    ) as StorageRecord;
  } catch {
    // No `storage:` in the config: the deliver job wrote no record.
    return undefined;
  }
}

/** Polls the run record and job states until the run is completed or failed. */
export async function followRun(
  client: QueueClient,
  runId: string,
  options: Pick<
    QueuedRunRequest,
    "onProgress" | "onWaiting" | "onNoWorker" | "noWorkerAfterMs" | "pollIntervalMs" | "timeoutMs"
  > = {},
): Promise<RunRecord> {
  const interval = options.pollIntervalMs ?? 500;
  const deadline =
    options.timeoutMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + options.timeoutMs;
  const watch = options.onNoWorker === undefined ? undefined : new WorkerWatch(options);
  let lastSeen = "";
  for (;;) {
    try {
      const record = await client.runs.get(runId);
      if (record === undefined) throw new KeyproofError("INTERNAL", `run ${runId} has no record`);
      if (watch !== undefined && record.status !== "completed" && record.status !== "failed") {
        await watch.check(client, record);
      }
      if (options.onProgress !== undefined) {
        const progress = await readRunProgress(
          client,
          record.plan,
          record.keyBatches,
          record.screenshotBatches,
        );
        const seen = JSON.stringify([record.status, progress]);
        if (seen !== lastSeen) options.onProgress(progress, record);
        lastSeen = seen;
      }
      if (record.status === "completed" || record.status === "failed") return record;
    } catch (error) {
      if (error instanceof KeyproofError) throw error;
      options.onWaiting?.(describeError(error));
    }
    if (Date.now() > deadline) {
      throw new KeyproofError(
        "SOURCE_UNAVAILABLE",
        `run ${runId} did not finish within ${options.timeoutMs} ms; it goes on in the workers`,
        {
          remediation: `check it later with GET /v1/runs/${runId}`,
        },
      );
    }
    await new Promise((resolve) => setTimeout(resolve, interval));
  }
}

/** One status line for a TTY: `running  collect 1/2  usage 2/2  judge 0/1  seal 0/1  deliver 0/1`. */
export function formatQueuedProgress(progress: StepProgress[], record: Pick<RunRecord, "status">): string {
  const steps = progress.map(
    (step) =>
      `${step.step} ${step.completed}/${step.total}${step.failed > 0 ? ` (${step.failed} failed)` : ""}`,
  );
  return `${record.status}  ${steps.join("  ")}`;
}

/** `no worker is consuming queue collect: start \`keyproof worker\``. */
export function noWorkerMessage(queue: QueueName): string {
  return `no worker is consuming queue ${queue}: start \`keyproof worker\` (or \`keyproof worker --queues ${queue}\`) with the same Redis and prefix`;
}

/**
 * The queues in which jobs of the run are ready to run (waiting or prioritized, not delayed for a backoff or
 * waiting for children) and that no worker consumes right now.
 */
export async function findQueuesWithoutWorker(
  client: Pick<QueueClient, "queue">,
  record: Pick<RunRecord, "plan" | "keyBatches" | "screenshotBatches">,
): Promise<QueueName[]> {
  const jobs = runJobsOf(record.plan, record.keyBatches, record.screenshotBatches);
  const queueOf = (name: (typeof jobs)[number]["name"]): QueueName => JOB_REGISTRY[name].queue as QueueName;
  const states = await Promise.all(jobs.map((job) => client.queue(queueOf(job.name)).getJobState(job.jobId)));
  const ready = new Set<QueueName>();
  jobs.forEach((job, index) => {
    const state = states[index];
    if (state === "waiting" || state === "prioritized") ready.add(queueOf(job.name));
  });
  const idle: QueueName[] = [];
  for (const queue of ready) {
    if ((await client.queue(queue).getWorkersCount()) === 0) idle.push(queue);
  }
  return idle;
}

/** Tracks since when each queue has had ready jobs and no worker; reports each stretch once. */
class WorkerWatch {
  readonly #after: number;
  readonly #report: (queue: QueueName, message: string) => void;
  readonly #idleSince = new Map<QueueName, number>();
  readonly #reported = new Set<QueueName>();
  #lastCheck = 0;

  constructor(options: Pick<QueuedRunRequest, "onNoWorker" | "noWorkerAfterMs">) {
    this.#after = options.noWorkerAfterMs ?? 3000;
    this.#report = options.onNoWorker ?? (() => undefined);
  }

  async check(client: QueueClient, record: RunRecord): Promise<void> {
    const now = Date.now();
    // CLIENT LIST is cheap but not free: at most a few times per grace period.
    if (now - this.#lastCheck < Math.min(1000, this.#after / 3)) return;
    this.#lastCheck = now;
    const idle = new Set(await findQueuesWithoutWorker(client, record));
    for (const queue of [...this.#idleSince.keys()]) {
      if (!idle.has(queue)) {
        this.#idleSince.delete(queue);
        this.#reported.delete(queue);
      }
    }
    for (const queue of idle) {
      const since = this.#idleSince.get(queue) ?? now;
      this.#idleSince.set(queue, since);
      if (now - since >= this.#after && !this.#reported.has(queue)) {
        this.#reported.add(queue);
        this.#report(queue, noWorkerMessage(queue));
      }
    }
  }
}
