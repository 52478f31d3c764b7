import type { Config, InventoryEntry } from "../../config/config.schema.ts";
import type { BundleWriter } from "../../evidence/bundle-writer.ts";
import {
  DISCOVERY_FILE,
  FINDINGS_FILE,
  GAPS_FILE,
  INVENTORY_FILE,
  PROCEDURE_APPROVAL_FILE,
  REVIEWS_FILE,
  SUMMARY_FILE,
} from "../../evidence/paths.ts";
import { keyReference, matchInventory } from "../../inventory/match-inventory.ts";
import type { Finding } from "../../model/finding.ts";
import type { KeyRecord, SourceType } from "../../model/key.ts";
import type { DateRange, Snapshot, SourceSnapshot } from "../../model/snapshot.ts";
import type { UsageSummary } from "../../model/usage.ts";
import type { ChangeSummary } from "../../model/changes.ts";
import type { GovernanceFacts } from "../../model/review.ts";
import { configuredDiscovery, type DiscoveryRecord, type SourceDiscovery } from "../../model/discovery.ts";
import { procedureIdentityOf, procedureInputOf } from "../../procedure/procedure-text.ts";
import { runChecks } from "../../checks/run-checks.ts";
import { summarizeRun, type RunSummary } from "../run-summary.ts";
import type { WorkStore } from "../work-store.ts";
import { locationWorkName, type CollectedLocation } from "./collect-location.step.ts";
import { changesWorkName, usageWorkName } from "./extract-usage.step.ts";

export interface PlannedSource {
  id: string;
  type: SourceType;
  locations: string[];
  /** How the locations were found; its gaps (an account whose role cannot be assumed...) are the source's gaps. */
  discovery?: SourceDiscovery | undefined;
}

/** Pure: the snapshot checks judge, assembled from the collected locations and usage summaries. */
export function assembleSnapshot(input: {
  runId: string;
  config: Config;
  range: DateRange;
  capturedAt: string;
  sources: PlannedSource[];
  locations: Map<string, CollectedLocation>;
  usage: Map<string, UsageSummary>;
  /** Change summaries by `changesWorkName`; absent for a location whose extract did not run. */
  changes?: Map<string, ChangeSummary>;
  /** Reviews and approvals read from the service's Redis (governance-facts.ts) before judging. */
  governance: GovernanceFacts;
}): Snapshot {
  const sources: SourceSnapshot[] = input.sources.map((planned) => {
    const collected = planned.locations.flatMap((location) => {
      const item = input.locations.get(locationWorkName(planned.id, location));
      return item === undefined ? [] : [item];
    });
    const account = collected.find((item) => item.account !== undefined)?.account;
    const missing = planned.locations.filter(
      (location) => !input.locations.has(locationWorkName(planned.id, location)),
    );
    const source: SourceSnapshot = {
      source: planned.id,
      type: planned.type,
      locations: collected.map((item) => item.snapshot),
      usage: planned.locations.flatMap((location) => {
        const summary = input.usage.get(usageWorkName(planned.id, location));
        return summary === undefined ? [] : [summary];
      }),
      changes: planned.locations.flatMap((location) => {
        const summary = input.changes?.get(changesWorkName(planned.id, location));
        return summary === undefined ? [] : [summary];
      }),
      // A member discovery found but could not reach, and a location whose collection never reported, are
      // gaps too: the population must stay complete.
      gaps: [
        ...(planned.discovery?.gaps ?? []),
        ...missing.map((location) => ({
          source: planned.id,
          location,
          error: {
            call: "collect",
            code: "NotCollected",
            message: "collection of this location did not complete",
            retryable: true,
          },
        })),
      ],
    };
    if (account !== undefined) source.account = account;
    return source;
  });
  return {
    runId: input.runId,
    organization: input.config.organization,
    range: input.range,
    capturedAt: input.capturedAt,
    policy: {
      ...judgementPolicyOf(input.config.policy),
      hsmRequiredSources: input.config.sources
        .filter((source) => source.type === "azure-key-vault" && source.requireHsm === true)
        .map((source) => source.id),
    },
    inventory: input.config.keys,
    sources,
    governance: input.governance,
    procedure: procedureIdentityOf(procedureInputOf(input.config)),
  };
}

/** The thresholds checks judge by; maxRangeDays bounds collection, not judgement, so it stays out of the snapshot. */
function judgementPolicyOf(policy: Config["policy"]): Omit<Config["policy"], "maxRangeDays"> {
  const { maxRangeDays: _collectionLimit, ...judgement } = policy;
  return judgement;
}

export async function loadCollectedState(
  work: WorkStore,
  sources: PlannedSource[],
): Promise<{
  locations: Map<string, CollectedLocation>;
  usage: Map<string, UsageSummary>;
  changes: Map<string, ChangeSummary>;
}> {
  const locations = new Map<string, CollectedLocation>();
  const usage = new Map<string, UsageSummary>();
  const changes = new Map<string, ChangeSummary>();
  for (const source of sources) {
    for (const location of source.locations) {
      const collected = await work.get<CollectedLocation>(locationWorkName(source.id, location));
      if (collected !== undefined) locations.set(locationWorkName(source.id, location), collected);
      const summary = await work.get<UsageSummary>(usageWorkName(source.id, location));
      if (summary !== undefined) usage.set(usageWorkName(source.id, location), summary);
      const history = await work.get<ChangeSummary>(changesWorkName(source.id, location));
      if (history !== undefined) changes.set(changesWorkName(source.id, location), history);
    }
  }
  return { locations, usage, changes };
}

/** Every gap of the run in one place: failed locations, failed calls on keys, unreadable log objects. */
export function collectGaps(snapshot: Snapshot): Array<Record<string, unknown>> {
  const gaps: Array<Record<string, unknown>> = [];
  for (const source of snapshot.sources) {
    for (const gap of source.gaps) gaps.push({ kind: "source", ...gap });
    for (const location of source.locations) {
      for (const gap of location.gaps) gaps.push({ kind: "location", ...gap });
      for (const error of location.logging.errors) {
        gaps.push({ kind: "logging", source: source.source, location: location.location, error });
      }
      for (const key of location.keys) {
        const failures = [
          ...(key.rotation.ok ? [] : [key.rotation.error]),
          ...(key.access.ok ? [] : [key.access.error]),
          ...key.errors,
        ];
        for (const error of failures)
          gaps.push({ kind: "key", source: key.source, location: key.location, keyId: key.keyId, error });
      }
    }
    for (const summary of source.usage) {
      for (const gap of summary.gaps) gaps.push({ kind: "usage", ...gap });
    }
  }
  return gaps;
}

/**
 * discovery.json: how each source's population was found. A plan made before discovery existed (a run
 * record written by an older version) has none: its configured locations are recorded as such.
 */
export function buildDiscoveryRecord(
  runId: string,
  capturedAt: string,
  sources: readonly PlannedSource[],
): DiscoveryRecord {
  return {
    format: "keyproof-discovery/1",
    runId,
    sources: sources.map(
      (source) =>
        source.discovery ??
        configuredDiscovery({
          source: source.id,
          type: source.type,
          locations: source.locations,
          at: capturedAt,
        }),
    ),
  };
}

/** The declared inventory with the keys each entry matched, and the keys no entry documents. */
export function buildInventoryExport(snapshot: Snapshot): Record<string, unknown> {
  const keys = snapshot.sources.flatMap((source) => source.locations.flatMap((location) => location.keys));
  const match = matchInventory(snapshot.inventory, keys);
  const named = (key: KeyRecord) => ({
    source: key.source,
    location: key.location,
    keyId: key.keyId,
    arn: key.arn,
    aliases: key.aliases,
  });
  // One pass over the keys, in key order per entry: an estate-sized inventory is not entries × keys.
  const keysByEntry = new Map<InventoryEntry, Array<ReturnType<typeof named>>>();
  const undocumented: Array<ReturnType<typeof named> & { manager: KeyRecord["manager"] }> = [];
  for (const key of keys) {
    const entry = match.entryByKey.get(keyReference(key));
    if (entry === undefined) undocumented.push({ ...named(key), manager: key.manager });
    else {
      const matched = keysByEntry.get(entry) ?? [];
      matched.push(named(key));
      keysByEntry.set(entry, matched);
    }
  }
  return {
    runId: snapshot.runId,
    organization: snapshot.organization,
    capturedAt: snapshot.capturedAt,
    entries: snapshot.inventory.map((entry, index) => ({
      index,
      ...entry,
      matchedKeys: keysByEntry.get(entry) ?? [],
    })),
    undocumentedKeys: undocumented,
  };
}

/** governance/procedure-approval.json: the run's procedure identity, the latest approval, and whether it matches. */
export function buildProcedureApprovalExport(snapshot: Snapshot): Record<string, unknown> {
  const { governance, procedure } = snapshot;
  if (governance.state === "unavailable")
    return { procedure, state: governance.state, severity: governance.severity, reason: governance.reason };
  const approval = governance.latestApproval;
  return {
    procedure,
    state: governance.state,
    latestApproval: approval ?? null,
    // Whether the approved text is this run's text; the verdict (also age) is the procedure-approved-current finding.
    matchesCurrentText: approval !== undefined && approval.textSha256 === procedure.textSha256,
  };
}

/** governance/reviews.json: the signed reviews (newest first) the access-review-current check judged. */
export function buildReviewsExport(snapshot: Snapshot): Record<string, unknown> {
  const { governance } = snapshot;
  if (governance.state === "unavailable")
    return { state: governance.state, severity: governance.severity, reason: governance.reason };
  return { state: governance.state, signedReviews: governance.signedReviews };
}

export interface JudgeResult {
  snapshot: Snapshot;
  findings: Finding[];
  summary: RunSummary;
}

/** Runs every check on the assembled snapshot and writes findings, inventory, gaps and the run summary. */
export async function judgeStep(input: {
  runId: string;
  config: Config;
  range: DateRange;
  capturedAt: string;
  sources: PlannedSource[];
  writer: BundleWriter;
  work: WorkStore;
  /** Reviews and approvals (readGovernanceFacts), read by the caller that holds the Redis connection. */
  governance: GovernanceFacts;
}): Promise<JudgeResult> {
  const state = await loadCollectedState(input.work, input.sources);
  const snapshot = assembleSnapshot({ ...input, ...state });
  const findings = runChecks(snapshot);
  const gaps = collectGaps(snapshot);
  const summary = summarizeRun(snapshot, findings);
  await input.writer.writeJson(FINDINGS_FILE, findings, { overwrite: true });
  await input.writer.writeJson(INVENTORY_FILE, buildInventoryExport(snapshot), { overwrite: true });
  await input.writer.writeJson(GAPS_FILE, gaps, { overwrite: true });
  await input.writer.writeJson(
    DISCOVERY_FILE,
    buildDiscoveryRecord(input.runId, input.capturedAt, input.sources),
    {
      overwrite: true,
    },
  );
  await input.writer.writeJson(SUMMARY_FILE, summary, { overwrite: true });
  // "A run includes the latest approval": the facts the governance checks judged travel in the bundle.
  await input.writer.writeJson(PROCEDURE_APPROVAL_FILE, buildProcedureApprovalExport(snapshot), {
    overwrite: true,
  });
  await input.writer.writeJson(REVIEWS_FILE, buildReviewsExport(snapshot), { overwrite: true });
  await input.work.put("snapshot", snapshot);
  await input.work.put("findings", findings);
  return { snapshot, findings, summary };
}
