import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { makeKey, makeSnapshot } from "../../../test/factories/index.ts";
import { runChecks } from "../../checks/run-checks.ts";
import { BundleWriter } from "../../evidence/bundle-writer.ts";
import { hashFile } from "../../evidence/bundle-tree.ts";
import {
  CHECKSUMS_FILE,
  FINDINGS_FILE,
  MANIFEST_FILE,
  OSCAL_ASSESSMENT_RESULTS_FILE,
} from "../../evidence/paths.ts";
import { assessmentResultsStep } from "./oscal.step.ts";

let directory: string | undefined;

afterEach(async () => {
  if (directory !== undefined) await rm(directory, { recursive: true, force: true });
  directory = undefined;
});

describe("assessmentResultsStep", () => {
  it("lists the files on disk with their digests, not itself, and writes the same document when retried after a crashed seal", async () => {
    directory = await mkdtemp(path.join(tmpdir(), "keyproof-oscal-step-"));
    const writer = await BundleWriter.open(path.join(directory, "run"));
    const snapshot = makeSnapshot({ keys: [makeKey()] });
    const findings = runChecks(snapshot);
    await writer.writeJson(FINDINGS_FILE, findings);
    await writer.writeText("reports/findings-report.pdf", "%PDF-1.7 stand-in");

    const first = await assessmentResultsStep({ snapshot, findings, writer });
    const titles = first["assessment-results"]["back-matter"].resources.map((resource) => resource.title);
    expect(titles).toContain(FINDINGS_FILE);
    expect(titles).toContain("reports/findings-report.pdf");
    expect(titles).not.toContain(OSCAL_ASSESSMENT_RESULTS_FILE);
    const findingsResource = first["assessment-results"]["back-matter"].resources.find(
      (resource) => resource.title === FINDINGS_FILE,
    );
    expect(findingsResource?.rlinks?.[0]?.hashes).toEqual([
      { algorithm: "SHA-256", value: (await hashFile(path.join(writer.directory, FINDINGS_FILE))).sha256 },
    ]);
    const written = await readFile(path.join(writer.directory, OSCAL_ASSESSMENT_RESULTS_FILE), "utf8");

    // A seal that crashed after writing its own files: the retry lists none of them, nor the first document.
    await writeFile(path.join(writer.directory, MANIFEST_FILE), "{}");
    await writeFile(path.join(writer.directory, CHECKSUMS_FILE), "");
    const retried = await assessmentResultsStep({ snapshot, findings, writer });
    expect(retried).toEqual(first);
    expect(await readFile(path.join(writer.directory, OSCAL_ASSESSMENT_RESULTS_FILE), "utf8")).toBe(written);
  });
});
