import type { Snapshot } from "../../model/snapshot.ts";
import { formatInstant } from "./format.ts";

/**
 * When the facts of a run were read: the first and the last API read (`capturedAt` of every collected
 * fact). A banner shows the whole window, so no picture shows a read time later than its banner.
 */
export interface CaptureWindow {
  /** UTC ISO-8601 */
  first: string;
  /** UTC ISO-8601 */
  last: string;
}

/** The window over every collected fact of the snapshot; the snapshot's own capture time when it has none. */
export function captureWindowOf(snapshot: Pick<Snapshot, "capturedAt" | "sources">): CaptureWindow {
  const instants: number[] = [];
  const add = (instant: string): void => {
    const time = Date.parse(instant);
    if (!Number.isNaN(time)) instants.push(time);
  };
  for (const source of snapshot.sources) {
    for (const location of source.locations) {
      add(location.logging.capturedAt);
      for (const key of location.keys) {
        add(key.rotation.capturedAt);
        add(key.access.capturedAt);
        for (const fact of Object.values(key.raw)) add(fact.capturedAt);
      }
    }
  }
  if (instants.length === 0) return { first: snapshot.capturedAt, last: snapshot.capturedAt };
  return {
    first: new Date(Math.min(...instants)).toISOString(),
    last: new Date(Math.max(...instants)).toISOString(),
  };
}

/** `2026-10-01 08:00:00 UTC`, or `2026-10-01 08:00:00 UTC to 2026-10-01 08:03:12 UTC` for a window. */
export function describeCaptureWindow(window: CaptureWindow): string {
  const first = formatInstant(window.first);
  const last = formatInstant(window.last);
  return first === last ? first : `${first} to ${last}`;
}

/**
 * The banner on every screenshot: when the data was captured (UTC), by which run, and the SHA-256 of the
 * exported JSON the picture was drawn from, so an auditor can tie the image to the machine-readable file.
 */
export type CaptureBannerView = {
  capturedAt: string;
  runId: string;
  exportPath: string;
  exportSha256: string;
  exportMissing: boolean;
};

export function buildCaptureBanner(
  capture: { window: CaptureWindow; runId: string },
  exportPath: string,
  exportSha256: string | undefined,
): CaptureBannerView {
  return {
    capturedAt: describeCaptureWindow(capture.window),
    runId: capture.runId,
    exportPath,
    exportSha256: exportSha256 ?? "not available: the export was not written",
    exportMissing: exportSha256 === undefined,
  };
}
