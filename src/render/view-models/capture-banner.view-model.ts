import type { ReadWindow } from "../../model/key.ts";
import { formatInstant } from "./format.ts";

/** When the facts of a run were read (`captureWindowOf` in the model computes it). */
export type CaptureWindow = ReadWindow;

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
