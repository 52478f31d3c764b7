import { describe, expect, it } from "vitest";
import type { IdentityPolicyStatement } from "../model/identity.ts";
import { judgeKmsWildcardStatement } from "./iam-kms-statements.ts";

const ACCOUNT = "111122223333";

function statement(overrides: Partial<IdentityPolicyStatement>): IdentityPolicyStatement {
  return { reference: "Statement[0]", effect: "allow", ...overrides };
}

const grantOf = (overrides: Partial<IdentityPolicyStatement>) =>
  judgeKmsWildcardStatement(statement(overrides), ACCOUNT)?.grants;

describe("judgeKmsWildcardStatement", () => {
  it.each([
    [["kms:*"], "kms:*"],
    [["*"], "kms:*"],
    [["KMS:*"], "kms:*"],
    [["k?s:*"], "kms:*"],
    [["*:*"], "kms:*"],
    [["kms:Decrypt"], "kms:Decrypt"],
    [["kms:decrypt"], "kms:Decrypt"],
    [["kms:De*"], "kms:Decrypt"],
    [["kms:*crypt"], "kms:Decrypt"],
    [["kms:Encrypt", "kms:Decrypt"], "kms:Decrypt"],
  ])("Action %j on Resource * allows %s on every key", (actions, expected) => {
    expect(grantOf({ actions, resources: ["*"] })).toBe(expected);
  });

  it.each([
    [["kms:Encrypt"]],
    [["kms:Describe*"]],
    [["kms:GenerateDataKey*"]],
    [["s3:*"]],
    [["kms:Decrypts"]],
  ])("Action %j grants neither kms:* nor kms:Decrypt", (actions) => {
    expect(grantOf({ actions, resources: ["*"] })).toBeUndefined();
  });

  it("reads NotAction as everything it does not list", () => {
    expect(grantOf({ notActions: ["iam:*", "s3:*"], resources: ["*"] })).toBe("kms:*");
    // Everything but Encrypt: not all of KMS, but Decrypt is allowed.
    expect(grantOf({ notActions: ["kms:Encrypt"], resources: ["*"] })).toBe("kms:Decrypt");
    expect(grantOf({ notActions: ["kms:*"], resources: ["*"] })).toBeUndefined();
    expect(grantOf({ notActions: ["kms:Decrypt"], resources: ["*"] })).toBeUndefined();
    expect(grantOf({ notActions: ["*"], resources: ["*"] })).toBeUndefined();
  });

  it.each([
    ["*"],
    ["arn:aws:kms:*"],
    ["arn:aws:kms:*:*:*"],
    ["arn:aws:kms:*:*:key/*"],
    [`arn:aws:kms:*:${ACCOUNT}:key/*`],
    ["arn:*:kms:*:*:key/*"],
    ["arn:aws-us-gov:kms:*:*:key/*"],
  ])("Resource %s covers every key", (resource) => {
    expect(grantOf({ actions: ["kms:*"], resources: [resource] })).toBe("kms:*");
  });

  it.each([
    [`arn:aws:kms:us-east-1:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`],
    [`arn:aws:kms:us-east-1:${ACCOUNT}:key/*`],
    [`arn:aws:kms:*:${ACCOUNT}:alias/*`],
    ["arn:aws:kms:*:999999999999:key/*"],
    ["ARN:AWS:KMS:*"],
    ["arn:aws:s3:::*"],
  ])("Resource %s does not cover every key of the account", (resource) => {
    expect(grantOf({ actions: ["kms:*"], resources: [resource] })).toBeUndefined();
  });

  it("reads NotResource as every resource it does not list", () => {
    const oneKey = `arn:aws:kms:us-east-1:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
    expect(grantOf({ actions: ["kms:Decrypt"], notResources: [oneKey] })).toBe("kms:Decrypt");
    expect(grantOf({ actions: ["kms:Decrypt"], notResources: ["arn:aws:s3:::secrets/*"] })).toBe(
      "kms:Decrypt",
    );
    expect(grantOf({ actions: ["kms:Decrypt"], notResources: ["arn:aws:kms:*"] })).toBeUndefined();
    expect(grantOf({ actions: ["kms:Decrypt"], notResources: ["*"] })).toBeUndefined();
  });

  it("ignores Deny statements and statements without a resource element", () => {
    expect(grantOf({ effect: "deny", actions: ["kms:*"], resources: ["*"] })).toBeUndefined();
    expect(grantOf({ actions: ["kms:*"] })).toBeUndefined();
  });

  it("says what it read and names the condition keys of a conditional statement", () => {
    expect(
      judgeKmsWildcardStatement(
        statement({
          actions: ["kms:Decrypt"],
          resources: ["*"],
          conditions: {
            StringEquals: { "kms:ViaService": "s3.us-east-1.amazonaws.com" },
            Bool: { "aws:SecureTransport": "true" },
          },
        }),
        ACCOUNT,
      ),
    ).toEqual({
      grants: "kms:Decrypt",
      written: "Action kms:Decrypt on Resource *",
      conditionKeys: ["kms:ViaService", "aws:SecureTransport"],
    });
    expect(
      judgeKmsWildcardStatement(
        statement({ notActions: ["iam:*"], notResources: ["arn:aws:s3:::x"] }),
        ACCOUNT,
      ),
    ).toEqual({ grants: "kms:*", written: "NotAction iam:* on NotResource arn:aws:s3:::x" });
  });

  it("does not read an account-specific pattern as every key when the account is unknown", () => {
    const accountOnly = statement({ actions: ["kms:*"], resources: [`arn:aws:kms:*:${ACCOUNT}:key/*`] });
    expect(judgeKmsWildcardStatement(accountOnly, undefined)).toBeUndefined();
    expect(
      judgeKmsWildcardStatement(statement({ actions: ["kms:*"], resources: ["*"] }), undefined)?.grants,
    ).toBe("kms:*");
  });
});
