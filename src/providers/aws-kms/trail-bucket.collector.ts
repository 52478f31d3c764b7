import {
  GetBucketVersioningCommand,
  GetObjectLockConfigurationCommand,
  GetPublicAccessBlockCommand,
} from "@aws-sdk/client-s3";
import type { S3Client } from "@aws-sdk/client-s3";
import type { Collected, CollectionError } from "../../model/key.ts";
import type { TrailBucketProtection } from "../../model/logging.ts";
import type { Clock } from "../key-provider.ts";
import { capture } from "./capture.ts";

/**
 * The protections of a CloudTrail trail's bucket: public access block, versioning, Object Lock. Facts
 * only; trail-bucket-protected judges them.
 */

/**
 * S3 answers "this setting was never configured" with an error code rather than an empty value; that
 * code is the fact "off", not a failed read. Any other failure stays a failure.
 */
function absentAs(collected: Collected<boolean>, absentCode: string, call: string): Collected<boolean> {
  if (collected.ok || collected.error.code !== absentCode) return collected;
  return { ok: true, value: false, call, capturedAt: collected.capturedAt };
}

/** Reads the three settings in parallel; every failed call is also appended to `errors`. */
export async function collectTrailBucketProtection(
  s3: S3Client,
  bucket: string,
  clock: Clock,
  errors: CollectionError[],
): Promise<TrailBucketProtection> {
  const [publicAccess, versioning, objectLock] = await Promise.all([
    capture("s3:GetPublicAccessBlock", clock, async () => {
      const flags = (await s3.send(new GetPublicAccessBlockCommand({ Bucket: bucket })))
        .PublicAccessBlockConfiguration;
      // Blocked only when all four are on: any one off leaves a path to a public bucket or object.
      return (
        flags?.BlockPublicAcls === true &&
        flags.IgnorePublicAcls === true &&
        flags.BlockPublicPolicy === true &&
        flags.RestrictPublicBuckets === true
      );
    }),
    capture(
      "s3:GetBucketVersioning",
      clock,
      async () => (await s3.send(new GetBucketVersioningCommand({ Bucket: bucket }))).Status === "Enabled",
    ),
    capture(
      "s3:GetObjectLockConfiguration",
      clock,
      async () =>
        (await s3.send(new GetObjectLockConfigurationCommand({ Bucket: bucket }))).ObjectLockConfiguration
          ?.ObjectLockEnabled === "Enabled",
    ),
  ]);
  const protection: TrailBucketProtection = {
    name: bucket,
    publicAccessBlocked: absentAs(
      publicAccess,
      "NoSuchPublicAccessBlockConfiguration",
      "s3:GetPublicAccessBlock",
    ),
    versioningEnabled: versioning,
    objectLockEnabled: absentAs(
      objectLock,
      "ObjectLockConfigurationNotFoundError",
      "s3:GetObjectLockConfiguration",
    ),
  };
  for (const fact of [
    protection.publicAccessBlocked,
    protection.versioningEnabled,
    protection.objectLockEnabled,
  ])
    if (!fact.ok) errors.push(fact.error);
  return protection;
}
