import type { Snapshot } from "../../model/snapshot.ts";
import { formatInstant } from "./format.ts";

/** The block at the top of every PDF report: whose evidence, which period, which run, when. */
export type ReportHeaderView = {
  title: string;
  organization: string;
  period: string;
  runId: string;
  capturedAt: string;
  generatedAt: string;
};

export function buildReportHeader(
  snapshot: Pick<Snapshot, "organization" | "range" | "runId" | "capturedAt">,
  title: string,
  generatedAt: Date,
): ReportHeaderView {
  return {
    title,
    organization: snapshot.organization,
    period: describePeriod(snapshot.range),
    runId: snapshot.runId,
    capturedAt: formatInstant(snapshot.capturedAt),
    generatedAt: formatInstant(generatedAt.toISOString()),
  };
}

/** `2026-Q3 (2026-07-01 to 2026-09-30, UTC)` */
export function describePeriod(range: Snapshot["range"]): string {
  return `${range.label} (${range.from.slice(0, 10)} to ${range.to}, UTC)`;
}
