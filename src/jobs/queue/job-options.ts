import type { JobsOptions, WorkerOptions } from "bullmq";
import type { JobName } from "./job-names.ts";

/**
 * Every BullMQ option keyproof uses, in one place.
 *
 * Attempts and backoff: collection talks to rate-limited cloud APIs, so it retries longest, with
 * exponential backoff (2 s, 4 s, 8 s, 16 s) that lets a throttled account recover. Judging and sealing
 * only touch local files and the signer: few retries. A non-retryable error (access denied, bad config,
 * invalid payload) becomes an UnrecoverableError and skips the remaining attempts.
 */
const RETRY_BASE_MS = 2000;

/** Completed jobs are kept while a run may still be re-requested: their ids are what makes a duplicate add a no-op. */
const KEEP_COMPLETED = { age: 14 * 24 * 3600, count: 50_000 };
const KEEP_FAILED = { age: 30 * 24 * 3600 };

const BASE: JobsOptions = {
  removeOnComplete: KEEP_COMPLETED,
  removeOnFail: KEEP_FAILED,
  stackTraceLimit: 0,
};

export const JOB_OPTIONS: Record<JobName, JobsOptions> = {
  "collect-location": { ...BASE, attempts: 5, backoff: { type: "exponential", delay: RETRY_BASE_MS } },
  "collect-key-batch": { ...BASE, attempts: 5, backoff: { type: "exponential", delay: RETRY_BASE_MS } },
  "extract-usage": { ...BASE, attempts: 5, backoff: { type: "exponential", delay: RETRY_BASE_MS } },
  "judge-run": { ...BASE, attempts: 3, backoff: { type: "exponential", delay: RETRY_BASE_MS } },
  // A browser crash is recovered inside the pool; a job-level retry covers a worker that died mid-render.
  "render-evidence": { ...BASE, attempts: 3, backoff: { type: "exponential", delay: RETRY_BASE_MS } },
  "render-screenshot-batch": { ...BASE, attempts: 3, backoff: { type: "exponential", delay: RETRY_BASE_MS } },
  "seal-bundle": { ...BASE, attempts: 3, backoff: { type: "exponential", delay: RETRY_BASE_MS } },
  "deliver-run": { ...BASE, attempts: 5, backoff: { type: "exponential", delay: RETRY_BASE_MS } },
  // Platforms throttle (429 + Retry-After) and have outages: exponential from 2 s, or the platform's
  // Retry-After when longer (DELIVERY_BACKOFF, below); six attempts span about a minute plus those waits.
  "deliver-target": { ...BASE, attempts: 6, backoff: { type: "delivery", delay: RETRY_BASE_MS } },
  "start-scheduled-run": { ...BASE, attempts: 3, backoff: { type: "exponential", delay: RETRY_BASE_MS } },
  "seal-review": { ...BASE, attempts: 3, backoff: { type: "exponential", delay: RETRY_BASE_MS } },
};

/**
 * Children of a run flow fail their parent when they fail for good, so a run ends as failed instead of
 * a parent waiting for its children forever.
 */
export const CHILD_JOB_OPTIONS: JobsOptions = { failParentOnFailure: true };

/** The longest Retry-After a queued delivery honours; a platform asking for more is asked again after this. */
export const MAX_RETRY_AFTER_MS = 3600_000;

/**
 * BullMQ's custom backoff (`backoff.type: "delivery"`): exponential from `RETRY_BASE_MS`, but never sooner
 * than the Retry-After the platform sent, which the delivery handler's error carries (`retryAfterMs`).
 * Matched by name: the error is the one the processor threw in this process.
 */
export function deliveryBackoff(attemptsMade: number, type?: string, error?: Error): number {
  const exponential = RETRY_BASE_MS * 2 ** Math.max(0, attemptsMade - 1);
  if (type !== "delivery") return exponential;
  const retryAfter = error !== undefined && "retryAfterMs" in error ? error.retryAfterMs : undefined;
  return typeof retryAfter === "number"
    ? Math.max(exponential, Math.min(retryAfter, MAX_RETRY_AFTER_MS))
    : exponential;
}

export interface WorkerTuning {
  /** Jobs processed at once per queue in one process. Default 4 (collect), 1 (render). */
  concurrency?: number;
  /**
   * Milliseconds a job's lock lives without renewal. A worker that dies (SIGKILL, lost machine) loses its
   * jobs' locks after this long, and the stalled-job check gives them to another worker. Default 30 000.
   * Env `KEYPROOF_WORKER_LOCK_MS`.
   */
  lockDurationMs?: number;
  /** How often stalled jobs are looked for. Default: the lock duration. */
  stalledIntervalMs?: number;
}

export function workerOptions(
  tuning: WorkerTuning,
  defaultConcurrency: number,
): Omit<WorkerOptions, "connection" | "prefix"> {
  const lockDuration = tuning.lockDurationMs ?? 30_000;
  return {
    concurrency: tuning.concurrency ?? defaultConcurrency,
    lockDuration,
    stalledInterval: tuning.stalledIntervalMs ?? lockDuration,
    // A job whose worker died twice is returned once more; after that it fails with a clear reason
    // instead of crash-looping every worker that takes it.
    maxStalledCount: 2,
    settings: { backoffStrategy: deliveryBackoff },
  };
}

export const DEFAULT_CONCURRENCY: Record<string, number> = {
  collect: 4,
  render: 1,
  seal: 2,
  deliver: 2,
  schedule: 1,
};
