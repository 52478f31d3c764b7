import type { Snapshot } from "../../model/snapshot.ts";
import { daysOf } from "../../time/date-range.ts";
import { renderDailyChart } from "../daily-chart.ts";
import type { TrustedHtml } from "../template.ts";
import { displayNameOf } from "./key-configuration.view-model.ts";
import { buildReportHeader, type ReportHeaderView } from "./report-header.view-model.ts";
import { formatCount, formatInstant, sortedCounts, type Tone } from "./format.ts";
import { verdictOf, type DisplayStatus, type FindingIndex } from "./verdicts.ts";

export type CountRowView = { name: string; detail: string; count: string; share: string };

export type CountTableView = { rows: CountRowView[]; more: string };

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
  chart: TrustedHtml;
  gaps: Array<{ where: string; object: string; problem: string }>;
};

/** In the columns of a location whose usage log was not read (no usage summary exists for it). */
const NOT_READ = "Not read";

/** The byPrincipal row of events not attributed to a listed principal (usage-summary.json explains). */
export const PRINCIPALS_NOT_ITEMIZED =
  "(other principals: too many distinct to count each, see usage-summary.json)";

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
  };
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
  const byPrincipal = new Map<string, number>();
  const byDay = new Map<string, number>();
  for (const summary of summaries) {
    addInto(byKey, summary.byKey, `${summary.source}\u0000`);
    addInto(byAction, summary.byAction);
    addInto(byPrincipal, summary.byPrincipal);
    // Past its capacity the principal count lists certain counts of the top principals only: the rest of
    // the events get a row of their own, so the table still adds up to the total.
    if (summary.principalCounting?.method === "space-saving")
      byPrincipal.set(
        PRINCIPALS_NOT_ITEMIZED,
        (byPrincipal.get(PRINCIPALS_NOT_ITEMIZED) ?? 0) + summary.principalCounting.eventsNotItemized,
      );
    addInto(byDay, summary.byDay);
  }

  // Every collected location has a row, read or not: a location whose usage log was not read shows the
  // usage-log-present verdict (`Could not be read` and the cause) instead of silently missing from the table.
  const usageRows = input.snapshot.sources.flatMap((source) => [
    ...source.usage.map((summary) => ({ source: summary.source, location: summary.location, summary })),
    ...source.locations
      .filter((location) => !source.usage.some((summary) => summary.location === location.location))
      .map((location) => ({ source: location.source, location: location.location, summary: undefined })),
  ]);

  return {
    report: buildReportHeader(input.snapshot, "Key usage summary", input.generatedAt),
    totalEvents: formatCount(total),
    locations: usageRows.map(({ source, location, summary }) => {
      const verdict = verdictOf(input.verdicts, { source, location }, "usage-log-present", {
        pass: "Present",
        fail: "Missing",
        warn: "Incomplete",
      });
      return {
        source,
        location,
        method: summary?.method ?? NOT_READ,
        events: summary === undefined ? NOT_READ : formatCount(summary.eventCount),
        first: summary === undefined ? NOT_READ : formatInstant(summary.firstEventAt),
        last: summary === undefined ? NOT_READ : formatInstant(summary.lastEventAt),
        gaps: summary === undefined ? NOT_READ : formatCount(summary.gaps.length),
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
    byPrincipal: toTable(byPrincipal, total, (name) => ({ name, detail: "" })),
    chart: renderDailyChart({
      days: daysOf(input.snapshot.range),
      counts: Object.fromEntries(byDay),
      title: `Key events per day, ${input.snapshot.range.label}`,
    }),
    gaps: summaries.flatMap((summary) =>
      summary.gaps.map((gap) => ({
        where: `${gap.source}/${gap.location}`,
        object: gap.object,
        problem: `${gap.code}: ${gap.message}`,
      })),
    ),
  };
}
