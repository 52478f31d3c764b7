import { KeyproofError } from "../../../errors/errors.ts";
import { BundleWriter } from "../../../evidence/bundle-writer.ts";
import type { ExportContext } from "../../../evidence/key-exports.ts";
import { namesOf } from "../../../inventory/match-inventory.ts";
import type { SourceConfig } from "../../../config/config.schema.ts";
import type { KeyRecord } from "../../../model/key.ts";
import { WorkStore } from "../../work-store.ts";
import type { JobContext } from "../job-context.ts";
import { leaseKey, tryAcquireSlottedLease, tryAcquireSourceLease } from "../source-lease.ts";
import { createProvider } from "../../../providers/create-provider.ts";
import type { KeyProvider } from "../../../providers/key-provider.ts";
import { bundleDirectoryOf, workDirectoryOf, type RunPlan } from "../run-plan.ts";
import { assertRunVisible } from "../run-marker.ts";

/** The pieces every run-scoped handler needs: plan, bundle writer, work store, export context. */
export interface RunScope {
  plan: RunPlan;
  writer: BundleWriter;
  work: WorkStore;
  context: ExportContext;
}

export async function openRunScope(runId: string, job: JobContext): Promise<RunScope> {
  const plan = await job.runs.getPlan(runId);
  // Before anything is created here: a worker without the shared data directory must not start a second one.
  await assertRunVisible(plan);
  return {
    plan,
    writer: await BundleWriter.open(bundleDirectoryOf(plan)),
    work: new WorkStore(workDirectoryOf(plan)),
    context: {
      runId: plan.runId,
      organization: plan.config.organization,
      capturedAt: plan.capturedAt,
      range: plan.range,
    },
  };
}

export function sourceOf(plan: RunPlan, sourceId: string): SourceConfig {
  const source = plan.config.sources.find((item) => item.id === sourceId);
  if (source === undefined) {
    throw new KeyproofError("INTERNAL", `run ${plan.runId} has no source "${sourceId}"`);
  }
  return source;
}

/** The key filter of a scoped request: a key is in when any of its names (id, ARN, alias) is listed. */
export function keySelectorOf(plan: RunPlan): ((key: KeyRecord) => boolean) | undefined {
  if (plan.keys === undefined) return undefined;
  const wanted = new Set(plan.keys);
  return (key) => [...namesOf(key)].some((name) => wanted.has(name));
}

/** How long a job waits before trying again for a lease another job holds. */
export const LEASE_RETRY_MS = 1000;

/**
 * Runs `work` while holding a (source, location, kind) lease (source-lease.ts): the plain lease, or one of
 * `slots` that every worker of the deployment shares. When none is free, this job is postponed (delayed,
 * no attempt used) and tried again after a second and a random part of one, so waiting jobs spread out.
 */
export async function withSourceLease<T>(
  job: JobContext,
  target: { source: string; location: string; kind: string; slots?: number },
  work: () => Promise<T>,
): Promise<T> {
  const key = leaseKey(job.prefix, target.source, target.location, target.kind);
  const lease =
    target.slots === undefined
      ? await tryAcquireSourceLease(job.redis, key, job.job.id)
      : await tryAcquireSlottedLease(job.redis, key, target.slots, job.job.id);
  if (lease === undefined)
    return job.job.postpone(LEASE_RETRY_MS + Math.floor(Math.random() * LEASE_RETRY_MS));
  try {
    return await work();
  } finally {
    await lease.release().catch(() => undefined);
  }
}

/**
 * Runs `work` with the run's provider for a source from this process's cache (provider-cache.ts): the
 * location-wide facts it has read are reused by the next batch of the same run here.
 */
export function withRunProvider<T>(
  job: JobContext,
  scope: RunScope,
  sourceId: string,
  work: (provider: KeyProvider) => Promise<T>,
): Promise<T> {
  return job.providers.use(
    { runId: scope.plan.runId, source: sourceId },
    () =>
      createProvider(sourceOf(scope.plan, sourceId), {
        baseDirectory: scope.plan.configDirectory,
        ...job.providerOptions,
      }),
    work,
  );
}
