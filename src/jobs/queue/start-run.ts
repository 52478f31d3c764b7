import path from "node:path";
import type { FlowProducer } from "bullmq";
import type { Config } from "../../config/config.schema.ts";
import { KeyproofError, describeError } from "../../errors/errors.ts";
import type { DateRange } from "../../model/snapshot.ts";
import { createProvider } from "../../providers/create-provider.ts";
import { createSigner } from "../../signing/create-signer.ts";
import { generateRunId } from "../run-inline.ts";
import { closeProvider } from "./job-context.ts";
import { buildRunFlow } from "./run-flow.ts";
import { writeRunMarker } from "./run-marker.ts";
import { assertRangeWithin, maxRangeDaysOf } from "../../time/date-range.ts";
import { RunPlanSchema, scopeDigestOf, type RunPlan } from "./run-plan.ts";
import type { CreateRunLimits, RunStore } from "./run-store.ts";

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

/**
 * Plans a run, records it, and enqueues its flow; or returns the run already going for the same scope and
 * period. The scope lock and the record are created atomically (run-store.ts), so two identical requests
 * arriving together yield one run.
 */
export function createRunStarter(deps: { runs: RunStore; flows: FlowProducer }): RunStarter {
  return async (request) => {
    const { config } = request;
    const known = new Set(config.sources.map((source) => source.id));
    const unknown = (request.sources ?? []).filter((id) => !known.has(id));
    if (unknown.length > 0) {
      throw new KeyproofError(
        "ARGUMENT_INVALID",
        `sources: unknown source(s) ${unknown.join(", ")}; configured: ${[...known].join(", ")}`,
      );
    }
    assertRangeWithin(request.range, maxRangeDaysOf(config.policy), "range");
    // Fail fast on the signing key before anything is queued: a run that cannot be sealed wastes API quota.
    await createSigner(config.signing, request.configDirectory);

    const selected = config.sources.filter(
      (source) => request.sources === undefined || request.sources.includes(source.id),
    );
    const sources = selected.map((source) => {
      const provider = createProvider(source, { baseDirectory: request.configDirectory });
      try {
        return { id: provider.sourceId, type: provider.type, locations: provider.listLocations() };
      } finally {
        closeProvider(provider);
      }
    });
    const now = request.capturedAt ?? new Date();
    const outDirectory = path.resolve(request.outDirectory);
    const keys =
      request.keys === undefined || request.keys.length === 0 ? undefined : [...new Set(request.keys)].sort();
    const plan: RunPlan = RunPlanSchema.parse({
      runId: request.runId ?? generateRunId(now),
      config,
      configDirectory: path.resolve(request.configDirectory),
      range: request.range,
      capturedAt: now.toISOString(),
      outDirectory,
      sources,
      render: request.render ?? true,
      ...(keys === undefined ? {} : { keys }),
      scopeDigest: scopeDigestOf({
        organization: config.organization,
        sources: sources.map((source) => source.id),
        ...(keys === undefined ? {} : { keys }),
        range: request.range,
        outDirectory,
      }),
      request: request.request,
    });

    const created = await deps.runs.create(plan, new Date(), request.limits);
    if (created.existing) return created;
    try {
      await writeRunMarker(plan);
      await deps.flows.add(buildRunFlow(plan));
    } catch (error) {
      await deps.runs.fail(plan.runId, `could not enqueue the run: ${describeError(error)}`);
      throw error;
    }
    return created;
  };
}
