import type { QueueCliOptions } from "../jobs/queue/resolve-service.ts";

/**
 * What main.ts and the command modules share. A leaf module: commands import it instead of main.ts, which
 * registers (and so imports) them.
 */

/** Output sinks, injectable so tests can run commands in-process. */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  isTty: boolean;
}

export interface RunCliOptions {
  config: string;
  period?: string;
  from?: string;
  to?: string;
  out: string;
  runId?: string;
  json?: boolean;
  /** commander's `--no-render` sets this to false. */
  render: boolean;
  /** Run in this process even when Redis is configured. */
  inline?: boolean;
  redisUrl?: string;
  prefix?: string;
  /** Exit 4 when an open `fail` at or above this severity exists. */
  failOn?: FailOnSeverity;
  /**
   * Queued runs: seconds to wait, after the run completes, for its `deliver:` targets to settle (their jobs
   * retry with backoff). 0 returns at completion. Default DEFAULT_DELIVERY_WAIT_SECONDS.
   */
  deliveryWait?: number;
}

/**
 * Ten minutes: covers the queued backoff (2 s doubling, six attempts) with a minute-long Retry-After or two;
 * a platform that asks for longer is still retried by the workers after the command returns.
 */
export const DEFAULT_DELIVERY_WAIT_SECONDS = 600;

/** `--fail-on` values: the severities a CI gate may name (`info` findings never gate). */
export const FAIL_ON_SEVERITIES = ["low", "medium", "high", "critical"] as const;
export type FailOnSeverity = (typeof FAIL_ON_SEVERITIES)[number];

/** Options of `keyproof procedure show|approve` (here: both the light command file and its actions use them). */
export interface ProcedureShowOptions extends QueueCliOptions {
  config: string;
  json?: boolean;
  text?: boolean;
}

export interface ProcedureApproveOptions extends QueueCliOptions {
  config: string;
  name: string;
  title: string;
  json?: boolean;
}
