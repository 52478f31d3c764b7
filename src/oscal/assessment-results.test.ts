import { readFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { makeKey, makeRotation, makeSnapshot, notCollected } from "../../test/factories/index.ts";
import { makeFinding } from "../checks/check.ts";
import { findCheck, registry } from "../checks/registry.ts";
import { runChecks } from "../checks/run-checks.ts";
import { keyConfigurationPath } from "../evidence/paths.ts";
import type { Finding } from "../model/finding.ts";
import type { Snapshot } from "../model/snapshot.ts";
import { PACKAGE_ROOT } from "../package-root.ts";
import {
  buildAssessmentResults,
  type AssessmentResultsDocument,
  type DigestedFile,
} from "./assessment-results.ts";
import { uuidV5 } from "./deterministic-uuid.ts";
import {
  ASSESSMENT_RESULTS_SCHEMA_PATH,
  assertValidAssessmentResults,
  assessmentResultsProblems,
} from "./validate-assessment-results.ts";

const CHECKS = registry.map((check) => check.metadata);
const FILES: DigestedFile[] = [
  { path: "findings.json", sha256: "a".repeat(64), bytes: 120 },
  { path: "governance/procedure-approval.json", sha256: "b".repeat(64), bytes: 80 },
  { path: "sources/aws-prod/us-east-1/usage-events.ndjson", sha256: "c".repeat(64), bytes: 4096 },
];
/** The RFC 4122 pattern of the OSCAL UUID datatype, narrowed to version 5. */
const UUID_V5 = /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function metadataOf(id: string) {
  const check = findCheck(id);
  if (check === undefined) throw new Error(`no check ${id}`);
  return check.metadata;
}

function build(snapshot: Snapshot, findings: Finding[], files = FILES): AssessmentResultsDocument {
  return buildAssessmentResults({ snapshot, findings, checks: CHECKS, files, keyproofVersion: "0.0.0-test" });
}

function rotationFinding(keyId: string, status: Finding["status"]): Finding {
  return makeFinding(metadataOf("key-rotation-enabled"), {
    status,
    source: "aws-prod",
    location: "us-east-1",
    keyId,
    resource: `arn:aws:kms:us-east-1:111122223333:key/${keyId}`,
    message: `rotation on ${keyId}: ${status}`,
    evidence: [keyConfigurationPath("aws-prod", "us-east-1", keyId)],
  });
}

/** Every uuid anywhere in the document, for the uniqueness and format assertions. */
function uuidsOf(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(uuidsOf);
  if (typeof value !== "object" || value === null) return [];
  return Object.entries(value).flatMap(([name, item]) =>
    name === "uuid" && typeof item === "string" ? [item] : uuidsOf(item),
  );
}

describe("buildAssessmentResults", () => {
  const failing = makeKey({ source: "aws-prod", location: "us-east-1", keyId: "key-failing" });
  const passing = makeKey({ source: "aws-prod", location: "us-east-1", keyId: "key-passing" });
  const quiet = makeKey({ source: "aws-prod", location: "us-east-1", keyId: "key-quiet" });
  const snapshot = makeSnapshot({ keys: [failing, passing, quiet] });
  const findings = [rotationFinding("key-failing", "fail"), rotationFinding("key-passing", "pass")];
  const document = build(snapshot, findings);
  const result = document["assessment-results"].results[0];
  const items = result["local-definitions"]?.["inventory-items"] ?? [];
  const itemFor = (keyId: string) =>
    items.find((item) => item.props?.some((prop) => prop.name === "key-id" && prop.value === keyId));

  it("turns a fail into an OSCAL finding linked to its observation, the key and SOC 2 CC6.1", () => {
    const [observation] = result.observations ?? [];
    expect(result.findings).toHaveLength(1);
    const [finding] = result.findings ?? [];
    expect(finding?.target).toMatchObject({
      type: "objective-id",
      "target-id": "cc6.1",
      status: { state: "not-satisfied", reason: "fail" },
    });
    expect(finding?.["related-observations"]).toEqual([{ "observation-uuid": observation?.uuid }]);
    // Every SOC 2 mapping of the check travels with it, not only the first.
    expect(finding?.props.filter((prop) => prop.name === "soc2-criterion").map((prop) => prop.value)).toEqual(
      metadataOf("key-rotation-enabled").soc2,
    );
    expect(observation?.subjects).toEqual([
      { "subject-uuid": itemFor("key-failing")?.uuid, type: "inventory-item", title: failing.arn },
    ]);
    expect(observation?.["relevant-evidence"].map((evidence) => evidence.href)).toEqual([
      "findings.json",
      keyConfigurationPath("aws-prod", "us-east-1", "key-failing"),
    ]);
    expect(observation?.collected).toBe(snapshot.capturedAt);
    expect(observation?.methods).toEqual(["TEST"]);
  });

  it("keeps a pass as an observation only", () => {
    const observation = result.observations?.[1];
    expect(observation?.props).toContainEqual(expect.objectContaining({ name: "status", value: "pass" }));
    expect(observation?.subjects[0]?.["subject-uuid"]).toBe(itemFor("key-passing")?.uuid);
    expect(
      result.findings?.some((finding) =>
        finding["related-observations"].some((related) => related["observation-uuid"] === observation?.uuid),
      ),
    ).toBe(false);
  });

  it("makes every key a subject, also one no check judged", () => {
    expect(items.map((item) => item.props?.find((prop) => prop.name === "key-id")?.value)).toEqual([
      "key-failing",
      "key-passing",
      "key-quiet",
    ]);
    expect(itemFor("key-quiet")?.description).toContain(quiet.arn);
  });

  it("makes an error a not-satisfied finding with reason other, and a warn an observation only", () => {
    const mixed = build(snapshot, [
      rotationFinding("key-failing", "error"),
      rotationFinding("key-passing", "warn"),
    ]);
    const [finding, ...others] = mixed["assessment-results"].results[0].findings ?? [];
    expect(others).toEqual([]);
    expect(finding?.target.status).toMatchObject({ state: "not-satisfied", reason: "other" });
    expect(finding?.target.status.remarks).toMatch(/could not be collected/);
  });

  it("spans the run's period and reviews every SOC 2 criterion the checks map to", () => {
    expect(result.start).toBe(snapshot.range.from);
    expect(result.end).toBe(snapshot.range.toExclusive);
    const controls = result["reviewed-controls"]["control-selections"][0]?.["include-controls"].map(
      (control) => control["control-id"],
    );
    const mapped = new Set(CHECKS.flatMap((check) => check.soc2.map((criterion) => criterion.toLowerCase())));
    expect(new Set(controls)).toEqual(mapped);
    expect(controls?.length).toBe(mapped.size);
    expect(controls).toContain("cc6.1");
    // Numeric order of the criteria, as the Trust Services Criteria list them.
    expect(controls?.indexOf("cc2.1")).toBeLessThan(controls?.indexOf("cc6.1") ?? -1);
  });

  it("lists the bundle's files with their SHA-256 in the back-matter, and points import-ap at the plan", () => {
    const { resources } = document["assessment-results"]["back-matter"];
    for (const file of FILES) {
      const resource = resources.find((item) => item.title === file.path);
      expect(resource?.rlinks).toEqual([
        expect.objectContaining({ href: file.path, hashes: [{ algorithm: "SHA-256", value: file.sha256 }] }),
      ]);
    }
    const href = document["assessment-results"]["import-ap"].href;
    const plan = resources.find((item) => `#${item.uuid}` === href);
    expect(plan?.props).toContainEqual(
      expect.objectContaining({ name: "procedure-text-sha256", value: snapshot.procedure.textSha256 }),
    );
    expect(plan?.rlinks?.map((link) => link.href)).toEqual(["governance/procedure-approval.json"]);
  });

  it("renders the same document, uuids included, for the same run, and other uuids for another run", () => {
    expect(build(snapshot, findings)).toEqual(document);
    const uuids = uuidsOf(document);
    expect(new Set(uuids).size).toBe(uuids.length);
    for (const uuid of uuids) expect(uuid).toMatch(UUID_V5);
    const other = uuidsOf(build({ ...snapshot, runId: "run-test-0002" }, findings));
    expect(other.filter((uuid) => uuids.includes(uuid))).toEqual([]);
  });

  it("gives a finding about something other than a key its resource as subject", () => {
    const trail = makeFinding(metadataOf("trail-monitored"), {
      status: "fail",
      source: "aws-prod",
      location: "us-east-1",
      resource: "arn:aws:cloudtrail:us-east-1:111122223333:trail/org",
      message: "the trail is not monitored",
      evidence: [],
    });
    const built = build(snapshot, [trail])["assessment-results"].results[0];
    const subject = built["local-definitions"]?.["inventory-items"].find(
      (item) => item.uuid === built.observations?.[0]?.subjects[0]?.["subject-uuid"],
    );
    expect(subject?.props).toContainEqual(
      expect.objectContaining({ name: "subject-kind", value: "resource" }),
    );
    expect(subject?.description).toContain(trail.resource);
  });

  it("refuses a finding of a check with no metadata", () => {
    const unknown = { ...rotationFinding("key-failing", "fail"), checkId: "no-such-check" };
    expect(() => build(snapshot, [unknown])).toThrow(expect.objectContaining({ code: "INTERNAL" }));
  });
});

describe("the OSCAL 1.0.6 assessment-results schema (ajv with formats)", () => {
  it("accepts the document of a judged snapshot with passes, failures, errors and many keys", () => {
    const keys = [
      ...Array.from({ length: 5 }, () => makeKey()),
      makeKey({ rotation: makeRotation({ enabled: false }) }),
      makeKey({ rotation: notCollected("kms:GetKeyRotationStatus") }),
      makeKey({
        sourceType: "azure-key-vault",
        source: "azure-prod",
        location: "https://kv.vault.azure.net",
      }),
    ];
    const snapshot = makeSnapshot({ keys, organization: "  Acme\nCorp  " });
    const findings = runChecks(snapshot);
    const statuses = new Set(findings.map((finding) => finding.status));
    for (const status of ["pass", "fail", "error"] as const) expect(statuses.has(status), status).toBe(true);
    const document = build(snapshot, findings);
    expect(assessmentResultsProblems(document)).toEqual([]);
    expect(() => assertValidAssessmentResults(document)).not.toThrow();
  });

  it("accepts the document of an empty run (no keys, the organization's procedure verdict only)", () => {
    const snapshot = makeSnapshot();
    expect(assessmentResultsProblems(build(snapshot, runChecks(snapshot), []))).toEqual([]);
  });

  it("refuses a document that breaks the schema, naming where", () => {
    const document = build(makeSnapshot({ keys: [makeKey()] }), []);
    const broken = structuredClone(document) as unknown as {
      "assessment-results": { uuid: string; results: Array<{ start: string }> };
    };
    broken["assessment-results"].uuid = "not-a-uuid";
    const first = broken["assessment-results"].results[0];
    if (first !== undefined) first.start = "2026-07-01";
    const problems = assessmentResultsProblems(broken);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^\/assessment-results\/uuid: /),
        expect.stringMatching(/^\/assessment-results\/results\/0\/start: /),
      ]),
    );
    expect(() => assertValidAssessmentResults(broken)).toThrow(
      /does not validate against the OSCAL 1\.0\.6 schema/,
    );
  });

  it("is the schema the test fixtures hold, byte for byte (one schema, shipped and tested)", async () => {
    const shipped = await readFile(ASSESSMENT_RESULTS_SCHEMA_PATH);
    const fixture = await readFile(
      path.join(PACKAGE_ROOT, "test/fixtures/oscal/oscal_assessment-results_schema-1.0.6.json"),
    );
    expect(shipped.equals(fixture)).toBe(true);
    expect(JSON.parse(shipped.toString("utf8"))).toMatchObject({
      $schema: "http://json-schema.org/draft-07/schema#",
      $id: "http://csrc.nist.gov/ns/oscal/1.0.6/oscal-ar-schema.json",
    });
  });
});

describe("uuidV5", () => {
  it("matches the RFC 4122 name-based (SHA-1) algorithm", () => {
    // Python: uuid.uuid5(uuid.NAMESPACE_DNS, "python.org")
    expect(uuidV5("python.org", "6ba7b810-9dad-11d1-80b4-00c04fd430c8")).toBe(
      "886313e1-3b8a-5372-9b90-0c9aee199e5d",
    );
  });
});
