import type { Snapshot } from "../../model/snapshot.ts";
import { formatInstant } from "./format.ts";

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
  snapshot: Pick<Snapshot, "capturedAt" | "runId">,
  exportPath: string,
  exportSha256: string | undefined,
): CaptureBannerView {
  return {
    capturedAt: formatInstant(snapshot.capturedAt),
    runId: snapshot.runId,
    exportPath,
    exportSha256: exportSha256 ?? "not available: the export was not written",
    exportMissing: exportSha256 === undefined,
  };
}
