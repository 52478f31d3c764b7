/**
 * The AWS provider's alert rules on key disable and deletion (kms-deletion-alarmed), against moto 5.2: it
 * implements CloudWatch Logs PutMetricFilter/DescribeMetricFilters, CloudWatch PutMetricAlarm/DescribeAlarms
 * and EventBridge PutRule/PutTargets/ListRules/ListTargetsByRule as AWS documents them, and accepts target
 * and alarm-action ARNs of topics that do not exist (AWS would too, failing only at delivery). It does not
 * check that a trail's log group exists. A denied call cannot be provoked in moto: the KMS error fake proxy
 * (awsJson, X-Amz-Target) answers AccessDeniedException for EventBridge and CloudWatch Logs operations.
 * This file works in an AWS account of its own (moto keeps state per account), so the rules other tests
 * create in the default account are not seen here.
 */
import { randomUUID } from "node:crypto";
import { CloudTrailClient, CreateTrailCommand, StartLoggingCommand } from "@aws-sdk/client-cloudtrail";
import { CloudWatchClient, PutMetricAlarmCommand } from "@aws-sdk/client-cloudwatch";
import {
  CloudWatchLogsClient,
  CreateLogGroupCommand,
  PutMetricFilterCommand,
} from "@aws-sdk/client-cloudwatch-logs";
import { EventBridgeClient, PutRuleCommand, PutTargetsCommand } from "@aws-sdk/client-eventbridge";
import { CreateKeyCommand, KMSClient } from "@aws-sdk/client-kms";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { fromTemporaryCredentials } from "@aws-sdk/credential-providers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AwsKmsSourceConfig } from "../../src/config/config.schema.ts";
import type { LoggingStatus } from "../../src/model/logging.ts";
import { makeSnapshot } from "../factories/index.ts";
import { check } from "../../src/checks/kms-deletion-alarmed/kms-deletion-alarmed.check.ts";
import { createAwsKmsProvider } from "../../src/providers/aws-kms/aws-kms.provider.ts";
import { collectLocation } from "../../src/providers/collect-location.ts";
import { startKmsErrorProxy } from "../fakes/kms-error-proxy.fake.ts";
import type { KmsErrorProxy } from "../fakes/kms-error-proxy.fake.ts";

const ENDPOINT = process.env.KEYPROOF_TEST_AWS_ENDPOINT ?? "http://127.0.0.1:5000";
const CREDENTIALS = { accessKeyId: "test", secretAccessKey: "test" };
const CAPTURED_AT = new Date("2026-11-28T12:00:00.000Z");
const clock = () => CAPTURED_AT;
const ACCOUNT = `6${String(Math.floor(Math.random() * 1e11)).padStart(11, "0")}`;
const ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/keyproof-audit`;
const REGION = "eu-west-1";
/** No trail and no rule here: nothing alerts. */
const BARE_REGION = "us-east-1";
const suffix = `alarm-${randomUUID().slice(0, 8)}`;
const LOG_GROUP = `keyproof-${suffix}-trail`;
const LOG_GROUP_ARN = `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:${LOG_GROUP}:*`;
const TOPIC = `arn:aws:sns:${REGION}:${ACCOUNT}:keyproof-${suffix}-security`;
const CIS_PATTERN =
  "{($.eventSource = kms.amazonaws.com) && (($.eventName=DisableKey)||($.eventName=ScheduleKeyDeletion))}";
const names = {
  cisFilter: `${suffix}-cis-kms`,
  cisAlarm: `${suffix}-kms-disable-or-delete`,
  lonelyFilter: `${suffix}-kms-delete-no-alarm`,
  otherFilter: `${suffix}-console-logins`,
  disableRule: `${suffix}-kms-disable`,
  deleteRule: `${suffix}-kms-delete-off`,
  ec2Rule: `${suffix}-ec2-stop`,
};

function clientConfig(region: string) {
  return {
    endpoint: ENDPOINT,
    region,
    credentials: fromTemporaryCredentials({
      masterCredentials: CREDENTIALS,
      params: { RoleArn: ROLE_ARN, RoleSessionName: "keyproof-test-arrange" },
      clientConfig: { endpoint: ENDPOINT, region },
    }),
  };
}

const source: AwsKmsSourceConfig = {
  id: "aws-alarm",
  type: "aws-kms",
  regions: [REGION, BARE_REGION],
  endpoint: ENDPOINT,
  roleArn: ROLE_ARN,
};

async function arrange(): Promise<void> {
  const s3 = new S3Client({ ...clientConfig(REGION), forcePathStyle: true });
  const cloudTrail = new CloudTrailClient(clientConfig(REGION));
  const logs = new CloudWatchLogsClient(clientConfig(REGION));
  const cloudWatch = new CloudWatchClient(clientConfig(REGION));
  const events = new EventBridgeClient(clientConfig(REGION));
  const kms = [new KMSClient(clientConfig(REGION)), new KMSClient(clientConfig(BARE_REGION))];
  try {
    // A customer-managed key in each region, so the check applies to both.
    for (const client of kms)
      await client.send(new CreateKeyCommand({ KeyUsage: "ENCRYPT_DECRYPT", Description: suffix }));
    const bucket = `keyproof-${suffix}-trail`;
    await s3.send(
      new CreateBucketCommand({ Bucket: bucket, CreateBucketConfiguration: { LocationConstraint: REGION } }),
    );
    await logs.send(new CreateLogGroupCommand({ logGroupName: LOG_GROUP }));
    const trail = `keyproof-${suffix}`;
    await cloudTrail.send(
      new CreateTrailCommand({
        Name: trail,
        S3BucketName: bucket,
        CloudWatchLogsLogGroupArn: LOG_GROUP_ARN,
        CloudWatchLogsRoleArn: `arn:aws:iam::${ACCOUNT}:role/cloudtrail-to-cloudwatch`,
      }),
    );
    await cloudTrail.send(new StartLoggingCommand({ Name: trail }));
    const filter = async (filterName: string, filterPattern: string) =>
      logs.send(
        new PutMetricFilterCommand({
          logGroupName: LOG_GROUP,
          filterName,
          filterPattern,
          metricTransformations: [
            { metricName: filterName, metricNamespace: "CISBenchmark", metricValue: "1" },
          ],
        }),
      );
    await filter(names.cisFilter, CIS_PATTERN);
    await filter(names.lonelyFilter, "{ $.eventName = ScheduleKeyDeletion }");
    await filter(names.otherFilter, '{ $.eventName = "ConsoleLogin" }');
    await cloudWatch.send(
      new PutMetricAlarmCommand({
        AlarmName: names.cisAlarm,
        MetricName: names.cisFilter,
        Namespace: "CISBenchmark",
        Statistic: "Sum",
        Period: 300,
        EvaluationPeriods: 1,
        Threshold: 1,
        ComparisonOperator: "GreaterThanOrEqualToThreshold",
        AlarmActions: [TOPIC],
      }),
    );
    const rule = async (name: string, eventPattern: object, state: "ENABLED" | "DISABLED") => {
      await events.send(
        new PutRuleCommand({ Name: name, EventPattern: JSON.stringify(eventPattern), State: state }),
      );
      await events.send(new PutTargetsCommand({ Rule: name, Targets: [{ Id: "notify", Arn: TOPIC }] }));
    };
    const apiCall = (eventName: string[]) => ({
      source: ["aws.kms"],
      "detail-type": ["AWS API Call via CloudTrail"],
      detail: { eventSource: ["kms.amazonaws.com"], eventName },
    });
    await rule(names.disableRule, apiCall(["DisableKey"]), "ENABLED");
    await rule(names.deleteRule, apiCall(["ScheduleKeyDeletion"]), "DISABLED");
    await rule(
      names.ec2Rule,
      { source: ["aws.ec2"], "detail-type": ["EC2 Instance State-change Notification"] },
      "ENABLED",
    );
  } finally {
    for (const client of [s3, cloudTrail, logs, cloudWatch, events, ...kms]) client.destroy();
  }
}

let proxy: KmsErrorProxy;
let logging: LoggingStatus;

beforeAll(async () => {
  await arrange();
  proxy = await startKmsErrorProxy({
    upstream: ENDPOINT,
    failures: [
      { operation: "ListRules", service: "events" },
      { operation: "DescribeMetricFilters", service: "logs" },
    ],
  });
  const provider = createAwsKmsProvider(source, { clock, credentials: CREDENTIALS });
  try {
    logging = await provider.collectLogging(REGION);
  } finally {
    provider.close();
  }
}, 180_000);

afterAll(async () => {
  await proxy?.close();
});

describe("AWS provider: alert rules on key disable and deletion", () => {
  it("finds the CIS alarm on the trail log group's metric filter, with its actions and where it notifies", () => {
    expect(logging.keyEventAlerting?.errors).toEqual([]);
    const alarm = logging.keyEventAlerting?.alerts.find((alert) => alert.name === names.cisAlarm);
    expect(alarm).toEqual({
      kind: "cloudwatch-metric-alarm",
      name: names.cisAlarm,
      reference: `arn:aws:cloudwatch:${REGION}:${ACCOUNT}:alarm:${names.cisAlarm}`,
      enabled: true,
      actions: ["DisableKey", "ScheduleKeyDeletion"],
      notifies: [TOPIC],
      detail: expect.objectContaining({
        logGroup: LOG_GROUP_ARN.replace(/:\*$/, ""),
        metricFilter: names.cisFilter,
        filterPattern: CIS_PATTERN,
        metric: `CISBenchmark/${names.cisFilter}`,
        threshold: 1,
      }),
    });
  });

  it("keeps a key-event filter no alarm watches, and passes over filters on other events", () => {
    const alerts = logging.keyEventAlerting?.alerts ?? [];
    expect(alerts.find((alert) => alert.name === names.lonelyFilter)).toMatchObject({
      kind: "cloudwatch-metric-filter",
      reference: `${LOG_GROUP_ARN.replace(/:\*$/, "")}:metric-filter:${names.lonelyFilter}`,
      enabled: undefined,
      actions: ["ScheduleKeyDeletion"],
      notifies: [],
    });
    expect(alerts.map((alert) => alert.name)).not.toContain(names.otherFilter);
  });

  it("finds EventBridge rules on KMS events with their state and targets, and passes over other rules", () => {
    const alerts = logging.keyEventAlerting?.alerts ?? [];
    expect(alerts.find((alert) => alert.name === names.disableRule)).toMatchObject({
      kind: "eventbridge-rule",
      reference: `arn:aws:events:${REGION}:${ACCOUNT}:rule/${names.disableRule}`,
      enabled: true,
      actions: ["DisableKey"],
      notifies: [TOPIC],
      detail: { eventBus: "default", state: "ENABLED", targets: ["notify"] },
    });
    expect(alerts.find((alert) => alert.name === names.deleteRule)).toMatchObject({
      enabled: false,
      actions: ["ScheduleKeyDeletion"],
    });
    expect(alerts.map((alert) => alert.name)).not.toContain(names.ec2Rule);
  });

  it("judges the collected facts: the alarm covers both events in the region, nothing covers the bare one", async () => {
    const provider = createAwsKmsProvider(source, { clock, credentials: CREDENTIALS });
    try {
      const locations = await Promise.all([
        collectLocation(provider, REGION),
        collectLocation(provider, BARE_REGION),
      ]);
      expect(locations[1].logging.keyEventAlerting).toEqual({ alerts: [], errors: [] });
      const snapshot = makeSnapshot({
        sources: [{ source: source.id, type: "aws-kms", locations, usage: [], changes: [], gaps: [] }],
      });
      const findings = check.run(snapshot);
      expect(findings.map((finding) => [finding.location, finding.status])).toEqual([
        [REGION, "pass"],
        [BARE_REGION, "fail"],
      ]);
      expect(findings[0]?.message).toContain(
        `CloudWatch alarm ${names.cisAlarm} on DisableKey, ScheduleKeyDeletion`,
      );
      expect(findings[1]?.message).toContain(
        "no trail that logs this location's KMS events delivers to CloudWatch Logs",
      );
    } finally {
      provider.close();
    }
  }, 120_000);

  it("records denied lookups as errors (in the alerting and the logging status), never as 'no rule'", async () => {
    const denied = createAwsKmsProvider(
      { ...source, endpoints: { events: proxy.endpoint, logs: proxy.endpoint } },
      { clock, credentials: CREDENTIALS },
    );
    try {
      const status = await denied.collectLogging(REGION);
      const expected = ["events:ListRules", "logs:DescribeMetricFilters"].map((call) =>
        expect.objectContaining({ call, code: "AccessDeniedException", retryable: false }),
      );
      expect(status.keyEventAlerting?.errors).toEqual(expect.arrayContaining(expected));
      expect(status.keyEventAlerting?.errors).toHaveLength(2);
      expect(status.errors).toEqual(expect.arrayContaining(expected));
      expect(status.keyEventAlerting?.alerts).toEqual([]);
      // The trail itself was read: the failed alarm lookups do not touch it.
      expect(status.sinks.find((sink) => sink.name === `keyproof-${suffix}`)?.active).toBe(true);
      expect(proxy.failedCount).toBeGreaterThanOrEqual(2);
      const [finding] = check.run(
        makeSnapshot({
          sources: [
            {
              source: source.id,
              type: "aws-kms",
              locations: [{ ...(await collectLocation(denied, REGION)), logging: status }],
              usage: [],
              changes: [],
              gaps: [],
            },
          ],
        }),
      );
      expect(finding).toMatchObject({
        status: "warn",
        message: expect.stringContaining("events:ListRules failed (AccessDeniedException)"),
      });
    } finally {
      denied.close();
    }
  }, 120_000);
});
