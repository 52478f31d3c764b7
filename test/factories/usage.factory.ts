import type { ChangeRecord, ChangeSummary, KeyChangeHistory } from "../../src/model/changes.ts";
import type { UsageGap, UsageSummary } from "../../src/model/usage.ts";
import { DEFAULT_LOCATION, DEFAULT_SOURCE } from "./key.factory.ts";

export function makeUsageGap(overrides: Partial<UsageGap> = {}): UsageGap {
  return {
    source: DEFAULT_SOURCE,
    location: DEFAULT_LOCATION,
    object: "AWSLogs/111122223333/CloudTrail/eu-west-1/2026/08/14/broken.json.gz",
    code: "CorruptObject",
    message: "unexpected end of gzip stream",
    ...overrides,
  };
}

/** Forty-two CloudTrail events from S3 in the range, no gaps. */
export function makeUsageSummary(overrides: Partial<UsageSummary> = {}): UsageSummary {
  return {
    source: DEFAULT_SOURCE,
    location: DEFAULT_LOCATION,
    method: "cloudtrail-s3",
    eventCount: 42,
    byKey: {},
    byAction: { Decrypt: 30, GenerateDataKey: 12 },
    byPrincipal: { "arn:aws:iam::111122223333:role/app": 42 },
    byDay: { "2026-07-01": 20, "2026-09-30": 22 },
    firstEventAt: "2026-07-01T00:03:00.000Z",
    lastEventAt: "2026-09-30T23:58:00.000Z",
    gaps: [],
    ...overrides,
  };
}

/** A location's configuration history with no change in the period. */
export function makeChangeSummary(overrides: Partial<ChangeSummary> = {}): ChangeSummary {
  return {
    source: DEFAULT_SOURCE,
    location: DEFAULT_LOCATION,
    changeCount: 0,
    byAction: {},
    keys: [],
    locationAccessChanges: [],
    locationAccessChangesOmitted: 0,
    ...overrides,
  };
}

export function makeChangeRecord(overrides: Partial<ChangeRecord> = {}): ChangeRecord {
  return {
    time: "2026-08-14T09:30:00.000Z",
    action: "DisableKeyRotation",
    principal: "arn:aws:iam::111122223333:user/mallory",
    sourceAddress: "203.0.113.7",
    eventId: "11111111-2222-3333-4444-555555555555",
    ...overrides,
  };
}

/** One key's history; counts follow the lists unless given. */
export function makeKeyChangeHistory(
  key: string,
  overrides: Partial<KeyChangeHistory> = {},
): KeyChangeHistory {
  const rotationToggles = overrides.rotationToggles ?? [];
  return {
    key,
    rotationToggles,
    rotationTogglesOmitted: 0,
    rotationDisabledCount: rotationToggles.filter((change) => change.rotationState === "disabled").length,
    rotationUnknownCount: rotationToggles.filter((change) => change.rotationState === "unknown").length,
    accessChanges: [],
    accessChangesOmitted: 0,
    ...overrides,
  };
}
