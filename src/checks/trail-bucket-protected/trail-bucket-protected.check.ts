import type { Check } from "../check.ts";
import { parseCheckMetadata } from "../check-metadata.schema.ts";
import { describeCollectionError } from "../eligibility.ts";
import { runPerTrailCheck, trailLabel } from "../kms-trails.ts";
import type { KmsTrail, TrailVerdict } from "../kms-trails.ts";
import rawMetadata from "./trail-bucket-protected.metadata.json" with { type: "json" };

const metadata = parseCheckMetadata(rawMetadata);

/**
 * Fails on a proven weakness: public access not blocked, or both versioning and Object Lock known off.
 * A setting that could not be read (AccessDenied, a bucket in another account) is unknown: an error,
 * unless the settings that were read already prove the bucket protected or unprotected.
 */
export function judgeTrailBucket({ sink, trail }: KmsTrail): TrailVerdict {
  const label = trailLabel(sink);
  const bucket = trail.bucket;
  if (bucket === undefined)
    return { status: "error", message: `${label} names no S3 bucket, so its protections cannot be read` };
  const where = `bucket ${bucket.name} of ${label}`;
  const { publicAccessBlocked, versioningEnabled, objectLockEnabled } = bucket;
  const weaknesses: string[] = [];
  if (publicAccessBlocked.ok && !publicAccessBlocked.value)
    weaknesses.push("does not block public access (not all four public access block settings are on)");
  if (versioningEnabled.ok && !versioningEnabled.value && objectLockEnabled.ok && !objectLockEnabled.value)
    weaknesses.push("is neither versioned nor Object-Locked");
  if (weaknesses.length > 0) return { status: "fail", message: `${where} ${weaknesses.join(" and ")}` };

  const retained =
    (versioningEnabled.ok && versioningEnabled.value) || (objectLockEnabled.ok && objectLockEnabled.value);
  const unknown = [
    ...(publicAccessBlocked.ok ? [] : [publicAccessBlocked.error]),
    // Only needed when the other one is not known to be on.
    ...(retained
      ? []
      : [versioningEnabled, objectLockEnabled].flatMap((fact) => (fact.ok ? [] : [fact.error]))),
  ];
  if (unknown.length > 0) {
    return {
      status: "error",
      message: `${where}: its settings could not be read: ${unknown.map(describeCollectionError).join("; ")}`,
    };
  }
  const kept = [
    ...(versioningEnabled.ok && versioningEnabled.value ? ["versioned"] : []),
    ...(objectLockEnabled.ok && objectLockEnabled.value ? ["Object-Locked"] : []),
  ];
  return { status: "pass", message: `${where} blocks public access and is ${kept.join(" and ")}` };
}

/** The bucket of every trail that logs a location's KMS events is private and keeps every version. */
export const check: Check = {
  metadata,
  run(snapshot) {
    return runPerTrailCheck(metadata, snapshot, "the trail bucket's protection", judgeTrailBucket);
  },
};
