import type { CollectionError } from "./key.ts";

/** How long a log sink keeps records. `unknown` is carried with the reason, never guessed. */
export type Retention =
  { kind: "days"; days: number } | { kind: "unlimited" } | { kind: "unknown"; reason: string };

/** One place key events are sent: a CloudTrail trail, an Azure diagnostic setting, a Vault audit device. */
export interface LoggingSink {
  kind: "cloudtrail-trail" | "azure-diagnostic-setting" | "vault-audit-device";
  name: string;
  /** ARN or resource id. */
  reference: string;
  /** The sink is switched on and delivering (trail IsLogging, device enabled). */
  active: boolean;
  /** Key-usage and administrative events of this location reach the sink. */
  coversKeyEvents: boolean;
  /** Why coversKeyEvents is false, or the selectors that made it true. */
  coverageReason: string;
  destination?: string;
  retention: Retention;
  detail: Record<string, unknown>;
}

/** Logging configuration as seen from one location of a source (an AWS region, a vault). */
export interface LoggingStatus {
  source: string;
  location: string;
  capturedAt: string;
  sinks: LoggingSink[];
  /** Calls that failed while reading the logging configuration. */
  errors: CollectionError[];
}
