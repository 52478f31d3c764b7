import { KeyproofError } from "../../../errors/errors.ts";
import { loadPlan } from "../../steps/collect-location.step.ts";
import type { JobContext } from "../job-context.ts";
import type { KeyBatchPayload } from "../job-payloads.ts";
import { fanOutSettingsOf } from "../queue-settings.ts";
import { collectBatch } from "./collect-location.handler.ts";
import { withRunScope, withSourceLease } from "./run-context.ts";

export interface CollectKeyBatchResult {
  keys: number;
  gaps: number;
}

/**
 * Describes one batch of keys of a large location, a child of that location's collect job. The batch's
 * key references come from the location plan in the run's work store (shared by every worker), so the
 * payload stays small and every attempt describes the same keys; only this batch's references are read,
 * once it holds one of the location's `queue.locationConcurrency` collect slots.
 */
export async function handleCollectKeyBatch(
  payload: KeyBatchPayload,
  job: JobContext,
): Promise<CollectKeyBatchResult> {
  return withRunScope(payload.runId, job, {}, async (scope) => {
    const plan = await loadPlan(scope.work, payload.source, payload.location);
    if (plan === undefined) {
      throw new KeyproofError(
        "INTERNAL",
        `no plan for ${payload.source}/${payload.location} in ${scope.work.location}: every worker must see the same data directory`,
      );
    }
    const { locationConcurrency } = fanOutSettingsOf(scope.plan.config);
    const batch = await withSourceLease(
      job,
      { source: payload.source, location: payload.location, kind: "collect", slots: locationConcurrency },
      () => collectBatch(plan, payload.batch, job, scope),
    );
    return { keys: batch.keys.length, gaps: batch.gaps.length };
  });
}
