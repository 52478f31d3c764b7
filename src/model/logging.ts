import type { IdentityPolicy } from "./identity.ts";
import type { Collected, CollectionError } from "./key.ts";

/** How long a log sink keeps records. `unknown` is carried with the reason, never guessed. */
export type Retention =
  { kind: "days"; days: number } | { kind: "unlimited" } | { kind: "unknown"; reason: string };

/**
 * Where an Azure diagnostic setting sends its records, as the setting states them (ARM resource ids). A field
 * is absent when the setting does not send there.
 */
export interface DiagnosticDestinations {
  /** Log Analytics workspace (queried and alerted on: monitoring). */
  workspaceId?: string;
  /** Event Hub namespace authorization rule (a stream a SIEM consumes: monitoring). */
  eventHubAuthorizationRuleId?: string;
  eventHubName?: string;
  /** Storage account (an archive nobody is alerted from). */
  storageAccountId?: string;
  /** Azure Native ISV partner solution (Datadog, Elastic...: monitoring platforms). */
  marketplacePartnerId?: string;
}

/** One place key events are sent: a CloudTrail trail, an Azure diagnostic setting, a Vault audit device. */
export interface LoggingSink {
  kind: "cloudtrail-trail" | "azure-diagnostic-setting" | "vault-audit-device";
  name: string;
  /** ARN or resource id. */
  reference: string;
  /**
   * The sink is switched on and delivering (trail IsLogging, device enabled). `undefined` when the status
   * could not be read: the failed call is in `LoggingStatus.errors`, and unknown is never read as off.
   */
  active: boolean | undefined;
  /** Key-usage and administrative events of this location reach the sink. */
  coversKeyEvents: boolean;
  /** Why coversKeyEvents is false, or the selectors that made it true. */
  coverageReason: string;
  destination?: string;
  retention: Retention;
  /**
   * Vault audit devices only: the device type as `sys/audit` reports it (`file`, `socket`, `syslog`, or a
   * plugin's name). Whether records leave the host depends on it; absent on other sinks.
   */
  auditDeviceType?: string;
  /** Azure diagnostic settings only: where the setting sends records; absent on other sinks. */
  diagnosticDestinations?: DiagnosticDestinations;
  /** Integrity and monitoring facts of a CloudTrail trail; set on `cloudtrail-trail` sinks only. */
  trail?: TrailProtection;
  /** Evidence for people (options, stated policies); checks judge the typed fields above, never this. */
  detail: Record<string, unknown>;
}

/**
 * How a CloudTrail trail protects and forwards what it delivers, as DescribeTrails and the bucket's S3
 * settings report it. Facts only: the trail-* checks judge them. The DescribeTrails fields are plain values
 * because a sink exists only when DescribeTrails answered.
 */
export interface TrailProtection {
  /** `LogFileValidationEnabled`: CloudTrail writes signed digest files, so altered or deleted log files show. */
  logFileValidationEnabled: boolean;
  /** `KmsKeyId`: the KMS key delivered files are encrypted with (SSE-KMS); absent = SSE-S3 only. */
  kmsKeyId?: string;
  /** `CloudWatchLogsLogGroupArn`: the log group the trail also delivers to (alarms, metric filters). */
  cloudWatchLogsLogGroupArn?: string;
  /** The bucket the trail writes to; absent when the trail names none. */
  bucket?: TrailBucketProtection;
}

/**
 * The trail bucket's own settings, each read by its own call: a failed call is `ok: false` with its cause
 * (also in `LoggingStatus.errors`), never read as "off". Bucket-level settings only: an account-level
 * public access block (s3control) is not read.
 */
export interface TrailBucketProtection {
  name: string;
  /** GetPublicAccessBlock: all four flags true. NoSuchPublicAccessBlockConfiguration reads as `false`. */
  publicAccessBlocked: Collected<boolean>;
  /** GetBucketVersioning: `Status` is `Enabled` (`Suspended` or never set read as `false`). */
  versioningEnabled: Collected<boolean>;
  /** GetObjectLockConfiguration: `ObjectLockEnabled` is `Enabled`; ObjectLockConfigurationNotFoundError reads as `false`. */
  objectLockEnabled: Collected<boolean>;
}

/** Where log files sit in object storage: a bucket and the key prefix before the provider's fixed path. */
export interface LogFileLocation {
  bucket: string;
  /** Key prefix before the fixed path (AWS: before `AWSLogs/`): `""`, or ending in `/`. */
  prefix: string;
}

/**
 * Where the usage log files of a location are read, as the configuration names them and as the sink that
 * logs the location's key events writes them. Facts only: a check compares the two.
 */
export interface UsageLogLocation {
  /**
   * From the configuration (AWS: `cloudtrail.bucket` / `cloudtrail.prefix`, the `AWSLogs/` form reduced to
   * the part before it). A field absent here was not configured and is taken from the sink.
   */
  configured: Partial<LogFileLocation>;
  /** The sink that logs the location's key events (AWS: active trail covering KMS); absent when none does. */
  sink?: LogFileLocation & { reference: string };
}

/**
 * An alert rule the source's own monitoring service keeps on administrative key events: a CloudWatch alarm
 * on a CloudWatch Logs metric filter, an EventBridge rule, an Azure activity-log alert or a Log Analytics
 * scheduled query rule. Facts only, read from the rule as stored: the alert checks judge them.
 */
export interface KeyEventAlert {
  /**
   * `cloudwatch-metric-filter`: a metric filter on key events that no alarm watches. It alerts no one by
   * itself (`notifies` empty, `enabled` undefined); it is kept so a finding can name what was half set up.
   */
  kind:
    | "cloudwatch-metric-alarm"
    | "cloudwatch-metric-filter"
    | "eventbridge-rule"
    | "azure-activity-log-alert"
    | "azure-scheduled-query-rule";
  name: string;
  /** ARN or resource id of the rule (for a metric alarm: the alarm). */
  reference: string;
  /** The rule is switched on (alarm actions enabled, rule ENABLED); `undefined` when the source does not say. */
  enabled: boolean | undefined;
  /**
   * The administrative actions the rule fires on, as read from its filter pattern, event pattern, condition
   * or query (AWS `DisableKey`, `ScheduleKeyDeletion`; Azure `KeyDelete`...). Only actions named in
   * the rule, never guessed from its name. A value may hold `*` wildcards as the rule states them
   * (`Disable*`); read it with `alertActionMatches`.
   */
  actions: string[];
  /** Where it notifies (SNS topics, EventBridge targets, action groups); empty when it notifies no one. */
  notifies: string[];
  /** Evidence for people (patterns, queries, thresholds); checks judge the typed fields above, never this. */
  detail: Record<string, unknown>;
}

/**
 * The alert rules on administrative key events found for a location, and the calls that failed while
 * looking. A failed call makes "no rule found" unknown, never "no rule".
 */
export interface KeyEventAlerting {
  alerts: KeyEventAlert[];
  errors: CollectionError[];
}

/**
 * Whether an alert's stated action (`DisableKey`, or a wildcard such as `Disable*` or `*`) matches an event
 * name. Case-sensitive, as CloudWatch Logs filter patterns and EventBridge patterns compare values.
 */
export function alertActionMatches(stated: string, eventName: string): boolean {
  const expression = stated
    .split("*")
    .map((part) => part.replace(/[.+?^${}()|[\]\\/]/g, "\\$&"))
    .join(".*");
  return new RegExp(`^${expression}$`).test(eventName);
}

/** Logging configuration as seen from one location of a source (an AWS region, a vault). */
export interface LoggingStatus {
  source: string;
  location: string;
  capturedAt: string;
  sinks: LoggingSink[];
  /** Calls that failed while reading the logging configuration. */
  errors: CollectionError[];
  /** Set by sources that read usage from log files in a bucket (AWS CloudTrail); absent elsewhere. */
  usageLogLocation?: UsageLogLocation;
  /**
   * Alert rules on administrative key events (AWS: metric filter + alarm, EventBridge; Azure: activity-log
   * alert, scheduled query rule). Absent where the source type has no alerting keyproof reads (Vault).
   */
  keyEventAlerting?: KeyEventAlerting;
  /**
   * AWS only: the account's customer-managed and inline IAM policies, or why IAM could not be read. IAM
   * is account-wide, so one location per source carries it (the source's first region, where its IAM
   * client is configured); it rides on the logging status because that is the one per-location fact the
   * provider port returns besides keys. Absent on every other location and source type.
   */
  identityPolicies?: Collected<IdentityPolicy[]>;
  /**
   * Vault child namespaces only: the audit devices that record this namespace live in the root namespace,
   * and the token may not read them there (`call` answered 403 in the root namespace; that error is also in
   * `errors`). Unknown by the source's design, not a failed read of this namespace: the logging checks warn
   * with `reason` (confirm the root's devices another way) instead of an error. Absent everywhere else.
   */
  auditDevicesOutOfReach?: { namespace: string; call: string; reason: string };
}
