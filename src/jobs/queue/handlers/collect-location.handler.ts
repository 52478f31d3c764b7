import type { CollectionError } from "../../../model/key.ts";
import type { SourceGap } from "../../../model/snapshot.ts";
import { createProvider } from "../../../providers/create-provider.ts";
import {
  collectBatchStep,
  finishLocationStep,
  locationPlanWorkName,
  missingBatches,
  planLocationStep,
  storeBatch,
  type CollectedBatch,
  type LocationPlan,
} from "../../steps/collect-location.step.ts";
import { closeProvider, isFinalAttempt, type JobContext } from "../job-context.ts";
import { batchJobId } from "../job-ids.ts";
import type { LocationPayload } from "../job-payloads.ts";
import { RetryableJobError } from "../job-errors.ts";
import { collectionSettingsOf } from "../queue-settings.ts";
import { keySelectorOf, openRunScope, sourceOf, withSourceLease, type RunScope } from "./run-context.ts";

export interface CollectLocationResult {
  keys: number;
  gaps: number;
  batches: number;
}

/**
 * Collects one location of one source, fanning out when it is large:
 *
 * 1. First execution: list the keys and read the logging status (the plan), stored in the work store.
 * 2. One batch: described right here. Several: one `collect-key-batch` child job per batch (deterministic
 *    ids), and this job waits for them (BullMQ's waiting-children state; no worker is held meanwhile).
 * 3. When every batch result is in the work store: merge into the location snapshot judging reads.
 *
 * Every execution starts from what the work store holds, so a job retried or resumed at any point neither
 * lists again (the batches handed out stay the same) nor adds a child twice.
 *
 * Providers keep failed calls as data (never throw), so throttling or a network blip shows up as retryable
 * errors: while attempts remain, a plan or batch with such errors is not accepted and the job is retried
 * with backoff; on the last attempt the errors stay in the evidence as gaps, as they would inline.
 */
export async function handleCollectLocation(
  payload: LocationPayload,
  job: JobContext,
): Promise<CollectLocationResult> {
  const scope = await openRunScope(payload.runId, job);
  await job.runs.markRunning(payload.runId);
  const settings = collectionSettingsOf(scope.plan.config);
  const lease = {
    source: payload.source,
    location: payload.location,
    kind: "collect",
    slots: settings.locationConcurrency,
  };

  const planName = locationPlanWorkName(payload.source, payload.location);
  const stored = await scope.work.get<LocationPlan>(planName);
  const missingOf = async (plan: LocationPlan): Promise<number[]> => missingBatches(plan, scope.work);
  // Listing and a single batch happen under one lease hold: a small location is one uninterrupted turn.
  const plan =
    stored !== undefined && (stored.batches.length !== 1 || (await missingOf(stored)).length === 0)
      ? stored
      : await withSourceLease(job, lease, async () => {
          let current = stored;
          if (current === undefined) {
            current = await planLocation(payload, job, scope, settings.keyBatchSize);
            await scope.work.put(planName, current);
            await job.runs.recordKeyBatches(
              payload.runId,
              payload.source,
              payload.location,
              current.batches.length,
            );
          }
          if (current.batches.length === 1 && (await missingOf(current)).length > 0) {
            await collectBatch(current, 0, job, scope);
          }
          return current;
        });

  const missing = await missingOf(plan);
  if (missing.length > 0) {
    await job.job.awaitChildren(
      missing.map((batch) => ({
        name: "collect-key-batch" as const,
        data: { runId: payload.runId, source: payload.source, location: payload.location, batch },
        jobId: batchJobId(payload.runId, payload.source, payload.location, batch),
      })),
    );
  }

  const collected = await finishLocationStep({ plan, work: scope.work });
  return {
    keys: collected.snapshot.keys.length,
    gaps: collected.snapshot.gaps.length,
    batches: plan.batches.length,
  };
}

async function planLocation(
  payload: LocationPayload,
  job: JobContext,
  scope: RunScope,
  batchSize: number,
): Promise<LocationPlan> {
  const provider = createProvider(sourceOf(scope.plan, payload.source), {
    baseDirectory: scope.plan.configDirectory,
    ...job.providerOptions,
  });
  try {
    const plan = await planLocationStep({
      provider,
      location: payload.location,
      context: scope.context,
      writer: scope.writer,
      batchSize,
    });
    rejectRetryable(retryableErrorsOf({ keys: [], gaps: plan.gaps }, plan.logging.errors), job, payload);
    return plan;
  } finally {
    closeProvider(provider);
  }
}

/** Describes one batch of a plan with a fresh provider; shared with the batch job's handler. */
export async function collectBatch(
  plan: LocationPlan,
  index: number,
  job: JobContext,
  scope: RunScope,
): Promise<CollectedBatch> {
  const provider = createProvider(sourceOf(scope.plan, plan.source), {
    baseDirectory: scope.plan.configDirectory,
    ...job.providerOptions,
  });
  try {
    const selectKeys = keySelectorOf(scope.plan);
    const batch = await collectBatchStep({
      provider,
      plan,
      index,
      context: scope.context,
      writer: scope.writer,
      ...(selectKeys === undefined ? {} : { selectKeys }),
    });
    rejectRetryable(retryableErrorsOf(batch), job, { source: plan.source, location: plan.location });
    await storeBatch(scope.work, plan, index, batch);
    return batch;
  } finally {
    closeProvider(provider);
  }
}

function rejectRetryable(
  retryable: CollectionError[],
  job: JobContext,
  target: { source: string; location: string },
): void {
  const first = retryable[0];
  if (first !== undefined && !isFinalAttempt(job)) {
    throw new RetryableJobError(
      `${retryable.length} retryable error(s) collecting ${target.source}/${target.location}, first ${first.call}: ${first.code} ${first.message}`,
    );
  }
}

/** Every failed call in a batch (and logging errors) that the provider marked retryable (throttling, timeouts, 5xx). */
export function retryableErrorsOf(
  batch: { keys: CollectedBatch["keys"]; gaps: SourceGap[] },
  loggingErrors: readonly CollectionError[] = [],
): CollectionError[] {
  const errors: CollectionError[] = [];
  for (const gap of batch.gaps) errors.push(gap.error);
  errors.push(...loggingErrors);
  for (const key of batch.keys) {
    if (!key.rotation.ok) errors.push(key.rotation.error);
    if (!key.access.ok) errors.push(key.access.error);
    for (const raw of Object.values(key.raw)) if (!raw.ok) errors.push(raw.error);
    errors.push(...key.errors);
  }
  return errors.filter((error) => error.retryable);
}
