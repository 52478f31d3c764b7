import { join } from "node:path";
import { registry } from "../../checks/registry.ts";
import { isSealFile, type BundleWriter } from "../../evidence/bundle-writer.ts";
import { hashFile, readBundleTree } from "../../evidence/bundle-tree.ts";
import { OSCAL_ASSESSMENT_RESULTS_FILE } from "../../evidence/paths.ts";
import type { Finding } from "../../model/finding.ts";
import type { Snapshot } from "../../model/snapshot.ts";
import {
  buildAssessmentResults,
  type AssessmentResultsDocument,
  type DigestedFile,
} from "../../oscal/assessment-results.ts";
import { assertValidAssessmentResults } from "../../oscal/validate-assessment-results.ts";
import { KEYPROOF_VERSION } from "../../version.ts";

/**
 * Writes `oscal/assessment-results.json`, validated against the OSCAL 1.0.6 schema. Runs inside the seal
 * step, just before the manifest: every file of the bundle exists by then (findings, key exports, usage
 * extracts, changes, and the PDFs and PNGs of a rendered run), so the back-matter lists them all with the
 * digests the manifest will record. Only what sealing itself writes (manifest, signature, SHA256SUMS,
 * VERIFY.md, the signer's key) and this document are not listed: they do not exist yet, or cannot hash
 * themselves.
 *
 * Every file is hashed here and again by the seal: the price of listing digests in a file the manifest
 * also covers, paid in reading time (large usage extracts are streamed, never held in memory).
 * Idempotent: a seal retried after a crash rewrites the same document from the same files.
 */
export async function assessmentResultsStep(input: {
  snapshot: Snapshot;
  findings: readonly Finding[];
  writer: BundleWriter;
}): Promise<AssessmentResultsDocument> {
  const tree = await readBundleTree(input.writer.directory);
  const files: DigestedFile[] = [];
  for (const path of tree.files) {
    if (path === OSCAL_ASSESSMENT_RESULTS_FILE || isSealFile(path)) continue;
    files.push({ path, ...(await hashFile(join(input.writer.directory, path))) });
  }
  const document = buildAssessmentResults({
    snapshot: input.snapshot,
    findings: input.findings,
    checks: registry.map((check) => check.metadata),
    files,
    keyproofVersion: KEYPROOF_VERSION,
  });
  assertValidAssessmentResults(document);
  await input.writer.writeJson(OSCAL_ASSESSMENT_RESULTS_FILE, document, { overwrite: true });
  return document;
}
