import type { JsonValue } from "./json.ts";

/** One key-usage or key-administration event, normalized from CloudTrail, Azure AuditEvent or a Vault audit line. */
export interface UsageEvent {
  /** UTC ISO-8601 */
  time: string;
  source: string;
  location: string;
  /** Key id as the model knows it, when the event names a key. */
  keyId?: string;
  /** The identifier the event carried (ARN, URI, path), unnormalized. */
  keyReference?: string;
  /** `Decrypt`, `Encrypt`, `CreateGrant`, `transit/decrypt`... */
  action: string;
  principal: string;
  sourceAddress?: string;
  userAgent?: string;
  outcome: "success" | "failure";
  errorCode?: string;
  eventId: string;
  /** Where the record came from: S3 object key, LookupEvents, audit file line. */
  origin: string;
  /**
   * The request parameters exactly as logged, on administrative events only (changes.ndjson names what
   * was changed: the new key policy, the grantee, the rotation period). Usage events leave it out: a
   * Decrypt's encryption context can be large and is not configuration.
   */
  requestParameters?: JsonValue;
}

/** A part of the usage log that could not be read. Recorded in the bundle, never skipped silently. */
export interface UsageGap {
  source: string;
  location: string;
  /** The object, page or file line that failed. */
  object: string;
  code: string;
  message: string;
}

export type UsageItem = { kind: "event"; event: UsageEvent } | { kind: "gap"; gap: UsageGap };

/** Streaming summary of one location's usage log, kept in memory instead of the events themselves. */
export interface UsageSummary {
  source: string;
  location: string;
  /** How events were obtained: `cloudtrail-s3`, `cloudtrail-lookup-events`, `log-analytics`, `vault-audit-file`, or `none`. */
  method: string;
  eventCount: number;
  byKey: Record<string, number>;
  byAction: Record<string, number>;
  /**
   * Events per principal (ARN, object id, Vault display name). Exact up to a number of distinct principals,
   * then certain lower bounds of the top principals: `principalCounting` says which.
   */
  byPrincipal: Record<string, number>;
  /** How exact `byPrincipal` is; absent in summaries written before it existed (then exact). */
  principalCounting?: PrincipalCounting;
  /** Events per UTC day, `YYYY-MM-DD`: the usage report's daily chart. */
  byDay: Record<string, number>;
  firstEventAt?: string;
  lastEventAt?: string;
  gaps: UsageGap[];
}

/**
 * How `byPrincipal` was counted. `exact`: every principal, every count exact (at most `capacity` distinct
 * principals). `space-saving`: more distinct principals than `capacity`; the listed counts are events each
 * principal certainly made (short by at most `maxUndercount`), `eventsNotItemized` events are not
 * attributed to a listed principal, and any principal not listed made at most `maxUndercount` events.
 */
export type PrincipalCounting =
  | { method: "exact"; capacity: number }
  | {
      method: "space-saving";
      capacity: number;
      eventsNotItemized: number;
      maxUndercount: number;
      /** The same in a sentence, for a reader of usage-summary.json. */
      note: string;
    };
