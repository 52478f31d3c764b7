import { describe, expect, it } from "vitest";
import {
  collected,
  makeGap,
  makeKey,
  makeKeys,
  makeMultiRegionKeys,
  makeRotation,
  makeSnapshot,
  notCollected,
} from "../../../test/factories/index.ts";
import { check, judgeRotationPeriod } from "./key-rotation-period.check.ts";

describe("key-rotation-period", () => {
  it("has nothing to judge in an empty snapshot", () => {
    expect(check.run(makeSnapshot())).toEqual([]);
  });

  it("passes a period within the policy maximum, including exactly the maximum", () => {
    const keys = [
      makeKey({ rotation: makeRotation({ periodDays: 90, nextRotation: "2026-11-01T00:00:00.000Z" }) }),
      makeKey({ rotation: makeRotation({ periodDays: 365 }) }),
    ];
    const findings = check.run(makeSnapshot({ keys }));
    expect(findings.map((finding) => finding.status)).toEqual(["pass", "pass"]);
    expect(findings[0]).toMatchObject({ date: "2026-11-01T00:00:00.000Z", severity: "info" });
    expect(findings[0]?.message).toBe("key rotates every 90 days, within the policy maximum of 365 days");
  });

  it("fails (medium) a period longer than the policy maximum", () => {
    const key = makeKey({ rotation: makeRotation({ periodDays: 730 }) });
    const findings = check.run(makeSnapshot({ keys: [key], policy: { maxRotationDays: 365 } }));
    expect(findings).toEqual([
      expect.objectContaining({
        status: "fail",
        severity: "medium",
        keyId: key.keyId,
        message: "key rotates every 730 days, longer than the policy maximum of 365 days",
      }),
    ]);
  });

  it("assumes the AWS default of 365 days when the period is absent, and says so", () => {
    const key = makeKey({ rotation: collected({ enabled: true, history: [] }) });
    const lenient = check.run(makeSnapshot({ keys: [key] }));
    expect(lenient[0]?.status).toBe("pass");
    expect(lenient[0]?.message).toContain("AWS default of 365 days assumed");
  });

  it("warns, never fails, when the absent AWS period would only fail by assumption", () => {
    const key = makeKey({ rotation: collected({ enabled: true, history: [] }) });
    const strict = check.run(makeSnapshot({ keys: [key], policy: { maxRotationDays: 180 } }));
    expect(strict).toEqual([
      expect.objectContaining({
        status: "warn",
        severity: "medium",
        message: `rotation is enabled but the API did not report RotationPeriodInDays; the AWS default of 365 days would exceed the policy maximum of 180 days; confirm the period with \`aws kms get-key-rotation-status --key-id ${key.keyId}\``,
      }),
    ]);
  });

  it("warns when a non-AWS source does not report the period", () => {
    // The check lists aws-kms only until the Azure provider lands; the rule itself is source-neutral.
    const key = makeKey({
      sourceType: "azure-key-vault",
      source: "azure-prod",
      location: "https://kv.vault.azure.net",
      rotation: collected({ enabled: true, history: [] }),
    });
    expect(judgeRotationPeriod(key, 365)).toMatchObject({ status: "warn", severity: "medium" });
  });

  it("is not applicable when rotation is off or the key is ineligible", () => {
    const keys = [makeKey({ rotation: makeRotation({ enabled: false }) }), makeKey({ keySpec: "RSA_4096" })];
    expect(check.run(makeSnapshot({ keys })).map((finding) => finding.status)).toEqual([
      "not-applicable",
      "not-applicable",
    ]);
  });

  it("gives every key exactly one finding", () => {
    const keys = [
      ...makeKeys(4),
      ...makeKeys(3, { rotation: makeRotation({ periodDays: 400 }) }),
      ...makeKeys(2, { location: "ap-south-1" }),
    ];
    const findings = check.run(makeSnapshot({ keys }));
    expect(findings).toHaveLength(keys.length);
    expect(new Set(findings.map((finding) => finding.keyId)).size).toBe(keys.length);
    expect(findings.filter((finding) => finding.status === "fail")).toHaveLength(3);
  });

  it("reports an uncollected rotation status, and a gap, as errors", () => {
    const key = makeKey({
      rotation: notCollected("kms:GetKeyRotationStatus", {
        code: "ThrottlingException",
        message: "Rate exceeded",
      }),
    });
    const findings = check.run(makeSnapshot({ keys: [key], gaps: [makeGap()] }));
    expect(findings.map((finding) => finding.status)).toEqual(["error", "error"]);
    expect(findings[0]?.message).toBe(
      "rotation period unknown: kms:GetKeyRotationStatus failed (ThrottlingException): Rate exceeded",
    );
  });

  it("judges a multi-Region replica's period on its primary's", () => {
    const { primary, replica, primaryArn } = makeMultiRegionKeys(
      { rotation: makeRotation({ periodDays: 730 }) },
      { rotation: makeRotation({ periodDays: 90 }) },
    );
    const findings = check.run(makeSnapshot({ keys: [primary, replica] }));
    expect(findings.map((finding) => finding.status)).toEqual(["fail", "fail"]);
    expect(findings[1]?.message).toBe(
      `key rotates every 730 days, longer than the policy maximum of 365 days (multi-Region replica: judged on its primary ${primaryArn} in us-east-1, which holds the shared key material and its rotation)`,
    );
  });
});
