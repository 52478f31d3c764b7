import { describe, expect, it } from "vitest";
import {
  collected,
  makeGap,
  makeKey,
  makeLoggingStatus,
  makeSnapshot,
  makeVaultKey,
  notCollected,
} from "../../../test/factories/index.ts";
import type {
  IdentityPolicy,
  IdentityPolicyAttachment,
  IdentityPolicyStatement,
} from "../../model/identity.ts";
import { check } from "./iam-kms-wildcard.check.ts";

const ACCOUNT = "111122223333";
const ROLE: IdentityPolicyAttachment = {
  kind: "role",
  name: "ci-deployer",
  arn: `arn:aws:iam::${ACCOUNT}:role/ci-deployer`,
};
const USER: IdentityPolicyAttachment = {
  kind: "user",
  name: "alice",
  arn: `arn:aws:iam::${ACCOUNT}:user/alice`,
};

function managedPolicy(
  name: string,
  statements: IdentityPolicyStatement[],
  attached = [ROLE],
): IdentityPolicy {
  return {
    kind: "customer-managed",
    name,
    reference: `arn:aws:iam::${ACCOUNT}:policy/${name}`,
    attachments: attached,
    statements,
  };
}

function inlinePolicy(name: string, statements: IdentityPolicyStatement[]): IdentityPolicy {
  return {
    kind: "inline",
    name,
    reference: `user/alice inline-policy ${name}`,
    attachments: [USER],
    statements,
  };
}

const allKms: IdentityPolicyStatement = {
  reference: "AllKms",
  effect: "allow",
  actions: ["kms:*"],
  resources: ["*"],
};
const narrow: IdentityPolicyStatement = {
  reference: "Statement[0]",
  effect: "allow",
  actions: ["kms:Decrypt"],
  resources: [`arn:aws:kms:eu-west-1:${ACCOUNT}:key/00000000-0000-4000-8000-000000000001`],
};

/** The default AWS location, carrying the account's policies. */
function withPolicies(policies: IdentityPolicy[]) {
  return makeSnapshot({
    keys: [makeKey()],
    logging: [
      makeLoggingStatus({ identityPolicies: collected(policies, "iam:GetAccountAuthorizationDetails") }),
    ],
  });
}

describe("iam-kms-wildcard", () => {
  it("has nothing to judge in an empty snapshot or one without AWS sources", () => {
    expect(check.run(makeSnapshot())).toEqual([]);
    expect(check.run(makeSnapshot({ keys: [makeVaultKey()] }))).toEqual([]);
  });

  it("passes when no attached policy reaches every key, as one finding on the IAM location", () => {
    expect(check.run(withPolicies([managedPolicy("payments-decrypt", [narrow])]))).toEqual([
      {
        checkId: "iam-kms-wildcard",
        status: "pass",
        severity: "info",
        source: "aws-prod",
        location: "eu-west-1",
        resource: "aws-prod/eu-west-1",
        message:
          "none of the 1 attached customer-managed and 0 inline IAM policies allows kms:* or kms:Decrypt on every key (AWS-managed policies not judged)",
        evidence: ["sources/aws-prod/eu-west-1/logging.json"],
      },
    ]);
  });

  it("fails naming each policy, its attachments and the offending statement", () => {
    const decryptAll: IdentityPolicyStatement = {
      reference: "Statement[1]",
      effect: "allow",
      actions: ["kms:De*"],
      resources: ["arn:aws:kms:*"],
    };
    const [finding] = check.run(
      withPolicies([
        managedPolicy("kms-admin-everything", [allKms], [ROLE, USER]),
        inlinePolicy("read-all", [narrow, decryptAll]),
      ]),
    );
    expect(finding).toMatchObject({ status: "fail", severity: "high" });
    expect(finding?.message).toBe(
      `customer-managed policy kms-admin-everything (arn:aws:iam::${ACCOUNT}:policy/kms-admin-everything, attached to role/ci-deployer, user/alice): statement AllKms allows kms:* on every key (Action kms:* on Resource *); ` +
        "inline policy read-all (user/alice inline-policy read-all, on user/alice): statement Statement[1] allows kms:Decrypt on every key (Action kms:De* on Resource arn:aws:kms:*)",
    );
  });

  it("warns on a conditional broad statement, naming its condition keys", () => {
    const viaS3: IdentityPolicyStatement = {
      ...allKms,
      reference: "ViaS3",
      conditions: { StringEquals: { "kms:ViaService": "s3.eu-west-1.amazonaws.com" } },
    };
    const [finding] = check.run(withPolicies([managedPolicy("s3-kms", [viaS3])]));
    expect(finding).toMatchObject({ status: "warn" });
    expect(finding?.message).toContain(
      "statement ViaS3 allows kms:* on every key only under its Condition (kms:ViaService)",
    );
  });

  it("a conditional statement beside an unconditional one still fails, and says both", () => {
    const conditional = {
      ...allKms,
      reference: "Cond",
      conditions: { Bool: { "aws:MultiFactorAuthPresent": "true" } },
    };
    const [finding] = check.run(
      withPolicies([managedPolicy("a", [allKms]), managedPolicy("b", [conditional])]),
    );
    expect(finding?.status).toBe("fail");
    expect(finding?.message).toContain("conditional: customer-managed policy b");
  });

  it("does not count an unattached policy as a grant, but names it", () => {
    const [finding] = check.run(withPolicies([managedPolicy("orphan", [allKms], [])]));
    expect(finding?.status).toBe("pass");
    expect(finding?.message).toContain("not a grant, attached to no principal: orphan statement AllKms");
  });

  it("warns when an attached policy's document could not be read", () => {
    const [finding] = check.run(
      withPolicies([{ ...managedPolicy("broken", []), unreadable: "policy document is not JSON" }]),
    );
    expect(finding).toMatchObject({ status: "warn" });
    expect(finding?.message).toContain("unread: customer-managed policy broken");
  });

  it("errors with the cause when IAM could not be read: unknown, never a pass", () => {
    const [finding] = check.run(
      makeSnapshot({
        keys: [makeKey()],
        logging: [
          makeLoggingStatus({
            identityPolicies: notCollected("iam:GetAccountAuthorizationDetails", { code: "AccessDenied" }),
          }),
        ],
      }),
    );
    expect(finding).toMatchObject({ status: "error" });
    expect(finding?.message).toContain("iam:GetAccountAuthorizationDetails failed (AccessDenied)");
  });

  it("is not applicable on the source's other locations, pointing at the IAM location", () => {
    const findings = check.run(
      makeSnapshot({
        keys: [makeKey(), makeKey({ location: "us-east-1" })],
        logging: [makeLoggingStatus({ identityPolicies: collected([managedPolicy("a", [allKms])]) })],
      }),
    );
    expect(findings.map((finding) => [finding.location, finding.status])).toEqual([
      ["eu-west-1", "fail"],
      ["us-east-1", "not-applicable"],
    ]);
    expect(findings[1]?.message).toBe(
      "IAM is account-wide: its policies are judged once, on aws-prod/eu-west-1",
    );
  });

  it("warns once per source when no location carries IAM facts, and errors for a location not collected", () => {
    const findings = check.run(
      makeSnapshot({
        keys: [makeKey(), makeKey({ location: "us-east-1" })],
        gaps: [makeGap({ location: "sa-east-1" })],
      }),
    );
    expect(findings.map((finding) => [finding.location, finding.status])).toEqual([
      ["eu-west-1", "warn"],
      ["sa-east-1", "error"],
    ]);
  });
});
