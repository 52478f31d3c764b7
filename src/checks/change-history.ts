/**
 * Shared by the checks that judge the configuration history of the period (`rotation-continuous`,
 * `key-policy-changes-reviewed`): finding a key's history in its location's ChangeSummary, and whether
 * that history is complete. The history is read from the usage log, so it is exactly as complete as the
 * location's UsageSummary says: no summary or no log source means unknown (error, never pass), unreadable
 * parts mean "nothing found in what was read" (warn, never pass).
 */
import { GAPS_FILE, changesExtractPath, changesSummaryPath } from "../evidence/paths.ts";
import type { ChangeRecord, KeyChangeHistory } from "../model/changes.ts";
import type { KeyRecord } from "../model/key.ts";
import type { SourceSnapshot } from "../model/snapshot.ts";
import type { Finding } from "../model/finding.ts";
import { makeFinding, type CheckMetadata } from "./check.ts";
import { ineligibleStatus, keyFindingBase, summarizeList, type Eligibility } from "./eligibility.ts";

export type KeyHistoryLookup =
  /** The history cannot be judged at all: why, in an auditor's words. */
  | { kind: "unknown"; reason: string; evidence: string[] }
  /**
   * The history as read; `history` is undefined when the key had no rotation or access change.
   * `incomplete` names the unreadable parts of the log when there are any.
   */
  | {
      kind: "read";
      history?: KeyChangeHistory;
      /** Access changes that apply to every key of the location (vault access, ACL policies); may be empty. */
      locationAccessChanges: ChangeRecord[];
      locationAccessChangesOmitted: number;
      incomplete?: string;
      evidence: string[];
    };

/** The changes extract files of the key's location: the evidence of every history finding. */
export function changesEvidence(key: Pick<KeyRecord, "source" | "location">): string[] {
  return [
    changesExtractPath(key.source, key.location, "ndjson"),
    changesSummaryPath(key.source, key.location),
  ];
}

export function keyHistoryOf(source: SourceSnapshot, key: KeyRecord): KeyHistoryLookup {
  const evidence = changesEvidence(key);
  const usage = source.usage.find((summary) => summary.location === key.location);
  const changes = source.changes.find((summary) => summary.location === key.location);
  if (usage === undefined || changes === undefined) {
    return {
      kind: "unknown",
      reason: "the usage log of this location was not extracted, so its configuration history is unknown",
      evidence: [GAPS_FILE],
    };
  }
  if (usage.method === "none") {
    return {
      kind: "unknown",
      reason:
        "no usage log source is configured for this location (method none), so its configuration history is unknown",
      evidence,
    };
  }
  const parts = usage.gaps.map((gap) => `${gap.object} (${gap.code}: ${gap.message})`);
  if (usage.eventCount === 0 && usage.gaps.length > 0) {
    return {
      kind: "unknown",
      reason: `the usage log (${usage.method}) could not be read: ${summarizeList(parts, 3)}`,
      evidence: [...evidence, GAPS_FILE],
    };
  }
  const history = changes.keys.find((candidate) => candidate.key === key.keyId || candidate.key === key.arn);
  const incomplete =
    usage.gaps.length > 0
      ? `${usage.gaps.length} unreadable part${usage.gaps.length === 1 ? "" : "s"}: ${summarizeList(parts, 3)}`
      : undefined;
  return {
    kind: "read",
    ...(history === undefined ? {} : { history }),
    locationAccessChanges: changes.locationAccessChanges,
    locationAccessChangesOmitted: changes.locationAccessChangesOmitted,
    ...(incomplete === undefined ? {} : { incomplete }),
    evidence: incomplete === undefined ? evidence : [...evidence, GAPS_FILE],
  };
}

/**
 * `DisableKeyRotation by arn:… from 203.0.113.7 at 2026-08-14T09:30:00.000Z`: a change as a finding names
 * it. A rotation change whose resulting state the log does not show says so, so no reader takes it for
 * an enable.
 */
export function describeChange(change: ChangeRecord): string {
  const from = change.sourceAddress === undefined ? "" : ` from ${change.sourceAddress}`;
  const state = change.rotationState === "unknown" ? " (resulting rotation state not logged)" : "";
  return `${change.action}${state} by ${change.principal}${from} at ${change.time}`;
}

/**
 * The opening both history checks share: an ineligible key gets its not-applicable (or error) finding, an
 * unknown history an `error` naming why; otherwise the history as read, to judge.
 */
export function openKeyHistory(
  metadata: CheckMetadata,
  source: SourceSnapshot,
  key: KeyRecord,
  eligibility: Eligibility,
): { finding: Finding } | { lookup: Extract<KeyHistoryLookup, { kind: "read" }> } {
  const base = keyFindingBase(key);
  const lookup = keyHistoryOf(source, key);
  if (!eligibility.eligible) {
    return {
      finding: makeFinding(metadata, {
        ...base,
        status: ineligibleStatus(eligibility),
        evidence: lookup.evidence,
        message: eligibility.reason,
      }),
    };
  }
  if (lookup.kind === "unknown") {
    return {
      finding: makeFinding(metadata, {
        ...base,
        status: "error",
        evidence: lookup.evidence,
        message: lookup.reason,
      }),
    };
  }
  return { lookup };
}
