import { describe, expect, it } from "vitest";
import {
  makeCollectionError,
  makeGap,
  makeKey,
  makeLoggingStatus,
  makeSink,
  makeSnapshot,
  makeSourceGap,
  makeTrailProtection,
} from "../../../test/factories/index.ts";
import { check } from "./trail-log-validation-enabled.check.ts";

const unvalidated = (name = "org-trail") =>
  makeSink({ name, trail: makeTrailProtection({ logFileValidationEnabled: false }) });

describe("trail-log-validation-enabled", () => {
  it("has nothing to judge in an empty snapshot", () => {
    expect(check.run(makeSnapshot())).toEqual([]);
  });

  it("passes a location whose logging trail has validation on, as a location finding", () => {
    expect(check.run(makeSnapshot({ keys: [makeKey()] }))).toEqual([
      {
        checkId: "trail-log-validation-enabled",
        status: "pass",
        severity: "info",
        source: "aws-prod",
        location: "eu-west-1",
        resource: "aws-prod/eu-west-1",
        message: "log-file validation is on for trail org-trail",
        evidence: ["sources/aws-prod/eu-west-1/logging.json"],
      },
    ]);
  });

  it("fails when any trail that logs the location's KMS events has validation off", () => {
    const [finding] = check.run(
      makeSnapshot({ logging: [makeLoggingStatus({ sinks: [makeSink(), unvalidated("data-trail")] })] }),
    );
    expect(finding).toMatchObject({
      status: "fail",
      severity: "medium",
      message: "log-file validation is off for trail data-trail",
    });
  });

  it("ignores trails that do not log KMS events or are not logging", () => {
    const [finding] = check.run(
      makeSnapshot({
        logging: [
          makeLoggingStatus({
            sinks: [
              makeSink(),
              { ...unvalidated("s3-data"), coversKeyEvents: false },
              { ...unvalidated("stopped"), active: false },
            ],
          }),
        ],
      }),
    );
    expect(finding?.status).toBe("pass");
  });

  it("is not applicable (with the reason) when no active trail logs the location's KMS events", () => {
    const [finding] = check.run(
      makeSnapshot({ logging: [makeLoggingStatus({ sinks: [makeSink({ active: false })] })] }),
    );
    expect(finding).toMatchObject({
      status: "not-applicable",
      message: expect.stringContaining("no active CloudTrail trail records this location's KMS events"),
    });
  });

  it("errors when DescribeTrails failed (no trail read)", () => {
    const error = makeCollectionError({ call: "cloudtrail:DescribeTrails", message: "denied" });
    const [finding] = check.run(
      makeSnapshot({ logging: [makeLoggingStatus({ sinks: [], errors: [error] })] }),
    );
    expect(finding).toMatchObject({
      status: "error",
      message:
        "the trails that log this location's KMS events could not be read: cloudtrail:DescribeTrails failed (AccessDeniedException): denied",
    });
  });

  it("errors, never passes, when another covering trail's status could not be read", () => {
    const error = makeCollectionError({ call: "cloudtrail:GetTrailStatus", message: "denied" });
    const [finding] = check.run(
      makeSnapshot({
        logging: [
          makeLoggingStatus({
            sinks: [makeSink(), makeSink({ name: "unread", active: undefined })],
            errors: [error],
          }),
        ],
      }),
    );
    expect(finding).toMatchObject({ status: "error" });
    expect(finding?.message).toContain("log-file validation is on for trail org-trail");
    expect(finding?.message).toContain("trail unread: logging status unknown");
    expect(finding?.message).toContain("cloudtrail:GetTrailStatus failed (AccessDeniedException): denied");
  });

  it("still fails a proven weakness when another trail could not be read", () => {
    const [finding] = check.run(
      makeSnapshot({
        logging: [
          makeLoggingStatus({ sinks: [unvalidated(), makeSink({ name: "unread", active: undefined })] }),
        ],
      }),
    );
    expect(finding?.status).toBe("fail");
  });

  it("errors when a logging trail carries no integrity facts (missing data)", () => {
    const { trail: _omitted, ...withoutFacts } = makeSink();
    const [finding] = check.run(makeSnapshot({ logging: [makeLoggingStatus({ sinks: [withoutFacts] })] }));
    expect(finding).toMatchObject({
      status: "error",
      message: expect.stringContaining("trail org-trail: integrity facts not collected"),
    });
  });

  it("gives every location, and every location lost to a gap, exactly one finding", () => {
    const findings = check.run(
      makeSnapshot({
        keys: [makeKey({ location: "eu-west-1" }), makeKey({ source: "aws-dr", location: "us-east-2" })],
        logging: [makeLoggingStatus({ location: "ap-south-1", sinks: [unvalidated()] })],
        gaps: [makeGap({ location: "sa-east-1" }), makeSourceGap({ source: "aws-gone" })],
      }),
    );
    expect(
      findings.map((finding) => `${finding.source}/${finding.location ?? "-"}:${finding.status}`),
    ).toEqual([
      "aws-prod/eu-west-1:pass",
      "aws-prod/ap-south-1:fail",
      "aws-prod/sa-east-1:error",
      "aws-dr/us-east-2:pass",
      "aws-gone/-:error",
    ]);
  });

  it("judges AWS sources only", () => {
    const findings = check.run(
      makeSnapshot({
        keys: [makeKey({ source: "vault-prod", sourceType: "hashicorp-vault", location: "transit" })],
      }),
    );
    expect(findings).toEqual([]);
  });
});
