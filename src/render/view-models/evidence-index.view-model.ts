import type { Snapshot } from "../../model/snapshot.ts";
import { computeContentDigest, type DigestedFile } from "../content-digest.ts";
import { buildReportHeader, type ReportHeaderView } from "./report-header.view-model.ts";
import { compareText, formatCount } from "./format.ts";

export type EvidenceIndexView = {
  report: ReportHeaderView;
  signer: string;
  contentDigest: string;
  artifactCount: string;
  totalBytes: string;
  groups: Array<{ title: string; files: Array<{ path: string; sha256: string; bytes: string }> }>;
};

const GROUPS: Array<{ title: string; matches: (path: string) => boolean }> = [
  { title: "Reports", matches: (path) => path.startsWith("reports/") },
  { title: "Screenshots", matches: (path) => path.startsWith("screenshots/") },
  { title: "Configuration, access and logging exports", matches: (path) => path.startsWith("sources/") },
  { title: "Run records", matches: () => true },
];

/** Pure: the cover and listing of the evidence index for the files present when it is rendered. */
export function buildEvidenceIndexView(input: {
  snapshot: Pick<Snapshot, "organization" | "range" | "runId" | "capturedAt">;
  files: readonly DigestedFile[];
  signerDescription: string;
  generatedAt: Date;
}): EvidenceIndexView {
  const sorted = [...input.files].sort((left, right) => compareText(left.path, right.path));
  const remaining = new Set(sorted);
  const groups = GROUPS.map((group) => {
    const files = [...remaining].filter((file) => group.matches(file.path));
    for (const file of files) remaining.delete(file);
    return {
      title: group.title,
      files: files.map((file) => ({ path: file.path, sha256: file.sha256, bytes: formatCount(file.bytes) })),
    };
  }).filter((group) => group.files.length > 0);
  return {
    report: buildReportHeader(input.snapshot, "Evidence index", input.generatedAt),
    signer: input.signerDescription,
    contentDigest: computeContentDigest(sorted),
    artifactCount: formatCount(sorted.length),
    totalBytes: formatCount(sorted.reduce((sum, file) => sum + file.bytes, 0)),
    groups,
  };
}
