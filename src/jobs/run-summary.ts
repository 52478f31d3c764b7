import {
  FINDING_STATUSES,
  SEVERITIES,
  type Finding,
  type FindingStatus,
  type Severity,
} from "../model/finding.ts";
import type { SourceType } from "../model/key.ts";
import type { Snapshot } from "../model/snapshot.ts";
import { fixForGap } from "./gap-fix.ts";

/** One thing that could not be collected: a location, a call on a key, a logging read, a usage object. */
export interface RunGap {
  kind: "source" | "location" | "logging" | "key" | "usage";
  source: string;
  location?: string;
  keyId?: string;
  /** The call (or, for usage, the log object) that failed, e.g. `kms:ListKeys`. */
  call: string;
  code: string;
  message: string;
}

/**
 * Gaps with the same cause in one place, counted: a denied call on every key of a location is one line
 * on screen, not a thousand. `keyIds` names the first few keys; gaps.json has every one.
 */
export interface RunGapGroup {
  kind: RunGap["kind"];
  source: string;
  location?: string;
  call: string;
  code: string;
  message: string;
  /** What to do about it, where keyproof recognizes the cause. */
  fix?: string;
  count: number;
  keyIds?: string[];
}

export interface RunSummary {
  runId: string;
  period: { label: string; from: string; to: string };
  capturedAt: string;
  /**
   * True when every configured source and location was collected completely: no gap and no `error`
   * finding. `keyproof run` exits 3 when false; a queued run ends `completed-with-gaps`.
   */
  complete: boolean;
  sources: Array<{
    id: string;
    type: string;
    account?: string;
    keys: number;
    locations: Array<{ location: string; keys: number; usageEvents: number; gaps: number }>;
    /** Every gap of the source: the sum over its locations plus gaps that name no location. */
    gaps: number;
  }>;
  findings: {
    total: number;
    byStatus: Record<FindingStatus, number>;
    /** Failing and warning findings only: what needs attention. */
    openBySeverity: Record<Severity, number>;
    /** Failing findings only, the `--fail-on` gate. */
    failBySeverity: Record<Severity, number>;
  };
  /** Every gap of the run (the length of gaps.json). */
  gaps: number;
  /** The gaps grouped by cause, in source order: what the summary prints first. */
  gapDetails: RunGapGroup[];
  /**
   * `error` findings that no gap explains (the key, location and source were collected, yet the check
   * could not judge), grouped by check and message: printed after the gaps, so every cause of exit 3 is
   * on screen. Absent in summaries written before it existed.
   */
  errorDetails?: RunErrorGroup[];
}

/** Pure: every gap of the snapshot, in source → location order, one entry per failed call. */
export function listRunGaps(snapshot: Snapshot): RunGap[] {
  const gaps: RunGap[] = [];
  for (const source of snapshot.sources) {
    for (const gap of source.gaps) {
      gaps.push({
        kind: "source",
        source: gap.source,
        ...(gap.location === undefined ? {} : { location: gap.location }),
        call: gap.error.call,
        code: gap.error.code,
        message: gap.error.message,
      });
    }
    for (const location of source.locations) {
      const at = { source: source.source, location: location.location };
      for (const gap of location.gaps) {
        gaps.push({
          kind: "location",
          ...at,
          call: gap.error.call,
          code: gap.error.code,
          message: gap.error.message,
        });
      }
      for (const error of location.logging.errors) {
        gaps.push({ kind: "logging", ...at, call: error.call, code: error.code, message: error.message });
      }
      for (const key of location.keys) {
        const failures = [
          ...(key.rotation.ok ? [] : [key.rotation.error]),
          ...(key.access.ok ? [] : [key.access.error]),
          ...key.errors,
        ];
        for (const error of failures) {
          gaps.push({
            kind: "key",
            ...at,
            keyId: key.keyId,
            call: error.call,
            code: error.code,
            message: error.message,
          });
        }
      }
    }
    for (const summary of source.usage) {
      for (const gap of summary.gaps) {
        gaps.push({
          kind: "usage",
          source: gap.source,
          location: gap.location,
          call: gap.object,
          code: gap.code,
          message: gap.message,
        });
      }
    }
  }
  return gaps;
}

const KEY_IDS_SHOWN = 5;

/** `error` findings with one check and one message, counted; `resources` names the first few. */
export interface RunErrorGroup {
  checkId: string;
  message: string;
  count: number;
  resources: string[];
}

/**
 * Pure: the `error` findings whose key, location or source has no gap, grouped by (check, message). An
 * error on a key whose policy could not be read is already on screen as that gap; an error with no gap
 * behind it (a fact the check needs and the source did not give) would otherwise be a bare count.
 */
export function groupUnexplainedErrors(
  findings: readonly Finding[],
  gaps: readonly RunGap[],
): RunErrorGroup[] {
  const explained = new Set(
    gaps.map((gap) => JSON.stringify([gap.source, gap.location ?? null, gap.keyId ?? null])),
  );
  const isExplained = (finding: Finding): boolean =>
    explained.has(JSON.stringify([finding.source, null, null])) ||
    explained.has(JSON.stringify([finding.source, finding.location ?? null, null])) ||
    explained.has(JSON.stringify([finding.source, finding.location ?? null, finding.keyId ?? null]));
  const groups = new Map<string, RunErrorGroup>();
  for (const finding of findings) {
    if (finding.status !== "error" || isExplained(finding)) continue;
    const identity = JSON.stringify([finding.checkId, finding.message]);
    const group = groups.get(identity);
    if (group === undefined) {
      groups.set(identity, {
        checkId: finding.checkId,
        message: finding.message,
        count: 1,
        resources: [finding.resource],
      });
    } else {
      group.count += 1;
      if (group.resources.length < KEY_IDS_SHOWN) group.resources.push(finding.resource);
    }
  }
  return [...groups.values()];
}

/** Pure: gaps with one cause (source, location, call, code, message) merged, first seen first. */
export function groupRunGaps(
  gaps: readonly RunGap[],
  typeOf: (source: string) => SourceType | undefined,
): RunGapGroup[] {
  const groups = new Map<string, RunGapGroup>();
  for (const gap of gaps) {
    // The same failed call seen by two collection steps (listing and logging) is one cause, not two.
    const identity = JSON.stringify([gap.source, gap.location, gap.call, gap.code, gap.message]);
    const group = groups.get(identity);
    if (group !== undefined) {
      group.count += 1;
      if (gap.keyId !== undefined && (group.keyIds?.length ?? 0) < KEY_IDS_SHOWN) {
        group.keyIds = [...(group.keyIds ?? []), gap.keyId];
      }
      continue;
    }
    const fix = fixForGap({ sourceType: typeOf(gap.source), call: gap.call, code: gap.code });
    groups.set(identity, {
      kind: gap.kind,
      source: gap.source,
      ...(gap.location === undefined ? {} : { location: gap.location }),
      call: gap.call,
      code: gap.code,
      message: gap.message,
      ...(fix === undefined ? {} : { fix }),
      count: 1,
      ...(gap.keyId === undefined ? {} : { keyIds: [gap.keyId] }),
    });
  }
  return [...groups.values()];
}

function zeroCounts<T extends string>(names: readonly T[]): Record<T, number> {
  return Object.fromEntries(names.map((name) => [name, 0])) as Record<T, number>;
}

/**
 * Pure: the numbers behind the one-screen summary and `summary.json`. The gap counts of a source, of its
 * locations and of the run are all counted from one list, so they cannot disagree.
 */
export function summarizeRun(snapshot: Snapshot, findings: Finding[]): RunSummary {
  const byStatus = zeroCounts(FINDING_STATUSES);
  const openBySeverity = zeroCounts(SEVERITIES);
  const failBySeverity = zeroCounts(SEVERITIES);
  for (const finding of findings) {
    byStatus[finding.status] += 1;
    if (finding.status === "fail" || finding.status === "warn") openBySeverity[finding.severity] += 1;
    if (finding.status === "fail") failBySeverity[finding.severity] += 1;
  }
  const gaps = listRunGaps(snapshot);
  const types = new Map(snapshot.sources.map((source) => [source.source, source.type]));
  return {
    runId: snapshot.runId,
    period: { label: snapshot.range.label, from: snapshot.range.from.slice(0, 10), to: snapshot.range.to },
    capturedAt: snapshot.capturedAt,
    complete: gaps.length === 0 && byStatus.error === 0,
    sources: snapshot.sources.map((source) => {
      const sourceGaps = gaps.filter((gap) => gap.source === source.source);
      const gapsAt = (location: string) => sourceGaps.filter((gap) => gap.location === location).length;
      const locations: RunSummary["sources"][number]["locations"] = source.locations.map((location) => {
        const usage = source.usage.find((summary) => summary.location === location.location);
        return {
          location: location.location,
          keys: location.keys.length,
          usageEvents: usage?.eventCount ?? 0,
          gaps: gapsAt(location.location),
        };
      });
      // A planned location that never reported has no snapshot, but it has a row: its gap must show.
      for (const gap of source.gaps) {
        if (gap.location === undefined || locations.some((entry) => entry.location === gap.location))
          continue;
        const usage = source.usage.find((summary) => summary.location === gap.location);
        locations.push({
          location: gap.location,
          keys: 0,
          usageEvents: usage?.eventCount ?? 0,
          gaps: gapsAt(gap.location),
        });
      }
      const entry: RunSummary["sources"][number] = {
        id: source.source,
        type: source.type,
        keys: source.locations.reduce((sum, location) => sum + location.keys.length, 0),
        locations,
        gaps: sourceGaps.length,
      };
      if (source.account !== undefined) entry.account = source.account;
      return entry;
    }),
    findings: { total: findings.length, byStatus, openBySeverity, failBySeverity },
    gaps: gaps.length,
    gapDetails: groupRunGaps(gaps, (source) => types.get(source)),
    errorDetails: groupUnexplainedErrors(findings, gaps),
  };
}

/** True when an open `fail` finding at or above `threshold` exists (`--fail-on`). */
export function hasFailAtOrAbove(summary: RunSummary, threshold: Severity): boolean {
  // SEVERITIES runs from critical down: everything up to and including the threshold counts.
  const gated = SEVERITIES.slice(0, SEVERITIES.indexOf(threshold) + 1);
  return gated.some((severity) => (summary.findings.failBySeverity?.[severity] ?? 0) > 0);
}

/** Whether a summary (possibly written by an older keyproof without `complete`) says the evidence is whole. */
export function isSummaryComplete(summary: Pick<RunSummary, "complete" | "gaps" | "findings">): boolean {
  if (typeof summary.complete === "boolean") return summary.complete;
  return summary.gaps === 0 && (summary.findings.byStatus.error ?? 0) === 0;
}

function formatGapGroup(group: RunGapGroup): string[] {
  const where = group.location === undefined ? group.source : `${group.source} / ${group.location}`;
  const times = group.count > 1 ? ` (${group.count}×)` : "";
  const lines = [`  ${where}: ${group.call} failed${times}: ${group.code}: ${group.message}`];
  if (group.keyIds !== undefined) {
    const more = group.count > group.keyIds.length ? `, … ${group.count - group.keyIds.length} more` : "";
    lines.push(`    keys: ${group.keyIds.join(", ")}${more}`);
  }
  if (group.fix !== undefined) lines.push(`    fix: ${group.fix}`);
  return lines;
}

/** The one-screen text summary printed by `keyproof run`: gaps first, because they change what it means. */
export function formatRunSummary(
  summary: RunSummary,
  bundle: { directory: string; archive: string },
): string {
  const lines: string[] = [];
  if (!isSummaryComplete(summary)) {
    const errors = summary.findings.byStatus.error;
    lines.push(
      `INCOMPLETE EVIDENCE: ${summary.gaps} gap(s), ${errors} finding(s) with status error. The bundle is sealed but does not cover everything configured.`,
    );
    if ((summary.gapDetails ?? []).length > 0) {
      lines.push("Gaps (source / location: call: cause):");
      for (const group of summary.gapDetails) lines.push(...formatGapGroup(group));
    }
    const unexplained = summary.errorDetails ?? [];
    if (unexplained.length > 0) {
      lines.push("Findings that could not be judged (check: cause):");
      for (const group of unexplained) {
        const times = group.count > 1 ? ` (${group.count}×)` : "";
        const more =
          group.count > group.resources.length ? `, … ${group.count - group.resources.length} more` : "";
        lines.push(
          `  ${group.checkId}${times}: ${group.message}`,
          `    on: ${group.resources.join(", ")}${more}`,
        );
      }
    }
    lines.push("");
  }
  lines.push(`Bundle:  ${bundle.directory}`);
  lines.push(`Archive: ${bundle.archive}`);
  lines.push(
    `Run ${summary.runId}  period ${summary.period.label} (${summary.period.from} .. ${summary.period.to} UTC)`,
  );
  lines.push("");
  lines.push("Keys per source:");
  for (const source of summary.sources) {
    const account = source.account === undefined ? "" : ` account ${source.account}`;
    const gaps = source.gaps > 0 ? `, ${source.gaps} gap(s)` : "";
    lines.push(`  ${source.id} (${source.type}${account}): ${source.keys} keys${gaps}`);
    for (const location of source.locations) {
      const locationGaps = location.gaps > 0 ? `, ${location.gaps} gap(s)` : "";
      lines.push(
        `    ${location.location}: ${location.keys} keys, ${location.usageEvents} usage events${locationGaps}`,
      );
    }
  }
  lines.push("");
  const statuses = Object.entries(summary.findings.byStatus).map(([status, count]) => `${status} ${count}`);
  lines.push(`Findings: ${summary.findings.total} (${statuses.join(", ")})`);
  const open = Object.entries(summary.findings.openBySeverity)
    .filter(([, count]) => count > 0)
    .map(([severity, count]) => `${severity} ${count}`);
  lines.push(`Open (fail/warn) by severity: ${open.length > 0 ? open.join(", ") : "none"}`);
  lines.push(
    isSummaryComplete(summary)
      ? "Evidence complete: every configured source and location was collected."
      : `Gaps recorded: ${summary.gaps} (every one in gaps.json); the evidence is incomplete.`,
  );
  return `${lines.join("\n")}\n`;
}
