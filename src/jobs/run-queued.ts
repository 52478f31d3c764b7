import type { LoadedConfig } from "../config/load-config.ts";
import { KeyproofError, describeError } from "../errors/errors.ts";
import { readFile } from "node:fs/promises";
import type { DateRange } from "../model/snapshot.ts";
import { storageRecordPath, type StorageRecord } from "../storage/store-sealed-bundle.ts";
import type { QueueClient } from "./queue/queue-client.ts";
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
  /** Default 500 ms. */
  pollIntervalMs?: number;
  /** Give up following after this long (the run goes on in the workers). Default: no limit. */
  timeoutMs?: number;
}

export interface QueuedRunResult {
  runId: string;
  /** True when an identical run was already going and this request joined it. */
  joined: boolean;
  record: RunRecord;
  summary: RunSummary;
  bundle: { directory: string; archive: string; manifestSha256: string };
  /** Where the deliver job stored the bundle (`<bundle>.storage.json`); absent without `storage:`. */
  storage?: StorageRecord;
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
  const storage = await readStorageRecord(record.bundle.directory);
  return {
    runId: started.runId,
    joined: started.existing,
    record,
    summary: record.summary,
    bundle: record.bundle,
    ...(storage === undefined ? {} : { storage }),
  };
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
  options: Pick<QueuedRunRequest, "onProgress" | "onWaiting" | "pollIntervalMs" | "timeoutMs"> = {},
): Promise<RunRecord> {
  const interval = options.pollIntervalMs ?? 500;
  const deadline =
    options.timeoutMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + options.timeoutMs;
  let lastSeen = "";
  for (;;) {
    try {
      const record = await client.runs.get(runId);
      if (record === undefined) throw new KeyproofError("INTERNAL", `run ${runId} has no record`);
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
