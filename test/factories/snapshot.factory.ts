import type { InventoryEntry } from "../../src/config/config.schema.ts";
import { DEFAULT_APPROVED_KEY_SPECS } from "../../src/config/config.schema.ts";
import type { KeyRecord, SourceType } from "../../src/model/key.ts";
import type { LoggingStatus } from "../../src/model/logging.ts";
import type {
  JudgementPolicy,
  LocationSnapshot,
  Snapshot,
  SourceGap,
  SourceSnapshot,
} from "../../src/model/snapshot.ts";
import type { UsageSummary } from "../../src/model/usage.ts";
import type { ChangeSummary } from "../../src/model/changes.ts";
import { parsePeriod } from "../../src/time/date-range.ts";
import { procedureIdentityOf } from "../../src/procedure/procedure-text.ts";
import { CAPTURED_AT, makeCollectionError } from "./collected.factory.ts";
import { DEFAULT_ACCOUNT, DEFAULT_LOCATION, DEFAULT_SOURCE } from "./key.factory.ts";
import { makeLoggingStatus } from "./logging.factory.ts";
import { makeChangeSummary, makeUsageSummary } from "./usage.factory.ts";

export function makePolicy(overrides: Partial<JudgementPolicy> = {}): JudgementPolicy {
  return {
    maxRotationDays: 365,
    logRetentionDays: 365,
    approvedKeySpecs: [...DEFAULT_APPROVED_KEY_SPECS],
    hsmRequiredSources: [],
    reviewIntervalDays: 365,
    monitoring: { destinations: [] },
    ...overrides,
  };
}

export function makeInventoryEntry(overrides: Partial<InventoryEntry> = {}): InventoryEntry {
  return {
    source: DEFAULT_SOURCE,
    match: "alias/payments",
    owner: "jane.doe@example.com",
    usage: "data-at-rest",
    systems: ["payments-db"],
    ...overrides,
  };
}

/** An inventory entry that names `key` by its key id (and lives in the key's source). */
export function inventoryEntryFor(
  key: Pick<KeyRecord, "source" | "keyId">,
  overrides: Partial<InventoryEntry> = {},
): InventoryEntry {
  return makeInventoryEntry({ source: key.source, match: key.keyId, ...overrides });
}

export function makeGap(overrides: Partial<SourceGap> = {}): SourceGap {
  return {
    source: DEFAULT_SOURCE,
    location: "us-east-1",
    error: makeCollectionError({
      call: "kms:ListKeys",
      code: "UnrecognizedClientException",
      message: "The security token included in the request is invalid",
    }),
    ...overrides,
  };
}

/** A whole source that could not be collected (no location): bad credentials, an unreachable endpoint. */
export function makeSourceGap(overrides: Partial<Omit<SourceGap, "location">> = {}): SourceGap {
  const gap = makeGap(overrides);
  delete gap.location;
  return gap;
}

export function makeLocation(overrides: Partial<LocationSnapshot> = {}): LocationSnapshot {
  const source = overrides.source ?? DEFAULT_SOURCE;
  const location = overrides.location ?? DEFAULT_LOCATION;
  return {
    source,
    location,
    keys: [],
    logging: makeLoggingStatus({ source, location }),
    gaps: [],
    ...overrides,
  };
}

export function makeSource(overrides: Partial<SourceSnapshot> = {}): SourceSnapshot {
  const source: SourceSnapshot = {
    source: overrides.source ?? DEFAULT_SOURCE,
    type: overrides.type ?? "aws-kms",
    locations: [],
    usage: [],
    changes: [],
    gaps: [],
    ...overrides,
  };
  if (!("account" in overrides) && source.type === "aws-kms") source.account = DEFAULT_ACCOUNT;
  return source;
}

export interface SnapshotOptions extends Partial<Omit<Snapshot, "policy">> {
  policy?: Partial<JudgementPolicy>;
  /** Grouped into sources and locations by `key.source` / `key.location`. */
  keys?: KeyRecord[];
  /** Replaces the default logging of the location it names, creating the location if needed. */
  logging?: LoggingStatus[];
  /** When given, the only usage summaries (`[]` for none); otherwise one default summary per location. */
  usage?: UsageSummary[];
  /** When given, the only change summaries; otherwise one empty history per usage summary (same log). */
  changes?: ChangeSummary[];
  /** Attached to the location snapshot it names if one exists, otherwise to the source. */
  gaps?: SourceGap[];
  /** Source id → account; map a source to `undefined` to model an unknown account. Default: 111122223333 for AWS. */
  accounts?: Record<string, string | undefined>;
}

/**
 * A whole snapshot for 2026-Q3. Give `keys` (and optionally `logging`, `usage`, `gaps`) and the
 * sources and locations are built around them with healthy defaults; or give `sources` verbatim.
 * `makeSnapshot()` is the empty snapshot: nothing to judge.
 */
export function makeSnapshot(options: SnapshotOptions = {}): Snapshot {
  const { policy, keys, logging, usage, changes, gaps, accounts, sources, ...rest } = options;
  if (sources !== undefined && (keys ?? logging ?? usage ?? changes ?? gaps ?? accounts) !== undefined) {
    throw new Error(
      "makeSnapshot: give either `sources` or `keys`/`logging`/`usage`/`gaps`/`accounts`, not both",
    );
  }
  const snapshot: Omit<Snapshot, "procedure"> & { procedure?: Snapshot["procedure"] } = {
    runId: "run-test-0001",
    organization: "Example Corp",
    range: parsePeriod("2026-Q3"),
    capturedAt: CAPTURED_AT,
    inventory: [],
    sources:
      sources ??
      buildSources({
        keys: keys ?? [],
        logging: logging ?? [],
        usage,
        changes,
        gaps: gaps ?? [],
        accounts: accounts ?? {},
      }),
    // Read, with nothing signed or approved yet: the governance checks fail, every other check is unmoved.
    governance: { state: "read", signedReviews: [] },
    ...rest,
    policy: makePolicy(policy),
  };
  // The identity the snapshot's own organization, policy and source types produce, as the judge step computes it.
  return {
    ...snapshot,
    procedure:
      snapshot.procedure ??
      procedureIdentityOf({
        organization: snapshot.organization,
        policy: snapshot.policy,
        sourceTypes: snapshot.sources.map((source) => source.type),
      }),
  };
}

function buildSources(parts: {
  keys: KeyRecord[];
  logging: LoggingStatus[];
  usage: UsageSummary[] | undefined;
  changes: ChangeSummary[] | undefined;
  gaps: SourceGap[];
  accounts: Record<string, string | undefined>;
}): SourceSnapshot[] {
  const sources = new Map<string, SourceSnapshot>();
  const sourceOf = (id: string, type: SourceType = "aws-kms"): SourceSnapshot => {
    let source = sources.get(id);
    if (source === undefined) {
      source = makeSource({ source: id, type });
      if (id in parts.accounts) {
        const account = parts.accounts[id];
        if (account === undefined) delete source.account;
        else source.account = account;
      }
      sources.set(id, source);
    }
    return source;
  };
  const locationOf = (id: string, location: string, type?: SourceType): LocationSnapshot => {
    const source = sourceOf(id, type);
    let snapshot = source.locations.find((candidate) => candidate.location === location);
    if (snapshot === undefined) {
      snapshot = makeLocation({ source: id, location });
      source.locations.push(snapshot);
    }
    return snapshot;
  };

  for (const key of parts.keys) locationOf(key.source, key.location, key.sourceType).keys.push(key);
  for (const status of parts.logging) locationOf(status.source, status.location).logging = status;
  for (const source of sources.values()) {
    source.usage =
      parts.usage === undefined
        ? source.locations.map((location) =>
            makeUsageSummary({ source: source.source, location: location.location }),
          )
        : parts.usage.filter((summary) => summary.source === source.source);
  }
  for (const summary of parts.usage ?? []) {
    if (!sources.has(summary.source)) sourceOf(summary.source).usage.push(summary);
  }
  for (const source of sources.values()) {
    source.changes =
      parts.changes === undefined
        ? source.usage.map((summary) =>
            makeChangeSummary({ source: summary.source, location: summary.location }),
          )
        : parts.changes.filter((summary) => summary.source === source.source);
  }
  for (const summary of parts.changes ?? []) {
    if (!sources.has(summary.source)) sourceOf(summary.source).changes.push(summary);
  }
  for (const gap of parts.gaps) {
    const source = sourceOf(gap.source);
    const location = source.locations.find((candidate) => candidate.location === gap.location);
    (location ?? source).gaps.push(gap);
  }
  return [...sources.values()];
}

/**
 * The snapshot with every key's `raw` behind a proxy that records each read into `reads`: for the tests
 * that prove checks and view models judge typed facts only (`raw` is evidence for people).
 */
export function withRawReadsRecorded(snapshot: Snapshot, reads: string[]): Snapshot {
  return {
    ...snapshot,
    sources: snapshot.sources.map((source) => ({
      ...source,
      locations: source.locations.map((location) => ({
        ...location,
        keys: location.keys.map((key): KeyRecord => ({
          ...key,
          raw: new Proxy(key.raw, {
            get(target, property, receiver) {
              reads.push(`${key.keyId}.${String(property)}`);
              return Reflect.get(target, property, receiver);
            },
            ownKeys(target) {
              reads.push(`${key.keyId}.<keys>`);
              return Reflect.ownKeys(target);
            },
          }),
        })),
      })),
    })),
  };
}
