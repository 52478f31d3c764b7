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
import { check, judgeHumanAccess, sensitiveActionsOf } from "./key-access-no-human-users.check.ts";

const alice = (actions: string[], overrides: Parameters<typeof makeGrant>[0] = {}) =>
  makeGrant({
    principal: "arn:aws:iam::111122223333:user/alice",
    principalKind: "human-user",
    actions,
    reference: "AllowAlice",
    ...overrides,
  });

describe("key-access-no-human-users", () => {
  it("has nothing to judge in an empty snapshot", () => {
    expect(check.run(makeSnapshot())).toEqual([]);
  });

  it("passes the default account-root statement and role access", () => {
    const key = makeKey({ access: makeAccess([accountRootGrant(), makeGrant()]) });
    const [finding] = check.run(makeSnapshot({ keys: [key] }));
    expect(finding).toMatchObject({
      status: "pass",
      evidence: [`sources/aws-prod/eu-west-1/keys/${key.keyId}/access-policy.json`],
    });
  });

  it("fails (high) human users with usage or admin actions, by policy, grant and identity policy, naming them", () => {
    const key = makeKey({
      access: makeAccess([
        accountRootGrant(),
        alice(["kms:Decrypt", "kms:DescribeKey"]),
        makeGrant({
          principal: "arn:aws:iam::111122223333:user/bob",
          principalKind: "human-user",
          actions: ["kms:*"],
          via: "identity-policy",
          reference: "bob/inline/KmsAdmin",
        }),
        alice(["kms:GenerateDataKey*"], { via: "grant", reference: "grant-77" }),
      ]),
    });
    const [finding] = check.run(makeSnapshot({ keys: [key] }));
    expect(finding).toMatchObject({ status: "fail", severity: "high", keyId: key.keyId });
    expect(finding?.message).toBe(
      "2 human users can use or administer the key: " +
        'arn:aws:iam::111122223333:user/alice (kms:Decrypt via key-policy "AllowAlice"), ' +
        'arn:aws:iam::111122223333:user/bob (kms:* via identity-policy "bob/inline/KmsAdmin"), ' +
        'arn:aws:iam::111122223333:user/alice (kms:GenerateDataKey* via grant "grant-77")',
    );
  });

  it("passes human users that can only read metadata, and denied users", () => {
    const key = makeKey({
      access: makeAccess([
        alice(["kms:DescribeKey", "kms:List*", "kms:Get*"]),
        alice(["kms:*"], { effect: "deny" }),
      ]),
    });
    expect(judgeHumanAccess(key).status).toBe("pass");
  });

  it("matches IAM wildcards case-insensitively", () => {
    expect(
      sensitiveActionsOf("aws-kms", ["*", "kms:*", "KMS:decrypt", "kms:ReEncrypt*", "kms:Describe*"]),
    ).toEqual(["*", "kms:*", "KMS:decrypt", "kms:ReEncrypt*"]);
  });

  it("warns, never passes or fails, when a principal of unknown type can use the key", () => {
    const stranger = makeGrant({
      principal: "00000000-0000-0000-0000-00000000beef",
      principalKind: "unknown",
      actions: ["get", "wrapKey", "unwrapKey"],
      via: "access-policy",
      reference: "access policy 00000000-0000-0000-0000-00000000beef",
    });
    const reader = makeGrant({ ...stranger, actions: ["get", "list"] });
    const azure = { source: "azure-prod", sourceType: "azure-key-vault" as const };
    const keys = [
      makeKey({ ...azure, access: makeAccess([stranger]) }),
      makeKey({ ...azure, access: makeAccess([reader]) }),
      makeKey({ ...azure, access: makeAccess([stranger, alice(["decrypt"], { via: "access-policy" })]) }),
    ];
    const findings = check.run(makeSnapshot({ keys }));
    expect(findings.map((finding) => finding.status)).toEqual(["warn", "pass", "fail"]);
    expect(findings[0]?.message).toBe(
      'no principal known to be a human user, but the source does not say what kind of principal this is: 00000000-0000-0000-0000-00000000beef (wrapKey, unwrapKey via access-policy "access policy 00000000-0000-0000-0000-00000000beef"); confirm none is a person',
    );
  });

  it("is not applicable to provider-managed keys", () => {
    const key = makeKey({ manager: "provider", access: makeAccess([alice(["kms:*"])]) });
    expect(check.run(makeSnapshot({ keys: [key] }))[0]?.status).toBe("not-applicable");
  });

  it("gives every key exactly one finding", () => {
    const keys = [
      ...makeKeys(3),
      ...makeKeys(4, { access: makeAccess([alice(["kms:PutKeyPolicy"])]) }),
      ...makeKeys(2, { source: "aws-dev" }),
    ];
    const findings = check.run(makeSnapshot({ keys }));
    expect(findings.map((finding) => finding.keyId).sort()).toEqual(keys.map((key) => key.keyId).sort());
    expect(findings.filter((finding) => finding.status === "fail")).toHaveLength(4);
  });

  it("reports an uncollected access policy, and a gap, as errors", () => {
    const key = makeKey({
      access: notCollected("iam:GetAccountAuthorizationDetails", { code: "AccessDenied" }),
    });
    const findings = check.run(makeSnapshot({ keys: [key], gaps: [makeGap()] }));
    expect(findings.map((finding) => finding.status)).toEqual(["error", "error"]);
    expect(findings[0]?.message).toContain("iam:GetAccountAuthorizationDetails failed (AccessDenied)");
  });
});
