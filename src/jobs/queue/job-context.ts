import type { Cluster, Redis } from "ioredis";
import type { ProviderOptions } from "../../providers/create-provider.ts";
import type { BrowserPool } from "../../render/browser-pool.ts";
import type { JobName } from "./job-names.ts";
import type { JobPayloads } from "./job-payloads.ts";
import type { ProviderCache } from "./provider-cache.ts";
import type { RunStore } from "./run-store.ts";
import type { RunStarter } from "./job-types.ts";

/** What a handler may use besides its payload. Built once per worker process; nothing here is per job except `job`. */
export interface JobContext {
  redis: Redis | Cluster;
  prefix: string;
  runs: RunStore;
  providerOptions: ProviderOptions;
  /** This process's providers per (run, source), shared by the run's collect jobs here. */
  providers: ProviderCache;
  /** Starts (or joins) a run; the scheduled-run handler uses it. */
  startRun: RunStarter;
  /**
   * The process's one browser pool, launched on first use and reused by every render job of this worker
   * (a Chromium launch costs about a second); closed when the worker closes.
   */
  browserPool: () => BrowserPool;
  /**
   * This worker's own data directory (KEYPROOF_DATA_DIR / queue.dataDirectory): where a run kept in S3 gets
   * its per-job scratch folders. Absent: the system temp directory.
   */
  dataDirectory?: string;
  job: {
    id: string;
    name: string;
    /** 1 for the first attempt. */
    attempt: number;
    maxAttempts: number;
    /** When the job was created (ms): a scheduled tick's nominal time. */
    timestamp: number;
    log: (message: string) => Promise<void>;
    /**
     * Adds an independent job (no parent) under its deterministic id; an existing id is left as it is.
     * For work that follows this job without holding it open (deliveries after the run completed).
     */
    enqueue: (job: ChildJob) => Promise<void>;
    /**
     * Puts the job back as delayed for `delayMs` without using up an attempt, and ends this execution
     * (it throws BullMQ's DelayedError, which the worker passes through untouched).
     */
    postpone: (delayMs: number) => Promise<never>;
    /**
     * Adds these jobs as children of this one (an existing id is left as it is) and parks this job until
     * every child has completed; then the job runs again from the start. Resolves only when no child is
     * pending any more (all had completed already); otherwise ends this execution (BullMQ's
     * WaitingChildrenError, which the worker passes through untouched; no attempt is used).
     */
    awaitChildren: (children: readonly ChildJob[]) => Promise<void>;
  };
}

/** A job a handler adds below itself: the fan-out of a step whose size is known only once it runs. */
export type ChildJob = {
  [Name in JobName]: { name: Name; data: JobPayloads[Name]; jobId: string };
}[JobName];

export function isFinalAttempt(context: JobContext): boolean {
  return context.job.attempt >= context.job.maxAttempts;
}

// closeProvider moved to close-provider.ts (provider-cache.ts and start-run.ts need it, and this module
// must not be imported back by them); re-exported for the modules that import it from here.
export { closeProvider } from "./close-provider.ts";
