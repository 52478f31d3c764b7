import { describe, expect, it } from "vitest";
import {
  makeCollectionError,
  makeGap,
  makeKey,
  makeKeys,
  makeSnapshot,
  makeSourceGap,
} from "../../../test/factories/index.ts";
import { check } from "./key-state-active.check.ts";

describe("key-state-active", () => {
  it("has nothing to judge in an empty snapshot", () => {
    expect(check.run(makeSnapshot())).toEqual([]);
  });

  it("passes enabled keys, provider-managed ones included", () => {
    const findings = check.run(makeSnapshot({ keys: [makeKey(), makeKey({ manager: "provider" })] }));
    expect(findings.map((finding) => [finding.status, finding.message])).toEqual([
      ["pass", "key is enabled"],
      ["pass", "key is enabled"],
    ]);
  });

  it("fails (high) a key pending deletion, dated with the deletion date", () => {
    const key = makeKey({ state: "pending-deletion", deletionDate: "2026-10-08T12:00:00.000Z" });
    expect(check.run(makeSnapshot({ keys: [key] }))).toEqual([
      expect.objectContaining({
        status: "fail",
        severity: "high",
        keyId: key.keyId,
        date: "2026-10-08T12:00:00.000Z",
        message:
          "key is pending deletion and will be destroyed on 2026-10-08T12:00:00.000Z; confirm the deletion was approved",
        evidence: [`sources/aws-prod/eu-west-1/keys/${key.keyId}/configuration.json`],
      }),
    ]);
  });

  it("fails a pending deletion without a reported date, without inventing one", () => {
    const [finding] = check.run(makeSnapshot({ keys: [makeKey({ state: "pending-deletion" })] }));
    expect(finding?.status).toBe("fail");
    expect(finding).not.toHaveProperty("date");
  });

  it("reports disabled and unusable keys as medium warnings", () => {
    const keys = [
      makeKey({ state: "disabled" }),
      makeKey({ state: "pending-import", origin: "imported" }),
      makeKey({ state: "unavailable", origin: "custom-key-store" }),
      makeKey({ state: "other" }),
    ];
    const findings = check.run(makeSnapshot({ keys }));
    expect(findings.map((finding) => `${finding.status}/${finding.severity}`)).toEqual(
      Array(4).fill("warn/medium"),
    );
    expect(findings[0]?.message).toContain("key is disabled");
  });

  it("answers error with the cause, not a state, for a key whose metadata could not be read", () => {
    const unread = makeKey({
      keySpec: "UNKNOWN",
      state: "unavailable",
      errors: [
        makeCollectionError({
          call: "vault:GET transit/keys/x",
          code: "PermissionDenied",
          message: "denied",
        }),
      ],
    });
    expect(check.run(makeSnapshot({ keys: [unread] }))).toEqual([
      expect.objectContaining({
        status: "error",
        message: "key state unknown: vault:GET transit/keys/x failed (PermissionDenied): denied",
      }),
    ]);
  });

  it("gives every key exactly one finding", () => {
    const keys = [
      ...makeKeys(5),
      ...makeKeys(2, { state: "disabled", location: "us-east-1" }),
      ...makeKeys(1, { state: "pending-deletion", source: "aws-dr" }),
    ];
    const findings = check.run(makeSnapshot({ keys }));
    expect(findings.map((finding) => finding.keyId).sort()).toEqual(keys.map((key) => key.keyId).sort());
    expect(findings.map((finding) => finding.status).sort()).toEqual([
      "fail",
      "pass",
      "pass",
      "pass",
      "pass",
      "pass",
      "warn",
      "warn",
    ]);
  });

  it("reports uncollected locations and sources as errors", () => {
    const findings = check.run(
      makeSnapshot({ keys: [makeKey()], gaps: [makeGap(), makeSourceGap({ source: "aws-dr" })] }),
    );
    expect(findings.map((finding) => `${finding.resource}:${finding.status}`)).toEqual([
      expect.stringMatching(/^arn:aws:kms:.*:pass$/),
      "aws-prod/us-east-1:error",
      "source aws-dr:error",
    ]);
  });
});
