import { describe, expect, it } from "vitest";
import {
  makeCollectionError,
  makeGap,
  makeKey,
  makeKeyEventAlert,
  makeLoggingStatus,
  makeSink,
  makeSnapshot,
  makeTrailProtection,
} from "../../../test/factories/index.ts";
import type { KeyEventAlert, LoggingStatus } from "../../model/logging.ts";
import type { MonitoringDestination } from "../../model/snapshot.ts";
import { check } from "./kms-deletion-alarmed.check.ts";

const TOPIC = "arn:aws:sns:eu-west-1:111122223333:security-alerts";
const alerting = (alerts: KeyEventAlert[], errors: LoggingStatus["errors"] = []) =>
  makeLoggingStatus({ keyEventAlerting: { alerts, errors } });
const judge = (logging: LoggingStatus, destinations: MonitoringDestination[] = []) =>
  check.run(
    makeSnapshot({ keys: [makeKey()], logging: [logging], policy: { monitoring: { destinations } } }),
  );
const rule = (name: string, actions: string[], overrides: Partial<KeyEventAlert> = {}) =>
  makeKeyEventAlert({
    kind: "eventbridge-rule",
    name,
    reference: `arn:aws:events:eu-west-1:111122223333:rule/${name}`,
    actions,
    ...overrides,
  });
const SPLUNK_ALERT: MonitoringDestination = {
  source: "aws-prod",
  name: "Splunk ES detection 'KMS key disabled or deleted'",
  kind: "alert",
};

describe("kms-deletion-alarmed", () => {
  it("has nothing to judge in an empty snapshot", () => {
    expect(check.run(makeSnapshot())).toEqual([]);
  });

  it("passes on the CIS metric filter and alarm, naming the alarm and where it notifies", () => {
    expect(judge(alerting([makeKeyEventAlert()]))).toEqual([
      {
        checkId: "kms-deletion-alarmed",
        status: "pass",
        severity: "info",
        source: "aws-prod",
        location: "eu-west-1",
        resource: "aws-prod/eu-west-1",
        message: `CloudWatch alarm kms-disable-or-delete on DisableKey, ScheduleKeyDeletion → ${TOPIC}`,
        evidence: ["sources/aws-prod/eu-west-1/logging.json"],
      },
    ]);
  });

  it("passes when two enabled rules together cover both events, and on a wildcard such as Disable*", () => {
    const [finding] = judge(
      alerting([rule("kms-disable", ["Disable*"]), rule("kms-delete", ["ScheduleKeyDeletion"])]),
    );
    expect(finding).toMatchObject({
      status: "pass",
      message: `EventBridge rule kms-disable on DisableKey → ${TOPIC}; EventBridge rule kms-delete on ScheduleKeyDeletion → ${TOPIC}`,
    });
  });

  it("passes on an alert declared for the source, named as declared (other kinds and sources do not count)", () => {
    const [finding] = judge(alerting([]), [
      SPLUNK_ALERT,
      { source: "aws-prod", name: "Splunk Cloud", kind: "siem" },
      { ...SPLUNK_ALERT, source: "aws-dr", name: "other" },
    ]);
    expect(finding).toMatchObject({
      status: "pass",
      message: `declared alert ${SPLUNK_ALERT.name} (stated in policy.monitoring, not observed)`,
    });
  });

  it("fails with nothing found, saying when no trail delivers to CloudWatch Logs", () => {
    const { cloudWatchLogsLogGroupArn: _omitted, ...withoutLogGroup } = makeTrailProtection();
    const [finding] = judge({
      ...alerting([]),
      sinks: [makeSink({ trail: withoutLogGroup })],
    });
    expect(finding).toMatchObject({
      status: "fail",
      severity: "medium",
      message:
        "nothing alerts anyone when a key is disabled or scheduled for deletion (DisableKey, ScheduleKeyDeletion): no CloudWatch alarm on a metric filter of a trail's log group and no EventBridge rule names these events (and no trail that logs this location's KMS events delivers to CloudWatch Logs, so a metric filter would have nothing to read)",
    });
  });

  it("fails naming what was found: a filter with no alarm, an alarm with actions disabled, a rule covering one event", () => {
    const [finding] = judge(
      alerting([
        makeKeyEventAlert({
          kind: "cloudwatch-metric-filter",
          name: "cis-kms",
          enabled: undefined,
          notifies: [],
        }),
        makeKeyEventAlert({ name: "muted", enabled: false }),
        makeKeyEventAlert({ name: "to-nobody", notifies: [] }),
        rule("kms-disable", ["DisableKey"]),
        rule("kms-rotation", ["KMS CMK Rotation"]),
      ]),
    );
    expect(finding).toMatchObject({
      status: "fail",
      message:
        "nothing alerts anyone when a key is scheduled for deletion (ScheduleKeyDeletion); found: metric filter cis-kms on DisableKey, ScheduleKeyDeletion: no alarm watches its metric; CloudWatch alarm muted on DisableKey, ScheduleKeyDeletion: its actions are disabled; CloudWatch alarm to-nobody on DisableKey, ScheduleKeyDeletion: it notifies no one; EventBridge rule kms-disable covers only DisableKey; EventBridge rule kms-rotation matches KMS CMK Rotation, neither DisableKey nor ScheduleKeyDeletion",
    });
  });

  it("warns (unknown) when a lookup failed and nothing found covers both events", () => {
    const [finding] = judge(
      alerting(
        [rule("kms-disable", ["DisableKey"])],
        [makeCollectionError({ call: "events:ListRules", code: "AccessDeniedException" })],
      ),
    );
    expect(finding).toMatchObject({
      status: "warn",
      message: expect.stringMatching(
        /^no enabled alarm or rule found alerting on ScheduleKeyDeletion; found: EventBridge rule kms-disable covers only DisableKey, but the lookup was incomplete: events:ListRules failed \(AccessDeniedException\)/,
      ),
    });
  });

  it("passes despite a failed lookup when what was read already covers both events", () => {
    const [finding] = judge(
      alerting([makeKeyEventAlert()], [makeCollectionError({ call: "events:ListRules" })]),
    );
    expect(finding?.status).toBe("pass");
  });

  it("warns when the alert rules were not collected at all", () => {
    const [finding] = judge(makeLoggingStatus());
    expect(finding).toMatchObject({ status: "warn", message: expect.stringContaining("not collected") });
  });

  it("is not applicable where the location has only AWS-managed keys; one finding per location; gaps are errors", () => {
    const findings = check.run(
      makeSnapshot({
        keys: [
          makeKey({ manager: "provider", aliases: ["alias/aws/s3"] }),
          makeKey({ location: "us-east-1" }),
        ],
        logging: [alerting([]), { ...alerting([makeKeyEventAlert()]), location: "us-east-1" }],
        gaps: [makeGap({ location: "sa-east-1" })],
      }),
    );
    expect(findings.map((finding) => [finding.location, finding.status])).toEqual([
      ["eu-west-1", "not-applicable"],
      ["us-east-1", "pass"],
      ["sa-east-1", "error"],
    ]);
  });

  it("judges only AWS sources", () => {
    const findings = check.run(
      makeSnapshot({
        keys: [
          makeKey({
            source: "vault-prod",
            sourceType: "hashicorp-vault",
            location: "transit",
            keyId: "transit/payments",
            keySpec: "aes256-gcm96",
          }),
        ],
      }),
    );
    expect(findings).toEqual([]);
  });
});
