import { describe, expect, it } from "vitest";
import {
  makeCollectionError,
  makeGap,
  makeLoggingStatus,
  makeSnapshot,
  makeSourceGap,
} from "../../../test/factories/index.ts";
import type { UsageLogLocation } from "../../model/logging.ts";
import { check } from "./trail-location-matches.check.ts";

const TRAIL = "arn:aws:cloudtrail:eu-west-1:111122223333:trail/org-trail";
const trailSink = { reference: TRAIL, bucket: "acme-cloudtrail", prefix: "audit/" };

const at = (location: string, usageLogLocation: UsageLogLocation | undefined, errors = false) =>
  makeLoggingStatus({
    location,
    ...(usageLogLocation === undefined ? {} : { usageLogLocation }),
    ...(errors ? { errors: [makeCollectionError({ call: "cloudtrail:DescribeTrails" })] } : {}),
  });

describe("trail-location-matches", () => {
  it("has nothing to judge in an empty snapshot", () => {
    expect(check.run(makeSnapshot())).toEqual([]);
  });

  it("passes when nothing is configured and usage is read where the trail writes", () => {
    const findings = check.run(
      makeSnapshot({ logging: [at("eu-west-1", { configured: {}, sink: trailSink })] }),
    );
    expect(findings).toEqual([
      {
        checkId: "trail-location-matches",
        status: "pass",
        severity: "info",
        source: "aws-prod",
        location: "eu-west-1",
        resource: "aws-prod/eu-west-1",
        message: `usage is read where the trail writes: s3://acme-cloudtrail/audit/ of trail ${TRAIL} (cloudtrail.bucket and prefix not configured)`,
        evidence: ["sources/aws-prod/eu-west-1/logging.json"],
      },
    ]);
  });

  it("passes a configured location equal to the trail's, the bucket alone included", () => {
    const findings = check.run(
      makeSnapshot({
        logging: [
          at("eu-west-1", { configured: { bucket: "acme-cloudtrail", prefix: "audit/" }, sink: trailSink }),
          at("us-east-1", { configured: { bucket: "acme-cloudtrail" }, sink: trailSink }),
        ],
      }),
    );
    expect(findings.map((finding) => [finding.location, finding.status])).toEqual([
      ["eu-west-1", "pass"],
      ["us-east-1", "pass"],
    ]);
  });

  it("warns on a configured location that differs from the trail's, naming both", () => {
    const findings = check.run(
      makeSnapshot({
        logging: [
          at("eu-west-1", {
            configured: { bucket: "acme-cloudtrail", prefix: "elsewhere/" },
            sink: trailSink,
          }),
          at("us-east-1", { configured: { bucket: "old-bucket" }, sink: trailSink }),
        ],
      }),
    );
    expect(findings.map((finding) => [finding.location, finding.status, finding.severity])).toEqual([
      ["eu-west-1", "warn", "medium"],
      ["us-east-1", "warn", "medium"],
    ]);
    expect(findings[0]?.message).toContain("s3://acme-cloudtrail/elsewhere/");
    expect(findings[0]?.message).toContain(`s3://acme-cloudtrail/audit/ of trail ${TRAIL}`);
    expect(findings[1]?.message).toContain("s3://old-bucket/");
    expect(findings[1]?.message).toContain("s3://acme-cloudtrail/audit/");
  });

  it("is not applicable where no trail logs the location's key events, or the source reads no bucket", () => {
    const findings = check.run(
      makeSnapshot({
        logging: [
          at("eu-west-1", { configured: { bucket: "acme-cloudtrail", prefix: "" } }),
          at("us-east-1", { configured: {} }),
          at("ap-south-1", undefined),
        ],
      }),
    );
    expect(findings.map((finding) => [finding.location, finding.status])).toEqual([
      ["eu-west-1", "not-applicable"],
      ["us-east-1", "not-applicable"],
      ["ap-south-1", "not-applicable"],
    ]);
    expect(findings[0]?.message).toContain("configured s3://acme-cloudtrail/");
    expect(findings[1]?.message).toContain("LookupEvents");
  });

  it("answers error when the trails could not be read, or the location or source was not collected", () => {
    const findings = check.run(
      makeSnapshot({
        logging: [at("eu-west-1", { configured: { bucket: "acme-cloudtrail" } }, true)],
        gaps: [makeGap({ location: "sa-east-1" }), makeSourceGap({ source: "aws-gone" })],
      }),
    );
    expect(findings.map((finding) => [finding.source, finding.location, finding.status])).toEqual([
      ["aws-prod", "eu-west-1", "error"],
      ["aws-prod", "sa-east-1", "error"],
      ["aws-gone", undefined, "error"],
    ]);
    expect(findings[0]?.message).toContain("cloudtrail:DescribeTrails");
  });
});
