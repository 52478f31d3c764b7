import path from "node:path";
import type { FlowProducer } from "bullmq";
import { KeyproofError, describeError } from "../../errors/errors.ts";
import { createProvider } from "../../providers/create-provider.ts";
import { discoverSource } from "../../providers/discover-source.ts";
import { createSigner } from "../../signing/create-signer.ts";
import { generateRunId } from "../run-inline.ts";
import { closeProvider } from "./close-provider.ts";
import type { RunStarter } from "./job-types.ts";
import { buildRunFlow } from "./run-flow.ts";
import { writeRunMarker } from "./run-marker.ts";
import { assertRangeWithinLimit } from "../../time/date-range.ts";
import { RunPlanSchema, scopeDigestOf, type RunPlan } from "./run-plan.ts";
import type { RunStore } from "./run-store.ts";

// The starter's types live in job-types.ts (JobContext needs them without importing this module, which
// imports the flow and so every handler); re-exported for the modules that import them from here.
export type { RunStarter, StartedRun, StartRunRequest } from "./job-types.ts";

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
    assertRangeWithinLimit(request.range, config.policy.maxRangeDays, "range");
    // Fail fast on the signing key before anything is queued: a run that cannot be sealed wastes API quota.
    await createSigner(config.signing, request.configDirectory);

    const selected = config.sources.filter(
      (source) => request.sources === undefined || request.sources.includes(source.id),
    );
    const now = request.capturedAt ?? new Date();
    // Discovery (organization accounts, subscriptions' vaults, namespaces) runs here, once: every worker
    // then collects the same population, and discovery.json records how it was found.
    const sources = await Promise.all(
      selected.map(async (source) => {
        const provider = createProvider(source, { baseDirectory: request.configDirectory });
        try {
          const discovery = await discoverSource(provider, () => now);
          return { id: provider.sourceId, type: provider.type, locations: discovery.locations, discovery };
        } finally {
          closeProvider(provider);
        }
      }),
    );
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
