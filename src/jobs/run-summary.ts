import {
  FINDING_STATUSES,
  SEVERITIES,
  type Finding,
  type FindingStatus,
  type Severity,
} from "../model/finding.ts";
import type { Snapshot } from "../model/snapshot.ts";

export interface RunSummary {
  runId: string;
  period: { label: string; from: string; to: string };
  capturedAt: string;
  sources: Array<{
    id: string;
    type: string;
    account?: string;
    keys: number;
    locations: Array<{ location: string; keys: number; usageEvents: number; gaps: number }>;
    gaps: number;
  }>;
  findings: {
    total: number;
    byStatus: Record<FindingStatus, number>;
    /** Failing and warning findings only: what needs attention. */
    openBySeverity: Record<Severity, number>;
  };
  gaps: number;
}

/** Pure: the numbers behind the one-screen summary and `summary.json`. */
export function summarizeRun(snapshot: Snapshot, findings: Finding[], gapCount: number): RunSummary {
  const byStatus = Object.fromEntries(FINDING_STATUSES.map((status) => [status, 0])) as Record<
    FindingStatus,
    number
  >;
  const openBySeverity = Object.fromEntries(SEVERITIES.map((severity) => [severity, 0])) as Record<
    Severity,
    number
  >;
  for (const finding of findings) {
    byStatus[finding.status] += 1;
    if (finding.status === "fail" || finding.status === "warn") openBySeverity[finding.severity] += 1;
  }
  return {
    runId: snapshot.runId,
    period: { label: snapshot.range.label, from: snapshot.range.from.slice(0, 10), to: snapshot.range.to },
    capturedAt: snapshot.capturedAt,
    sources: snapshot.sources.map((source) => {
      const entry: RunSummary["sources"][number] = {
        id: source.source,
        type: source.type,
        keys: source.locations.reduce((sum, location) => sum + location.keys.length, 0),
        locations: source.locations.map((location) => {
          const usage = source.usage.find((summary) => summary.location === location.location);
          return {
            location: location.location,
            keys: location.keys.length,
            usageEvents: usage?.eventCount ?? 0,
            gaps: location.gaps.length + (usage?.gaps.length ?? 0),
          };
        }),
        gaps: source.gaps.length,
      };
      if (source.account !== undefined) entry.account = source.account;
      return entry;
    }),
    findings: { total: findings.length, byStatus, openBySeverity },
    gaps: gapCount,
  };
}

/** The one-screen text summary printed by `keyproof run`. */
export function formatRunSummary(
  summary: RunSummary,
  bundle: { directory: string; archive: string },
): string {
  const lines: string[] = [];
  lines.push(`Bundle:  ${bundle.directory}`);
  lines.push(`Archive: ${bundle.archive}`);
  lines.push(
    `Run ${summary.runId}  period ${summary.period.label} (${summary.period.from} .. ${summary.period.to} UTC)`,
  );
  lines.push("");
  lines.push("Keys per source:");
  for (const source of summary.sources) {
    const account = source.account === undefined ? "" : ` account ${source.account}`;
    lines.push(`  ${source.id} (${source.type}${account}): ${source.keys} keys`);
    for (const location of source.locations) {
      const gaps = location.gaps > 0 ? `, ${location.gaps} gap(s)` : "";
      lines.push(
        `    ${location.location}: ${location.keys} keys, ${location.usageEvents} usage events${gaps}`,
      );
    }
    if (source.gaps > 0) lines.push(`    ${source.gaps} location(s) not collected`);
  }
  lines.push("");
  const statuses = Object.entries(summary.findings.byStatus).map(([status, count]) => `${status} ${count}`);
  lines.push(`Findings: ${summary.findings.total} (${statuses.join(", ")})`);
  const open = Object.entries(summary.findings.openBySeverity)
    .filter(([, count]) => count > 0)
    .map(([severity, count]) => `${severity} ${count}`);
  lines.push(`Open (fail/warn) by severity: ${open.length > 0 ? open.join(", ") : "none"}`);
  if (summary.gaps > 0) lines.push(`Gaps recorded: ${summary.gaps} (see gaps.json)`);
  return `${lines.join("\n")}\n`;
}
