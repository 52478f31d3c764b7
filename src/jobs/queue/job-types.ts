import type { Config } from "../../config/config.schema.ts";
import type { DateRange } from "../../model/snapshot.ts";
import type { RunPlan } from "./run-plan.ts";
import type { CreateRunLimits } from "./run-store.ts";

/*
 * Types the queue's modules share without importing each other: JobContext (job-context.ts) hands handlers
 * a RunStarter, and start-run.ts implements it; start-run.ts imports the run flow and so the registry and
 * every handler, so a handler that reached it through JobContext would close an import cycle. Types only.
 */

export interface StartRunRequest {
  config: Config;
  configDirectory: string;
  /** Data directory shared by all workers; the bundle goes to `<outDirectory>/<runId>`. */
  outDirectory: string;
  range: DateRange;
  /** Restrict to these source ids (default: all configured). */
  sources?: string[];
  /** Restrict to keys with one of these names (id, ARN, alias). */
  keys?: string[];
  runId?: string;
  capturedAt?: Date;
  /** Screenshots and PDF reports (default true); needs a worker serving the render queue. */
  render?: boolean;
  request: RunPlan["request"];
  /** The API's bounds: reuse a just-completed identical run, cap unfinished runs per source. */
  limits?: CreateRunLimits;
}

export interface StartedRun {
  runId: string;
  /** True when an identical request was already running: its run is returned, nothing new is enqueued. */
  existing: boolean;
}

export type RunStarter = (request: StartRunRequest) => Promise<StartedRun>;
