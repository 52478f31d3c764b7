import { describe, expect, it } from "vitest";
import {
  makeCollectionError,
  makeGap,
  makeKey,
  makeLoggingStatus,
  makeSink,
  makeSnapshot,
  makeTrailProtection,
} from "../../../test/factories/index.ts";
import type { MonitoringDestination } from "../../model/snapshot.ts";
import { check } from "./trail-monitored.check.ts";

const { cloudWatchLogsLogGroupArn: _omitted, ...withoutLogGroup } = makeTrailProtection();
const unmonitored = (name = "org-trail") => makeSink({ name, trail: withoutLogGroup });
const declare = (destinations: MonitoringDestination[]) => ({ monitoring: { destinations } });
const SPLUNK: MonitoringDestination = {
  source: "aws-prod",
  name: "Splunk Cloud (bucket via SQS)",
  kind: "siem",
};

describe("trail-monitored", () => {
  it("has nothing to judge in an empty snapshot", () => {
    expect(check.run(makeSnapshot())).toEqual([]);
  });

  it("passes a trail that delivers to CloudWatch Logs, naming the log group", () => {
    expect(check.run(makeSnapshot({ keys: [makeKey()] }))).toEqual([
      {
        checkId: "trail-monitored",
        status: "pass",
        severity: "info",
        source: "aws-prod",
        location: "eu-west-1",
        resource: "aws-prod/eu-west-1",
        message:
          "trail org-trail delivers to CloudWatch Logs arn:aws:logs:eu-west-1:111122223333:log-group:org-trail:*",
        evidence: ["sources/aws-prod/eu-west-1/logging.json"],
      },
    ]);
  });

  it("passes on a SIEM declared for the source, named as declared", () => {
    const [finding] = check.run(
      makeSnapshot({ logging: [makeLoggingStatus({ sinks: [unmonitored()] })], policy: declare([SPLUNK]) }),
    );
    expect(finding).toMatchObject({ status: "pass", message: "declared: Splunk Cloud (bucket via SQS)" });
  });

  it("fails without CloudWatch Logs and without a SIEM declared for this source (other sources' and shippers do not count)", () => {
    const [finding] = check.run(
      makeSnapshot({
        logging: [makeLoggingStatus({ sinks: [unmonitored()] })],
        policy: declare([
          { ...SPLUNK, source: "aws-dr" },
          { source: "aws-prod", name: "fluent-bit", kind: "shipper" },
        ]),
      }),
    );
    expect(finding).toMatchObject({
      status: "fail",
      severity: "medium",
      message:
        "trail org-trail delivers to no CloudWatch Logs log group, and no SIEM is declared for source aws-prod in policy.monitoring.destinations",
    });
  });

  it("passes when one of many trails delivers to CloudWatch Logs", () => {
    const [finding] = check.run(
      makeSnapshot({ logging: [makeLoggingStatus({ sinks: [unmonitored("a"), makeSink({ name: "b" })] })] }),
    );
    expect(finding?.status).toBe("pass");
    expect(finding?.message).toMatch(/^trail b delivers to CloudWatch Logs/);
  });

  it("errors instead of failing when another trail could not be read", () => {
    const [finding] = check.run(
      makeSnapshot({
        logging: [
          makeLoggingStatus({
            sinks: [unmonitored()],
            errors: [
              makeCollectionError({ call: "cloudtrail:GetEventSelectors", code: "ThrottlingException" }),
            ],
          }),
        ],
      }),
    );
    expect(finding).toMatchObject({
      status: "error",
      message: expect.stringContaining("cloudtrail:GetEventSelectors failed (ThrottlingException)"),
    });
  });

  it("is not applicable without a trail when only an alarm lookup failed (it cannot hide a trail)", () => {
    const [finding] = check.run(
      makeSnapshot({
        logging: [
          makeLoggingStatus({
            sinks: [],
            errors: [makeCollectionError({ call: "events:ListRules", code: "AccessDeniedException" })],
          }),
        ],
      }),
    );
    expect(finding?.status).toBe("not-applicable");
  });

  it("is not applicable without a logging trail even with a declared SIEM; gaps are errors", () => {
    const findings = check.run(
      makeSnapshot({
        logging: [makeLoggingStatus({ sinks: [] })],
        gaps: [makeGap({ location: "sa-east-1" })],
        policy: declare([SPLUNK]),
      }),
    );
    expect(findings.map((finding) => finding.status)).toEqual(["not-applicable", "error"]);
  });
});
