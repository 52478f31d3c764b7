import type { Config } from "../config/config.schema.ts";
import { readQueueSection } from "../jobs/queue/queue-settings.ts";

export const DEFAULT_DEDUPE_WINDOW_SECONDS = 300;
export const DEFAULT_MAX_QUEUED_RUNS_PER_SOURCE = 3;
export const DEFAULT_API_REQUESTS_PER_MINUTE = 120;
export const DEFAULT_API_AUTH_FAILURES_PER_MINUTE = 20;

/** The API's bounds, from the config's `queue:` and `policy:` sections or the defaults. */
export interface ApiLimits {
  /** Seconds after completion an identical request reuses a run (`queue.dedupeWindowSeconds`). */
  dedupeWindowSeconds: number;
  /** Runs queued or running per source (`queue.maxQueuedRunsPerSource`). */
  maxQueuedRunsPerSource: number;
  /** Requests per minute per token (`queue.apiRequestsPerMinute`). */
  requestsPerMinute: number;
  /** Failed authentications per minute per client address (`queue.apiAuthFailuresPerMinute`). */
  authFailuresPerMinute: number;
  /** Longest range in days (`policy.maxRangeDays`). */
  maxRangeDays: number;
}

export function apiLimitsOf(config: Config): ApiLimits {
  const queue = readQueueSection(config);
  return {
    dedupeWindowSeconds: queue.dedupeWindowSeconds ?? DEFAULT_DEDUPE_WINDOW_SECONDS,
    maxQueuedRunsPerSource: queue.maxQueuedRunsPerSource ?? DEFAULT_MAX_QUEUED_RUNS_PER_SOURCE,
    requestsPerMinute: queue.apiRequestsPerMinute ?? DEFAULT_API_REQUESTS_PER_MINUTE,
    authFailuresPerMinute: queue.apiAuthFailuresPerMinute ?? DEFAULT_API_AUTH_FAILURES_PER_MINUTE,
    maxRangeDays: config.policy.maxRangeDays,
  };
}
