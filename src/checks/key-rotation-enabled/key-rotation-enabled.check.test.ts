import { describe, expect, it } from "vitest";
import {
  makeGap,
  makeKey,
  makeKeys,
  makeMultiRegionKeys,
  makeRotation,
  makeSnapshot,
  notCollected,
} from "../../../test/factories/index.ts";
import { check } from "./key-rotation-enabled.check.ts";

describe("key-rotation-enabled", () => {
  it("has nothing to judge in an empty snapshot", () => {
    expect(check.run(makeSnapshot())).toEqual([]);
  });

  it("passes a symmetric customer key with rotation on, pointing at its configuration", () => {
    const key = makeKey({
      rotation: makeRotation({ enabled: true, periodDays: 180, lastRotation: "2026-08-01T00:00:00.000Z" }),
    });
    const [finding] = check.run(makeSnapshot({ keys: [key] }));
    expect(finding).toMatchObject({
      checkId: "key-rotation-enabled",
      status: "pass",
      severity: "info",
      keyId: key.keyId,
      resource: key.arn,
      date: "2026-08-01T00:00:00.000Z",
      evidence: [`sources/aws-prod/eu-west-1/keys/${key.keyId}/configuration.json`],
    });
    expect(finding?.message).toContain("every 180 days");
  });

  it("fails (high) a key whose rotation is off", () => {
    const key = makeKey({ rotation: makeRotation({ enabled: false }) });
    expect(check.run(makeSnapshot({ keys: [key] }))).toEqual([
      expect.objectContaining({
        status: "fail",
        severity: "high",
        keyId: key.keyId,
        message: "automatic key rotation is disabled",
      }),
    ]);
  });

  it("marks ineligible keys not-applicable with the reason", () => {
    const keys = [
      makeKey({ keySpec: "RSA_2048", rotation: makeRotation({ enabled: false }) }),
      makeKey({ keySpec: "HMAC_256", rotation: makeRotation({ enabled: false }) }),
      makeKey({ origin: "imported", rotation: makeRotation({ enabled: false }) }),
      makeKey({ origin: "custom-key-store", rotation: makeRotation({ enabled: false }) }),
      makeKey({ manager: "provider" }),
      makeKey({
        state: "pending-deletion",
        deletionDate: "2026-10-08T00:00:00.000Z",
        rotation: makeRotation({ enabled: false }),
      }),
    ];
    const findings = check.run(makeSnapshot({ keys }));
    expect(findings.map((finding) => finding.status)).toEqual(Array(6).fill("not-applicable"));
    expect(findings.map((finding) => finding.message)).toEqual([
      expect.stringContaining("asymmetric key (RSA_2048)"),
      expect.stringContaining("HMAC key (HMAC_256)"),
      expect.stringContaining("imported key material"),
      expect.stringContaining("custom key store"),
      expect.stringContaining("provider-managed"),
      expect.stringContaining("pending deletion (deletion on 2026-10-08T00:00:00.000Z)"),
    ]);
  });

  it("still judges a disabled key: its configuration is what it will resume with", () => {
    const key = makeKey({ state: "disabled", rotation: makeRotation({ enabled: false }) });
    expect(check.run(makeSnapshot({ keys: [key] }))[0]?.status).toBe("fail");
  });

  it("gives every key of every source and location exactly one finding", () => {
    const keys = [
      ...makeKeys(3),
      ...makeKeys(2, { rotation: makeRotation({ enabled: false }) }),
      ...makeKeys(2, { location: "us-east-1" }),
      ...makeKeys(2, { source: "aws-staging", keySpec: "ECC_NIST_P256" }),
    ];
    const findings = check.run(makeSnapshot({ keys }));
    expect(findings.map((finding) => finding.keyId).sort()).toEqual(keys.map((key) => key.keyId).sort());
    expect(findings.filter((finding) => finding.status === "pass")).toHaveLength(5);
    expect(findings.filter((finding) => finding.status === "fail")).toHaveLength(2);
    expect(findings.filter((finding) => finding.status === "not-applicable")).toHaveLength(2);
  });

  it("reports an uncollected rotation status as an error naming the call and cause", () => {
    const key = makeKey({
      rotation: notCollected("kms:GetKeyRotationStatus", {
        code: "AccessDeniedException",
        message: "not authorized",
      }),
    });
    const [finding] = check.run(makeSnapshot({ keys: [key] }));
    expect(finding).toMatchObject({ status: "error", severity: "high", keyId: key.keyId });
    expect(finding?.message).toBe(
      "rotation status unknown: kms:GetKeyRotationStatus failed (AccessDeniedException): not authorized",
    );
  });

  it("reports a location that could not be collected as an error, not as a clean result", () => {
    const findings = check.run(
      makeSnapshot({ keys: [makeKey()], gaps: [makeGap({ location: "us-east-1" })] }),
    );
    expect(findings).toContainEqual(
      expect.objectContaining({
        status: "error",
        source: "aws-prod",
        location: "us-east-1",
        resource: "aws-prod/us-east-1",
        evidence: ["gaps.json"],
        message: expect.stringContaining("kms:ListKeys failed (UnrecognizedClientException)"),
      }),
    );
  });

  it("judges HashiCorp Vault keys too: every Vault key type can auto-rotate", () => {
    const key = makeKey({
      source: "vault-prod",
      sourceType: "hashicorp-vault",
      location: "transit",
      keySpec: "rsa-2048",
      rotation: makeRotation({ enabled: false }),
    });
    expect(check.run(makeSnapshot({ keys: [key] }))).toEqual([
      expect.objectContaining({ status: "fail", keyId: key.keyId, severity: "high" }),
    ]);
  });

  it("answers error, not not-applicable, when the key's metadata could not be read", () => {
    const key = makeKey({
      keySpec: "UNKNOWN",
      errors: [
        { call: "kms:DescribeKey", code: "AccessDeniedException", message: "denied", retryable: false },
      ],
    });
    expect(check.run(makeSnapshot({ keys: [key] }))).toEqual([
      expect.objectContaining({
        status: "error",
        keyId: key.keyId,
        message: "key metadata unavailable: kms:DescribeKey failed (AccessDeniedException): denied",
      }),
    ]);
  });

  it("judges a multi-Region replica on its primary, so the two never disagree", () => {
    // The replica's own status says off (moto reports replicas so); KMS applies the primary's setting.
    const { primary, replica, primaryArn } = makeMultiRegionKeys(
      { rotation: makeRotation({ enabled: true, periodDays: 180 }) },
      { rotation: makeRotation({ enabled: false }) },
    );
    const findings = check.run(makeSnapshot({ keys: [primary, replica] }));
    expect(findings.map((finding) => [finding.location, finding.status])).toEqual([
      ["us-east-1", "pass"],
      ["eu-west-1", "pass"],
    ]);
    expect(findings[1]?.message).toBe(
      `automatic key rotation is enabled every 180 days (multi-Region replica: judged on its primary ${primaryArn} in us-east-1, which holds the shared key material and its rotation; the replica itself reports automatic rotation off, but rotation is set on the primary only)`,
    );
  });

  it("judges a replica on its own reported status when its primary's region was not collected, and says so", () => {
    const { replica, primaryArn } = makeMultiRegionKeys({}, { rotation: makeRotation({ enabled: false }) });
    const [finding] = check.run(makeSnapshot({ keys: [replica] }));
    expect(finding?.status).toBe("fail");
    expect(finding?.message).toBe(
      `automatic key rotation is disabled (multi-Region replica of ${primaryArn}: its primary in us-east-1 was not collected, so the replica's own reported rotation facts are judged; add us-east-1 to the source's regions to judge the primary)`,
    );
  });
});
