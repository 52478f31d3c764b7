/**
 * iam-kms-wildcard end to end on moto: IAM policies created through the real IAM API, read back by the AWS
 * provider's collection (GetAccountAuthorizationDetails), then judged by the check. The test works in an
 * AWS account of its own (moto keeps state per account and maps an assumed role's credentials to the
 * role's account), so nothing here meets other tests' identities.
 */
import {
  AttachRolePolicyCommand,
  CreatePolicyCommand,
  CreateRoleCommand,
  CreateUserCommand,
  IAMClient,
  PutUserPolicyCommand,
} from "@aws-sdk/client-iam";
import { fromTemporaryCredentials } from "@aws-sdk/credential-providers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { check } from "../../src/checks/iam-kms-wildcard/iam-kms-wildcard.check.ts";
import type { AwsKmsSourceConfig } from "../../src/config/config.schema.ts";
import type { LocationSnapshot } from "../../src/model/snapshot.ts";
import { createAwsKmsProvider } from "../../src/providers/aws-kms/aws-kms.provider.ts";
import { collectLocation } from "../../src/providers/collect-location.ts";
import { makeSnapshot } from "../factories/index.ts";

const ENDPOINT = process.env.KEYPROOF_TEST_AWS_ENDPOINT ?? "http://127.0.0.1:5000";
const CREDENTIALS = { accessKeyId: "test", secretAccessKey: "test" };
const CAPTURED_AT = new Date("2026-11-28T12:00:00.000Z");
/** A fresh 12-digit account per run (moto creates account state on first use). */
const ACCOUNT = `6${String(Math.floor(Math.random() * 1e11)).padStart(11, "0")}`;
const ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/iam-helper-audit`;
const EXTERNAL_ID = "iam-helper-test";
const REGIONS = ["us-east-1", "eu-west-1"] as const;

const SOURCE: AwsKmsSourceConfig = {
  id: "aws-iam-helper",
  type: "aws-kms",
  regions: [...REGIONS],
  endpoint: ENDPOINT,
  roleArn: ROLE_ARN,
  externalId: EXTERNAL_ID,
};

function document(statement: Record<string, unknown>): string {
  return JSON.stringify({ Version: "2012-10-17", Statement: [statement] });
}

const iam = new IAMClient({
  endpoint: ENDPOINT,
  region: "us-east-1",
  credentials: fromTemporaryCredentials({
    masterCredentials: CREDENTIALS,
    params: { RoleArn: ROLE_ARN, ExternalId: EXTERNAL_ID, RoleSessionName: "iam-helper-arrange" },
    clientConfig: { endpoint: ENDPOINT, region: "us-east-1" },
  }),
});

async function collectAll(source: AwsKmsSourceConfig): Promise<LocationSnapshot[]> {
  const provider = createAwsKmsProvider(source, { clock: () => CAPTURED_AT, credentials: CREDENTIALS });
  try {
    return await Promise.all(REGIONS.map((region) => collectLocation(provider, region)));
  } finally {
    provider.close();
  }
}

function judge(locations: LocationSnapshot[], source: AwsKmsSourceConfig = SOURCE) {
  return check.run(
    makeSnapshot({
      sources: [
        { source: source.id, type: "aws-kms", account: ACCOUNT, locations, usage: [], changes: [], gaps: [] },
      ],
    }),
  );
}

beforeAll(async () => {
  const trust = document({
    Effect: "Allow",
    Principal: { Service: "ec2.amazonaws.com" },
    Action: "sts:AssumeRole",
  });
  await iam.send(
    new CreateRoleCommand({ RoleName: "iam-helper-ci-deployer", AssumeRolePolicyDocument: trust }),
  );
  await iam.send(new CreateUserCommand({ UserName: "iam-helper-alice" }));
  const everything = await iam.send(
    new CreatePolicyCommand({
      PolicyName: "iam-helper-kms-everything",
      PolicyDocument: document({ Sid: "AllKms", Effect: "Allow", Action: "kms:*", Resource: "*" }),
    }),
  );
  const narrow = await iam.send(
    new CreatePolicyCommand({
      PolicyName: "iam-helper-payments-decrypt",
      PolicyDocument: document({
        Sid: "OneKey",
        Effect: "Allow",
        Action: ["kms:Decrypt", "kms:GenerateDataKey"],
        Resource: `arn:aws:kms:us-east-1:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`,
      }),
    }),
  );
  // Broad but attached to nobody: not a grant.
  await iam.send(
    new CreatePolicyCommand({
      PolicyName: "iam-helper-orphan",
      PolicyDocument: document({ Effect: "Allow", Action: "kms:*", Resource: "*" }),
    }),
  );
  for (const policy of [everything, narrow]) {
    await iam.send(
      new AttachRolePolicyCommand({
        RoleName: "iam-helper-ci-deployer",
        PolicyArn: policy.Policy?.Arn ?? "",
      }),
    );
  }
  await iam.send(
    new PutUserPolicyCommand({
      UserName: "iam-helper-alice",
      PolicyName: "iam-helper-decrypt-all",
      PolicyDocument: document({ Effect: "Allow", Action: "kms:Decrypt", Resource: "*" }),
    }),
  );
}, 60_000);

afterAll(() => iam.destroy());

describe("iam-kms-wildcard on moto", () => {
  it("collects the account's policies once, on the first region, and fails naming each broad grant", async () => {
    const locations = await collectAll(SOURCE);
    const [home, other] = locations;
    expect(other?.logging.identityPolicies).toBeUndefined();
    const identity = home?.logging.identityPolicies;
    expect(identity?.ok).toBe(true);
    if (identity?.ok !== true) return;
    const names = identity.value.map(
      (policy) => `${policy.kind} ${policy.name} ${policy.attachments.length}`,
    );
    expect(names).toEqual(
      expect.arrayContaining([
        "customer-managed iam-helper-kms-everything 1",
        "customer-managed iam-helper-payments-decrypt 1",
        "customer-managed iam-helper-orphan 0",
        "inline iam-helper-decrypt-all 1",
      ]),
    );
    // AWS-managed policies are out of scope and not carried.
    expect(identity.value.some((policy) => policy.reference.includes(":iam::aws:policy/"))).toBe(false);

    const findings = judge(locations);
    expect(findings.map((finding) => [finding.location, finding.status])).toEqual([
      ["us-east-1", "fail"],
      ["eu-west-1", "not-applicable"],
    ]);
    const message = findings[0]?.message ?? "";
    expect(message).toContain(
      `customer-managed policy iam-helper-kms-everything (arn:aws:iam::${ACCOUNT}:policy/iam-helper-kms-everything, attached to role/iam-helper-ci-deployer): statement AllKms allows kms:* on every key (Action kms:* on Resource *)`,
    );
    expect(message).toContain(
      "inline policy iam-helper-decrypt-all (user/iam-helper-alice inline-policy iam-helper-decrypt-all, on user/iam-helper-alice): statement Statement[0] allows kms:Decrypt on every key (Action kms:Decrypt on Resource *)",
    );
    expect(message).toContain(
      "not a grant, attached to no principal: iam-helper-orphan statement Statement[0]",
    );
    expect(message).not.toContain("iam-helper-payments-decrypt");
  }, 120_000);

  it("errors, never passes, when IAM cannot be read", async () => {
    // Nothing listens on port 9: the IAM read fails while KMS and CloudTrail still answer.
    const unreachable: AwsKmsSourceConfig = { ...SOURCE, endpoints: { iam: "http://127.0.0.1:9" } };
    const [home] = await collectAll(unreachable);
    expect(home?.logging.identityPolicies?.ok).toBe(false);
    const [finding] = judge(home === undefined ? [] : [home], unreachable);
    expect(finding?.status).toBe("error");
    expect(finding?.message).toContain("iam:GetAccountAuthorizationDetails failed");
  }, 120_000);
});
