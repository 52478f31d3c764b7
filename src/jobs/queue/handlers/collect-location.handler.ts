import type { CollectionError } from "../../../model/key.ts";
import type { SourceGap } from "../../../model/snapshot.ts";
import {
  collectBatchStep,
  finishLocationStep,
  loadBatchRefs,
  loadPlan,
  missingBatches,
  planLocationStep,
  storeBatch,
  storePlan,
  type CollectedBatch,
  type StoredLocationPlan,
} from "../../steps/collect-location.step.ts";
import { isFinalAttempt, type JobContext } from "../job-context.ts";
import { batchJobId } from "../job-ids.ts";
import type { LocationPayload } from "../job-payloads.ts";
import { RetryableJobError } from "../job-errors.ts";
import { fanOutSettingsOf } from "../queue-settings.ts";
import {
  keySelectorOf,
  withRunScope,
  withRunProvider,
  withSourceLease,
  type RunScope,
} from "./run-context.ts";

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
  return withRunScope(payload.runId, job, {}, async (scope) => {
    await job.runs.markRunning(payload.runId);
    const settings = fanOutSettingsOf(scope.plan.config);
    const lease = {
      source: payload.source,
      location: payload.location,
      kind: "collect",
      slots: settings.locationConcurrency,
    };

    const stored = await loadPlan(scope.work, payload.source, payload.location);
    const needsLease =
      stored === undefined ||
      (stored.batchCount === 1 && (await missingBatches(stored, scope.work)).length > 0);
    // Listing and a single batch happen under one lease hold: a small location is one uninterrupted turn.
    const plan =
      stored !== undefined && !needsLease
        ? stored
        : await withSourceLease(job, lease, async () => {
            const current = stored ?? (await planLocation(payload, job, scope, settings.keyBatchSize));
            if (current.batchCount === 1 && (await missingBatches(current, scope.work)).length > 0) {
              await collectBatch(current, 0, job, scope);
            }
            return current;
          });
    // On every execution (idempotent): a worker killed right after storing the plan must not leave progress
    // without the location's batch jobs.
    await job.runs.recordKeyBatches(payload.runId, payload.source, payload.location, plan.batchCount);

    if (plan.batchCount > 1) {
      const missing = await missingBatches(plan, scope.work);
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
      batches: plan.batchCount,
    };
  });
}

/** Lists the location (with the run's cached provider), rejects a plan with retryable errors, stores it. */
async function planLocation(
  payload: LocationPayload,
  job: JobContext,
  scope: RunScope,
  batchSize: number,
): Promise<StoredLocationPlan> {
  const plan = await withRunProvider(job, scope, payload.source, async (provider) => {
    const listed = await planLocationStep({
      provider,
      location: payload.location,
      context: scope.context,
      writer: scope.writer,
      batchSize,
    });
    rejectRetryable(
      retryableErrorsOf({ keys: [], gaps: listed.gaps }, [...listed.logging.errors, ...listed.listingErrors]),
      job,
      payload,
    );
    return listed;
  });
  return storePlan(scope.work, plan);
}

/**
 * Describes one batch of a stored plan with the run's cached provider and stores the result once accepted;
 * shared with the batch job's handler. A batch with retryable errors fails the attempt (and discards the
 * provider, so the retry reads everything afresh).
 */
export async function collectBatch(
  plan: StoredLocationPlan,
  index: number,
  job: JobContext,
  scope: RunScope,
): Promise<CollectedBatch> {
  const refs = await loadBatchRefs(scope.work, plan, index);
  return withRunProvider(job, scope, plan.source, async (provider) => {
    const selectKeys = keySelectorOf(scope.plan);
    const batch = await collectBatchStep({
      provider,
      plan,
      refs,
      context: scope.context,
      writer: scope.writer,
      ...(selectKeys === undefined ? {} : { selectKeys }),
    });
    rejectRetryable(retryableErrorsOf(batch), job, { source: plan.source, location: plan.location });
    await storeBatch(scope.work, plan, index, batch);
    return batch;
  });
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
