import { describe, expect, it } from "vitest";
import {
  accountRootGrant,
  makeAccess,
  makeGap,
  makeGrant,
  makeKey,
  makeKeys,
  makeSnapshot,
  notCollected,
} from "../../../test/factories/index.ts";
import { check } from "./key-access-not-public.check.ts";

const FOREIGN = "444455556666";

describe("key-access-not-public", () => {
  it("has nothing to judge in an empty snapshot", () => {
    expect(check.run(makeSnapshot())).toEqual([]);
  });

  it("passes the default key policy and same-account roles", () => {
    const key = makeKey({ access: makeAccess([accountRootGrant(), makeGrant()]) });
    const [finding] = check.run(makeSnapshot({ keys: [key] }));
    expect(finding).toMatchObject({
      status: "pass",
      evidence: [`sources/aws-prod/eu-west-1/keys/${key.keyId}/access-policy.json`],
    });
    expect(finding?.message).toContain("outside account 111122223333");
  });

  it("fails (critical) an unconditional wildcard principal", () => {
    const key = makeKey({
      access: makeAccess([
        accountRootGrant(),
        makeGrant({
          principal: "*",
          principalKind: "wildcard",
          actions: ["kms:Decrypt"],
          reference: "Public",
        }),
      ]),
    });
    const [finding] = check.run(makeSnapshot({ keys: [key] }));
    expect(finding).toMatchObject({ status: "fail", severity: "critical" });
    expect(finding?.message).toBe(
      'key is open without conditions to * via key-policy "Public" (kms:Decrypt)',
    );
  });

  it("fails another account's principal without a condition, whether by policy or grant", () => {
    const byPolicy = makeKey({ access: makeAccess([accountRootGrant(FOREIGN)]) });
    const byGrant = makeKey({
      access: makeAccess([
        makeGrant({
          principal: `arn:aws:iam::${FOREIGN}:role/etl`,
          principalAccount: FOREIGN,
          via: "grant",
          reference: "grant-1a2b",
        }),
      ]),
    });
    const findings = check.run(makeSnapshot({ keys: [byPolicy, byGrant] }));
    expect(findings.map((finding) => finding.status)).toEqual(["fail", "fail"]);
    expect(findings[1]?.message).toContain(`arn:aws:iam::${FOREIGN}:role/etl via grant "grant-1a2b"`);
  });

  it("warns (medium) when the open statement carries a condition", () => {
    const key = makeKey({
      access: makeAccess([
        makeGrant({
          principal: "*",
          principalKind: "wildcard",
          conditions: { StringEquals: { "kms:CallerAccount": "111122223333" } },
        }),
      ]),
    });
    const [finding] = check.run(makeSnapshot({ keys: [key] }));
    expect(finding).toMatchObject({ status: "warn", severity: "medium" });
    expect(finding?.message).toContain("; condition StringEquals kms:CallerAccount)");
  });

  it("ignores deny statements and treats an empty condition block as none", () => {
    const denied = makeKey({
      access: makeAccess([makeGrant({ principal: "*", principalKind: "wildcard", effect: "deny" })]),
    });
    const emptyCondition = makeKey({
      access: makeAccess([makeGrant({ principal: "*", principalKind: "wildcard", conditions: {} })]),
    });
    const findings = check.run(makeSnapshot({ keys: [denied, emptyCondition] }));
    expect(findings.map((finding) => finding.status)).toEqual(["pass", "fail"]);
  });

  it("falls back to the key ARN's account when the source account is unknown", () => {
    const key = makeKey({ access: makeAccess([accountRootGrant(), accountRootGrant(FOREIGN)]) });
    const findings = check.run(makeSnapshot({ keys: [key], accounts: { "aws-prod": undefined } }));
    expect(findings[0]?.status).toBe("fail");
  });

  it("errors when neither the source nor the ARN names the account and a principal has one", () => {
    const key = makeKey({ arn: "not-an-arn", access: makeAccess([accountRootGrant(FOREIGN)]) });
    const findings = check.run(makeSnapshot({ keys: [key], accounts: { "aws-prod": undefined } }));
    expect(findings[0]?.status).toBe("error");
    expect(findings[0]?.message).toContain("the key's account is unknown");
  });

  it("is not applicable to provider-managed keys", () => {
    const key = makeKey({
      manager: "provider",
      access: makeAccess([makeGrant({ principal: "*", principalKind: "wildcard" })]),
    });
    expect(check.run(makeSnapshot({ keys: [key] }))[0]?.status).toBe("not-applicable");
  });

  it("gives every key exactly one finding", () => {
    const open = makeAccess([makeGrant({ principal: "*", principalKind: "wildcard" })]);
    const keys = [
      ...makeKeys(4),
      ...makeKeys(3, { access: open }),
      ...makeKeys(2, { location: "us-west-2" }),
    ];
    const findings = check.run(makeSnapshot({ keys }));
    expect(findings.map((finding) => finding.keyId).sort()).toEqual(keys.map((key) => key.keyId).sort());
    expect(findings.filter((finding) => finding.status === "fail")).toHaveLength(3);
  });

  it("reports an uncollected access policy, and a gap, as errors", () => {
    const key = makeKey({ access: notCollected("kms:GetKeyPolicy") });
    const findings = check.run(makeSnapshot({ keys: [key], gaps: [makeGap()] }));
    expect(findings.map((finding) => finding.status)).toEqual(["error", "error"]);
    expect(findings[0]?.message).toBe(
      "access policy unknown: kms:GetKeyPolicy failed (AccessDeniedException): User is not authorized to perform this operation",
    );
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
        message: expect.stringContaining("kms:DescribeKey"),
      }),
    ]);
  });
});
