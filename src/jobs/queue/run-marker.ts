import { hostname } from "node:os";
import { GetObjectLockConfigurationCommand } from "@aws-sdk/client-s3";
import { KeyproofError } from "../../errors/errors.ts";
import { S3WorkStore, type S3WorkTarget } from "../../storage/s3-work-store.ts";
import { LocalWorkStore, type WorkStore } from "../work-store.ts";
import { workDirectoryOf, type RunPlan } from "./run-plan.ts";
import { remoteUrlOf, remoteWorkOf } from "./run-workspace.ts";

/**
 * The run's marker in its work store, written by whoever starts the run, before any job is queued.
 *
 * Why: without `storage.s3`, jobs of one run may execute on different machines and all write into the
 * run's data directory, so every worker must mount the same directory at the same path. A worker that does
 * not (a missing volume, another path) would otherwise create an empty directory of its own and write half
 * the evidence where the sealing worker never looks. With the marker, such a worker fails the run at once,
 * naming the path. With `storage.s3` the marker is in the run's S3 work prefix, which every worker sees;
 * a worker that cannot read it (another bucket, no permission) fails the run the same way.
 */
const MARKER = "run";

interface RunMarker {
  runId: string;
  createdAt: string;
  /** The machine that started the run, to name in the error. */
  host: string;
}

function markerStoreOf(plan: RunPlan): { store: WorkStore; remote: S3WorkTarget | undefined } {
  const remote = remoteWorkOf(plan);
  return {
    store: remote === undefined ? new LocalWorkStore(workDirectoryOf(plan)) : new S3WorkStore(remote),
    remote,
  };
}

export async function writeRunMarker(plan: RunPlan, now = new Date()): Promise<void> {
  const { store, remote } = markerStoreOf(plan);
  if (remote !== undefined) await assertWorkBucketUnretained(remote);
  const marker: RunMarker = { runId: plan.runId, createdAt: now.toISOString(), host: hostname() };
  await store.put(MARKER, marker);
}

export async function assertRunVisible(plan: RunPlan): Promise<void> {
  const { store, remote } = markerStoreOf(plan);
  const marker = await store.get<RunMarker>(MARKER);
  if (marker?.runId === plan.runId) return;
  if (remote !== undefined) {
    throw new KeyproofError(
      "DATA_DIRECTORY_UNAVAILABLE",
      `run ${plan.runId}: its S3 work store ${remoteUrlOf(remote)} is not readable on this worker (${hostname()}): ${store.location}${MARKER}.json is missing`,
      {
        remediation:
          "give every worker the same storage.s3 settings and read/write access to the work prefix (storage.s3.workBucket / workPrefix)",
      },
    );
  }
  throw new KeyproofError(
    "DATA_DIRECTORY_UNAVAILABLE",
    `run ${plan.runId}: its data directory ${plan.outDirectory} is not visible on this worker (${hostname()}): ${store.location}/${MARKER}.json is missing`,
    {
      remediation:
        "mount the shared data directory (queue.dataDirectory / KEYPROOF_DATA_DIR) on every worker at the same path, or configure storage.s3 so workers share nothing but Redis and S3",
    },
  );
}

/**
 * Work objects are overwritten and expired; in a bucket whose Object Lock has a default retention every
 * one of those versions would be locked for years. Refused before the run starts, naming the fix.
 */
export async function assertWorkBucketUnretained(target: S3WorkTarget): Promise<void> {
  let retention: unknown;
  try {
    const answer = await target.client.send(new GetObjectLockConfigurationCommand({ Bucket: target.bucket }));
    retention = answer.ObjectLockConfiguration?.Rule?.DefaultRetention;
  } catch (error) {
    // No Object Lock configuration at all: nothing to lock the work objects.
    if ((error as { name?: string }).name === "ObjectLockConfigurationNotFoundError") return;
    throw error;
  }
  if (retention === undefined) return;
  throw new KeyproofError(
    "STORAGE_REFUSED",
    `bucket ${target.bucket} has a default Object Lock retention: the run's work objects (${remoteUrlOf(target)}) would be locked`,
    {
      remediation:
        "set storage.s3.workBucket to a bucket without default retention (keyproof sets retention on each bundle itself)",
    },
  );
}
