import type { CollectionError } from "../../../model/key.ts";
import type { LocationSnapshot } from "../../../model/snapshot.ts";
import { createProvider } from "../../../providers/create-provider.ts";
import { collectLocationStep } from "../../steps/collect-location.step.ts";
import { closeProvider, isFinalAttempt, type JobContext } from "../job-context.ts";
import type { LocationPayload } from "../job-payloads.ts";
import { RetryableJobError } from "../job-errors.ts";
import { keySelectorOf, openRunScope, sourceOf, withSourceLease, type RunScope } from "./run-context.ts";

export interface CollectLocationResult {
  keys: number;
  gaps: number;
}

/**
 * Collects one location of one source. Providers keep failed calls as data (never throw), so throttling
 * or a network blip shows up as retryable errors inside the snapshot: while attempts remain, such a
 * snapshot is not accepted and the job is retried with backoff; on the last attempt the errors stay in
 * the evidence as gaps, as they would inline.
 */
export async function handleCollectLocation(
  payload: LocationPayload,
  job: JobContext,
): Promise<CollectLocationResult> {
  const scope = await openRunScope(payload.runId, job);
  await job.runs.markRunning(payload.runId);
  return withSourceLease(job, { source: payload.source, location: payload.location, kind: "collect" }, () =>
    collect(payload, job, scope),
  );
}

async function collect(
  payload: LocationPayload,
  job: JobContext,
  scope: RunScope,
): Promise<CollectLocationResult> {
  const provider = createProvider(sourceOf(scope.plan, payload.source), {
    baseDirectory: scope.plan.configDirectory,
    ...job.providerOptions,
  });
  try {
    const selectKeys = keySelectorOf(scope.plan);
    const collected = await collectLocationStep({
      provider,
      location: payload.location,
      context: scope.context,
      writer: scope.writer,
      work: scope.work,
      ...(selectKeys === undefined ? {} : { selectKeys }),
    });
    const retryable = retryableErrorsOf(collected.snapshot);
    const first = retryable[0];
    if (first !== undefined && !isFinalAttempt(job)) {
      throw new RetryableJobError(
        `${retryable.length} retryable error(s) collecting ${payload.source}/${payload.location}, first ${first.call}: ${first.code} ${first.message}`,
      );
    }
    return { keys: collected.snapshot.keys.length, gaps: collected.snapshot.gaps.length };
  } finally {
    closeProvider(provider);
  }
}

/** Every failed call in a location snapshot that the provider marked retryable (throttling, timeouts, 5xx). */
export function retryableErrorsOf(snapshot: LocationSnapshot): CollectionError[] {
  const errors: CollectionError[] = [];
  for (const gap of snapshot.gaps) errors.push(gap.error);
  errors.push(...snapshot.logging.errors);
  for (const key of snapshot.keys) {
    if (!key.rotation.ok) errors.push(key.rotation.error);
    if (!key.access.ok) errors.push(key.access.error);
    for (const raw of Object.values(key.raw)) if (!raw.ok) errors.push(raw.error);
    errors.push(...key.errors);
  }
  return errors.filter((error) => error.retryable);
}
