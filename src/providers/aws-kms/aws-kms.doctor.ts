import {
  DescribeTrailsCommand,
  GetEventSelectorsCommand,
  GetTrailStatusCommand,
  LookupEventsCommand,
  type Trail,
} from "@aws-sdk/client-cloudtrail";
import { DescribeAlarmsCommand } from "@aws-sdk/client-cloudwatch";
import { DescribeMetricFiltersCommand } from "@aws-sdk/client-cloudwatch-logs";
import { ListRulesCommand, ListTargetsByRuleCommand } from "@aws-sdk/client-eventbridge";
import { GetAccountAuthorizationDetailsCommand } from "@aws-sdk/client-iam";
import {
  DescribeKeyCommand,
  GetKeyPolicyCommand,
  GetKeyRotationStatusCommand,
  ListAliasesCommand,
  ListGrantsCommand,
  ListKeyRotationsCommand,
  ListKeysCommand,
  ListResourceTagsCommand,
} from "@aws-sdk/client-kms";
import {
  GetBucketLifecycleConfigurationCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  GetObjectLockConfigurationCommand,
  GetPublicAccessBlockCommand,
  ListObjectsV2Command,
} from "@aws-sdk/client-s3";
import {
  DescribeOrganizationCommand,
  ListAccountsCommand,
  ListAccountsForParentCommand,
  ListOrganizationalUnitsForParentCommand,
} from "@aws-sdk/client-organizations";
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import type { AwsKmsSourceConfig } from "../../config/config.schema.ts";
import type { PermissionCheck, PermissionStatus } from "../source-doctor.ts";
import {
  createAwsClientFactory,
  endpointFor,
  resolveCredentials,
  type AwsClientFactoryOptions,
} from "./aws-clients.ts";
import { createOrganizationsClient, memberRoleArn } from "./aws-organization.ts";
import { awsErrorCode, awsHttpStatus, isThrottlingError } from "./aws-error.ts";
import { parseLogGroupArn } from "./key-event-alerting.collector.ts";

/**
 * `keyproof doctor` for an AWS KMS source: one probe per IAM action the provider calls, each the cheapest
 * real request for it (Limit 1, on the first key of the region). Per action the worst result over the
 * source's regions is reported, naming the regions.
 */

/** Every IAM action an aws-kms source needs, in the order doctor prints them. */
export const AWS_SOURCE_ACTIONS = [
  "sts:GetCallerIdentity",
  "kms:ListKeys",
  "kms:ListAliases",
  "kms:DescribeKey",
  "kms:GetKeyPolicy",
  "kms:GetKeyRotationStatus",
  "kms:ListKeyRotations",
  "kms:ListGrants",
  "kms:ListResourceTags",
  "iam:GetAccountAuthorizationDetails",
  "cloudtrail:DescribeTrails",
  "cloudtrail:GetTrailStatus",
  "cloudtrail:GetEventSelectors",
  "s3:GetLifecycleConfiguration",
  "s3:GetBucketPublicAccessBlock",
  "s3:GetBucketVersioning",
  "s3:GetBucketObjectLockConfiguration",
  "logs:DescribeMetricFilters",
  "cloudwatch:DescribeAlarms",
  "events:ListRules",
  "events:ListTargetsByRule",
  "cloudtrail:LookupEvents",
  "s3:ListBucket",
  "s3:GetObject",
  // organization: only (the caller's discovery; iam:GetRole is the member role's, on itself).
  "organizations:ListAccounts",
  "organizations:ListAccountsForParent",
  "organizations:ListOrganizationalUnitsForParent",
  "organizations:DescribeOrganization",
  "sts:AssumeRole",
  "iam:GetRole",
] as const;
export type AwsSourceAction = (typeof AWS_SOURCE_ACTIONS)[number];

const DENIED = new Set([
  "AccessDenied",
  "AccessDeniedException",
  "UnauthorizedOperation",
  "AuthorizationError",
  "UnauthorizedException",
]);
const NO_IDENTITY = new Set([
  "CredentialsProviderError",
  "UnrecognizedClientException",
  "InvalidClientTokenId",
  "ExpiredToken",
  "ExpiredTokenException",
  "SignatureDoesNotMatch",
]);
const UNREACHABLE = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "TimeoutError",
]);

const POLICY_FILE = "docs/permissions/aws-iam-policy.json";

interface Outcome {
  status: PermissionStatus;
  detail?: string;
  fix?: string;
}

/** What a probe's answer says about the permission. A non-denial 4xx means the request was authorized. */
export function classifyAwsProbe(action: string, error: unknown): Outcome {
  if (error === undefined) return { status: "ok" };
  const code = awsErrorCode(error);
  // SDK messages can run over several lines (deserialization hints): doctor prints one line per permission.
  const message = (error instanceof Error ? error.message : String(error)).split("\n")[0] ?? "";
  if (code === "CredentialsProviderError") {
    return {
      status: "missing",
      detail: `no credentials: ${message}`,
      fix: "set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run with an instance/task role",
    };
  }
  if (NO_IDENTITY.has(code)) {
    return {
      status: "missing",
      detail: `${code}: ${message}`,
      fix: "the credentials are not valid for this account: refresh them (aws sso login) or check AWS_PROFILE",
    };
  }
  if (DENIED.has(code)) {
    return {
      status: "missing",
      detail: `${code}: ${message}`,
      fix: `allow ${action} to this identity (${POLICY_FILE})`,
    };
  }
  if (UNREACHABLE.has(code)) {
    return {
      status: "unreachable",
      detail: `${code}: ${message}`,
      fix: "check the source's endpoint/region and the network path to it",
    };
  }
  const status = awsHttpStatus(error);
  if (isThrottlingError(error) || status === undefined || status >= 500) {
    return { status: "error", detail: `${code}: ${message}` };
  }
  return { status: "ok", detail: `allowed (answered ${code})` };
}

async function probe(action: string, call: () => Promise<unknown>): Promise<Outcome> {
  try {
    await call();
    return { status: "ok" };
  } catch (error) {
    return classifyAwsProbe(action, error);
  }
}

// `untested` ranks below `ok`: a permission shown to work in one region is not doubted for want of a key elsewhere.
const SEVERITY: Record<PermissionStatus, number> = {
  untested: -1,
  ok: 0,
  error: 2,
  unreachable: 3,
  missing: 4,
};

/** The results of one action in several places, folded into the one line doctor prints. */
function fold(action: string, results: Array<{ where: string; outcome: Outcome }>): PermissionCheck {
  if (results.length === 0) return { permission: action, status: "untested", detail: "not probed" };
  const worst = results.reduce((a, b) => (SEVERITY[b.outcome.status] > SEVERITY[a.outcome.status] ? b : a));
  const places = results.filter((result) => result.outcome.status === worst.outcome.status);
  const check: PermissionCheck = { permission: action, status: worst.outcome.status };
  const where = places.map((place) => place.where).join(", ");
  if (worst.outcome.detail !== undefined) check.detail = `${where}: ${worst.outcome.detail}`;
  else if (worst.outcome.status !== "ok") check.detail = where;
  if (worst.outcome.fix !== undefined) check.fix = worst.outcome.fix;
  return check;
}

export interface AwsDoctorOptions {
  credentials?: AwsClientFactoryOptions["credentials"];
}

export async function diagnoseAwsKmsSource(
  config: AwsKmsSourceConfig,
  options: AwsDoctorOptions = {},
): Promise<PermissionCheck[]> {
  const clients = createAwsClientFactory(
    config,
    options.credentials === undefined ? {} : { credentials: options.credentials },
  );
  const results = new Map<AwsSourceAction, Array<{ where: string; outcome: Outcome }>>();
  const record = (action: AwsSourceAction, where: string, outcome: Outcome): Outcome => {
    results.set(action, [...(results.get(action) ?? []), { where, outcome }]);
    return outcome;
  };
  const untested = (action: AwsSourceAction, where: string, reason: string): void => {
    record(action, where, { status: "untested", detail: reason });
  };
  try {
    const identity = record(
      "sts:GetCallerIdentity",
      "global",
      await probe("sts:GetCallerIdentity", () => clients.sts().send(new GetCallerIdentityCommand({}))),
    );
    if (identity.status === "missing" || identity.status === "unreachable") {
      // Without an identity every other call fails the same way: one cause, said once.
      return AWS_SOURCE_ACTIONS.map((action) =>
        action === "sts:GetCallerIdentity"
          ? fold(action, results.get(action) ?? [])
          : { permission: action, status: "untested", detail: "sts:GetCallerIdentity failed first" },
      );
    }
    record(
      "iam:GetAccountAuthorizationDetails",
      "global",
      await probe("iam:GetAccountAuthorizationDetails", () =>
        clients.iam().send(new GetAccountAuthorizationDetailsCommand({ MaxItems: 1 })),
      ),
    );

    for (const region of config.regions) {
      const kms = clients.kms(region);
      let keyId: string | undefined;
      record(
        "kms:ListKeys",
        region,
        await probe("kms:ListKeys", async () => {
          keyId = (await kms.send(new ListKeysCommand({ Limit: 1 }))).Keys?.[0]?.KeyId;
        }),
      );
      record(
        "kms:ListAliases",
        region,
        await probe("kms:ListAliases", () => kms.send(new ListAliasesCommand({ Limit: 1 }))),
      );
      const perKey: Array<[AwsSourceAction, (id: string) => Promise<unknown>]> = [
        ["kms:DescribeKey", (id) => kms.send(new DescribeKeyCommand({ KeyId: id }))],
        ["kms:GetKeyPolicy", (id) => kms.send(new GetKeyPolicyCommand({ KeyId: id, PolicyName: "default" }))],
        ["kms:GetKeyRotationStatus", (id) => kms.send(new GetKeyRotationStatusCommand({ KeyId: id }))],
        ["kms:ListKeyRotations", (id) => kms.send(new ListKeyRotationsCommand({ KeyId: id, Limit: 1 }))],
        ["kms:ListGrants", (id) => kms.send(new ListGrantsCommand({ KeyId: id, Limit: 1 }))],
        ["kms:ListResourceTags", (id) => kms.send(new ListResourceTagsCommand({ KeyId: id, Limit: 1 }))],
      ];
      for (const [action, call] of perKey) {
        const id = keyId;
        if (id === undefined) untested(action, region, "no key in the region to test on");
        else record(action, `${region} key ${id}`, await probe(action, () => call(id)));
      }

      const cloudTrail = clients.cloudTrail(region);
      let trail: Trail | undefined;
      record(
        "cloudtrail:DescribeTrails",
        region,
        await probe("cloudtrail:DescribeTrails", async () => {
          const trails = (await cloudTrail.send(new DescribeTrailsCommand({ includeShadowTrails: true })))
            .trailList;
          trail = trails?.find((candidate) => candidate.S3BucketName !== undefined) ?? trails?.[0];
        }),
      );
      const name = trail?.TrailARN ?? trail?.Name;
      if (name === undefined) {
        untested("cloudtrail:GetTrailStatus", region, "no trail to test on");
        untested("cloudtrail:GetEventSelectors", region, "no trail to test on");
      } else {
        record(
          "cloudtrail:GetTrailStatus",
          region,
          await probe("cloudtrail:GetTrailStatus", () =>
            cloudTrail.send(new GetTrailStatusCommand({ Name: name })),
          ),
        );
        record(
          "cloudtrail:GetEventSelectors",
          region,
          await probe("cloudtrail:GetEventSelectors", () =>
            cloudTrail.send(new GetEventSelectorsCommand({ TrailName: name })),
          ),
        );
      }
      const trailBucket = trail?.S3BucketName;
      // The trail bucket's settings: retention (lifecycle) and protections (trail-bucket-protected).
      const bucketProbes = [
        ["s3:GetLifecycleConfiguration", GetBucketLifecycleConfigurationCommand],
        ["s3:GetBucketPublicAccessBlock", GetPublicAccessBlockCommand],
        ["s3:GetBucketVersioning", GetBucketVersioningCommand],
        ["s3:GetBucketObjectLockConfiguration", GetObjectLockConfigurationCommand],
      ] as const;
      for (const [action, Command] of bucketProbes) {
        if (trailBucket === undefined) {
          untested(action, region, "no trail bucket to test on");
          continue;
        }
        record(
          action,
          `bucket ${trailBucket}`,
          await probe(action, () =>
            clients.s3(trail?.HomeRegion ?? region).send(new Command({ Bucket: trailBucket })),
          ),
        );
      }
      // The alert rules on key disable and deletion (kms-deletion-alarmed).
      const logGroup =
        trail?.CloudWatchLogsLogGroupArn === undefined
          ? undefined
          : parseLogGroupArn(trail.CloudWatchLogsLogGroupArn);
      if (logGroup === undefined)
        untested("logs:DescribeMetricFilters", region, "no trail log group to test on");
      else {
        record(
          "logs:DescribeMetricFilters",
          `log group ${logGroup.name}`,
          await probe("logs:DescribeMetricFilters", () =>
            clients
              .logs(logGroup.region)
              .send(new DescribeMetricFiltersCommand({ logGroupName: logGroup.name, limit: 1 })),
          ),
        );
      }
      record(
        "cloudwatch:DescribeAlarms",
        region,
        await probe("cloudwatch:DescribeAlarms", () =>
          clients.cloudWatch(region).send(new DescribeAlarmsCommand({ MaxRecords: 1 })),
        ),
      );
      const eventBridge = clients.eventBridge(region);
      let ruleName: string | undefined;
      record(
        "events:ListRules",
        region,
        await probe("events:ListRules", async () => {
          ruleName = (await eventBridge.send(new ListRulesCommand({ Limit: 1 }))).Rules?.[0]?.Name;
        }),
      );
      const rule = ruleName;
      if (rule === undefined) untested("events:ListTargetsByRule", region, "no EventBridge rule to test on");
      else {
        record(
          "events:ListTargetsByRule",
          `${region} rule ${rule}`,
          await probe("events:ListTargetsByRule", () =>
            eventBridge.send(new ListTargetsByRuleCommand({ Rule: rule, Limit: 1 })),
          ),
        );
      }

      if (config.cloudtrail === undefined) {
        // Without a trail bucket, usage comes from LookupEvents.
        record(
          "cloudtrail:LookupEvents",
          region,
          await probe("cloudtrail:LookupEvents", () =>
            clients.cloudTrailWithoutRetries(region).send(new LookupEventsCommand({ MaxResults: 1 })),
          ),
        );
      } else {
        untested("cloudtrail:LookupEvents", region, "not used: usage is read from cloudtrail.bucket");
      }
    }

    if (config.cloudtrail === undefined) {
      untested("s3:ListBucket", "usage", "not used: no cloudtrail.bucket configured");
      untested("s3:GetObject", "usage", "not used: no cloudtrail.bucket configured");
    } else {
      const { bucket, prefix } = config.cloudtrail;
      const s3 = clients.s3(config.cloudtrail.region ?? config.regions[0] ?? "us-east-1");
      let objectKey: string | undefined;
      record(
        "s3:ListBucket",
        `bucket ${bucket}`,
        await probe("s3:ListBucket", async () => {
          const listed = await s3.send(
            new ListObjectsV2Command({
              Bucket: bucket,
              Prefix: `${prefix}AWSLogs/`.replace(/^\/+/, ""),
              MaxKeys: 1,
            }),
          );
          objectKey = listed.Contents?.[0]?.Key;
        }),
      );
      const key = objectKey;
      if (key === undefined) untested("s3:GetObject", `bucket ${bucket}`, "no log object to test on");
      else {
        record(
          "s3:GetObject",
          `s3://${bucket}/${key}`,
          await probe("s3:GetObject", async () => {
            const object = await s3.send(
              new GetObjectCommand({ Bucket: bucket, Key: key, Range: "bytes=0-0" }),
            );
            await object.Body?.transformToByteArray();
          }),
        );
      }
    }
    await probeOrganization(config, options, record, untested);
    return AWS_SOURCE_ACTIONS.map((action) => fold(action, results.get(action) ?? []));
  } finally {
    clients.destroy();
  }
}

/**
 * The organization walk (issue 15) as the caller makes it: list one account, describe the organization,
 * walk the first configured OU, and assume the reader role in one member. Each member's own role is
 * probed by discovery itself at every run (a member whose role fails is a gap naming it).
 */
async function probeOrganization(
  config: AwsKmsSourceConfig,
  options: AwsDoctorOptions,
  record: (action: AwsSourceAction, where: string, outcome: Outcome) => Outcome,
  untested: (action: AwsSourceAction, where: string, reason: string) => void,
): Promise<void> {
  const organization = config.organization;
  const actions = [
    "organizations:ListAccounts",
    "organizations:ListAccountsForParent",
    "organizations:ListOrganizationalUnitsForParent",
    "organizations:DescribeOrganization",
    "sts:AssumeRole",
    "iam:GetRole",
  ] as const;
  if (organization === undefined) {
    for (const action of actions) untested(action, "organization", "not used: no organization configured");
    return;
  }
  const base = resolveCredentials(
    config,
    options.credentials === undefined ? {} : { credentials: options.credentials },
  );
  const organizations = createOrganizationsClient(config, base);
  const stsEndpoint = endpointFor(config, "sts");
  const sts = new STSClient({
    region: config.regions[0] ?? "us-east-1",
    credentials: base,
    ...(stsEndpoint === undefined ? {} : { endpoint: stsEndpoint }),
  });
  try {
    let accounts: string[] = [];
    record(
      "organizations:ListAccounts",
      "organization",
      await probe("organizations:ListAccounts", async () => {
        const listed = await organizations.send(new ListAccountsCommand({ MaxResults: 20 }));
        accounts = (listed.Accounts ?? []).flatMap((account) =>
          account.Id === undefined ? [] : [account.Id],
        );
      }),
    );
    record(
      "organizations:DescribeOrganization",
      "organization",
      await probe("organizations:DescribeOrganization", () =>
        organizations.send(new DescribeOrganizationCommand({})),
      ),
    );
    const unit = [...(organization.include ?? []), ...(organization.exclude ?? [])].find(
      (id) => id.startsWith("ou-") || id.startsWith("r-"),
    );
    if (unit === undefined) {
      untested("organizations:ListAccountsForParent", "organization", "not used: no OU in include/exclude");
      untested(
        "organizations:ListOrganizationalUnitsForParent",
        "organization",
        "not used: no OU in include/exclude",
      );
    } else {
      record(
        "organizations:ListAccountsForParent",
        unit,
        await probe("organizations:ListAccountsForParent", () =>
          organizations.send(new ListAccountsForParentCommand({ ParentId: unit, MaxResults: 1 })),
        ),
      );
      record(
        "organizations:ListOrganizationalUnitsForParent",
        unit,
        await probe("organizations:ListOrganizationalUnitsForParent", () =>
          organizations.send(new ListOrganizationalUnitsForParentCommand({ ParentId: unit, MaxResults: 1 })),
        ),
      );
    }
    const caller = await sts.send(new GetCallerIdentityCommand({})).then(
      (identity) => identity.Account,
      () => undefined,
    );
    const member = accounts.find((account) => account !== caller);
    if (member === undefined) untested("sts:AssumeRole", "organization", "no member account to test on");
    else {
      const roleArn = memberRoleArn(config, organization, member);
      record(
        "sts:AssumeRole",
        roleArn,
        await probe("sts:AssumeRole", () =>
          sts.send(
            new AssumeRoleCommand({
              RoleArn: roleArn,
              RoleSessionName: "keyproof-doctor",
              DurationSeconds: 900,
              ...(organization.externalId === undefined ? {} : { ExternalId: organization.externalId }),
            }),
          ),
        ),
      );
    }
    untested("iam:GetRole", "organization", "probed per member account by discovery at every run");
  } finally {
    organizations.destroy();
    sts.destroy();
  }
}
