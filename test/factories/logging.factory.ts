import type {
  DiagnosticDestinations,
  KeyEventAlert,
  LoggingSink,
  LoggingStatus,
  TrailBucketProtection,
  TrailProtection,
} from "../../src/model/logging.ts";
import type {
  LocationSnapshot,
  MonitoringDestination,
  SourceGap,
  Snapshot,
} from "../../src/model/snapshot.ts";
import type { SourceType } from "../../src/model/key.ts";
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

/**
 * The CIS AWS Foundations alarm: a CloudWatch alarm, actions enabled, on a metric filter matching DisableKey
 * and ScheduleKeyDeletion, notifying a security SNS topic.
 */
export function makeKeyEventAlert(overrides: Partial<KeyEventAlert> = {}): KeyEventAlert {
  const name = overrides.name ?? "kms-disable-or-delete";
  return {
    kind: "cloudwatch-metric-alarm",
    name,
    reference: `arn:aws:cloudwatch:${DEFAULT_LOCATION}:${DEFAULT_ACCOUNT}:alarm:${name}`,
    enabled: true,
    actions: ["DisableKey", "ScheduleKeyDeletion"],
    notifies: [`arn:aws:sns:${DEFAULT_LOCATION}:${DEFAULT_ACCOUNT}:security-alerts`],
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

/** An enabled Vault audit device at `<path>/` of type `type`, as the Vault provider normalizes `sys/audit`. */
export function makeVaultAuditDevice(
  path: string,
  type: string,
  address = "https://vault.example:8200",
): LoggingSink {
  return makeSink({
    kind: "vault-audit-device",
    name: `${path}/`,
    reference: `${address}/v1/sys/audit/${path}/`,
    coverageReason: "an enabled audit device records every authenticated request and response",
    retention: { kind: "unknown", reason: "the receiving system sets it" },
    auditDeviceType: type,
  });
}

/** An Azure diagnostic setting sending AuditEvent to `destinations`, as the Azure provider normalizes it. */
export function makeDiagnosticSetting(
  name: string,
  destinations: DiagnosticDestinations,
  overrides: Partial<LoggingSink> = {},
): LoggingSink {
  return makeSink({
    kind: "azure-diagnostic-setting",
    name,
    reference: `/subscriptions/sub/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv/providers/microsoft.insights/diagnosticSettings/${name}`,
    coverageReason: "enabled: category AuditEvent",
    destination: Object.values(destinations).join(", "),
    retention: { kind: "unknown", reason: "set at the destination" },
    diagnosticDestinations: destinations,
    ...overrides,
  });
}

/** One location of `source` whose logging status holds exactly these sinks and errors. */
export function makeLoggingLocation(
  source: string,
  location: string,
  sinks: LoggingSink[],
  errors: LoggingStatus["errors"] = [],
): LocationSnapshot {
  return {
    source,
    location,
    keys: [],
    logging: { source, location, capturedAt: CAPTURED_AT, sinks, errors },
    gaps: [],
  };
}

/**
 * Sources of one type built from logging locations (grouped by `location.source`) and gaps, with the declared
 * monitoring destinations in the policy: for the checks that judge a location's logging only.
 */
export function loggingSnapshotParts(
  type: SourceType,
  locations: LocationSnapshot[],
  destinations: MonitoringDestination[] = [],
  gaps: SourceGap[] = [],
): Pick<Snapshot, "sources"> & { policy: { monitoring: { destinations: MonitoringDestination[] } } } {
  const sources: Snapshot["sources"] = [];
  const sourceOf = (id: string) => {
    let source = sources.find((candidate) => candidate.source === id);
    if (source === undefined) {
      source = { source: id, type, locations: [], usage: [], changes: [], gaps: [] };
      sources.push(source);
    }
    return source;
  };
  for (const location of locations) sourceOf(location.source).locations.push(location);
  for (const gap of gaps) sourceOf(gap.source).gaps.push(gap);
  return { sources, policy: { monitoring: { destinations } } };
}
