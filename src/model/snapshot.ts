import type { KeyRecord, ReadWindow, SourceType, CollectionError } from "./key.ts";
import type { LoggingStatus } from "./logging.ts";
import type { UsageSummary } from "./usage.ts";
import type { ChangeSummary } from "./changes.ts";
import type { InventoryEntry } from "./inventory.ts";
import type { GovernanceFacts, ProcedureIdentity } from "./review.ts";

export interface DateRange {
  /** Inclusive UTC start, ISO-8601 instant (00:00:00.000Z of the first day). */
  from: string;
  /** Exclusive UTC end, ISO-8601 instant (00:00:00.000Z of the day after the last day). */
  toExclusive: string;
  /** The inclusive last day as the user gave it, `YYYY-MM-DD`. */
  to: string;
  /** Label such as `2026-Q3`, `2026-09`, `2026`, or `2026-07-01..2026-09-30`. */
  label: string;
}

/** A location (region, vault) or a whole source that could not be collected. */
export interface SourceGap {
  source: string;
  location?: string | undefined;
  error: CollectionError;
}

export interface LocationSnapshot {
  source: string;
  location: string;
  keys: KeyRecord[];
  logging: LoggingStatus;
  gaps: SourceGap[];
}

export interface SourceSnapshot {
  source: string;
  type: SourceType;
  /** AWS account id, Azure subscription, Vault cluster name: who the evidence is about. */
  account?: string;
  locations: LocationSnapshot[];
  usage: UsageSummary[];
  /** Each extracted location's configuration history; complete exactly as far as its usage summary says. */
  changes: ChangeSummary[];
  gaps: SourceGap[];
}

/** The policy thresholds checks judge against, from the config with defaults applied. */
export interface JudgementPolicy {
  maxRotationDays: number;
  logRetentionDays: number;
  approvedKeySpecs: string[];
  /** Sources whose keys must be HSM-backed (Azure `requireHsm: true`): software keys are not approved there. */
  hsmRequiredSources: string[];
  /** Days a signed access review and the procedure approval stay current (`policy.reviewIntervalDays`). */
  reviewIntervalDays: number;
  /** Where the user declares a source's logs are monitored beyond what keyproof can read (`policy.monitoring`). */
  monitoring: { destinations: MonitoringDestination[] };
}

/**
 * A monitoring destination the user declares for a source's logs (a SIEM reading the trail bucket, a log
 * shipper tailing Vault's audit file): facts keyproof cannot read from the source, so the config states
 * them and the checks name them as declared, not observed.
 */
export interface MonitoringDestination {
  /** The source whose logs reach the destination. */
  source: string;
  /** What it is, as an auditor reads it: "Splunk Cloud (trail bucket via SQS)", "fluent-bit → Datadog". */
  name: string;
  /**
   * `siem`: a monitoring system; `shipper`: forwards a Vault audit log off the host (a second copy);
   * `alert`: an alert rule kept outside the source (a SIEM detection, a pager rule) that fires when a key is
   * disabled or scheduled for deletion, the declared equivalent of a CloudWatch alarm, an EventBridge rule or
   * an Azure activity-log alert. An `alert` is not a monitoring destination for the other checks.
   */
  kind: "siem" | "shipper" | "alert";
}

/** Everything a check may look at. Pure data: checks never call out. */
export interface Snapshot {
  runId: string;
  organization: string;
  range: DateRange;
  capturedAt: string;
  policy: JudgementPolicy;
  inventory: InventoryEntry[];
  sources: SourceSnapshot[];
  /** Signed reviews and the latest procedure approval, as read from the service's Redis at judge time. */
  governance: GovernanceFacts;
  /** The procedure text this run's configuration produces: what the latest approval must match. */
  procedure: ProcedureIdentity;
}

/**
 * When the facts of a run were read: the first and the last API read over every key (`readWindow`) and
 * every location's logging status. Banners show it, so no picture shows a read time later than its
 * banner; the manifest records it, and a signature must fall within it (plus a margin). The snapshot's own
 * capture time when nothing was read.
 */
export function captureWindowOf(snapshot: Pick<Snapshot, "capturedAt" | "sources">): ReadWindow {
  let first: number | undefined;
  let last: number | undefined;
  const add = (instant: string): void => {
    const time = Date.parse(instant);
    if (Number.isNaN(time)) return;
    if (first === undefined || time < first) first = time;
    if (last === undefined || time > last) last = time;
  };
  for (const source of snapshot.sources) {
    for (const location of source.locations) {
      add(location.logging.capturedAt);
      for (const key of location.keys) {
        add(key.readWindow.first);
        add(key.readWindow.last);
      }
    }
  }
  if (first === undefined || last === undefined)
    return { first: snapshot.capturedAt, last: snapshot.capturedAt };
  return { first: new Date(first).toISOString(), last: new Date(last).toISOString() };
}
