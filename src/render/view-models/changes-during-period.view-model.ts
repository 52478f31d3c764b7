import type { ChangeRecord, ChangeSummary, KeyChangeHistory } from "../../model/changes.ts";
import type { Finding } from "../../model/finding.ts";
import type { SourceSnapshot } from "../../model/snapshot.ts";
import { formatCount, formatInstant, plural } from "./format.ts";
import { indexFindings, verdictOf, type DisplayStatus, type FindingIndex } from "./verdicts.ts";

/**
 * "Changes during the period" of the findings report: per location, the administrative events of the
 * history extract by action, and per key the rotation switches and access changes with who, when and
 * from where, read from each location's ChangeSummary (changes-summary.json). Lists are capped; the rest
 * are counted and found in changes.ndjson. The verdicts shown are the findings of `rotation-continuous` and
 * `key-policy-changes-reviewed`, looked up, never judged here.
 */

/** Changes listed per key and list, and keys listed per location; the rest are counted. */
export const CHANGES_SHOWN = 5;
export const KEYS_SHOWN = 25;

const ROTATION_CHECK = "rotation-continuous";
const ACCESS_CHECK = "key-policy-changes-reviewed";

export type ChangeListView = { lines: string[]; more: string };

export type ChangedKeyView = {
  key: string;
  rotation: ChangeListView;
  access: ChangeListView;
  verdicts: Array<{ checkId: string; label: string; statusClass: DisplayStatus }>;
};

export type ChangeLocationView = {
  where: string;
  /** `12 administrative events (failed attempts included): CreateGrant 2, ...`, or why nothing is known. */
  summary: string;
  /** Location-wide access changes (vault access, ACL policies), listed once for every key of the location. */
  locationAccess: ChangeListView;
  keys: ChangedKeyView[];
  moreKeys: string;
};

export type ChangesDuringPeriodView = {
  locations: ChangeLocationView[];
  /** Shown when there is no location at all. */
  empty: string;
};

/** `DisableKeyRotation by arn:… from 203.0.113.7, 2026-08-14 09:30:00 UTC`. */
function changeLine(change: ChangeRecord): string {
  const from = change.sourceAddress === undefined ? "" : ` from ${change.sourceAddress}`;
  const state = change.rotationState === "unknown" ? " (resulting rotation state not logged)" : "";
  return `${change.action}${state} by ${change.principal}${from}, ${formatInstant(change.time)}`;
}

function listView(changes: readonly ChangeRecord[], omitted: number): ChangeListView {
  const shown = changes.slice(0, CHANGES_SHOWN);
  const rest = changes.length - shown.length + omitted;
  return {
    lines: shown.map(changeLine),
    more: rest > 0 ? `${formatCount(rest)} more in changes.ndjson` : "",
  };
}

function keyView(
  index: FindingIndex,
  source: SourceSnapshot,
  location: string,
  history: KeyChangeHistory,
): ChangedKeyView {
  // The history names a key as its events did (an ARN at times); findings use the collected key id.
  const collected = source.locations
    .find((candidate) => candidate.location === location)
    ?.keys.find((key) => key.keyId === history.key || key.arn === history.key);
  const scope = { source: source.source, location, keyId: collected?.keyId ?? history.key };
  const checks = [
    ...(history.rotationToggles.length + history.rotationTogglesOmitted > 0 ? [ROTATION_CHECK] : []),
    ...(history.accessChanges.length + history.accessChangesOmitted > 0 ? [ACCESS_CHECK] : []),
  ];
  return {
    key: scope.keyId,
    rotation: listView(history.rotationToggles, history.rotationTogglesOmitted),
    access: listView(history.accessChanges, history.accessChangesOmitted),
    verdicts: checks.map((checkId) => {
      const verdict = verdictOf(index, scope, checkId);
      return { checkId, label: verdict.label, statusClass: verdict.status };
    }),
  };
}

function locationSummary(summary: ChangeSummary, incomplete: boolean): string {
  const actions = Object.entries(summary.byAction)
    .map(([action, count]) => `${action} ${formatCount(count)}`)
    .join(", ");
  const counted =
    summary.changeCount === 0
      ? "No administrative event was logged in the period"
      : `${plural(summary.changeCount, "administrative event")} (failed attempts included): ${actions}`;
  return incomplete ? `${counted}; parts of the log could not be read (gaps.json).` : `${counted}.`;
}

/** Pure: the section from the snapshot's change summaries and the findings of the two history checks. */
export function buildChangesDuringPeriodView(
  sources: readonly SourceSnapshot[],
  findings: readonly Finding[] | FindingIndex,
): ChangesDuringPeriodView {
  const index = "byScope" in findings ? findings : indexFindings(findings);
  const locations: ChangeLocationView[] = [];
  for (const source of sources) {
    const names = new Set([
      ...source.locations.map((location) => location.location),
      ...source.changes.map((summary) => summary.location),
    ]);
    for (const location of [...names].sort()) {
      const where = `${source.source} / ${location}`;
      const summary = source.changes.find((candidate) => candidate.location === location);
      const usage = source.usage.find((candidate) => candidate.location === location);
      const noList: ChangeListView = { lines: [], more: "" };
      if (summary === undefined || usage === undefined || usage.method === "none") {
        locations.push({
          where,
          summary:
            usage?.method === "none"
              ? "Unknown: no usage log source is configured for this location (method none)."
              : "Unknown: the usage log of this location was not extracted.",
          locationAccess: noList,
          keys: [],
          moreKeys: "",
        });
        continue;
      }
      const keys = summary.keys.slice(0, KEYS_SHOWN);
      const moreKeys = summary.keys.length - keys.length;
      locations.push({
        where,
        summary: locationSummary(summary, usage.gaps.length > 0),
        locationAccess: listView(summary.locationAccessChanges, summary.locationAccessChangesOmitted),
        keys: keys.map((history) => keyView(index, source, location, history)),
        moreKeys: moreKeys > 0 ? `${plural(moreKeys, "more key")} with changes in changes-summary.json` : "",
      });
    }
  }
  return {
    locations,
    empty: locations.length === 0 ? "No source was collected in this run." : "",
  };
}
