import { describe, expect, it } from "vitest";
import {
  collected,
  makeGap,
  makeKey,
  makeLoggingStatus,
  makeSink,
  makeSnapshot,
  makeTrailBucket,
  makeTrailProtection,
  notCollected,
} from "../../../test/factories/index.ts";
import type { TrailBucketProtection } from "../../model/logging.ts";
import { check } from "./trail-bucket-protected.check.ts";

const withBucket = (bucket: Partial<TrailBucketProtection>, name = "org-trail") =>
  makeSink({ name, trail: makeTrailProtection({ bucket: makeTrailBucket(bucket) }) });
const judge = (...sinks: ReturnType<typeof makeSink>[]) =>
  check.run(makeSnapshot({ logging: [makeLoggingStatus({ sinks })] }))[0];
const off = collected(false);
const on = collected(true);

describe("trail-bucket-protected", () => {
  it("has nothing to judge in an empty snapshot", () => {
    expect(check.run(makeSnapshot())).toEqual([]);
  });

  it("passes a private, versioned bucket", () => {
    expect(check.run(makeSnapshot({ keys: [makeKey()] }))).toEqual([
      {
        checkId: "trail-bucket-protected",
        status: "pass",
        severity: "info",
        source: "aws-prod",
        location: "eu-west-1",
        resource: "aws-prod/eu-west-1",
        message: "bucket org-trail-logs of trail org-trail blocks public access and is versioned",
        evidence: ["sources/aws-prod/eu-west-1/logging.json"],
      },
    ]);
  });

  it("passes a private Object-Locked bucket even when versioning could not be read", () => {
    expect(
      judge(withBucket({ objectLockEnabled: on, versioningEnabled: notCollected("s3:GetBucketVersioning") })),
    ).toMatchObject({ status: "pass", message: expect.stringContaining("is Object-Locked") });
  });

  it("fails a bucket that does not block public access", () => {
    expect(judge(withBucket({ publicAccessBlocked: off }))).toMatchObject({
      status: "fail",
      severity: "high",
      message:
        "bucket org-trail-logs of trail org-trail does not block public access (not all four public access block settings are on)",
    });
  });

  it("fails a bucket that is neither versioned nor Object-Locked, even when public access is unknown", () => {
    expect(
      judge(
        withBucket({
          versioningEnabled: off,
          objectLockEnabled: off,
          publicAccessBlocked: notCollected("s3:GetPublicAccessBlock"),
        }),
      ),
    ).toMatchObject({
      status: "fail",
      message: "bucket org-trail-logs of trail org-trail is neither versioned nor Object-Locked",
    });
  });

  it("errors when the bucket's settings could not be read (AccessDenied, bucket in another account)", () => {
    const denied = notCollected<boolean>("s3:GetPublicAccessBlock", {
      code: "AccessDenied",
      message: "Access Denied",
    });
    expect(judge(withBucket({ publicAccessBlocked: denied }))).toMatchObject({
      status: "error",
      message:
        "bucket org-trail-logs of trail org-trail: its settings could not be read: s3:GetPublicAccessBlock failed (AccessDenied): Access Denied",
    });
    expect(
      judge(
        withBucket({
          versioningEnabled: notCollected("s3:GetBucketVersioning"),
          objectLockEnabled: off,
        }),
      ),
    ).toMatchObject({ status: "error", message: expect.stringContaining("s3:GetBucketVersioning failed") });
  });

  it("errors for a trail that names no bucket", () => {
    const { bucket: _omitted, ...noBucket } = makeTrailProtection();
    expect(judge(makeSink({ trail: noBucket }))).toMatchObject({
      status: "error",
      message: "trail org-trail names no S3 bucket, so its protections cannot be read",
    });
  });

  it("fails on one weak bucket among many trails; one finding per location; n/a and gaps", () => {
    const findings = check.run(
      makeSnapshot({
        logging: [
          makeLoggingStatus({
            location: "eu-west-1",
            sinks: [makeSink(), withBucket({ name: "open-logs", publicAccessBlocked: off }, "b")],
          }),
          makeLoggingStatus({ location: "us-east-1", sinks: [] }),
        ],
        gaps: [makeGap({ location: "sa-east-1" })],
      }),
    );
    expect(findings.map((finding) => [finding.location, finding.status])).toEqual([
      ["eu-west-1", "fail"],
      ["us-east-1", "not-applicable"],
      ["sa-east-1", "error"],
    ]);
    expect(findings[0]?.message).toContain("bucket open-logs of trail b");
  });
});
