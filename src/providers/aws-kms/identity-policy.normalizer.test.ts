import { describe, expect, it } from "vitest";
import type { AuthorizationDetails } from "./identity-policy.normalizer.ts";
import {
  collectCustomerIdentityPolicies,
  collectIdentityKmsStatements,
  decodePolicyDocument,
  identityStatementsForKey,
  resourceMatches,
} from "./identity-policy.normalizer.ts";

const ACCOUNT = "111122223333";
const KEY_ARN = `arn:aws:kms:us-east-1:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
const OTHER_KEY_ARN = `arn:aws:kms:eu-west-1:${ACCOUNT}:key/9999abcd-12ab-34cd-56ef-1234567890ab`;

/** IAM returns documents URL-encoded (RFC 3986), like `encodeURIComponent`. */
function encoded(document: unknown): string {
  return encodeURIComponent(JSON.stringify(document));
}

function emptyDetails(): AuthorizationDetails {
  return { users: [], roles: [], groups: [], policies: [] };
}

describe("decodePolicyDocument", () => {
  it("reads URL-encoded and plain documents, and gives undefined for neither", () => {
    const document = {
      Version: "2012-10-17",
      Statement: [{ Effect: "Allow", Action: "kms:Decrypt", Resource: "*" }],
    };
    expect(decodePolicyDocument(encoded(document))).toEqual(document);
    expect(decodePolicyDocument(JSON.stringify(document))).toEqual(document);
    expect(decodePolicyDocument("%7Bbroken")).toBeUndefined();
    expect(decodePolicyDocument(undefined)).toBeUndefined();
  });
});

describe("resourceMatches", () => {
  it.each([
    ["*", KEY_ARN, true],
    [KEY_ARN, KEY_ARN, true],
    [`arn:aws:kms:*:${ACCOUNT}:key/*`, KEY_ARN, true],
    [`arn:aws:kms:us-east-1:${ACCOUNT}:key/1234abcd-????-34cd-56ef-1234567890ab`, KEY_ARN, true],
    [`arn:aws:kms:eu-west-1:${ACCOUNT}:key/*`, KEY_ARN, false],
    [`arn:aws:kms:us-east-1:${ACCOUNT}:alias/*`, KEY_ARN, false],
  ])("%s on the key → %s", (pattern, arn, expected) => {
    expect(resourceMatches(pattern, arn)).toBe(expected);
  });
});

describe("collectIdentityKmsStatements", () => {
  it("finds nothing in an account without identities", () => {
    expect(collectIdentityKmsStatements(emptyDetails())).toEqual([]);
  });

  it("reads inline, attached managed and group policies, keeps only KMS actions, names the policy", () => {
    const details: AuthorizationDetails = {
      users: [
        {
          UserName: "alice",
          Arn: `arn:aws:iam::${ACCOUNT}:user/alice`,
          UserPolicyList: [
            {
              PolicyName: "kms-decrypt",
              PolicyDocument: encoded({
                Version: "2012-10-17",
                Statement: [
                  {
                    Sid: "Decrypt",
                    Effect: "Allow",
                    Action: ["kms:Decrypt", "s3:GetObject"],
                    Resource: KEY_ARN,
                  },
                ],
              }),
            },
            {
              PolicyName: "s3-only",
              PolicyDocument: encoded({ Statement: [{ Effect: "Allow", Action: "s3:*", Resource: "*" }] }),
            },
          ],
          GroupList: ["data-analysts"],
        },
      ],
      roles: [
        {
          RoleName: "etl",
          Arn: `arn:aws:iam::${ACCOUNT}:role/etl`,
          AttachedManagedPolicies: [
            { PolicyName: "KmsPowerUser", PolicyArn: `arn:aws:iam::${ACCOUNT}:policy/KmsPowerUser` },
          ],
        },
      ],
      groups: [
        {
          GroupName: "data-analysts",
          GroupPolicyList: [
            {
              PolicyName: "analytics-keys",
              PolicyDocument: encoded({
                Statement: [
                  {
                    Effect: "Allow",
                    Action: "kms:GenerateDataKey",
                    Resource: `arn:aws:kms:eu-west-1:${ACCOUNT}:key/*`,
                    Condition: { Bool: { "aws:MultiFactorAuthPresent": "true" } },
                  },
                ],
              }),
            },
          ],
        },
      ],
      policies: [
        {
          PolicyName: "KmsPowerUser",
          Arn: `arn:aws:iam::${ACCOUNT}:policy/KmsPowerUser`,
          DefaultVersionId: "v2",
          PolicyVersionList: [
            {
              VersionId: "v1",
              IsDefaultVersion: false,
              Document: encoded({ Statement: [{ Effect: "Allow", Action: "kms:Decrypt", Resource: "*" }] }),
            },
            {
              VersionId: "v2",
              IsDefaultVersion: true,
              Document: encoded({ Statement: [{ Effect: "Allow", Action: "kms:*", Resource: "*" }] }),
            },
          ],
        },
      ],
    };
    const statements = collectIdentityKmsStatements(details);
    expect(statements.map((statement) => statement.grant)).toEqual([
      {
        principal: `arn:aws:iam::${ACCOUNT}:user/alice`,
        principalKind: "human-user",
        principalAccount: ACCOUNT,
        effect: "allow",
        actions: ["kms:Decrypt"],
        via: "identity-policy",
        reference: "user/alice inline-policy kms-decrypt#Decrypt",
      },
      {
        principal: `arn:aws:iam::${ACCOUNT}:user/alice`,
        principalKind: "human-user",
        principalAccount: ACCOUNT,
        effect: "allow",
        actions: ["kms:GenerateDataKey"],
        conditions: { Bool: { "aws:MultiFactorAuthPresent": "true" } },
        via: "identity-policy",
        reference: "group/data-analysts inline-policy analytics-keys#Statement[0]",
      },
      {
        principal: `arn:aws:iam::${ACCOUNT}:role/etl`,
        principalKind: "role",
        principalAccount: ACCOUNT,
        effect: "allow",
        actions: ["kms:*"],
        via: "identity-policy",
        reference: `role/etl managed-policy arn:aws:iam::${ACCOUNT}:policy/KmsPowerUser#Statement[0]`,
      },
    ]);

    // Per key: the group statement names only eu-west-1 keys.
    const onKey = identityStatementsForKey(statements, KEY_ARN).map((statement) => statement.grant.reference);
    expect(onKey).toEqual([
      "user/alice inline-policy kms-decrypt#Decrypt",
      `role/etl managed-policy arn:aws:iam::${ACCOUNT}:policy/KmsPowerUser#Statement[0]`,
    ]);
    const onOther = identityStatementsForKey(statements, OTHER_KEY_ARN).map(
      (statement) => statement.grant.reference,
    );
    expect(onOther).toEqual([
      "group/data-analysts inline-policy analytics-keys#Statement[0]",
      `role/etl managed-policy arn:aws:iam::${ACCOUNT}:policy/KmsPowerUser#Statement[0]`,
    ]);
  });

  it("reads NotAction as everything but the list, and NotResource as every resource but the list", () => {
    const details: AuthorizationDetails = {
      ...emptyDetails(),
      roles: [
        {
          RoleName: "ops",
          Arn: `arn:aws:iam::${ACCOUNT}:role/ops`,
          RolePolicyList: [
            {
              PolicyName: "broad",
              PolicyDocument: encoded({
                Statement: [
                  { Sid: "AllButIam", Effect: "Allow", NotAction: "iam:*", NotResource: OTHER_KEY_ARN },
                  { Sid: "NoKms", Effect: "Allow", NotAction: ["kms:*"], Resource: "*" },
                  { Sid: "DenyDelete", Effect: "Deny", Action: "kms:ScheduleKeyDeletion", Resource: "*" },
                ],
              }),
            },
          ],
        },
      ],
    };
    const statements = collectIdentityKmsStatements(details);
    expect(
      statements.map((statement) => [
        statement.grant.reference,
        statement.grant.effect,
        statement.grant.actions,
      ]),
    ).toEqual([
      ["role/ops inline-policy broad#AllButIam (NotAction)", "allow", ["*"]],
      ["role/ops inline-policy broad#DenyDelete", "deny", ["kms:ScheduleKeyDeletion"]],
    ]);
    expect(identityStatementsForKey(statements, KEY_ARN)).toHaveLength(2);
    expect(
      identityStatementsForKey(statements, OTHER_KEY_ARN).map((statement) => statement.grant.reference),
    ).toEqual(["role/ops inline-policy broad#DenyDelete"]);
  });

  it("ignores attachments whose managed policy is not in the details and unreadable documents", () => {
    const details: AuthorizationDetails = {
      ...emptyDetails(),
      users: [
        {
          UserName: "bob",
          Arn: `arn:aws:iam::${ACCOUNT}:user/bob`,
          UserPolicyList: [{ PolicyName: "garbled", PolicyDocument: "%7Bnot json" }],
          AttachedManagedPolicies: [{ PolicyName: "Missing", PolicyArn: "arn:aws:iam::aws:policy/Missing" }],
        },
      ],
    };
    expect(collectIdentityKmsStatements(details)).toEqual([]);
  });
});

describe("collectCustomerIdentityPolicies", () => {
  const broad = {
    Version: "2012-10-17",
    Statement: { Sid: "All", Effect: "Allow", Action: "kms:*", Resource: "*" },
  };
  const ciRole = { kind: "role", name: "ci", arn: `arn:aws:iam::${ACCOUNT}:role/ci` };
  const opsGroup = { kind: "group", name: "ops", arn: `arn:aws:iam::${ACCOUNT}:group/ops` };

  it("gives customer-managed policies with every attachment, inline policies with their owner, and leaves out AWS-managed ones", () => {
    const managedArn = `arn:aws:iam::${ACCOUNT}:policy/kms-everything`;
    const details: AuthorizationDetails = {
      users: [
        {
          UserName: "alice",
          Arn: `arn:aws:iam::${ACCOUNT}:user/alice`,
          UserPolicyList: [
            {
              PolicyName: "decrypt-some",
              PolicyDocument: encoded({
                Statement: [
                  {
                    Effect: "Allow",
                    NotAction: ["iam:*"],
                    NotResource: "arn:aws:s3:::x",
                    Condition: { Bool: { "aws:MultiFactorAuthPresent": "true" } },
                  },
                  { Effect: "Sometimes", Action: "kms:*", Resource: "*" },
                ],
              }),
            },
          ],
          GroupList: ["ops"],
        },
      ],
      groups: [
        {
          GroupName: "ops",
          Arn: opsGroup.arn,
          AttachedManagedPolicies: [{ PolicyName: "kms-everything", PolicyArn: managedArn }],
        },
      ],
      roles: [
        {
          RoleName: "ci",
          Arn: ciRole.arn,
          AttachedManagedPolicies: [
            { PolicyName: "kms-everything", PolicyArn: managedArn },
            {
              PolicyName: "PowerUser",
              PolicyArn: "arn:aws:iam::aws:policy/AWSKeyManagementServicePowerUser",
            },
          ],
        },
      ],
      policies: [
        {
          PolicyName: "kms-everything",
          Arn: managedArn,
          DefaultVersionId: "v2",
          PolicyVersionList: [
            { VersionId: "v1", IsDefaultVersion: false, Document: encoded({ Statement: [] }) },
            { VersionId: "v2", IsDefaultVersion: true, Document: encoded(broad) },
          ],
        },
        {
          // No PolicyName (moto leaves it out): the name is the ARN's last segment.
          Arn: `arn:aws:iam::${ACCOUNT}:policy/team/unused`,
          PolicyVersionList: [{ VersionId: "v1", IsDefaultVersion: true, Document: "%7Bbroken" }],
        },
        {
          PolicyName: "AWSKeyManagementServicePowerUser",
          Arn: "arn:aws:iam::aws:policy/AWSKeyManagementServicePowerUser",
          PolicyVersionList: [{ VersionId: "v1", IsDefaultVersion: true, Document: encoded(broad) }],
        },
      ],
    };
    expect(collectCustomerIdentityPolicies(details)).toEqual([
      {
        kind: "customer-managed",
        name: "kms-everything",
        reference: managedArn,
        attachments: [opsGroup, ciRole],
        statements: [{ reference: "All", effect: "allow", actions: ["kms:*"], resources: ["*"] }],
      },
      {
        kind: "customer-managed",
        name: "unused",
        reference: `arn:aws:iam::${ACCOUNT}:policy/team/unused`,
        attachments: [],
        statements: [],
        unreadable: "policy document is not JSON",
      },
      {
        kind: "inline",
        name: "decrypt-some",
        reference: "user/alice inline-policy decrypt-some",
        attachments: [{ kind: "user", name: "alice", arn: `arn:aws:iam::${ACCOUNT}:user/alice` }],
        statements: [
          {
            reference: "Statement[0]",
            effect: "allow",
            notActions: ["iam:*"],
            notResources: ["arn:aws:s3:::x"],
            conditions: { Bool: { "aws:MultiFactorAuthPresent": "true" } },
          },
        ],
      },
    ]);
  });

  it("finds nothing in an empty account", () => {
    expect(collectCustomerIdentityPolicies(emptyDetails())).toEqual([]);
  });
});
