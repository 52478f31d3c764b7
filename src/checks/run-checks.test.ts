import { describe, expect, it } from "vitest";
import {
  inventoryEntryFor,
  makeInventoryEntry,
  makeKey,
  makeLoggingStatus,
  makeRotation,
  makeSnapshot,
} from "../../test/factories/index.ts";
import type { Check } from "./check.ts";
import { makeFinding } from "./check.ts";
import { parseCheckMetadata } from "./check-metadata.schema.ts";
import { registry } from "./registry.ts";
import { CHECK_FAILURE_SOURCE, compareFindings, runChecks } from "./run-checks.ts";

function stubMetadata(id: string) {
  return parseCheckMetadata({
    id,
    title: "t",
    severity: "low",
    risk: "r",
    remediation: "m",
    soc2: ["CC6.1"],
    procedureStep: "p",
    sourceTypes: ["aws-kms"],
  });
}

describe("runChecks", () => {
  it("returns only the organization's procedure verdict for an empty snapshot", () => {
    // The procedure is judged whatever was collected; every other check judges collected sources or keys.
    expect(runChecks(makeSnapshot()).map((finding) => finding.checkId)).toEqual([
      "procedure-approved-current",
    ]);
  });

  it("gives each check the findings of the checks registered before it", () => {
    const seen: number[] = [];
    const recorder = (id: string): Check => ({
      metadata: stubMetadata(id),
      run: (_snapshot, context) => {
        seen.push(context?.findings.length ?? -1);
        return [
          makeFinding(stubMetadata(id), {
            status: "pass",
            source: "s",
            resource: id,
            message: "m",
            evidence: [],
          }),
        ];
      },
    });
    runChecks(makeSnapshot(), [recorder("first"), recorder("second"), recorder("third")]);
    expect(seen).toEqual([0, 1, 2]);
  });

  it("runs the whole registry by default", () => {
    const key = makeKey({ rotation: makeRotation({ enabled: false }) });
    const findings = runChecks(makeSnapshot({ keys: [key], inventory: [inventoryEntryFor(key)] }));
    const awsChecks = registry.filter((check) => check.metadata.sourceTypes.includes("aws-kms"));
    expect(new Set(findings.map((finding) => finding.checkId))).toEqual(
      new Set(awsChecks.map((check) => check.metadata.id)),
    );
    expect(findings).toContainEqual(
      expect.objectContaining({ checkId: "key-rotation-enabled", status: "fail", keyId: key.keyId }),
    );
  });

  it("orders by check id, then source, location and key id, source-level findings first", () => {
    const keys = [
      makeKey({ source: "b-source", location: "us-east-1", keyId: "k2" }),
      makeKey({ source: "b-source", location: "us-east-1", keyId: "k1" }),
      makeKey({ source: "a-source", location: "us-east-1", keyId: "k9" }),
      makeKey({ source: "a-source", location: "eu-west-1", keyId: "k5" }),
    ];
    const findings = runChecks(
      makeSnapshot({ keys, logging: [makeLoggingStatus({ source: "a-source", location: "ap-south-1" })] }),
    );
    const rotation = findings.filter((finding) => finding.checkId === "key-rotation-enabled");
    expect(rotation.map((finding) => `${finding.source}/${finding.location}/${finding.keyId}`)).toEqual([
      "a-source/eu-west-1/k5",
      "a-source/us-east-1/k9",
      "b-source/us-east-1/k1",
      "b-source/us-east-1/k2",
    ]);
    const ids = findings.map((finding) => finding.checkId);
    expect(ids).toEqual([...ids].sort());
    for (let index = 1; index < findings.length; index += 1) {
      expect(compareFindings(findings[index - 1]!, findings[index]!)).toBeLessThanOrEqual(0);
    }
  });

  it("keeps a check's own order for ties (inventory entries by index)", () => {
    const inventory = ["alias/c", "alias/a", "alias/b"].map((match) => makeInventoryEntry({ match }));
    const findings = runChecks(makeSnapshot({ keys: [makeKey()], inventory })).filter(
      (finding) => finding.checkId === "inventory-entry-matched",
    );
    expect(findings.map((finding) => finding.resource)).toEqual([
      "inventory.json#keys[0]",
      "inventory.json#keys[1]",
      "inventory.json#keys[2]",
    ]);
  });

  it("is deterministic and independent of the order checks are given in", () => {
    const snapshot = makeSnapshot({ keys: [makeKey(), makeKey({ location: "us-east-1" })] });
    expect(runChecks(snapshot, [...registry].reverse())).toEqual(runChecks(snapshot));
  });

  it("turns a check that throws into one error finding and keeps the others", () => {
    const broken: Check = {
      metadata: stubMetadata("broken-check"),
      run() {
        throw new TypeError("cannot read properties of undefined");
      },
    };
    const working: Check = {
      metadata: stubMetadata("working-check"),
      run: () => [
        makeFinding(stubMetadata("working-check"), {
          status: "pass",
          source: "s",
          resource: "r",
          message: "m",
          evidence: [],
        }),
      ],
    };
    expect(runChecks(makeSnapshot(), [working, broken])).toEqual([
      {
        checkId: "broken-check",
        status: "error",
        severity: "low",
        source: CHECK_FAILURE_SOURCE,
        resource: "check:broken-check",
        message: "check broken-check failed to run: cannot read properties of undefined",
        evidence: [],
      },
      expect.objectContaining({ checkId: "working-check", status: "pass" }),
    ]);
  });
});
