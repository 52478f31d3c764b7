import type { Snapshot } from "../../model/snapshot.ts";
import type { UsageSummary } from "../../model/usage.ts";
import { daysOf } from "../../time/date-range.ts";
import { renderDailyChart } from "../daily-chart.ts";
import type { TrustedHtml } from "../template.ts";
import { displayNameOf } from "./key-configuration.view-model.ts";
import { buildReportHeader, type ReportHeaderView } from "./report-header.view-model.ts";
import { formatCount, formatInstant, sortedCounts, type Tone } from "./format.ts";
import { verdictOf, type DisplayStatus, type FindingIndex } from "./verdicts.ts";

/**
 * Breakdowns a usage summary may carry beyond the shared model: `byPrincipal` (events per principal) and
 * `byDay` (events per UTC day, `YYYY-MM-DD`). Read at runtime so the report works both before and after the
 * model gains them; where absent the report says the breakdown was not collected instead of drawing zeros.
 */
export function optionalCounts(
  summary: UsageSummary,
  field: "byPrincipal" | "byDay",
): Record<string, number> | undefined {
  const value: unknown = (summary as unknown as Record<string, unknown>)[field];
  if (typeof value !== "object" || value === null) return undefined;
  const counts: Record<string, number> = {};
  for (const [name, count] of Object.entries(value)) {
    if (typeof count !== "number" || !Number.isFinite(count)) return undefined;
    counts[name] = count;
  }
  return counts;
}

export type CountRowView = { name: string; detail: string; count: string; share: string };

/** `note` explains missing data (a breakdown some locations did not carry); empty when complete. */
export type CountTableView = { rows: CountRowView[]; more: string; available: boolean; note: string };

export type UsageSummaryView = {
  report: ReportHeaderView;
  totalEvents: string;
  locations: Array<{
    source: string;
    location: string;
    method: string;
    events: string;
    first: string;
    last: string;
    gaps: string;
    /** `usage-log-present` on this location. */
    checkStatus: DisplayStatus;
    checkLabel: string;
    checkTone: Tone;
    checkReason: string;
  }>;
  byKey: CountTableView;
  byAction: CountTableView;
  byPrincipal: CountTableView;
  chart: TrustedHtml | false;
  chartUnavailableReason: string;
  gaps: Array<{ where: string; object: string; problem: string }>;
};

/** Rows shown per table; the rest is summarised in one line so a busy key cannot make the report endless. */
const TABLE_LIMIT = 40;

function addInto(target: Map<string, number>, counts: Readonly<Record<string, number>>, prefix = ""): void {
  for (const [name, count] of Object.entries(counts))
    target.set(`${prefix}${name}`, (target.get(`${prefix}${name}`) ?? 0) + count);
}

function toTable(
  counts: Map<string, number>,
  total: number,
  describe: (name: string) => { name: string; detail: string },
): CountTableView {
  const sorted = sortedCounts(Object.fromEntries(counts));
  const shown = sorted.slice(0, TABLE_LIMIT);
  const rest = sorted.slice(TABLE_LIMIT);
  const restTotal = rest.reduce((sum, [, count]) => sum + count, 0);
  return {
    rows: shown.map(([name, count]) => ({
      ...describe(name),
      count: formatCount(count),
      share: total > 0 ? `${((count / total) * 100).toFixed(1)}%` : "",
    })),
    more:
      rest.length > 0
        ? `${formatCount(rest.length)} more, with ${formatCount(restTotal)} events in total`
        : "",
    available: true,
    note: "",
  };
}

function unavailable(reason: string): CountTableView {
  return { rows: [], more: "", available: false, note: reason };
}

/** Pure: events by key, by action and by principal over the range, and a per-day chart. */
export function buildUsageSummaryView(input: {
  snapshot: Pick<Snapshot, "organization" | "range" | "runId" | "capturedAt" | "sources">;
  verdicts: FindingIndex;
  generatedAt: Date;
}): UsageSummaryView {
  const summaries = input.snapshot.sources.flatMap((source) => source.usage);
  const total = summaries.reduce((sum, summary) => sum + summary.eventCount, 0);

  const keyNames = new Map<string, string>();
  for (const source of input.snapshot.sources) {
    for (const location of source.locations)
      for (const key of location.keys) keyNames.set(`${key.source}\u0000${key.keyId}`, displayNameOf(key));
  }
  const byKey = new Map<string, number>();
  const byAction = new Map<string, number>();
  for (const summary of summaries) {
    addInto(byKey, summary.byKey, `${summary.source}\u0000`);
    addInto(byAction, summary.byAction);
  }

  const principalCounts = summaries.map((summary) => optionalCounts(summary, "byPrincipal"));
  const dayCounts = summaries.map((summary) => optionalCounts(summary, "byDay"));
  const missingPrincipals = summaries.filter(
    (_, index) => principalCounts[index] === undefined && (summaries[index]?.eventCount ?? 0) > 0,
  );
  const missingDays = summaries.filter(
    (_, index) => dayCounts[index] === undefined && (summaries[index]?.eventCount ?? 0) > 0,
  );
  const byPrincipal = new Map<string, number>();
  for (const counts of principalCounts) if (counts !== undefined) addInto(byPrincipal, counts);
  const byDay = new Map<string, number>();
  for (const counts of dayCounts) if (counts !== undefined) addInto(byDay, counts);

  const describeMissing = (missing: UsageSummary[], what: string): string =>
    `The usage summaries of ${missing.map((summary) => `${summary.source}/${summary.location}`).join(", ")} carry no ${what} breakdown; the per-event extracts in the bundle hold the data.`;

  return {
    report: buildReportHeader(input.snapshot, "Key usage summary", input.generatedAt),
    totalEvents: formatCount(total),
    locations: summaries.map((summary) => {
      const verdict = verdictOf(
        input.verdicts,
        { source: summary.source, location: summary.location },
        "usage-log-present",
        { pass: "Present", fail: "Missing", warn: "Incomplete" },
      );
      return {
        source: summary.source,
        location: summary.location,
        method: summary.method,
        events: formatCount(summary.eventCount),
        first: formatInstant(summary.firstEventAt),
        last: formatInstant(summary.lastEventAt),
        gaps: formatCount(summary.gaps.length),
        checkStatus: verdict.status,
        checkLabel: verdict.label,
        checkTone: verdict.tone,
        checkReason: verdict.status === "pass" ? "" : verdict.reason,
      };
    }),
    byKey: toTable(byKey, total, (name) => {
      const [source = "", keyId = name] = name.split("\u0000");
      return { name: keyId, detail: `${keyNames.get(name) ?? "key not in this snapshot"} (${source})` };
    }),
    byAction: toTable(byAction, total, (name) => ({ name, detail: "" })),
    byPrincipal:
      missingPrincipals.length > 0 && byPrincipal.size === 0
        ? unavailable(describeMissing(missingPrincipals, "per-principal"))
        : {
            ...toTable(byPrincipal, total, (name) => ({ name, detail: "" })),
            note: missingPrincipals.length > 0 ? describeMissing(missingPrincipals, "per-principal") : "",
          },
    chart:
      missingDays.length > 0 && byDay.size === 0
        ? false
        : renderDailyChart({
            days: daysOf(input.snapshot.range),
            counts: Object.fromEntries(byDay),
            title: `Key events per day, ${input.snapshot.range.label}`,
          }),
    chartUnavailableReason: missingDays.length > 0 ? describeMissing(missingDays, "per-day") : "",
    gaps: summaries.flatMap((summary) =>
      summary.gaps.map((gap) => ({
        where: `${gap.source}/${gap.location}`,
        object: gap.object,
        problem: `${gap.code}: ${gap.message}`,
      })),
    ),
  };
}
