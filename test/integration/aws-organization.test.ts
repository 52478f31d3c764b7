/**
 * AWS Organizations discovery (issue 15) against moto, through the real SDK: an organization of a
 * management account and five members, one of which lacks the reader role. moto is shared and never
 * reset: the management account is a fresh 12-digit id per run (reached by assuming a role in it; moto
 * keeps state per account) and the members are the ids moto's CreateAccount hands out.
 *
 * moto grants AssumeRole for any role ARN, existing or not; the missing role is caught by the probe's
 * iam:GetRole with the assumed credentials (see aws-organization.ts), so it is still a gap here.
 */
import { randomUUID } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { CloudTrailClient, CreateTrailCommand, StartLoggingCommand } from "@aws-sdk/client-cloudtrail";
import { CloudWatchClient, PutMetricAlarmCommand } from "@aws-sdk/client-cloudwatch";
import {
  CloudWatchLogsClient,
  CreateLogGroupCommand,
  PutMetricFilterCommand,
} from "@aws-sdk/client-cloudwatch-logs";
import { CreateRoleCommand, IAMClient } from "@aws-sdk/client-iam";
import { CreateAliasCommand, CreateKeyCommand, KMSClient } from "@aws-sdk/client-kms";
import {
  CreateAccountCommand,
  CreateOrganizationalUnitCommand,
  CreateOrganizationCommand,
  ListRootsCommand,
  MoveAccountCommand,
  OrganizationsClient,
} from "@aws-sdk/client-organizations";
import { CreateBucketCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { fromTemporaryCredentials } from "@aws-sdk/credential-providers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { kmsApiCallRecord, stableId } from "../../scripts/demo/seed-aws-estate.ts";
import type { AwsKmsSourceConfig } from "../../src/config/config.schema.ts";
import type { DiscoveryRecord } from "../../src/model/discovery.ts";
import type { UsageEvent, UsageGap, UsageItem } from "../../src/model/usage.ts";
import { diagnoseAwsKmsSource } from "../../src/providers/aws-kms/aws-kms.doctor.ts";
import { createAwsKmsProvider } from "../../src/providers/aws-kms/aws-kms.provider.ts";
import { loadConfig } from "../../src/config/load-config.ts";
import { QueueClient } from "../../src/jobs/queue/queue-client.ts";
import { startWorkerRuntime } from "../../src/jobs/queue/worker-runtime.ts";
import { runQueued } from "../../src/jobs/run-queued.ts";
import { generateSigningKey } from "../../src/signing/keygen.ts";
import { parseRange } from "../../src/time/date-range.ts";
import { runCli } from "../support/cli.ts";
import { REDIS_URL, cleanupPrefix, uniquePrefix } from "./queue-harness.ts";

const ENDPOINT = process.env.KEYPROOF_TEST_AWS_ENDPOINT ?? "http://127.0.0.1:5000";
const CREDENTIALS = { accessKeyId: "test", secretAccessKey: "test" };
const clock = () => new Date("2026-11-28T12:00:00.000Z");
const MANAGEMENT = `7${String(Math.floor(Math.random() * 1e11)).padStart(11, "0")}`;
const ROLE_ARN = `arn:aws:iam::${MANAGEMENT}:role/keyproof-audit`;
const READER = "keyproof-reader";
const suffix = randomUUID().slice(0, 8);
const TRAIL_BUCKET = `keyproof-it-org-trail-${suffix}`;
const REGIONS = ["us-east-1", "eu-west-1"];
const ORG_ALARM = `keyproof-org-${suffix}-kms-disable-or-delete`;
const RANGE = parseRange("2026-07-01", "2026-07-01");

function credentialsIn(account: string, role = "keyproof-test-arrange") {
  return fromTemporaryCredentials({
    masterCredentials: CREDENTIALS,
    params: { RoleArn: `arn:aws:iam::${account}:role/${role}`, RoleSessionName: "keyproof-test-arrange" },
    clientConfig: { endpoint: ENDPOINT, region: "us-east-1" },
  });
}

const organizations = new OrganizationsClient({
  endpoint: ENDPOINT,
  region: "us-east-1",
  credentials: credentialsIn(MANAGEMENT),
});

/** Five members: [0..3] have the reader role, [4] does not; [0] and [1] sit in the OU "workloads". */
const members: string[] = [];
let organizationId = "";
let workloadsOu = "";
const keyArns = new Map<string, string>();

function source(organization: AwsKmsSourceConfig["organization"]): AwsKmsSourceConfig {
  return {
    id: "aws-org",
    type: "aws-kms",
    regions: REGIONS,
    endpoint: ENDPOINT,
    roleArn: ROLE_ARN,
    organization,
  };
}

async function drain(items: AsyncIterable<UsageItem>): Promise<{ events: UsageEvent[]; gaps: UsageGap[] }> {
  const events: UsageEvent[] = [];
  const gaps: UsageGap[] = [];
  for await (const item of items) {
    if (item.kind === "event") events.push(item.event);
    else gaps.push(item.gap);
  }
  return { events, gaps };
}

function orgObjectKey(account: string, region: string, day: string): string {
  const folder = `org/AWSLogs/${organizationId}/${account}/CloudTrail/${region}/${day.replace(/-/g, "/")}/`;
  return `${folder}${account}_CloudTrail_${region}_${day.replace(/-/g, "")}T1205Z_a.json.gz`;
}

beforeAll(async () => {
  const created = await organizations.send(new CreateOrganizationCommand({ FeatureSet: "ALL" }));
  organizationId = created.Organization?.Id ?? "";
  for (let index = 0; index < 5; index += 1) {
    const account = await organizations.send(
      new CreateAccountCommand({
        AccountName: `member-${index}-${suffix}`,
        Email: `m${index}-${suffix}@example.com`,
      }),
    );
    members.push(account.CreateAccountStatus?.AccountId ?? "");
  }
  const roots = await organizations.send(new ListRootsCommand({}));
  const root = roots.Roots?.[0]?.Id ?? "";
  const unit = await organizations.send(
    new CreateOrganizationalUnitCommand({ ParentId: root, Name: `workloads-${suffix}` }),
  );
  workloadsOu = unit.OrganizationalUnit?.Id ?? "";
  for (const account of members.slice(0, 2)) {
    await organizations.send(
      new MoveAccountCommand({ AccountId: account, SourceParentId: root, DestinationParentId: workloadsOu }),
    );
  }
  // The reader role in four members (what the StackSet deploys); the fifth never got it.
  for (const account of members.slice(0, 4)) {
    const iam = new IAMClient({
      endpoint: ENDPOINT,
      region: "us-east-1",
      credentials: credentialsIn(account),
    });
    await iam.send(new CreateRoleCommand({ RoleName: READER, AssumeRolePolicyDocument: "{}" }));
    iam.destroy();
  }
  // Keys: member 0 in us-east-1, member 1 in eu-west-1, member 2 in both; one alias shared by two accounts.
  const seeds: Array<[number, string, string]> = [
    [0, "us-east-1", "alias/payments"],
    [1, "eu-west-1", "alias/payments"],
    [2, "us-east-1", "alias/ledger"],
    [2, "eu-west-1", "alias/ledger-eu"],
  ];
  for (const [index, region, alias] of seeds) {
    const account = members[index] as string;
    const kms = new KMSClient({ endpoint: ENDPOINT, region, credentials: credentialsIn(account) });
    const key = await kms.send(new CreateKeyCommand({ Description: `${alias} ${suffix}` }));
    await kms.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: key.KeyMetadata?.KeyId }));
    keyArns.set(`${account}/${region}`, key.KeyMetadata?.Arn ?? "");
    kms.destroy();
  }
  // The organization trail in the management account and its bucket holding two members' files.
  const s3 = new S3Client({
    endpoint: ENDPOINT,
    region: "us-east-1",
    credentials: credentialsIn(MANAGEMENT),
    forcePathStyle: true,
  });
  const cloudTrail = new CloudTrailClient({
    endpoint: ENDPOINT,
    region: "us-east-1",
    credentials: credentialsIn(MANAGEMENT),
  });
  await s3.send(new CreateBucketCommand({ Bucket: TRAIL_BUCKET }));
  // The org trail feeds a log group in the management account with the CIS alarm on key disable/deletion.
  const logGroup = `keyproof-org-${suffix}`;
  const management = { endpoint: ENDPOINT, region: "us-east-1", credentials: credentialsIn(MANAGEMENT) };
  const logs = new CloudWatchLogsClient(management);
  const cloudWatch = new CloudWatchClient(management);
  await logs.send(new CreateLogGroupCommand({ logGroupName: logGroup }));
  await logs.send(
    new PutMetricFilterCommand({
      logGroupName: logGroup,
      filterName: `${suffix}-cis-kms`,
      filterPattern:
        "{($.eventSource = kms.amazonaws.com) && (($.eventName=DisableKey)||($.eventName=ScheduleKeyDeletion))}",
      metricTransformations: [
        { metricName: `${suffix}-cis-kms`, metricNamespace: "CISBenchmark", metricValue: "1" },
      ],
    }),
  );
  await cloudWatch.send(
    new PutMetricAlarmCommand({
      AlarmName: ORG_ALARM,
      MetricName: `${suffix}-cis-kms`,
      Namespace: "CISBenchmark",
      Statistic: "Sum",
      Period: 300,
      EvaluationPeriods: 1,
      Threshold: 1,
      ComparisonOperator: "GreaterThanOrEqualToThreshold",
      AlarmActions: [`arn:aws:sns:us-east-1:${MANAGEMENT}:security-${suffix}`],
    }),
  );
  logs.destroy();
  cloudWatch.destroy();
  await cloudTrail.send(
    new CreateTrailCommand({
      Name: `org-trail-${suffix}`,
      S3BucketName: TRAIL_BUCKET,
      S3KeyPrefix: "org",
      IsMultiRegionTrail: true,
      IsOrganizationTrail: true,
      CloudWatchLogsLogGroupArn: `arn:aws:logs:us-east-1:${MANAGEMENT}:log-group:${logGroup}:*`,
      CloudWatchLogsRoleArn: `arn:aws:iam::${MANAGEMENT}:role/cloudtrail-to-cloudwatch`,
    }),
  );
  await cloudTrail.send(new StartLoggingCommand({ Name: `org-trail-${suffix}` }));
  for (const account of members.slice(0, 2)) {
    const record = kmsApiCallRecord({
      account,
      region: "us-east-1",
      time: "2026-07-01T10:00:00Z",
      eventName: "Decrypt",
      identity: { type: "role", role: "payments-app", session: "i-0a1b2c3d" },
      keyArn: `arn:aws:kms:us-east-1:${account}:key/1234abcd-12ab-34cd-56ef-1234567890ab`,
      readOnly: true,
      eventId: stableId(`${suffix}:${account}`),
    });
    await s3.send(
      new PutObjectCommand({
        Bucket: TRAIL_BUCKET,
        Key: orgObjectKey(account, "us-east-1", "2026-07-01"),
        Body: gzipSync(JSON.stringify({ Records: [record] })),
      }),
    );
  }
  s3.destroy();
  cloudTrail.destroy();
}, 240_000);

afterAll(() => organizations.destroy());

describe("AWS Organizations discovery", () => {
  it("lists every account, probes each role, and makes the account without it a gap", async () => {
    const provider = createAwsKmsProvider(source({ roleName: READER }), { credentials: CREDENTIALS, clock });
    try {
      const discovery = await provider.discover?.();
      expect(discovery?.method).toBe("aws-organizations");
      const missing = members[4] as string;
      const reachable = [MANAGEMENT, ...members.slice(0, 4)];
      expect(discovery?.locations).toEqual(
        reachable.flatMap((account) => REGIONS.map((region) => `${account}/${region}`)).sort(),
      );
      const gap = discovery?.gaps.find((entry) => entry.location === missing);
      expect(gap?.error.message).toContain(`account ${missing}`);
      expect(gap?.error.message).toContain(`arn:aws:iam::${missing}:role/${READER}`);
      expect(discovery?.gaps).toHaveLength(1);
      expect(discovery?.members.find((member) => member.id === missing)).toMatchObject({
        status: "unreachable",
        locations: [],
      });
      expect(discovery?.members.find((member) => member.id === MANAGEMENT)?.status).toBe("included");
      const calls = discovery?.calls.map((call) => call.call) ?? [];
      expect(calls).toContain("organizations:ListAccounts");
      expect(calls.filter((call) => call === "sts:AssumeRole")).toHaveLength(5);
      expect(discovery?.calls.find((call) => call.call === "organizations:ListAccounts")?.count).toBe(6);
    } finally {
      provider.close();
    }
  }, 240_000);

  it("include by OU and exclude by account id", async () => {
    const provider = createAwsKmsProvider(
      source({ roleName: READER, include: [workloadsOu], exclude: [members[1] as string] }),
      { credentials: CREDENTIALS, clock },
    );
    try {
      const discovery = await provider.discover?.();
      expect(discovery?.locations).toEqual(REGIONS.map((region) => `${members[0]}/${region}`).sort());
      expect(discovery?.members.find((member) => member.id === members[1])).toMatchObject({
        status: "excluded",
        reason: `organization.exclude: ${members[1]}`,
      });
      expect(discovery?.members.find((member) => member.id === members[2])?.status).toBe("excluded");
      expect(discovery?.calls.map((call) => `${call.call} ${call.scope ?? ""}`)).toContain(
        `organizations:ListAccountsForParent ${workloadsOu}`,
      );
      expect(discovery?.gaps).toEqual([]);
    } finally {
      provider.close();
    }
  }, 240_000);

  it("an OU that cannot be walked is a gap, and no account is guessed into the population", async () => {
    const unknownOu = "ou-zzzz-zzzzzzzz";
    const provider = createAwsKmsProvider(source({ roleName: READER, include: [unknownOu] }), {
      credentials: CREDENTIALS,
      clock,
    });
    try {
      const discovery = await provider.discover?.();
      expect(discovery?.locations).toEqual([]);
      expect(discovery?.gaps.length).toBeGreaterThan(0);
      expect(discovery?.gaps[0]?.error.message).toContain(`scope ${unknownOu}`);
      expect(discovery?.calls.find((call) => call.scope === unknownOu)?.error).toBeDefined();
      expect(discovery?.members.find((member) => member.id === members[0])?.reason).toContain(
        `${unknownOu} could not be walked`,
      );
    } finally {
      provider.close();
    }
  }, 240_000);

  it("a provider that never discovered collects each member location with that account's role", async () => {
    const provider = createAwsKmsProvider(source({ roleName: READER }), { credentials: CREDENTIALS, clock });
    try {
      for (const [location, arn] of keyArns) {
        const listing = await provider.listKeys(location);
        expect(listing.gaps).toEqual([]);
        const batch = await provider.collectKeys(location, listing.refs);
        expect(batch.keys.map((key) => key.arn)).toEqual([arn]);
        expect(batch.keys[0]?.location).toBe(location);
      }
      // The account without keys in eu-west-1 is an empty, clean listing, not someone else's keys.
      const empty = await provider.listKeys(`${members[0]}/eu-west-1`);
      expect(empty.refs).toEqual([]);
      expect(empty.gaps).toEqual([]);
      // A plain region is not a location of an organization source: a gap, never the caller's keys.
      const plain = await provider.listKeys("us-east-1");
      expect(plain.refs).toEqual([]);
      expect(plain.gaps[0]?.error.code).toBe("UnknownLocation");
      const logging = await provider.collectLogging(`${members[0]}/us-east-1`);
      expect(logging.location).toBe(`${members[0]}/us-east-1`);
      // The management account's organization trail logs the member too: it is among the member's sinks.
      const orgSink = logging.sinks.find((sink) => sink.name === `org-trail-${suffix}`);
      expect(orgSink).toMatchObject({ active: true, coversKeyEvents: true });
      expect(logging.usageLogLocation?.sink?.bucket).toBe(TRAIL_BUCKET);
      // The alarm on the org trail's log group (management account) watches the member's key events too.
      expect(logging.keyEventAlerting?.alerts.map((alert) => [alert.kind, alert.name])).toContainEqual([
        "cloudwatch-metric-alarm",
        ORG_ALARM,
      ]);
    } finally {
      provider.close();
    }
  }, 240_000);

  it("reads the organization trail's files of two members under AWSLogs/<org-id>/<account>/", async () => {
    const provider = createAwsKmsProvider(source({ roleName: READER }), { credentials: CREDENTIALS, clock });
    try {
      for (const account of members.slice(0, 2)) {
        const location = `${account}/us-east-1`;
        const stream = provider.streamUsage(location, RANGE);
        expect(await stream.method).toBe("cloudtrail-s3-organization");
        const { events, gaps } = await drain(stream.items);
        expect(gaps).toEqual([]);
        expect(events.map((event) => event.origin)).toEqual([
          orgObjectKey(account, "us-east-1", "2026-07-01"),
        ]);
        expect(events[0]?.location).toBe(location);
      }
      // A member the trail has no files for that day: the exact org-layout folder is named in the gap.
      const quiet = await drain(provider.streamUsage(`${members[2]}/us-east-1`, RANGE).items);
      expect(quiet.events).toEqual([]);
      expect(quiet.gaps.map((gap) => gap.object)).toContain(
        `s3://${TRAIL_BUCKET}/org/AWSLogs/${organizationId}/${members[2]}/CloudTrail/us-east-1/2026/07/01/`,
      );
    } finally {
      provider.close();
    }
  }, 240_000);

  it("accepts a configured prefix naming the organization id (AWSLogs/o-xxxx/)", async () => {
    const config: AwsKmsSourceConfig = {
      ...source({ roleName: READER }),
      cloudtrail: { bucket: TRAIL_BUCKET, prefix: `org/AWSLogs/${organizationId}/` },
    };
    const provider = createAwsKmsProvider(config, { credentials: CREDENTIALS, clock });
    try {
      const { events, gaps } = await drain(provider.streamUsage(`${members[1]}/us-east-1`, RANGE).items);
      expect(gaps).toEqual([]);
      expect(events.map((event) => event.origin)).toEqual([
        orgObjectKey(members[1] as string, "us-east-1", "2026-07-01"),
      ]);
    } finally {
      provider.close();
    }
  }, 240_000);

  it("doctor probes the caller's organization calls and one member's AssumeRole", async () => {
    const checks = await diagnoseAwsKmsSource(source({ roleName: READER, include: [workloadsOu] }), {
      credentials: CREDENTIALS,
    });
    const status = new Map(checks.map((check) => [check.permission, check.status]));
    for (const action of [
      "organizations:ListAccounts",
      "organizations:DescribeOrganization",
      "organizations:ListAccountsForParent",
      "organizations:ListOrganizationalUnitsForParent",
      "sts:AssumeRole",
    ])
      expect(status.get(action), action).toBe("ok");
    expect(status.get("iam:GetRole")).toBe("untested");
  }, 240_000);
});

describe("an inline run over the organization", () => {
  let directory: string;
  let bundle: string;
  let run: Awaited<ReturnType<typeof runCli>>;

  beforeAll(async () => {
    directory = await mkdtemp(path.join(os.tmpdir(), "keyproof-aws-org-"));
    await generateSigningKey(path.join(directory, "signing.pem"));
    const configFile = path.join(directory, "keyproof.yaml");
    await writeFile(
      configFile,
      stringify({
        organization: "Acme Corp (AWS organization)",
        sources: [source({ roleName: READER })],
        signing: { localKeyFile: "./signing.pem" },
      }),
    );
    process.env.AWS_ACCESS_KEY_ID ??= CREDENTIALS.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY ??= CREDENTIALS.secretAccessKey;
    run = await runCli(
      "run",
      "--inline",
      "--no-render",
      "--config",
      configFile,
      "--from",
      "2026-07-01",
      "--to",
      "2026-07-01",
      "--out",
      path.join(directory, "run"),
      "--run-id",
      "org",
    );
    bundle = path.join(directory, "run", "org");
  }, 300_000);

  afterAll(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  it("seals the bundle but says the run is incomplete: the account without the role is a gap (exit 3)", () => {
    expect(run.code, run.stdout + run.stderr).toBe(3);
    expect(run.stdout + run.stderr).toContain(members[4] as string);
  });

  it("writes discovery.json with every account, its status and the calls", async () => {
    const record = JSON.parse(await readFile(path.join(bundle, "discovery.json"), "utf8")) as DiscoveryRecord;
    const [organization] = record.sources;
    expect(organization).toMatchObject({ source: "aws-org", method: "aws-organizations" });
    expect(organization?.members.map((member) => [member.id, member.status]).sort()).toEqual(
      [
        [MANAGEMENT, "included"],
        ...members.slice(0, 4).map((account) => [account, "included"]),
        [members[4], "unreachable"],
      ].sort(),
    );
    expect(organization?.calls.map((call) => call.call)).toEqual(
      expect.arrayContaining(["organizations:ListAccounts", "sts:AssumeRole", "iam:GetRole"]),
    );
  });

  it("collects every reachable account into its own folder and carries the gap into gaps.json", async () => {
    const summary = JSON.parse(await readFile(path.join(bundle, "summary.json"), "utf8")) as {
      sources: Array<{ id: string; keys: number }>;
    };
    expect(summary.sources.find((entry) => entry.id === "aws-org")?.keys).toBe(keyArns.size);
    for (const [location, arn] of keyArns) {
      const [account, region] = location.split("/");
      const keyId = arn.split("/").pop() as string;
      const configuration = await readFile(
        path.join(
          bundle,
          "sources",
          "aws-org",
          account as string,
          region as string,
          "keys",
          keyId,
          "configuration.json",
        ),
        "utf8",
      );
      expect(configuration).toContain(arn);
    }
    const gaps = JSON.parse(await readFile(path.join(bundle, "gaps.json"), "utf8")) as Array<{
      kind: string;
      location?: string;
      error: { message: string };
    }>;
    const missing = gaps.filter((gap) => gap.location === members[4]);
    expect(missing).toHaveLength(1);
    expect(missing[0]?.error.message).toContain(`account ${members[4] as string}`);
    // The organization trail's objects of the two members are in their extracts.
    for (const account of members.slice(0, 2)) {
      const extract = await readFile(
        path.join(bundle, "sources", "aws-org", account as string, "us-east-1", "usage-events.ndjson"),
        "utf8",
      );
      expect(extract).toContain(orgObjectKey(account, "us-east-1", "2026-07-01"));
    }
  });
});

describe("a queued run over the organization", () => {
  it("plans the discovered accounts once; workers that never discovered assume each account's role", async () => {
    const directory = await mkdtemp(path.join(os.tmpdir(), "keyproof-aws-org-queued-"));
    const prefix = uniquePrefix("awsorg");
    const client = QueueClient.connect(REDIS_URL, prefix);
    process.env.AWS_ACCESS_KEY_ID ??= CREDENTIALS.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY ??= CREDENTIALS.secretAccessKey;
    const runtime = await startWorkerRuntime({
      redisUrl: REDIS_URL,
      prefix,
      queues: ["collect", "render", "seal", "deliver", "schedule"],
    });
    try {
      await generateSigningKey(path.join(directory, "signing.pem"));
      const configFile = path.join(directory, "keyproof.yaml");
      await writeFile(
        configFile,
        stringify({
          organization: "Acme Corp (AWS organization, queued)",
          sources: [source({ roleName: READER })],
          signing: { localKeyFile: "./signing.pem" },
          queue: { dataDirectory: path.join(directory, "data") },
        }),
      );
      const queued = await runQueued({
        client,
        loaded: await loadConfig(configFile),
        range: RANGE,
        outDirectory: path.join(directory, "out"),
        runId: "org-queued",
        render: false,
        pollIntervalMs: 200,
      });
      expect(queued.record.status).toBe("completed");
      const bundle = queued.bundle.directory;
      const record = JSON.parse(
        await readFile(path.join(bundle, "discovery.json"), "utf8"),
      ) as DiscoveryRecord;
      expect(record.sources[0]?.locations).toHaveLength(5 * REGIONS.length);
      const summary = JSON.parse(await readFile(path.join(bundle, "summary.json"), "utf8")) as {
        sources: Array<{ id: string; keys: number }>;
      };
      expect(summary.sources.find((entry) => entry.id === "aws-org")?.keys).toBe(keyArns.size);
      const gaps = JSON.parse(await readFile(path.join(bundle, "gaps.json"), "utf8")) as Array<{
        location?: string;
        error: { message: string };
      }>;
      expect(gaps.filter((gap) => gap.location === members[4])).toHaveLength(1);
      const extract = await readFile(
        path.join(bundle, "sources", "aws-org", members[0] as string, "us-east-1", "usage-events.ndjson"),
        "utf8",
      );
      expect(extract).toContain(orgObjectKey(members[0] as string, "us-east-1", "2026-07-01"));
    } finally {
      await runtime.close();
      await client.close();
      await cleanupPrefix(REDIS_URL, prefix);
      await rm(directory, { recursive: true, force: true });
    }
  }, 300_000);
});
