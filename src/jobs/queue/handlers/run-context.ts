import { KeyproofError } from "../../../errors/errors.ts";
import { BundleWriter } from "../../../evidence/bundle-writer.ts";
import type { ExportContext } from "../../../evidence/key-exports.ts";
import { namesOf } from "../../../inventory/match-inventory.ts";
import type { SourceConfig } from "../../../config/config.schema.ts";
import type { KeyRecord } from "../../../model/key.ts";
import { LocalWorkStore, type WorkStore } from "../../work-store.ts";
import { S3WorkStore } from "../../../storage/s3-work-store.ts";
import { RunWorkspace, remoteWorkOf, usingWorkspace, type HydrateSelection } from "../run-workspace.ts";
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
  /** Set when the run keeps its files in S3 (`storage.s3`): this job's scratch copy and its remote side. */
  workspace?: RunWorkspace;
}

export interface RunScopeOptions {
  /** What a run kept in S3 downloads before the job (the job's reads); ignored on a shared directory. */
  hydrate?: HydrateSelection;
}

/**
 * Opens the run for one job and runs `work` in it. With `storage.s3`, the job works in its own scratch
 * folder and publishes what it wrote when `work` ends, however it ends (a job parked for its children or
 * failed for a retry keeps the files it wrote, as it would on a shared directory); a job killed outright
 * loses only what it wrote since its last work-store put, and its retry writes that again.
 */
export async function withRunScope<T>(
  runId: string,
  job: JobContext,
  options: RunScopeOptions,
  work: (scope: RunScope) => Promise<T>,
): Promise<T> {
  const scope = await openRunScope(runId, job, options);
  const workspace = scope.workspace;
  if (workspace === undefined) return work(scope);
  return usingWorkspace(workspace, () => work(scope));
}

async function openRunScope(runId: string, job: JobContext, options: RunScopeOptions): Promise<RunScope> {
  const plan = await job.runs.getPlan(runId);
  // Before anything is created here: a worker without the shared data directory must not start a second one.
  await assertRunVisible(plan);
  const context: ExportContext = {
    runId: plan.runId,
    organization: plan.config.organization,
    capturedAt: plan.capturedAt,
    range: plan.range,
  };
  const remote = remoteWorkOf(plan);
  if (remote === undefined) {
    return {
      plan,
      writer: await BundleWriter.open(bundleDirectoryOf(plan)),
      work: new LocalWorkStore(workDirectoryOf(plan)),
      context,
    };
  }
  const workspace = await RunWorkspace.open({
    target: remote,
    runId: plan.runId,
    ...(job.dataDirectory === undefined ? {} : { scratchDirectory: job.dataDirectory }),
  });
  try {
    await workspace.hydrate(options.hydrate ?? "none");
  } catch (error) {
    await workspace.close();
    throw error;
  }
  return {
    plan,
    writer: await BundleWriter.open(workspace.bundleDirectory),
    work: new S3WorkStore(remote, { beforePut: () => workspace.publish() }),
    context,
    workspace,
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
