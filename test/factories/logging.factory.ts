import type { LoggingSink, LoggingStatus } from "../../src/model/logging.ts";
import { CAPTURED_AT } from "./collected.factory.ts";
import { DEFAULT_ACCOUNT, DEFAULT_LOCATION, DEFAULT_SOURCE } from "./key.factory.ts";

/** An active multi-region CloudTrail trail that records KMS events and keeps them forever. */
export function makeSink(overrides: Partial<LoggingSink> = {}): LoggingSink {
  const name = overrides.name ?? "org-trail";
  return {
    kind: "cloudtrail-trail",
    name,
    reference: `arn:aws:cloudtrail:${DEFAULT_LOCATION}:${DEFAULT_ACCOUNT}:trail/${name}`,
    active: true,
    coversKeyEvents: true,
    coverageReason: "management events: All (KMS events included)",
    destination: "s3://org-trail-logs",
    retention: { kind: "unlimited" },
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
