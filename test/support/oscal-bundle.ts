/**
 * Reads a sealed bundle's OSCAL assessment results beside its manifest, for the run tests (inline and
 * queued): the document, its schema problems, and what its back-matter lists next to what the manifest does.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { isSealFile } from "../../src/evidence/bundle-writer.ts";
import type { Manifest } from "../../src/evidence/manifest.ts";
import { MANIFEST_FILE, OSCAL_ASSESSMENT_RESULTS_FILE } from "../../src/evidence/paths.ts";
import type { AssessmentResultsDocument } from "../../src/oscal/assessment-results.ts";
import { assessmentResultsProblems } from "../../src/oscal/validate-assessment-results.ts";

export interface BundleOscal {
  document: AssessmentResultsDocument;
  manifest: Manifest;
  /** Schema problems (ajv, OSCAL 1.0.6 with formats); empty when the document validates. */
  problems: string[];
  /** SHA-256 by path of every file a back-matter resource links to with a hash. */
  listed: Map<string, string>;
  /** SHA-256 by path of what the document can list: the manifest's files but itself and what sealing wrote. */
  expected: Map<string, string>;
}

export async function readBundleOscal(bundleDirectory: string): Promise<BundleOscal> {
  const manifest = JSON.parse(await readFile(path.join(bundleDirectory, MANIFEST_FILE), "utf8")) as Manifest;
  const document = JSON.parse(
    await readFile(path.join(bundleDirectory, OSCAL_ASSESSMENT_RESULTS_FILE), "utf8"),
  ) as AssessmentResultsDocument;
  const listed = new Map<string, string>();
  for (const resource of document["assessment-results"]["back-matter"].resources) {
    if (resource.title === undefined) continue;
    for (const link of resource.rlinks ?? []) {
      const hash = link.hashes?.find((item) => item.algorithm === "SHA-256");
      if (hash !== undefined && link.href === resource.title) listed.set(link.href, hash.value);
    }
  }
  const expected = new Map(
    manifest.files
      .filter((file) => file.path !== OSCAL_ASSESSMENT_RESULTS_FILE && !isSealFile(file.path))
      .map((file) => [file.path, file.sha256]),
  );
  return { document, manifest, problems: assessmentResultsProblems(document), listed, expected };
}
