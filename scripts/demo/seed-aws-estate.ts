/**
 * Seeds a realistic small AWS KMS estate into an AWS emulator (moto) for the demo and the integration
 * tests: fourteen keys across us-east-1 and eu-west-1 with the usual audit findings built in, the key
 * inventory that documents them, a multi-region CloudTrail trail whose bucket expires logs after 90 days
 * and whose log-file validation is off, delivering to a CloudWatch Logs group with the CIS metric filter and
 * alarm on key disable and scheduled deletion, and a range's worth of gzipped CloudTrail log files (including a corrupt one and late deliveries).
 *
 * Emulator only: it creates resources with fixed demo principals and writes synthetic logs. Re-running
 * with the same suffix reuses the keys found under the suffixed aliases; a new suffix builds a new estate
 * beside the old one.
 *
 * Run directly: `npx tsx scripts/demo/seed-aws-estate.ts [--endpoint URL] [--suffix S] [--period 2026-Q3]
 * [--role-arn arn:aws:iam::<account>:role/<name>]` (prints the source config, inventory and key ids as JSON).
 */
import { createHash } from "node:crypto";
import { pathToFileURL } from "node:url";
import { gzipSync } from "node:zlib";
import {
  CloudTrailClient,
  CreateTrailCommand,
  PutEventSelectorsCommand,
  StartLoggingCommand,
  UpdateTrailCommand,
} from "@aws-sdk/client-cloudtrail";
import { CloudWatchClient, PutMetricAlarmCommand } from "@aws-sdk/client-cloudwatch";
import {
  CloudWatchLogsClient,
  CreateLogGroupCommand,
  PutMetricFilterCommand,
} from "@aws-sdk/client-cloudwatch-logs";
import { CreateRoleCommand, CreateUserCommand, IAMClient, PutRolePolicyCommand } from "@aws-sdk/client-iam";
import {
  CreateAliasCommand,
  CreateGrantCommand,
  CreateKeyCommand,
  DisableKeyCommand,
  EnableKeyRotationCommand,
  KMSClient,
  paginateListAliases,
  RotateKeyOnDemandCommand,
  ScheduleKeyDeletionCommand,
} from "@aws-sdk/client-kms";
import type { GrantOperation, KeySpec, KeyUsageType } from "@aws-sdk/client-kms";
import {
  CreateBucketCommand,
  PutBucketLifecycleConfigurationCommand,
  PutBucketPolicyCommand,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { fromTemporaryCredentials } from "@aws-sdk/credential-providers";
import type { AwsKmsSourceConfig, InventoryEntry, KeyUsage } from "../../src/config/config.schema.ts";
import type { DateRange } from "../../src/model/snapshot.ts";
import { addDays, daysOf, parsePeriod } from "../../src/time/date-range.ts";
import { previousQuarter } from "../../src/time/previous-quarter.ts";

export const DEMO_SOURCE_ID = "aws-demo";
export const DEMO_REGIONS = ["us-east-1", "eu-west-1"] as const;
export type DemoRegion = (typeof DEMO_REGIONS)[number];
/** The account the cross-account finding names; not the emulator's own. */
export const DEMO_PARTNER_ACCOUNT = "210987654321";
/** How long the trail bucket keeps log files: shorter than the default 365-day policy, on purpose. */
export const DEMO_LOG_EXPIRATION_DAYS = 90;

/** eventIDs of the records placed around the range boundary, for tests that look for them. */
export const DEMO_LATE_EVENT_ID = "7a1e0d51-1a7e-4d3b-9c55-000000000001";
export const DEMO_OUTSIDE_EVENT_ID = "7a1e0d51-1a7e-4d3b-9c55-000000000002";
export const DEMO_BEFORE_RANGE_EVENT_ID = "7a1e0d51-1a7e-4d3b-9c55-000000000003";
/** The corrupt (truncated) log object ends with this. */
/**
 * The quarter's administrative story (issue 13's history): a human turned automatic rotation of
 * `customer-pii` off and, days later, on again (rotation-continuous fails on it although rotation is on at
 * capture), and edited the key policy of `partner-exchange` mid-quarter (key-policy-changes-reviewed warns).
 */
export const DEMO_ROTATION_OFF_KEY = "customer-pii";
export const DEMO_POLICY_EDITED_KEY = "partner-exchange";
export const DEMO_KEY_ADMIN_USER = "carol";
export const DEMO_KEY_ADMIN_IP = "203.0.113.45";

export const DEMO_CORRUPT_OBJECT_MARKER = "_truncated.json.gz";

export interface SeedAwsDemoEstateOptions {
  endpoint: string;
  /** Appended (with a dash) to aliases, the bucket, the trail and policy names; none by default. */
  suffix?: string;
  /** Log files are written only for days that have begun by `now`; default the current time. */
  now?: Date;
  /** The range the log files cover (a quarter for the demo; tests use a few days). */
  quarter: DateRange;
  /**
   * Seed into the account of this role instead of the emulator's default account: the seed assumes it
   * (ExternalId `DEMO_EXTERNAL_ID`) and the returned source does too. moto gives every account its own
   * state and maps the assumed role's credentials to the role's account, so a fresh account id gives a
   * test an estate nobody else sees. Emulator accounts need not exist beforehand.
   */
  roleArn?: string;
}

export interface SeededAwsDemoEstate {
  source: AwsKmsSourceConfig;
  inventory: InventoryEntry[];
  /** Demo key name (`payments-db`...) → KMS key id. */
  keyIdsByName: Record<string, string>;
  trailBucket: string;
  /** The CloudWatch alarm on the trail's log group that fires on DisableKey and ScheduleKeyDeletion. */
  deletionAlarm: string;
}

/**
 * The CIS AWS Foundations metric filter pattern for "disabling or scheduled deletion of customer created
 * CMKs", as the benchmark and Prowler's `cloudwatch_log_metric_filter_disable_or_scheduled_deletion_of_kms_cmk` state it.
 */
export const DEMO_KMS_DELETION_FILTER_PATTERN =
  "{($.eventSource = kms.amazonaws.com) && (($.eventName=DisableKey)||($.eventName=ScheduleKeyDeletion))}";

const EMULATOR_CREDENTIALS = { accessKeyId: "test", secretAccessKey: "test" };
/** ExternalId the demo source passes when it assumes `roleArn` (the confused-deputy guard AWS recommends). */
export const DEMO_EXTERNAL_ID = "keyproof-demo";

type Principal = { AWS: string | string[] } | { Service: string } | "*";

interface Statement {
  Sid: string;
  Effect: "Allow" | "Deny";
  Principal: Principal;
  Action: string | string[];
  Resource: "*";
  Condition?: Record<string, Record<string, unknown>>;
}

interface DemoKey {
  name: string;
  region: DemoRegion;
  description: string;
  keySpec: KeySpec;
  keyUsage: KeyUsageType;
  rotation: boolean;
  /** Statements after the standard administration statements. */
  usageStatements: (names: PrincipalNames) => Statement[];
  grants?: (names: PrincipalNames) => Array<{
    name: string;
    grantee: string;
    operations: GrantOperation[];
    constraints?: { EncryptionContextSubset: Record<string, string> };
  }>;
  finalState?: "disabled" | "pending-deletion";
  team: string;
  /** Absent: the key is not in the inventory (the unowned key). */
  inventory?: { owner: string; usage: KeyUsage; systems: string[]; notes?: string };
}

interface PrincipalNames {
  account: string;
  root: string;
  role: (name: string) => string;
  user: (name: string) => string;
}

const ENCRYPTION_ACTIONS = [
  "kms:Encrypt",
  "kms:Decrypt",
  "kms:ReEncrypt*",
  "kms:GenerateDataKey*",
  "kms:DescribeKey",
];
const ADMIN_ACTIONS = [
  "kms:Create*",
  "kms:Describe*",
  "kms:Enable*",
  "kms:List*",
  "kms:Put*",
  "kms:Update*",
  "kms:Revoke*",
  "kms:Disable*",
  "kms:Get*",
  "kms:Delete*",
  "kms:TagResource",
  "kms:UntagResource",
  "kms:ScheduleKeyDeletion",
  "kms:CancelKeyDeletion",
  "kms:RotateKeyOnDemand",
];

function allowRole(
  sid: string,
  role: string,
  actions: string[],
  condition?: Statement["Condition"],
): Statement {
  return {
    Sid: sid,
    Effect: "Allow",
    Principal: { AWS: role },
    Action: actions,
    Resource: "*",
    ...(condition ? { Condition: condition } : {}),
  };
}

/** The estate. Names are stable; each carries one deliberate property the checks should notice (or none). */
const DEMO_KEYS: DemoKey[] = [
  {
    name: "payments-db",
    region: "us-east-1",
    description: "Payments database encryption (RDS PostgreSQL storage and ledger backups)",
    keySpec: "SYMMETRIC_DEFAULT",
    keyUsage: "ENCRYPT_DECRYPT",
    rotation: true,
    usageStatements: (n) => [
      allowRole("AllowPaymentsServiceUse", n.role("payments-app"), ENCRYPTION_ACTIONS, {
        StringEquals: { "kms:ViaService": "rds.us-east-1.amazonaws.com" },
      }),
    ],
    team: "payments",
    inventory: {
      owner: "Dana Whitfield (Payments Engineering)",
      usage: "data-at-rest",
      systems: ["payments-postgres", "ledger-service"],
    },
  },
  {
    name: "customer-pii",
    region: "eu-west-1",
    description: "Customer profile PII column encryption",
    keySpec: "SYMMETRIC_DEFAULT",
    keyUsage: "ENCRYPT_DECRYPT",
    rotation: true,
    usageStatements: (n) => [allowRole("AllowPiiServiceUse", n.role("pii-service"), ENCRYPTION_ACTIONS)],
    team: "identity",
    inventory: {
      owner: "Marco Bianchi (Identity Platform)",
      usage: "application",
      systems: ["customer-profile-api"],
    },
  },
  {
    name: "backups",
    region: "eu-west-1",
    description: "Nightly backup archives in S3",
    keySpec: "SYMMETRIC_DEFAULT",
    keyUsage: "ENCRYPT_DECRYPT",
    rotation: true,
    usageStatements: (n) => [allowRole("AllowBackupRunnerUse", n.role("backup-runner"), ENCRYPTION_ACTIONS)],
    grants: (n) => [
      {
        name: "backup-runner-archive",
        grantee: n.role("backup-runner"),
        operations: ["Encrypt", "GenerateDataKey", "Decrypt"],
        constraints: { EncryptionContextSubset: { purpose: "nightly-backup" } },
      },
    ],
    team: "platform",
    inventory: { owner: "Priya Nair (Platform)", usage: "data-at-rest", systems: ["nightly-backups-s3"] },
  },
  {
    name: "session-tokens",
    region: "us-east-1",
    description: "Encrypts session tokens issued by the auth gateway",
    keySpec: "SYMMETRIC_DEFAULT",
    keyUsage: "ENCRYPT_DECRYPT",
    rotation: false,
    usageStatements: (n) => [
      allowRole("AllowSessionServiceUse", n.role("session-service"), ["kms:Encrypt", "kms:Decrypt"]),
    ],
    team: "identity",
    inventory: {
      owner: "Marco Bianchi (Identity Platform)",
      usage: "application",
      systems: ["auth-gateway"],
    },
  },
  {
    name: "marketing-assets",
    region: "us-east-1",
    description: "Encrypts pre-release marketing assets shared with agencies",
    keySpec: "SYMMETRIC_DEFAULT",
    keyUsage: "ENCRYPT_DECRYPT",
    rotation: true,
    usageStatements: () => [
      {
        Sid: "AllowAgencyDownloads",
        Effect: "Allow",
        Principal: "*",
        Action: ["kms:Decrypt", "kms:DescribeKey"],
        Resource: "*",
      },
    ],
    team: "marketing",
    inventory: { owner: "Jules Moreau (Marketing Ops)", usage: "data-at-rest", systems: ["marketing-cdn"] },
  },
  {
    name: "partner-exchange",
    region: "eu-west-1",
    description: "Files exchanged with the settlement partner over SFTP",
    keySpec: "SYMMETRIC_DEFAULT",
    keyUsage: "ENCRYPT_DECRYPT",
    rotation: true,
    usageStatements: () => [
      {
        Sid: "AllowPartnerAccount",
        Effect: "Allow",
        Principal: { AWS: `arn:aws:iam::${DEMO_PARTNER_ACCOUNT}:root` },
        Action: ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"],
        Resource: "*",
      },
    ],
    team: "payments",
    inventory: {
      owner: "Dana Whitfield (Payments Engineering)",
      usage: "data-in-transit",
      systems: ["partner-sftp"],
    },
  },
  {
    name: "reporting-exports",
    region: "us-east-1",
    description: "Monthly finance report exports",
    keySpec: "SYMMETRIC_DEFAULT",
    keyUsage: "ENCRYPT_DECRYPT",
    rotation: true,
    usageStatements: (n) => [
      allowRole("AllowReportingExporterUse", n.role("reporting-exporter"), ENCRYPTION_ACTIONS),
    ],
    grants: (n) => [
      { name: "alice-quarter-close", grantee: n.user("alice"), operations: ["Decrypt", "GenerateDataKey"] },
    ],
    team: "finance",
    inventory: {
      owner: "Hannah Okafor (Finance Systems)",
      usage: "data-at-rest",
      systems: ["finance-reports"],
    },
  },
  {
    name: "analytics-warehouse",
    region: "eu-west-1",
    description: "Analytics warehouse (Redshift) encryption",
    keySpec: "SYMMETRIC_DEFAULT",
    keyUsage: "ENCRYPT_DECRYPT",
    rotation: true,
    usageStatements: (n) => [
      allowRole("AllowEtlUse", n.role("analytics-etl"), ENCRYPTION_ACTIONS),
      {
        Sid: "AllowBobAdHocDecrypt",
        Effect: "Allow",
        Principal: { AWS: n.user("bob") },
        Action: "kms:Decrypt",
        Resource: "*",
      },
    ],
    team: "data",
    inventory: {
      owner: "Tomasz Nowak (Data Engineering)",
      usage: "data-at-rest",
      systems: ["redshift-analytics"],
    },
  },
  {
    name: "release-signing",
    region: "us-east-1",
    description: "Signs release artifacts (RSA-PSS)",
    keySpec: "RSA_2048",
    keyUsage: "SIGN_VERIFY",
    rotation: false,
    usageStatements: (n) => [
      allowRole("AllowReleasePipelineSign", n.role("release-pipeline"), [
        "kms:Sign",
        "kms:Verify",
        "kms:GetPublicKey",
        "kms:DescribeKey",
      ]),
    ],
    team: "platform",
    inventory: { owner: "Priya Nair (Platform)", usage: "application", systems: ["release-pipeline"] },
  },
  {
    name: "webhook-hmac",
    region: "us-east-1",
    description: "HMAC signatures on outgoing webhooks",
    keySpec: "HMAC_256",
    keyUsage: "GENERATE_VERIFY_MAC",
    rotation: false,
    usageStatements: (n) => [
      allowRole("AllowWebhookDispatcher", n.role("webhook-service"), [
        "kms:GenerateMac",
        "kms:VerifyMac",
        "kms:DescribeKey",
      ]),
    ],
    team: "integrations",
    inventory: { owner: "Sam Lee (Integrations)", usage: "data-in-transit", systems: ["webhook-dispatcher"] },
  },
  {
    name: "device-firmware-signing",
    region: "eu-west-1",
    description: "Legacy firmware signing for field devices (secp256k1)",
    keySpec: "ECC_SECG_P256K1",
    keyUsage: "SIGN_VERIFY",
    rotation: false,
    usageStatements: (n) => [
      allowRole("AllowFirmwareSigner", n.role("firmware-signer"), [
        "kms:Sign",
        "kms:Verify",
        "kms:GetPublicKey",
      ]),
    ],
    team: "devices",
    inventory: { owner: "Lena Fischer (Devices)", usage: "application", systems: ["iot-firmware"] },
  },
  {
    name: "scratch",
    region: "us-east-1",
    description: "created for a spike, never documented",
    keySpec: "SYMMETRIC_DEFAULT",
    keyUsage: "ENCRYPT_DECRYPT",
    rotation: true,
    usageStatements: (n) => [
      allowRole("AllowSpikeUse", n.role("payments-app"), ["kms:Encrypt", "kms:Decrypt"]),
    ],
    team: "unknown",
  },
  {
    name: "billing-legacy",
    region: "us-east-1",
    description: "Old billing system, decommissioned",
    keySpec: "SYMMETRIC_DEFAULT",
    keyUsage: "ENCRYPT_DECRYPT",
    rotation: true,
    usageStatements: (n) => [allowRole("AllowBillingUse", n.role("billing-legacy"), ENCRYPTION_ACTIONS)],
    finalState: "pending-deletion",
    team: "finance",
    inventory: {
      owner: "Hannah Okafor (Finance Systems)",
      usage: "data-at-rest",
      systems: ["billing-v1"],
      notes: "scheduled for deletion after the billing-v1 data was re-encrypted under payments-db",
    },
  },
  {
    name: "archive-2019",
    region: "eu-west-1",
    description: "2019 archive, kept disabled for legal hold",
    keySpec: "SYMMETRIC_DEFAULT",
    keyUsage: "ENCRYPT_DECRYPT",
    rotation: true,
    usageStatements: (n) => [allowRole("AllowArchiveRestore", n.role("backup-runner"), ["kms:Decrypt"])],
    finalState: "disabled",
    team: "legal",
    inventory: {
      owner: "Ines Duarte (Legal Ops)",
      usage: "data-at-rest",
      systems: ["legal-archive"],
      notes: "disabled; enable only for a legal request",
    },
  },
];

const ROLES = [
  "kms-admin",
  "payments-app",
  "pii-service",
  "backup-runner",
  "session-service",
  "reporting-exporter",
  "analytics-etl",
  "release-pipeline",
  "webhook-service",
  "firmware-signer",
  "billing-legacy",
];
const USERS = ["alice", "bob"];

function withSuffix(name: string, suffix: string): string {
  return suffix === "" ? name : `${name}-${suffix}`;
}

export function demoAliasName(name: string, suffix = ""): string {
  return `alias/${withSuffix(name, suffix)}`;
}

function keyPolicy(key: DemoKey, names: PrincipalNames): string {
  const statements: Statement[] = [
    // The default key policy statement: lets IAM policies of the account grant access to the key.
    {
      Sid: "EnableIamUserPermissions",
      Effect: "Allow",
      Principal: { AWS: names.root },
      Action: "kms:*",
      Resource: "*",
    },
    allowRole("AllowKeyAdministration", names.role("kms-admin"), ADMIN_ACTIONS),
    ...key.usageStatements(names),
  ];
  return JSON.stringify(
    { Version: "2012-10-17", Id: `key-policy-${key.name}`, Statement: statements },
    null,
    2,
  );
}

function isErrorNamed(error: unknown, ...names: string[]): boolean {
  return error instanceof Error && names.includes(error.name);
}

async function ignoreIfExists(run: () => Promise<unknown>, ...names: string[]): Promise<void> {
  try {
    await run();
  } catch (error) {
    if (!isErrorNamed(error, ...names)) throw error;
  }
}

async function mapLimited<T>(
  items: readonly T[],
  limit: number,
  run: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next] as T;
      next += 1;
      await run(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

// ---------------------------------------------------------------------------------------------------------
// CloudTrail records. Shapes follow the CloudTrail record contents reference and KMS's logged examples
// (https://docs.aws.amazon.com/kms/latest/developerguide/ct-decrypt.html and siblings).
// ---------------------------------------------------------------------------------------------------------

/** A stable UUID-shaped id derived from text, so reseeding writes identical files. */
export function stableId(text: string): string {
  const hex = createHash("sha256").update(text).digest("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** A tiny deterministic generator (mulberry32) so the same day always gets the same traffic. */
function randomFor(seed: string): () => number {
  let state = Number.parseInt(createHash("sha256").update(seed).digest("hex").slice(0, 8), 16);
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let value = Math.imul(state ^ (state >>> 15), 1 | state);
    value = (value + Math.imul(value ^ (value >>> 7), 61 | value)) ^ value;
    return ((value ^ (value >>> 14)) >>> 0) / 4294967296;
  };
}

export type DemoIdentity =
  | { type: "role"; role: string; session: string; account?: string }
  | { type: "user"; user: string }
  | { type: "service"; service: string };

function userIdentityOf(identity: DemoIdentity, account: string, time: string): Record<string, unknown> {
  const idFragment = (text: string) =>
    createHash("sha256").update(text).digest("hex").slice(0, 16).toUpperCase();
  if (identity.type === "role") {
    const roleAccount = identity.account ?? account;
    const roleId = `AROA${idFragment(`${roleAccount}:${identity.role}`)}`;
    return {
      type: "AssumedRole",
      principalId: `${roleId}:${identity.session}`,
      arn: `arn:aws:sts::${roleAccount}:assumed-role/${identity.role}/${identity.session}`,
      accountId: roleAccount,
      accessKeyId: `ASIA${idFragment(`${identity.role}:${identity.session}:key`)}`,
      sessionContext: {
        sessionIssuer: {
          type: "Role",
          principalId: roleId,
          arn: `arn:aws:iam::${roleAccount}:role/${identity.role}`,
          accountId: roleAccount,
          userName: identity.role,
        },
        attributes: { creationDate: `${time.slice(0, 11)}00:00:00Z`, mfaAuthenticated: "false" },
      },
    };
  }
  if (identity.type === "user") {
    return {
      type: "IAMUser",
      principalId: `AIDA${idFragment(`${account}:${identity.user}`)}`,
      arn: `arn:aws:iam::${account}:user/${identity.user}`,
      accountId: account,
      accessKeyId: `AKIA${idFragment(`${identity.user}:key`)}`,
      userName: identity.user,
    };
  }
  return { type: "AWSService", invokedBy: identity.service };
}

export interface KmsRecordInput {
  account: string;
  region: string;
  /** `YYYY-MM-DDTHH:MM:SSZ`, as CloudTrail writes it. */
  time: string;
  eventName: string;
  identity: DemoIdentity;
  keyArn?: string;
  requestParameters?: Record<string, unknown> | null;
  readOnly: boolean;
  eventId: string;
  errorCode?: string;
  errorMessage?: string;
  sourceIPAddress?: string;
  userAgent?: string;
}

/** One KMS API call as CloudTrail logs it. */
export function kmsApiCallRecord(input: KmsRecordInput): Record<string, unknown> {
  const sourceIPAddress =
    input.sourceIPAddress ?? (input.identity.type === "service" ? input.identity.service : "10.20.4.17");
  const userAgent =
    input.userAgent ??
    (input.identity.type === "service"
      ? input.identity.service
      : "aws-sdk-java/2.25.40 Linux/5.10 OpenJDK_64-Bit_Server_VM/17.0.10");
  return {
    eventVersion: "1.10",
    userIdentity: userIdentityOf(input.identity, input.account, input.time),
    eventTime: input.time,
    eventSource: "kms.amazonaws.com",
    eventName: input.eventName,
    awsRegion: input.region,
    sourceIPAddress,
    userAgent,
    ...(input.errorCode === undefined
      ? {}
      : { errorCode: input.errorCode, errorMessage: input.errorMessage ?? "" }),
    requestParameters: input.requestParameters ?? null,
    responseElements: null,
    requestID: stableId(`request:${input.eventId}`),
    eventID: input.eventId,
    readOnly: input.readOnly,
    ...(input.keyArn === undefined
      ? {}
      : { resources: [{ accountId: input.account, type: "AWS::KMS::Key", ARN: input.keyArn }] }),
    eventType: "AwsApiCall",
    managementEvent: true,
    recipientAccountId: input.account,
    eventCategory: "Management",
    tlsDetails: {
      tlsVersion: "TLSv1.3",
      cipherSuite: "TLS_AES_128_GCM_SHA256",
      clientProvidedHostHeader: `kms.${input.region}.amazonaws.com`,
    },
  };
}

/** Automatic rotation: an AwsServiceEvent with no caller, only `invokedBy`. */
export function kmsRotateKeyRecord(
  account: string,
  region: string,
  time: string,
  keyArn: string,
  eventId: string,
): Record<string, unknown> {
  return {
    eventVersion: "1.10",
    userIdentity: { accountId: account, invokedBy: "kms.amazonaws.com" },
    eventTime: time,
    eventSource: "kms.amazonaws.com",
    eventName: "RotateKey",
    awsRegion: region,
    sourceIPAddress: "kms.amazonaws.com",
    userAgent: "kms.amazonaws.com",
    requestParameters: null,
    responseElements: null,
    eventID: eventId,
    readOnly: false,
    resources: [{ accountId: account, type: "AWS::KMS::Key", ARN: keyArn }],
    eventType: "AwsServiceEvent",
    managementEvent: true,
    recipientAccountId: account,
    serviceEventDetails: { keyOrigin: "AWS_KMS", keyRotationMode: "AUTOMATIC" },
    eventCategory: "Management",
  };
}

/** Records of other services share the log files; the provider must skip them. */
function otherServiceRecords(
  account: string,
  region: string,
  day: string,
  random: () => number,
): Record<string, unknown>[] {
  const records: Record<string, unknown>[] = [];
  const login = `${day}T08:${String(10 + Math.floor(random() * 40)).padStart(2, "0")}:00Z`;
  if (region === "us-east-1") {
    records.push({
      eventVersion: "1.09",
      userIdentity: userIdentityOf({ type: "user", user: "alice" }, account, login),
      eventTime: login,
      eventSource: "signin.amazonaws.com",
      eventName: "ConsoleLogin",
      awsRegion: region,
      sourceIPAddress: "203.0.113.24",
      userAgent:
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
      requestParameters: null,
      responseElements: { ConsoleLogin: "Success" },
      additionalEventData: {
        LoginTo: "https://console.aws.amazon.com/console/home",
        MobileVersion: "No",
        MFAUsed: "Yes",
      },
      eventID: stableId(`login:${region}:${day}`),
      readOnly: false,
      eventType: "AwsConsoleSignIn",
      managementEvent: true,
      recipientAccountId: account,
      eventCategory: "Management",
    });
  }
  const describeTime = `${day}T13:${String(Math.floor(random() * 60)).padStart(2, "0")}:07Z`;
  records.push({
    eventVersion: "1.09",
    userIdentity: userIdentityOf(
      { type: "role", role: "platform-inventory", session: "inventory-scan" },
      account,
      describeTime,
    ),
    eventTime: describeTime,
    eventSource: "ec2.amazonaws.com",
    eventName: "DescribeInstances",
    awsRegion: region,
    sourceIPAddress: "10.20.9.41",
    userAgent: "aws-sdk-go-v2/1.30.3 os/linux lang/go#1.22.5",
    requestParameters: { instancesSet: {}, filterSet: {} },
    responseElements: null,
    requestID: stableId(`describe-request:${region}:${day}`),
    eventID: stableId(`describe:${region}:${day}`),
    readOnly: true,
    eventType: "AwsApiCall",
    managementEvent: true,
    recipientAccountId: account,
    eventCategory: "Management",
  });
  return records;
}

interface TrafficContext {
  account: string;
  region: DemoRegion;
  day: string;
  suffix: string;
  arnOf: (name: string) => string;
}

/** A few KMS calls per day per region, from the principals the key policies name. */
function kmsTraffic(context: TrafficContext, random: () => number): Record<string, unknown>[] {
  const { account, region, day, arnOf } = context;
  const records: Record<string, unknown>[] = [];
  let sequence = 0;
  const at = (hour: number) => {
    const minute = Math.floor(random() * 60);
    const second = Math.floor(random() * 60);
    return `${day}T${String(hour).padStart(2, "0")}:${String(minute).padStart(2, "0")}:${String(second).padStart(2, "0")}Z`;
  };
  const push = (hour: number, input: Omit<KmsRecordInput, "account" | "region" | "time" | "eventId">) => {
    sequence += 1;
    records.push(
      kmsApiCallRecord({
        ...input,
        account,
        region,
        time: at(hour),
        eventId: stableId(`${context.suffix}:${region}:${day}:${sequence}`),
      }),
    );
  };
  const alias = (name: string) => demoAliasName(name, context.suffix);
  if (region === "us-east-1") {
    const decrypts = 2 + Math.floor(random() * 2);
    for (let index = 0; index < decrypts; index += 1) {
      push(9 + index * 3, {
        eventName: "Decrypt",
        identity: { type: "role", role: "payments-app", session: "i-0a1b2c3d4e5f60718" },
        keyArn: arnOf("payments-db"),
        requestParameters: {
          encryptionAlgorithm: "SYMMETRIC_DEFAULT",
          encryptionContext: { "aws:rds:db-id": "db-PAYMENTSPRIMARY" },
        },
        readOnly: true,
        sourceIPAddress: "AWS Internal",
        userAgent: "AWS Internal",
      });
    }
    push(10, {
      eventName: "GenerateDataKey",
      identity: { type: "role", role: "payments-app", session: "ledger-writer" },
      keyArn: arnOf("payments-db"),
      requestParameters: {
        keyId: alias("payments-db"),
        keySpec: "AES_256",
        encryptionContext: { service: "ledger" },
      },
      readOnly: true,
    });
    push(11, {
      eventName: "Encrypt",
      identity: { type: "role", role: "session-service", session: "auth-gateway-7f9c" },
      keyArn: arnOf("session-tokens"),
      requestParameters: { keyId: arnOf("session-tokens"), encryptionAlgorithm: "SYMMETRIC_DEFAULT" },
      readOnly: true,
    });
    if (random() < 0.5) {
      push(14, {
        eventName: "GenerateMac",
        identity: { type: "role", role: "webhook-service", session: "dispatcher" },
        keyArn: arnOf("webhook-hmac"),
        requestParameters: { keyId: alias("webhook-hmac"), macAlgorithm: "HMAC_SHA_256" },
        readOnly: true,
      });
    }
    if (random() < 0.2) {
      push(16, {
        eventName: "Sign",
        identity: { type: "role", role: "release-pipeline", session: "build-4711" },
        keyArn: arnOf("release-signing"),
        requestParameters: {
          keyId: arnOf("release-signing"),
          messageType: "DIGEST",
          signingAlgorithm: "RSASSA_PSS_SHA_256",
        },
        readOnly: true,
      });
    }
    if (random() < 0.15) {
      // A human decrypting finance exports through her grant.
      push(17, {
        eventName: "Decrypt",
        identity: { type: "user", user: "alice" },
        keyArn: arnOf("reporting-exports"),
        requestParameters: { encryptionAlgorithm: "SYMMETRIC_DEFAULT" },
        readOnly: true,
        sourceIPAddress: "203.0.113.24",
        userAgent: "aws-cli/2.17.20 Python/3.11.9 Darwin/23.5.0",
      });
    }
    if (random() < 0.1) {
      push(19, {
        eventName: "Decrypt",
        identity: { type: "role", role: "reporting-exporter", session: "monthly-close" },
        keyArn: arnOf("payments-db"),
        requestParameters: { encryptionAlgorithm: "SYMMETRIC_DEFAULT" },
        readOnly: true,
        errorCode: "AccessDeniedException",
        errorMessage: `User: arn:aws:sts::${account}:assumed-role/reporting-exporter/monthly-close is not authorized to perform: kms:Decrypt on resource: ${arnOf("payments-db")} because no resource-based policy allows the kms:Decrypt action`,
      });
    }
  } else {
    push(8, {
      eventName: "Decrypt",
      identity: { type: "role", role: "pii-service", session: "profile-api-3" },
      keyArn: arnOf("customer-pii"),
      requestParameters: {
        encryptionAlgorithm: "SYMMETRIC_DEFAULT",
        encryptionContext: { table: "customer_profile" },
      },
      readOnly: true,
    });
    push(2, {
      eventName: "GenerateDataKey",
      identity: { type: "role", role: "backup-runner", session: "nightly" },
      keyArn: arnOf("backups"),
      requestParameters: {
        keyId: alias("backups"),
        keySpec: "AES_256",
        encryptionContext: { purpose: "nightly-backup" },
      },
      readOnly: true,
    });
    push(12, {
      eventName: "Decrypt",
      identity: { type: "role", role: "analytics-etl", session: "glue-job" },
      keyArn: arnOf("analytics-warehouse"),
      requestParameters: { encryptionAlgorithm: "SYMMETRIC_DEFAULT" },
      readOnly: true,
    });
    if (random() < 0.3) {
      push(15, {
        eventName: "Decrypt",
        identity: {
          type: "role",
          role: "partner-sync",
          session: "sftp-bridge",
          account: DEMO_PARTNER_ACCOUNT,
        },
        keyArn: arnOf("partner-exchange"),
        requestParameters: { encryptionAlgorithm: "SYMMETRIC_DEFAULT" },
        readOnly: true,
        sourceIPAddress: "198.51.100.77",
      });
    }
    if (random() < 0.2) {
      push(18, {
        eventName: "Decrypt",
        identity: { type: "user", user: "bob" },
        keyArn: arnOf("analytics-warehouse"),
        requestParameters: { encryptionAlgorithm: "SYMMETRIC_DEFAULT" },
        readOnly: true,
        sourceIPAddress: "192.0.2.150",
        userAgent: "aws-cli/2.17.20 Python/3.11.9 Linux/6.5.0",
      });
    }
    if (random() < 0.1) {
      push(20, {
        eventName: "Sign",
        identity: { type: "role", role: "firmware-signer", session: "ota-build" },
        keyArn: arnOf("device-firmware-signing"),
        requestParameters: {
          keyId: arnOf("device-firmware-signing"),
          messageType: "RAW",
          signingAlgorithm: "ECDSA_SHA_256",
        },
        readOnly: true,
      });
    }
  }
  return records;
}

/**
 * The administrative calls of the quarter on the day they fall: rotation switched off a third into the
 * range and on again two days later (the same day in a range shorter than that), the key policy replaced
 * at mid-range. All by one named human from one address, as CloudTrail logs a console or CLI user.
 */
function keyAdministrationRecords(context: {
  account: string;
  region: DemoRegion;
  day: string;
  index: number;
  dayCount: number;
  suffix: string;
  arnOf: (name: string) => string;
}): Record<string, unknown>[] {
  const { account, region, day, index, dayCount, suffix, arnOf } = context;
  if (region !== "eu-west-1") return [];
  const offDay = Math.floor(dayCount / 3);
  const onDay = Math.min(offDay + 2, dayCount - 1);
  const policyDay = Math.floor(dayCount / 2);
  const byAdmin = (eventName: string, time: string, keyName: string, parameters: Record<string, unknown>) =>
    kmsApiCallRecord({
      account,
      region,
      time: `${day}T${time}Z`,
      eventName,
      identity: { type: "user", user: DEMO_KEY_ADMIN_USER },
      keyArn: arnOf(keyName),
      requestParameters: { keyId: arnOf(keyName), ...parameters },
      readOnly: false,
      eventId: stableId(`${suffix}:admin:${eventName}:${day}`),
      sourceIPAddress: DEMO_KEY_ADMIN_IP,
      userAgent: "aws-cli/2.17.20 Python/3.11.9 Darwin/23.5.0",
    });
  const records: Record<string, unknown>[] = [];
  if (index === offDay) records.push(byAdmin("DisableKeyRotation", "14:05:12", DEMO_ROTATION_OFF_KEY, {}));
  if (index === onDay)
    records.push(
      byAdmin("EnableKeyRotation", "16:40:55", DEMO_ROTATION_OFF_KEY, { rotationPeriodInDays: 365 }),
    );
  if (index === policyDay) {
    records.push(
      byAdmin("PutKeyPolicy", "10:41:03", DEMO_POLICY_EDITED_KEY, {
        policyName: "default",
        bypassPolicyLockoutSafetyCheck: false,
        // CloudTrail logs the new policy text; the demo names the statement the edit added.
        policy: JSON.stringify({
          Version: "2012-10-17",
          Statement: [
            {
              Sid: "AllowPartnerDecrypt",
              Effect: "Allow",
              Principal: { AWS: `arn:aws:iam::${DEMO_PARTNER_ACCOUNT}:root` },
              Action: ["kms:Decrypt", "kms:DescribeKey"],
              Resource: "*",
            },
          ],
        }),
      }),
    );
  }
  return records;
}

interface LogObject {
  key: string;
  records: Record<string, unknown>[];
  /** Write only part of the gzip stream: a delivery cut short. */
  truncate?: boolean;
}

function logObjectKey(
  account: string,
  region: string,
  folderDay: string,
  deliveredAt: string,
  unique: string,
): string {
  const [year, month, date] = folderDay.split("-");
  const stamp = `${folderDay.replace(/-/g, "")}T${deliveredAt}Z`;
  return `AWSLogs/${account}/CloudTrail/${region}/${year}/${month}/${date}/${account}_CloudTrail_${region}_${stamp}_${unique}`;
}

function buildLogObjects(options: {
  account: string;
  suffix: string;
  range: DateRange;
  now: Date;
  arnsByName: Record<string, string>;
}): LogObject[] {
  const { account, suffix, range, now } = options;
  const arnOf = (name: string): string => {
    const arn = options.arnsByName[name];
    if (arn === undefined) throw new Error(`no demo key named ${name}`);
    return arn;
  };
  const days = daysOf(range);
  const objects: LogObject[] = [];
  const begun = (day: string) => new Date(`${day}T00:00:00Z`).getTime() <= now.getTime();
  for (const region of DEMO_REGIONS) {
    days.forEach((day, index) => {
      if (!begun(day)) return;
      const random = randomFor(`${suffix}:${region}:${day}`);
      const records = [
        ...kmsTraffic({ account, region, day, suffix, arnOf }, random),
        ...otherServiceRecords(account, region, day, random),
      ];
      records.push(
        ...keyAdministrationRecords({ account, region, day, index, dayCount: days.length, suffix, arnOf }),
      );
      if (region === "us-east-1" && index === Math.floor(days.length / 2)) {
        records.push(
          kmsRotateKeyRecord(
            account,
            region,
            `${day}T03:12:44Z`,
            arnOf("payments-db"),
            stableId(`${suffix}:rotate:${day}`),
          ),
        );
      }
      records.sort((left, right) => String(left.eventTime).localeCompare(String(right.eventTime)));
      const unique = (part: string) =>
        stableId(`${suffix}:${region}:${day}:${part}`).replace(/-/g, "").slice(0, 16).toUpperCase();
      // Most days arrive as one file; every seventh day CloudTrail split the delivery in two.
      if (index % 7 === 3 && records.length > 1) {
        const half = Math.ceil(records.length / 2);
        objects.push({
          key: `${logObjectKey(account, region, day, "1205", unique("a"))}.json.gz`,
          records: records.slice(0, half),
        });
        objects.push({
          key: `${logObjectKey(account, region, day, "2355", unique("b"))}.json.gz`,
          records: records.slice(half),
        });
      } else {
        objects.push({ key: `${logObjectKey(account, region, day, "2355", unique("a"))}.json.gz`, records });
      }
    });
  }

  const firstDay = days[0];
  const lastDay = days.at(-1);
  if (firstDay === undefined || lastDay === undefined) return objects;
  const corruptDay = days[Math.min(9, days.length - 1)] as string;
  if (begun(corruptDay)) {
    objects.push({
      key: `${logObjectKey(account, "us-east-1", corruptDay, "1630", "TRUNCATEDDELIVERY")}${DEMO_CORRUPT_OBJECT_MARKER}`,
      records: [
        kmsApiCallRecord({
          account,
          region: "us-east-1",
          time: `${corruptDay}T16:20:00Z`,
          eventName: "Decrypt",
          identity: { type: "role", role: "payments-app", session: "i-0a1b2c3d4e5f60718" },
          keyArn: arnOf("payments-db"),
          readOnly: true,
          eventId: stableId(`${suffix}:corrupt`),
        }),
      ],
      truncate: true,
    });
  }
  // The day after the range: a file delivered just after midnight holds the range's last event (late
  // delivery, must count) and one from after the range (must not).
  const nextDay = range.toExclusive.slice(0, 10);
  if (begun(lastDay)) {
    objects.push({
      key: `${logObjectKey(account, "us-east-1", nextDay, "0010", unique16(`${suffix}:late`))}.json.gz`,
      records: [
        kmsApiCallRecord({
          account,
          region: "us-east-1",
          time: `${lastDay}T23:57:41Z`,
          eventName: "Decrypt",
          identity: { type: "role", role: "payments-app", session: "i-0a1b2c3d4e5f60718" },
          keyArn: arnOf("payments-db"),
          requestParameters: { encryptionAlgorithm: "SYMMETRIC_DEFAULT" },
          readOnly: true,
          eventId: DEMO_LATE_EVENT_ID,
        }),
        kmsApiCallRecord({
          account,
          region: "us-east-1",
          time: `${nextDay}T00:03:12Z`,
          eventName: "Decrypt",
          identity: { type: "role", role: "payments-app", session: "i-0a1b2c3d4e5f60718" },
          keyArn: arnOf("payments-db"),
          requestParameters: { encryptionAlgorithm: "SYMMETRIC_DEFAULT" },
          readOnly: true,
          eventId: DEMO_OUTSIDE_EVENT_ID,
        }),
      ],
    });
  }
  // The first day's folder holds an event from the evening before the range, delivered after midnight.
  if (begun(firstDay)) {
    const dayBefore = addDays(new Date(range.from), -1).toISOString().slice(0, 10);
    objects.push({
      key: `${logObjectKey(account, "us-east-1", firstDay, "0008", unique16(`${suffix}:early`))}.json.gz`,
      records: [
        kmsApiCallRecord({
          account,
          region: "us-east-1",
          time: `${dayBefore}T23:58:30Z`,
          eventName: "Encrypt",
          identity: { type: "role", role: "session-service", session: "auth-gateway-7f9c" },
          keyArn: arnOf("session-tokens"),
          requestParameters: { keyId: arnOf("session-tokens"), encryptionAlgorithm: "SYMMETRIC_DEFAULT" },
          readOnly: true,
          eventId: DEMO_BEFORE_RANGE_EVENT_ID,
        }),
      ],
    });
  }
  return objects;
}

function unique16(text: string): string {
  return stableId(text).replace(/-/g, "").slice(0, 16).toUpperCase();
}

function encodeLogObject(object: LogObject): Buffer {
  const compressed = gzipSync(Buffer.from(JSON.stringify({ Records: object.records }), "utf8"));
  return object.truncate === true ? compressed.subarray(0, Math.floor(compressed.length / 2)) : compressed;
}

// ---------------------------------------------------------------------------------------------------------

export async function seedAwsDemoEstate(options: SeedAwsDemoEstateOptions): Promise<SeededAwsDemoEstate> {
  const suffix = options.suffix ?? "";
  const now = options.now ?? new Date();
  const credentials =
    options.roleArn === undefined
      ? EMULATOR_CREDENTIALS
      : fromTemporaryCredentials({
          masterCredentials: EMULATOR_CREDENTIALS,
          params: {
            RoleArn: options.roleArn,
            ExternalId: DEMO_EXTERNAL_ID,
            RoleSessionName: "keyproof-demo-seed",
          },
          clientConfig: { endpoint: options.endpoint, region: "us-east-1" },
        });
  const base = { endpoint: options.endpoint, credentials };
  const sts = new STSClient({ ...base, region: "us-east-1" });
  const iam = new IAMClient({ ...base, region: "us-east-1" });
  const s3 = new S3Client({ ...base, region: "us-east-1", forcePathStyle: true });
  const cloudTrail = new CloudTrailClient({ ...base, region: "us-east-1" });
  const logs = new CloudWatchLogsClient({ ...base, region: "us-east-1" });
  const cloudWatch = new CloudWatchClient({ ...base, region: "us-east-1" });
  const kmsByRegion = new Map(
    DEMO_REGIONS.map((region) => [region, new KMSClient({ ...base, region })] as const),
  );
  const kms = (region: DemoRegion): KMSClient => kmsByRegion.get(region) as KMSClient;
  try {
    const identity = await sts.send(new GetCallerIdentityCommand({}));
    // moto omits Account for assumed-role callers; the ARN names it as well.
    const account = identity.Account ?? identity.Arn?.split(":")[4] ?? "123456789012";
    const names: PrincipalNames = {
      account,
      root: `arn:aws:iam::${account}:root`,
      role: (name) => `arn:aws:iam::${account}:role/${name}`,
      user: (name) => `arn:aws:iam::${account}:user/${name}`,
    };

    // Principals the policies name. IAM is account-wide: shared names are created once and reused.
    const trust = JSON.stringify({
      Version: "2012-10-17",
      Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }],
    });
    for (const role of ROLES) {
      await ignoreIfExists(
        () => iam.send(new CreateRoleCommand({ RoleName: role, AssumeRolePolicyDocument: trust })),
        "EntityAlreadyExistsException",
        "EntityAlreadyExists",
      );
    }
    for (const user of USERS) {
      await ignoreIfExists(
        () => iam.send(new CreateUserCommand({ UserName: user })),
        "EntityAlreadyExistsException",
        "EntityAlreadyExists",
      );
    }

    // Keys: reuse what an earlier run with this suffix created, create the rest.
    const keyIdsByName: Record<string, string> = {};
    const arnsByName: Record<string, string> = {};
    for (const region of DEMO_REGIONS) {
      const existing = new Map<string, { id: string }>();
      for await (const page of paginateListAliases({ client: kms(region) }, {})) {
        for (const alias of page.Aliases ?? []) {
          if (alias.AliasName !== undefined && alias.TargetKeyId !== undefined)
            existing.set(alias.AliasName, { id: alias.TargetKeyId });
        }
      }
      for (const key of DEMO_KEYS.filter((candidate) => candidate.region === region)) {
        const aliasName = demoAliasName(key.name, suffix);
        const found = existing.get(aliasName);
        const keyId = found?.id ?? (await createDemoKey(kms(region), key, aliasName, names));
        keyIdsByName[key.name] = keyId;
        arnsByName[key.name] = `arn:aws:kms:${region}:${account}:key/${keyId}`;
      }
    }

    // An identity policy: the payments role may also decrypt payments-db through IAM (the key policy
    // enables IAM policies). Suffixed name so parallel estates do not overwrite each other's statement.
    await iam.send(
      new PutRolePolicyCommand({
        RoleName: "payments-app",
        PolicyName: withSuffix("payments-db-access", suffix),
        PolicyDocument: JSON.stringify({
          Version: "2012-10-17",
          Statement: [
            {
              Sid: "DecryptPaymentsData",
              Effect: "Allow",
              Action: ["kms:Decrypt", "kms:DescribeKey"],
              Resource: arnsByName["payments-db"],
            },
          ],
        }),
      }),
    );

    // The trail, its bucket, and the bucket's lifecycle.
    const trailBucket = withSuffix("keyproof-demo-cloudtrail", suffix).toLowerCase().slice(0, 63);
    const trailName = withSuffix("keyproof-demo-management-events", suffix);
    await ignoreIfExists(
      () => s3.send(new CreateBucketCommand({ Bucket: trailBucket })),
      "BucketAlreadyOwnedByYou",
    );
    await s3.send(
      new PutBucketPolicyCommand({
        Bucket: trailBucket,
        Policy: JSON.stringify({
          Version: "2012-10-17",
          Statement: [
            {
              Sid: "AWSCloudTrailAclCheck",
              Effect: "Allow",
              Principal: { Service: "cloudtrail.amazonaws.com" },
              Action: "s3:GetBucketAcl",
              Resource: `arn:aws:s3:::${trailBucket}`,
            },
            {
              Sid: "AWSCloudTrailWrite",
              Effect: "Allow",
              Principal: { Service: "cloudtrail.amazonaws.com" },
              Action: "s3:PutObject",
              Resource: `arn:aws:s3:::${trailBucket}/AWSLogs/${account}/*`,
              Condition: { StringEquals: { "s3:x-amz-acl": "bucket-owner-full-control" } },
            },
          ],
        }),
      }),
    );
    await s3.send(
      new PutBucketLifecycleConfigurationCommand({
        Bucket: trailBucket,
        LifecycleConfiguration: {
          Rules: [
            {
              ID: "expire-cloudtrail-logs",
              Status: "Enabled",
              Filter: { Prefix: "AWSLogs/" },
              Transitions: [{ Days: 30, StorageClass: "STANDARD_IA" }],
              Expiration: { Days: DEMO_LOG_EXPIRATION_DAYS },
            },
          ],
        },
      }),
    );
    await ignoreIfExists(
      () =>
        cloudTrail.send(
          new CreateTrailCommand({
            Name: trailName,
            S3BucketName: trailBucket,
            IsMultiRegionTrail: true,
            IncludeGlobalServiceEvents: true,
            // Off on purpose: the demo shows trail-log-validation-enabled failing.
            EnableLogFileValidation: false,
          }),
        ),
      "TrailAlreadyExistsException",
    );
    // A trail reused from an earlier seed keeps its old setting otherwise (CreateTrail was skipped).
    await cloudTrail.send(new UpdateTrailCommand({ Name: trailName, EnableLogFileValidation: false }));
    await cloudTrail.send(new StartLoggingCommand({ Name: trailName }));
    await cloudTrail.send(
      new PutEventSelectorsCommand({
        TrailName: trailName,
        EventSelectors: [
          { ReadWriteType: "All", IncludeManagementEvents: true, ExcludeManagementEventSources: [] },
        ],
      }),
    );

    // The trail also delivers to CloudWatch Logs, where the CIS metric filter and its alarm watch for a key
    // disabled or scheduled for deletion (kms-deletion-alarmed passes in both regions: the trail is
    // multi-region, so one log group in its home region receives both regions' events).
    const logGroup = withSuffix("keyproof-demo-cloudtrail", suffix);
    await ignoreIfExists(
      () => logs.send(new CreateLogGroupCommand({ logGroupName: logGroup })),
      "ResourceAlreadyExistsException",
    );
    await cloudTrail.send(
      new UpdateTrailCommand({
        Name: trailName,
        CloudWatchLogsLogGroupArn: `arn:aws:logs:us-east-1:${account}:log-group:${logGroup}:*`,
        CloudWatchLogsRoleArn: names.role("keyproof-demo-cloudtrail-to-logs"),
      }),
    );
    const metricName = withSuffix("KmsKeyDisabledOrScheduledForDeletion", suffix);
    await logs.send(
      new PutMetricFilterCommand({
        logGroupName: logGroup,
        filterName: withSuffix("kms-disable-or-delete", suffix),
        filterPattern: DEMO_KMS_DELETION_FILTER_PATTERN,
        metricTransformations: [{ metricName, metricNamespace: "CISBenchmark", metricValue: "1" }],
      }),
    );
    const deletionAlarm = withSuffix("kms-key-disabled-or-scheduled-for-deletion", suffix);
    await cloudWatch.send(
      new PutMetricAlarmCommand({
        AlarmName: deletionAlarm,
        AlarmDescription: "A KMS key was disabled or scheduled for deletion (CIS AWS Foundations)",
        MetricName: metricName,
        Namespace: "CISBenchmark",
        Statistic: "Sum",
        Period: 300,
        EvaluationPeriods: 1,
        Threshold: 1,
        ComparisonOperator: "GreaterThanOrEqualToThreshold",
        TreatMissingData: "notBreaching",
        AlarmActions: [
          `arn:aws:sns:us-east-1:${account}:${withSuffix("keyproof-demo-security-alerts", suffix)}`,
        ],
      }),
    );

    // The log files.
    const objects = buildLogObjects({ account, suffix, range: options.quarter, now, arnsByName });
    await mapLimited(objects, 8, async (object) => {
      await s3.send(
        new PutObjectCommand({
          Bucket: trailBucket,
          Key: object.key,
          Body: encodeLogObject(object),
          ContentType: "application/json",
        }),
      );
    });

    const source: AwsKmsSourceConfig = {
      id: DEMO_SOURCE_ID,
      type: "aws-kms",
      regions: [...DEMO_REGIONS],
      endpoint: options.endpoint,
      ...(options.roleArn === undefined ? {} : { roleArn: options.roleArn, externalId: DEMO_EXTERNAL_ID }),
      cloudtrail: { bucket: trailBucket, prefix: "", region: "us-east-1" },
    };
    const inventory: InventoryEntry[] = DEMO_KEYS.flatMap((key) =>
      key.inventory === undefined
        ? []
        : [
            {
              source: DEMO_SOURCE_ID,
              match: demoAliasName(key.name, suffix),
              owner: key.inventory.owner,
              usage: key.inventory.usage,
              systems: key.inventory.systems,
              ...(key.inventory.notes === undefined ? {} : { notes: key.inventory.notes }),
            },
          ],
    );
    // Documented, but the key was never created (or was renamed): an inventory entry matching nothing.
    inventory.push({
      source: DEMO_SOURCE_ID,
      match: demoAliasName("ledger-v1", suffix),
      owner: "Dana Whitfield (Payments Engineering)",
      usage: "data-at-rest",
      systems: ["ledger-service"],
      notes: "planned replacement for payments-db ledger encryption",
    });
    return { source, inventory, keyIdsByName, trailBucket, deletionAlarm };
  } finally {
    for (const client of [sts, iam, s3, cloudTrail, logs, cloudWatch, ...kmsByRegion.values()])
      client.destroy();
  }
}

async function createDemoKey(
  kms: KMSClient,
  key: DemoKey,
  aliasName: string,
  names: PrincipalNames,
): Promise<string> {
  const created = await kms.send(
    new CreateKeyCommand({
      Description: key.description,
      KeySpec: key.keySpec,
      KeyUsage: key.keyUsage,
      Policy: keyPolicy(key, names),
      Tags: [
        { TagKey: "team", TagValue: key.team },
        { TagKey: "environment", TagValue: "production" },
        { TagKey: "managed-by", TagValue: "terraform" },
      ],
    }),
  );
  const keyId = created.KeyMetadata?.KeyId;
  if (keyId === undefined) throw new Error(`CreateKey for ${key.name} returned no KeyId`);
  await kms.send(new CreateAliasCommand({ AliasName: aliasName, TargetKeyId: keyId }));
  if (key.rotation) await kms.send(new EnableKeyRotationCommand({ KeyId: keyId, RotationPeriodInDays: 365 }));
  if (key.name === "payments-db") await kms.send(new RotateKeyOnDemandCommand({ KeyId: keyId }));
  for (const grant of key.grants?.(names) ?? []) {
    await kms.send(
      new CreateGrantCommand({
        KeyId: keyId,
        Name: grant.name,
        GranteePrincipal: grant.grantee,
        Operations: grant.operations,
        ...(grant.constraints === undefined ? {} : { Constraints: grant.constraints }),
      }),
    );
  }
  if (key.finalState === "disabled") await kms.send(new DisableKeyCommand({ KeyId: keyId }));
  if (key.finalState === "pending-deletion") {
    await kms.send(new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: 30 }));
  }
  return keyId;
}

async function main(argv: string[]): Promise<void> {
  const option = (name: string): string | undefined => {
    const index = argv.indexOf(`--${name}`);
    return index === -1 ? undefined : argv[index + 1];
  };
  const endpoint = option("endpoint") ?? process.env.KEYPROOF_TEST_AWS_ENDPOINT ?? "http://127.0.0.1:5000";
  const period = option("period");
  const suffix = option("suffix");
  const roleArn = option("role-arn");
  const seeded = await seedAwsDemoEstate({
    endpoint,
    quarter: period === undefined ? previousQuarter(new Date()) : parsePeriod(period),
    ...(suffix === undefined ? {} : { suffix }),
    ...(roleArn === undefined ? {} : { roleArn }),
  });
  process.stdout.write(`${JSON.stringify(seeded, null, 2)}\n`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
}
