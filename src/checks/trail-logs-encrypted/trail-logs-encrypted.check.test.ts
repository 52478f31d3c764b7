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
import { check } from "./trail-logs-encrypted.check.ts";

const { kmsKeyId: _omitted, ...withoutKey } = makeTrailProtection();
const sseS3 = (name = "org-trail") => makeSink({ name, trail: withoutKey });

describe("trail-logs-encrypted", () => {
  it("has nothing to judge in an empty snapshot", () => {
    expect(check.run(makeSnapshot())).toEqual([]);
  });

  it("passes a trail that encrypts its log files with a KMS key, naming the key", () => {
    expect(check.run(makeSnapshot({ keys: [makeKey()] }))).toEqual([
      {
        checkId: "trail-logs-encrypted",
        status: "pass",
        severity: "info",
        source: "aws-prod",
        location: "eu-west-1",
        resource: "aws-prod/eu-west-1",
        message:
          "trail org-trail encrypts its log files with KMS key arn:aws:kms:eu-west-1:111122223333:key/0e3b3a1c-trail-logs",
        evidence: ["sources/aws-prod/eu-west-1/logging.json"],
      },
    ]);
  });

  it("fails a trail that delivers with SSE-S3 only", () => {
    const [finding] = check.run(makeSnapshot({ logging: [makeLoggingStatus({ sinks: [sseS3()] })] }));
    expect(finding).toMatchObject({
      status: "fail",
      severity: "medium",
      message: "trail org-trail delivers its log files with SSE-S3 only (no KMS key)",
    });
  });

  it("is not applicable when no trail logs the location, an error when the trails could not be read", () => {
    const findings = check.run(
      makeSnapshot({
        logging: [
          makeLoggingStatus({ location: "eu-west-1", sinks: [] }),
          makeLoggingStatus({
            location: "eu-west-2",
            sinks: [],
            errors: [makeCollectionError({ call: "cloudtrail:DescribeTrails" })],
          }),
        ],
      }),
    );
    expect(findings.map((finding) => finding.status)).toEqual(["not-applicable", "error"]);
    expect(findings[1]?.message).toContain("cloudtrail:DescribeTrails failed");
  });

  it("stays not applicable when only a stopped trail's bucket could not be read (it hides no trail)", () => {
    const [finding] = check.run(
      makeSnapshot({
        logging: [
          makeLoggingStatus({
            sinks: [makeSink({ active: false })],
            errors: [makeCollectionError({ call: "s3:GetBucketVersioning", code: "AccessDenied" })],
          }),
        ],
      }),
    );
    expect(finding?.status).toBe("not-applicable");
  });

  it("gives every location exactly one finding, many trails in one", () => {
    const findings = check.run(
      makeSnapshot({
        logging: [
          makeLoggingStatus({ location: "eu-west-1", sinks: [makeSink(), sseS3("a"), sseS3("b")] }),
          makeLoggingStatus({ location: "us-east-1" }),
        ],
        gaps: [makeGap({ location: "sa-east-1" })],
      }),
    );
    expect(findings.map((finding) => [finding.location, finding.status])).toEqual([
      ["eu-west-1", "fail"],
      ["us-east-1", "pass"],
      ["sa-east-1", "error"],
    ]);
    expect(findings[0]?.message).toBe(
      "trail a delivers its log files with SSE-S3 only (no KMS key); trail b delivers its log files with SSE-S3 only (no KMS key)",
    );
  });
});
