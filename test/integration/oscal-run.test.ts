/**
 * Issue 14, OSCAL: a real inline run of the demo AWS estate on moto (unrendered, as `--no-render` runs)
 * seals `oscal/assessment-results.json` into its bundle, listed in the manifest like every other file. The
 * document validates against NIST's OSCAL 1.0.6 assessment-results schema, its back-matter carries the
 * manifest's digests, every key is a subject and every check result an observation.
 * The queued pipeline's document is asserted in queue-run.test.ts.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OSCAL_ASSESSMENT_RESULTS_FILE } from "../../src/evidence/paths.ts";
import { verifyBundle } from "../../src/evidence/verify-bundle.ts";
import { runInline, type RunResult } from "../../src/jobs/run-inline.ts";
import type { Finding } from "../../src/model/finding.ts";
import { createLocalEd25519Signer } from "../../src/signing/local-ed25519.signer.ts";
import { readBundleOscal, type BundleOscal } from "../support/oscal-bundle.ts";
import {
  CAPTURED_AT,
  TEST_RANGE,
  fixedClock,
  prepareEstate,
  removeDirectory,
  type TestEstate,
} from "./queue-harness.ts";

let setup: TestEstate;
let run: RunResult;
let oscal: BundleOscal;
let findings: Finding[];

beforeAll(async () => {
  setup = await prepareEstate();
  run = await runInline({
    loaded: setup.loaded,
    range: TEST_RANGE,
    outDirectory: path.join(setup.directory, "out"),
    runId: "kp-oscal-inline",
    capturedAt: CAPTURED_AT,
    providerOptions: { clock: fixedClock },
    render: false,
  });
  oscal = await readBundleOscal(run.bundle.directory);
  findings = JSON.parse(
    await readFile(path.join(run.bundle.directory, "findings.json"), "utf8"),
  ) as Finding[];
}, 240_000);

afterAll(async () => {
  await removeDirectory(setup?.directory);
});

describe("the OSCAL assessment results of a sealed inline run", () => {
  it("are in the bundle, listed in the manifest, and the bundle verifies with them", async () => {
    expect(oscal.manifest.files.map((file) => file.path)).toContain(OSCAL_ASSESSMENT_RESULTS_FILE);
    const verified = await verifyBundle(run.bundle.archive, {
      expectedPublicKey: (await createLocalEd25519Signer(path.join(setup.directory, "signing.pem")))
        .publicKeyPem,
    });
    expect(verified.ok).toBe(true);
    expect(verified.files.extra).toEqual([]);
  });

  it("validate against the OSCAL 1.0.6 assessment-results schema", () => {
    expect(oscal.problems).toEqual([]);
    expect(oscal.document["assessment-results"].metadata["oscal-version"]).toBe("1.0.6");
  });

  it("list every file the manifest lists (but themselves and what sealing writes) with the manifest's SHA-256", () => {
    expect(oscal.expected.size).toBeGreaterThan(10);
    expect(oscal.listed).toEqual(oscal.expected);
  });

  it("make every key a subject, every check result an observation, and every fail or error a finding", () => {
    const result = oscal.document["assessment-results"].results[0];
    expect(result.start).toBe(TEST_RANGE.from);
    expect(result.end).toBe(TEST_RANGE.toExclusive);
    const keyExports = oscal.manifest.files.filter((file) => file.path.endsWith("/configuration.json"));
    const keySubjects = (result["local-definitions"]?.["inventory-items"] ?? []).filter((item) =>
      item.props?.some((prop) => prop.name === "subject-kind" && prop.value === "key"),
    );
    expect(keySubjects.length).toBe(keyExports.length);
    expect(keySubjects.length).toBeGreaterThanOrEqual(10);

    expect(result.observations).toHaveLength(findings.length);
    const judged = findings.filter((finding) => finding.status === "fail" || finding.status === "error");
    expect(judged.length).toBeGreaterThan(0);
    expect(result.findings).toHaveLength(judged.length);
    const observationIds = new Set(result.observations?.map((observation) => observation.uuid));
    for (const finding of result.findings ?? []) {
      expect(observationIds.has(finding["related-observations"][0]?.["observation-uuid"] ?? "")).toBe(true);
    }
    // The demo estate's rotation failure is a finding on SOC 2 CC6.1.
    expect(
      result.findings?.some(
        (finding) =>
          finding.props.some((prop) => prop.name === "check-id" && prop.value === "key-rotation-enabled") &&
          finding.target["target-id"] === "cc6.1",
      ),
    ).toBe(true);
  });
});
