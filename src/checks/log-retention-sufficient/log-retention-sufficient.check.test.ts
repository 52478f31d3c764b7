import { describe, expect, it } from "vitest";
import {
  makeCollectionError,
  makeGap,
  makeKey,
  makeLoggingStatus,
  makeSink,
  makeSnapshot,
} from "../../../test/factories/index.ts";
import { check } from "./log-retention-sufficient.check.ts";

const days = (count: number) => ({ kind: "days", days: count }) as const;
const unknown = { kind: "unknown", reason: "s3:GetBucketLifecycleConfiguration denied" } as const;
const withSinks = (...sinks: ReturnType<typeof makeSink>[]) =>
  makeSnapshot({ logging: [makeLoggingStatus({ sinks })] });

describe("log-retention-sufficient", () => {
  it("has nothing to judge in an empty snapshot", () => {
    expect(check.run(makeSnapshot())).toEqual([]);
  });

  it("passes unlimited retention and retention of at least the policy days", () => {
    expect(check.run(makeSnapshot({ keys: [makeKey()] }))[0]).toMatchObject({
      status: "pass",
      evidence: ["sources/aws-prod/eu-west-1/logging.json"],
      message: "key events are retained for at least 365 days (org-trail: kept indefinitely)",
    });
    expect(check.run(withSinks(makeSink({ retention: days(365) })))[0]?.status).toBe("pass");
  });

  it("fails (medium) when every covering sink keeps less than the policy", () => {
    const snapshot = makeSnapshot({
      policy: { logRetentionDays: 400 },
      logging: [
        makeLoggingStatus({
          sinks: [makeSink({ retention: days(90) }), makeSink({ name: "backup", retention: days(365) })],
        }),
      ],
    });
    expect(check.run(snapshot)[0]).toMatchObject({
      status: "fail",
      severity: "medium",
      location: "eu-west-1",
      message:
        "key events are kept for less than the required 400 days (org-trail: 90 days; backup: 365 days)",
    });
  });

  it("passes when one sink keeps enough even if another does not; ignores sinks without key events", () => {
    const findings = check.run(
      withSinks(
        makeSink({ retention: days(30) }),
        makeSink({ name: "archive", retention: days(2555) }),
        makeSink({ name: "other", coversKeyEvents: false, retention: days(1) }),
      ),
    );
    expect(findings[0]?.status).toBe("pass");
    expect(findings[0]?.message).toContain("archive: 2555 days");
    expect(findings[0]?.message).not.toContain("other");
  });

  it("warns when retention is unknown and nothing known suffices", () => {
    const [finding] = check.run(
      withSinks(makeSink({ retention: unknown }), makeSink({ name: "short", retention: days(7) })),
    );
    expect(finding).toMatchObject({ status: "warn", severity: "medium" });
    expect(finding?.message).toContain("unknown (s3:GetBucketLifecycleConfiguration denied)");
  });

  it("is not applicable without a covering sink", () => {
    expect(check.run(withSinks())[0]?.status).toBe("not-applicable");
  });

  it("gives every location exactly one finding", () => {
    const findings = check.run(
      makeSnapshot({
        keys: [
          makeKey(),
          makeKey({ location: "us-east-1" }),
          makeKey({ source: "aws-dr", location: "eu-west-1" }),
        ],
        logging: [makeLoggingStatus({ location: "us-east-1", sinks: [makeSink({ retention: days(10) })] })],
        gaps: [makeGap({ location: "ca-central-1" })],
      }),
    );
    expect(findings.map((finding) => `${finding.source}/${finding.location}:${finding.status}`)).toEqual([
      "aws-prod/eu-west-1:pass",
      "aws-prod/us-east-1:fail",
      "aws-prod/ca-central-1:error",
      "aws-dr/eu-west-1:pass",
    ]);
  });

  it("is not applicable, not an error, without a covering sink when only an alert rule listing failed", () => {
    const alertsDenied = makeCollectionError({ call: "arm:ActivityLogAlerts.listBySubscriptionId" });
    const [finding] = check.run(
      makeSnapshot({
        logging: [
          makeLoggingStatus({
            sinks: [],
            errors: [alertsDenied],
            keyEventAlerting: { alerts: [], errors: [alertsDenied] },
          }),
        ],
      }),
    );
    expect(finding?.status).toBe("not-applicable");
  });

  it("warns, never errors, for a Vault child namespace whose root-namespace audit devices the token may not read", () => {
    const denied = makeCollectionError({
      call: "vault:GET sys/audit",
      code: "PermissionDenied",
      message: "permission denied",
    });
    const [finding] = check.run(
      makeSnapshot({
        logging: [
          makeLoggingStatus({
            location: "https://vault.example:8200/v1/admin/team-a",
            sinks: [],
            errors: [denied],
            auditDevicesOutOfReach: {
              namespace: "admin/team-a/",
              call: "vault:GET sys/audit",
              reason: "audit devices exist only in the root namespace",
            },
          }),
        ],
      }),
    );
    expect(finding).toMatchObject({
      status: "warn",
      message:
        "retention cannot be judged from this namespace: audit devices exist only in the root namespace",
    });
  });

  it("errors when the logging configuration could not be read", () => {
    const error = makeCollectionError({ call: "cloudtrail:DescribeTrails" });
    const [finding] = check.run(
      makeSnapshot({ logging: [makeLoggingStatus({ sinks: [], errors: [error] })] }),
    );
    expect(finding?.status).toBe("error");
    expect(finding?.message).toContain("cloudtrail:DescribeTrails failed (AccessDeniedException)");
  });
});
