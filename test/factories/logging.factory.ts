import type {
  LoggingSink,
  LoggingStatus,
  TrailBucketProtection,
  TrailProtection,
} from "../../src/model/logging.ts";
import { CAPTURED_AT, collected } from "./collected.factory.ts";
import { DEFAULT_ACCOUNT, DEFAULT_LOCATION, DEFAULT_SOURCE } from "./key.factory.ts";

/** A private, versioned trail bucket (no Object Lock). */
export function makeTrailBucket(overrides: Partial<TrailBucketProtection> = {}): TrailBucketProtection {
  return {
    name: "org-trail-logs",
    publicAccessBlocked: collected(true, "s3:GetPublicAccessBlock"),
    versioningEnabled: collected(true, "s3:GetBucketVersioning"),
    objectLockEnabled: collected(false, "s3:GetObjectLockConfiguration"),
    ...overrides,
  };
}

/** A trail with validation on, SSE-KMS, delivery to CloudWatch Logs and a protected bucket. */
export function makeTrailProtection(overrides: Partial<TrailProtection> = {}): TrailProtection {
  return {
    logFileValidationEnabled: true,
    kmsKeyId: `arn:aws:kms:${DEFAULT_LOCATION}:${DEFAULT_ACCOUNT}:key/0e3b3a1c-trail-logs`,
    cloudWatchLogsLogGroupArn: `arn:aws:logs:${DEFAULT_LOCATION}:${DEFAULT_ACCOUNT}:log-group:org-trail:*`,
    bucket: makeTrailBucket(),
    ...overrides,
  };
}

/** An active multi-region CloudTrail trail that records KMS events, keeps them forever and is well protected. */
export function makeSink(overrides: Partial<LoggingSink> = {}): LoggingSink {
  const name = overrides.name ?? "org-trail";
  // Trail facts belong to CloudTrail sinks only: an Azure or Vault sink made here carries none.
  const trail =
    (overrides.kind ?? "cloudtrail-trail") === "cloudtrail-trail" ? { trail: makeTrailProtection() } : {};
  return {
    kind: "cloudtrail-trail",
    name,
    reference: `arn:aws:cloudtrail:${DEFAULT_LOCATION}:${DEFAULT_ACCOUNT}:trail/${name}`,
    active: true,
    coversKeyEvents: true,
    coverageReason: "management events: All (KMS events included)",
    destination: "s3://org-trail-logs",
    retention: { kind: "unlimited" },
    ...trail,
    detail: {},
    ...overrides,
  };
}

/** One covering sink by default; `makeLoggingStatus({ sinks: [] })` for a location without logging. */
export function makeLoggingStatus(overrides: Partial<LoggingStatus> = {}): LoggingStatus {
  return {
    source: DEFAULT_SOURCE,
    location: DEFAULT_LOCATION,
    capturedAt: CAPTURED_AT,
    sinks: [makeSink()],
    errors: [],
    ...overrides,
  };
}
