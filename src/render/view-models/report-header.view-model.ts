import type { Snapshot } from "../../model/snapshot.ts";
import { captureWindowOf } from "../../model/snapshot.ts";
import { describeCaptureWindow } from "./capture-banner.view-model.ts";
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
  snapshot: Pick<Snapshot, "organization" | "range" | "runId" | "capturedAt"> &
    Partial<Pick<Snapshot, "sources">>,
  title: string,
  generatedAt: Date,
): ReportHeaderView {
  return {
    title,
    organization: snapshot.organization,
    period: describePeriod(snapshot.range),
    runId: snapshot.runId,
    // The first and last API read, as on the screenshot banners.
    capturedAt:
      snapshot.sources === undefined
        ? formatInstant(snapshot.capturedAt)
        : describeCaptureWindow(
            captureWindowOf({ capturedAt: snapshot.capturedAt, sources: snapshot.sources }),
          ),
    generatedAt: formatInstant(generatedAt.toISOString()),
  };
}

/** `2026-Q3 (2026-07-01 to 2026-09-30, UTC)` */
export function describePeriod(range: Snapshot["range"]): string {
  return `${range.label} (${range.from.slice(0, 10)} to ${range.to}, UTC)`;
}
