import { describe, expect, it } from "vitest";
import policyWithFindings from "../../../test/fixtures/aws/key-policies/default-with-findings.json" with { type: "json" };
import {
  classifyAwsPrincipal,
  keyPolicyEnablesIamPolicies,
  normalizeKeyPolicy,
  normalizeKmsGrants,
} from "./key-policy.normalizer.ts";

const KEY_ARN = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

describe("classifyAwsPrincipal", () => {
  it.each([
    ["*", "wildcard", undefined],
    ["111122223333", "account-root", "111122223333"],
    ["arn:aws:iam::111122223333:root", "account-root", "111122223333"],
    ["arn:aws:iam::111122223333:user/alice", "human-user", "111122223333"],
    ["arn:aws:iam::111122223333:user/division/bob", "human-user", "111122223333"],
    ["arn:aws:iam::111122223333:role/payments-app", "role", "111122223333"],
    ["arn:aws:iam::111122223333:role/service-role/etl", "role", "111122223333"],
    ["arn:aws:sts::111122223333:assumed-role/payments-app/i-0abc", "role", "111122223333"],
    ["arn:aws-us-gov:iam::111122223333:role/gov", "role", "111122223333"],
    ["arn:aws:iam::111122223333:group/admins", "group", "111122223333"],
    ["arn:aws:sts::111122223333:federated-user/carol", "unknown", "111122223333"],
    ["AIDAJQABLZS4A3QDU576Q", "human-user", undefined],
    ["AROAJQABLZS4A3QDU576Q", "role", undefined],
    ["dynamodb.us-east-1.amazonaws.com", "service", undefined],
    ["somebody", "unknown", undefined],
  ])("%s → %s", (principal, kind, account) => {
    const classified = classifyAwsPrincipal(principal);
    expect(classified.kind).toBe(kind);
    expect(classified.account).toBe(account);
  });
});

describe("normalizeKeyPolicy", () => {
  it("returns nothing for a policy without statements or a non-object", () => {
    expect(normalizeKeyPolicy({ Version: "2012-10-17" })).toEqual([]);
    expect(normalizeKeyPolicy(null)).toEqual([]);
    expect(normalizeKeyPolicy("not a policy")).toEqual([]);
  });

  it("makes one grant per statement and principal, keeping actions, conditions and references as written", () => {
    const grants = normalizeKeyPolicy(policyWithFindings);
    expect(
      grants.map((grant) => [grant.reference, grant.principal, grant.principalKind, grant.effect]),
    ).toEqual([
      ["Enable IAM User Permissions", "arn:aws:iam::111122223333:root", "account-root", "allow"],
      ["Allow access for Key Administrators", "arn:aws:iam::111122223333:role/kms-admin", "role", "allow"],
      [
        "Allow access for Key Administrators",
        "arn:aws:iam::111122223333:user/ops-admin",
        "human-user",
        "allow",
      ],
      [
        "Allow use of the key",
        "arn:aws:sts::111122223333:assumed-role/payments-app/session-1",
        "role",
        "allow",
      ],
      ["Statement[3]", "*", "wildcard", "allow"],
      ["PartnerAccount", "210987654321", "account-root", "allow"],
      ["AllowCloudTrail", "cloudtrail.amazonaws.com", "service", "allow"],
      ["WebIdentity", "cognito-identity.amazonaws.com", "unknown", "allow"],
      ["DenyOutsideOrg", "*", "wildcard", "deny"],
    ]);
    const [root, admin] = grants;
    expect(root).toEqual({
      principal: "arn:aws:iam::111122223333:root",
      principalKind: "account-root",
      principalAccount: "111122223333",
      effect: "allow",
      actions: ["kms:*"],
      via: "key-policy",
      reference: "Enable IAM User Permissions",
    });
    expect(admin?.actions).toEqual([
      "kms:Create*",
      "kms:Describe*",
      "kms:Enable*",
      "kms:List*",
      "kms:Put*",
      "kms:ScheduleKeyDeletion",
    ]);
    expect(grants[3]?.conditions).toEqual({
      StringEquals: { "kms:ViaService": "rds.us-east-1.amazonaws.com" },
    });
    // The bare wildcard statement has no condition at all: the property is absent, not undefined.
    expect(grants[4]).not.toHaveProperty("conditions");
    expect(grants[5]?.principalAccount).toBe("210987654321");
    expect(grants[6]).not.toHaveProperty("principalAccount");
  });

  it('accepts a single statement object, {AWS: "*"}, NotPrincipal and NotAction', () => {
    expect(
      normalizeKeyPolicy({
        Statement: { Effect: "Allow", Principal: { AWS: "*" }, Action: "kms:Decrypt", Resource: "*" },
      }),
    ).toEqual([
      {
        principal: "*",
        principalKind: "wildcard",
        effect: "allow",
        actions: ["kms:Decrypt"],
        via: "key-policy",
        reference: "Statement[0]",
      },
    ]);
    const [notPrincipal, notAction] = normalizeKeyPolicy({
      Statement: [
        {
          Sid: "DenyAllButAdmin",
          Effect: "Deny",
          NotPrincipal: { AWS: "arn:aws:iam::111122223333:role/kms-admin" },
          Action: "kms:PutKeyPolicy",
          Resource: "*",
        },
        {
          Sid: "Broad",
          Effect: "Allow",
          Principal: { AWS: "arn:aws:iam::111122223333:role/ops" },
          NotAction: ["kms:ScheduleKeyDeletion"],
          Resource: "*",
        },
      ],
    });
    expect(notPrincipal).toMatchObject({
      principal: "*",
      principalKind: "wildcard",
      effect: "deny",
      reference: "DenyAllButAdmin (NotPrincipal)",
    });
    expect(notAction).toMatchObject({
      principalKind: "role",
      actions: ["*"],
      reference: "Broad (NotAction)",
    });
  });

  it("skips statements whose effect is neither Allow nor Deny", () => {
    expect(normalizeKeyPolicy({ Statement: [{ Effect: "Maybe", Principal: "*", Action: "kms:*" }] })).toEqual(
      [],
    );
  });
});

describe("normalizeKmsGrants", () => {
  it("turns grants into allow grants with operations, constraints and the grant id", () => {
    const grants = normalizeKmsGrants([
      {
        GrantId: "0c237476b39f8bc44e45212e08498fbe3151305030726c0590dd8d3e9f3d6a60",
        Name: "alice-quarter-close",
        GranteePrincipal: "arn:aws:iam::111122223333:user/alice",
        Operations: ["Decrypt", "GenerateDataKey"],
      },
      {
        GrantId: "grant-2",
        GranteePrincipal: "dynamodb.us-east-1.amazonaws.com",
        Operations: ["Encrypt"],
        Constraints: { EncryptionContextSubset: { table: "orders" } },
      },
      {
        GrantId: "grant-3",
        GranteePrincipal: "arn:aws:iam::111122223333:role/etl",
        Operations: ["Decrypt"],
        Constraints: {},
      },
    ]);
    expect(grants).toEqual([
      {
        principal: "arn:aws:iam::111122223333:user/alice",
        principalKind: "human-user",
        principalAccount: "111122223333",
        effect: "allow",
        actions: ["kms:Decrypt", "kms:GenerateDataKey"],
        via: "grant",
        reference: "0c237476b39f8bc44e45212e08498fbe3151305030726c0590dd8d3e9f3d6a60",
      },
      {
        principal: "dynamodb.us-east-1.amazonaws.com",
        principalKind: "service",
        effect: "allow",
        actions: ["kms:Encrypt"],
        conditions: { EncryptionContextSubset: { table: "orders" } },
        via: "grant",
        reference: "grant-2",
      },
      {
        principal: "arn:aws:iam::111122223333:role/etl",
        principalKind: "role",
        principalAccount: "111122223333",
        effect: "allow",
        actions: ["kms:Decrypt"],
        via: "grant",
        reference: "grant-3",
      },
    ]);
  });

  it("returns nothing for no grants", () => {
    expect(normalizeKmsGrants([])).toEqual([]);
  });
});

describe("keyPolicyEnablesIamPolicies", () => {
  it("is true for the account-root statement on * or on the key's ARN, by ARN or bare account id", () => {
    expect(keyPolicyEnablesIamPolicies(policyWithFindings, KEY_ARN)).toBe(true);
    expect(
      keyPolicyEnablesIamPolicies(
        {
          Statement: [
            { Effect: "Allow", Principal: { AWS: "111122223333" }, Action: "kms:*", Resource: KEY_ARN },
          ],
        },
        KEY_ARN,
      ),
    ).toBe(true);
  });

  it("is false without it, for another account's root, for Deny, and for another resource", () => {
    expect(keyPolicyEnablesIamPolicies({ Statement: [] }, KEY_ARN)).toBe(false);
    expect(
      keyPolicyEnablesIamPolicies(
        {
          Statement: [
            {
              Effect: "Allow",
              Principal: { AWS: "arn:aws:iam::210987654321:root" },
              Action: "kms:*",
              Resource: "*",
            },
          ],
        },
        KEY_ARN,
      ),
    ).toBe(false);
    expect(
      keyPolicyEnablesIamPolicies(
        {
          Statement: [
            {
              Effect: "Deny",
              Principal: { AWS: "arn:aws:iam::111122223333:root" },
              Action: "kms:*",
              Resource: "*",
            },
          ],
        },
        KEY_ARN,
      ),
    ).toBe(false);
    expect(
      keyPolicyEnablesIamPolicies(
        {
          Statement: [
            {
              Effect: "Allow",
              Principal: { AWS: "arn:aws:iam::111122223333:root" },
              Action: "kms:*",
              Resource: "arn:aws:kms:us-east-1:111122223333:key/other",
            },
          ],
        },
        KEY_ARN,
      ),
    ).toBe(false);
  });
});
