import { describe, expect, it } from "vitest";
import {
  makeCollectionError,
  makeGap,
  makeKey,
  makeLoggingStatus,
  makeSink,
  makeSnapshot,
  makeSourceGap,
} from "../../../test/factories/index.ts";
import { check } from "./key-usage-logging-enabled.check.ts";

const logging = (location: string, overrides: Parameters<typeof makeLoggingStatus>[0] = {}) =>
  makeLoggingStatus({ location, ...overrides });

describe("key-usage-logging-enabled", () => {
  it("has nothing to judge in an empty snapshot", () => {
    expect(check.run(makeSnapshot())).toEqual([]);
  });

  it("passes a location with an active covering sink, as a source-level finding without keyId", () => {
    const findings = check.run(makeSnapshot({ keys: [makeKey()] }));
    expect(findings).toEqual([
      {
        checkId: "key-usage-logging-enabled",
        status: "pass",
        severity: "info",
        source: "aws-prod",
        location: "eu-west-1",
        resource: "aws-prod/eu-west-1",
        message: "key events are logged by cloudtrail-trail org-trail",
        evidence: ["sources/aws-prod/eu-west-1/logging.json"],
      },
    ]);
  });

  it("fails (high) a location without any sink, or with sinks that exclude key events", () => {
    const findings = check.run(
      makeSnapshot({
        logging: [
          logging("eu-west-1", { sinks: [] }),
          logging("us-east-1", {
            sinks: [
              makeSink({
                name: "data-trail",
                coversKeyEvents: false,
                coverageReason: "excludes kms.amazonaws.com",
              }),
            ],
          }),
        ],
      }),
    );
    expect(
      findings.map((finding) => [finding.location, finding.status, finding.severity, finding.message]),
    ).toEqual([
      ["eu-west-1", "fail", "high", "no log sink is configured"],
      ["us-east-1", "fail", "high", "no sink records key events (data-trail: excludes kms.amazonaws.com)"],
    ]);
  });

  it("fails a covering sink that is not logging", () => {
    const [finding] = check.run(
      makeSnapshot({ logging: [logging("eu-west-1", { sinks: [makeSink({ active: false })] })] }),
    );
    expect(finding).toMatchObject({
      status: "fail",
      message: "cloudtrail-trail org-trail would record key events but is not logging",
    });
  });

  it("still fails a covering sink that is off when only its bucket's settings could not be read", () => {
    const snapshot = makeSnapshot({
      logging: [
        logging("eu-west-1", {
          sinks: [makeSink({ active: false })],
          errors: [makeCollectionError({ call: "s3:GetBucketVersioning", code: "AccessDenied" })],
        }),
      ],
    });
    expect(check.run(snapshot).map((finding) => finding.status)).toEqual(["fail"]);
  });

  it("fails, not errors, when only the alarm lookups (logs:, cloudwatch:, events:) failed: they hide no trail", () => {
    const snapshot = makeSnapshot({
      logging: [
        logging("eu-west-1", {
          sinks: [makeSink({ active: false })],
          errors: ["logs:DescribeMetricFilters", "cloudwatch:DescribeAlarms", "events:ListRules"].map(
            (call) => makeCollectionError({ call, code: "AccessDeniedException" }),
          ),
        }),
      ],
    });
    expect(check.run(snapshot).map((finding) => finding.status)).toEqual(["fail"]);
  });

  it("errors, never fails, when a covering sink's status could not be read (unknown is not 'not logging')", () => {
    const error = makeCollectionError({
      call: "cloudtrail:GetTrailStatus",
      code: "AccessDeniedException",
      message: "denied",
    });
    const [finding] = check.run(
      makeSnapshot({
        logging: [logging("eu-west-1", { sinks: [makeSink({ active: undefined })], errors: [error] })],
      }),
    );
    expect(finding).toMatchObject({
      status: "error",
      message:
        "cloudtrail-trail org-trail would record key events but its logging status could not be read: cloudtrail:GetTrailStatus failed (AccessDeniedException): denied",
    });
  });

  it("errors when every covering sink read is off but another part of the configuration could not be read", () => {
    const error = makeCollectionError({
      call: "cloudtrail:GetEventSelectors",
      code: "Throttling",
      message: "slow down",
    });
    const [finding] = check.run(
      makeSnapshot({
        logging: [
          logging("eu-west-1", {
            sinks: [
              makeSink({ active: false }),
              makeSink({ name: "other", active: false, coversKeyEvents: false }),
            ],
            errors: [error],
          }),
        ],
      }),
    );
    expect(finding).toMatchObject({
      status: "error",
      message:
        "cloudtrail-trail org-trail would record key events but is not logging, and the logging configuration could not be read completely: cloudtrail:GetEventSelectors failed (Throttling): slow down",
    });
  });

  it("errors when the configuration could not be read and nothing read covers key events", () => {
    const error = makeCollectionError({
      call: "cloudtrail:DescribeTrails",
      code: "AccessDeniedException",
      message: "denied",
    });
    const findings = check.run(
      makeSnapshot({
        logging: [
          logging("eu-west-1", { sinks: [], errors: [error] }),
          logging("eu-west-2", { sinks: [makeSink()], errors: [error] }),
        ],
      }),
    );
    expect(findings.map((finding) => finding.status)).toEqual(["error", "pass"]);
    expect(findings[0]?.message).toContain(
      "cloudtrail:DescribeTrails failed (AccessDeniedException): denied",
    );
  });

  it("still fails a location without a covering sink when only an alert rule listing failed", () => {
    const alertsDenied = makeCollectionError({ call: "arm:ScheduledQueryRules.listBySubscription" });
    const [finding] = check.run(
      makeSnapshot({
        logging: [
          logging("eu-west-1", {
            sinks: [],
            errors: [alertsDenied],
            keyEventAlerting: { alerts: [], errors: [alertsDenied] },
          }),
        ],
      }),
    );
    expect(finding?.status).toBe("fail");
  });

  it("gives every location, and every location lost to a gap, exactly one finding", () => {
    const findings = check.run(
      makeSnapshot({
        keys: [
          makeKey({ location: "eu-west-1" }),
          makeKey({ location: "eu-central-1" }),
          makeKey({ source: "aws-dr", location: "us-east-2" }),
        ],
        logging: [logging("ap-south-1", { sinks: [] })],
        gaps: [makeGap({ location: "sa-east-1" })],
      }),
    );
    expect(findings.map((finding) => `${finding.source}/${finding.location}:${finding.status}`)).toEqual([
      "aws-prod/eu-west-1:pass",
      "aws-prod/eu-central-1:pass",
      "aws-prod/ap-south-1:fail",
      "aws-prod/sa-east-1:error",
      "aws-dr/us-east-2:pass",
    ]);
    expect(findings.every((finding) => finding.keyId === undefined)).toBe(true);
  });

  it("warns, never fails or errors, for a Vault child namespace whose root-namespace audit devices the token may not read", () => {
    const denied = makeCollectionError({
      call: "vault:GET sys/audit",
      code: "PermissionDenied",
      message: "permission denied",
    });
    const child = logging("https://vault.example:8200/v1/admin/team-a", {
      sinks: [],
      errors: [denied],
      auditDevicesOutOfReach: {
        namespace: "admin/team-a/",
        call: "vault:GET sys/audit",
        reason:
          "audit devices exist only in the root namespace and record every namespace's requests, admin/team-a/ included",
      },
    });
    const [finding] = check.run(makeSnapshot({ logging: [child] }));
    expect(finding).toMatchObject({ status: "warn" });
    expect(finding?.message).toMatch(
      /^whether key events are logged is unknown from this namespace: audit devices exist only in the root namespace/,
    );
    // The same denial without the fact (the root namespace's own token) stays an error.
    const root = logging("https://vault.example:8200", { sinks: [], errors: [denied] });
    expect(check.run(makeSnapshot({ logging: [root] }))[0]?.status).toBe("error");
  });

  it("errors for a source that could not be collected at all", () => {
    const findings = check.run(makeSnapshot({ gaps: [makeSourceGap({ source: "aws-dr" })] }));
    expect(findings).toEqual([
      expect.objectContaining({
        status: "error",
        source: "aws-dr",
        resource: "source aws-dr",
        evidence: ["gaps.json"],
        message: expect.stringContaining(
          "key-event logging of source aws-dr could not be judged: kms:ListKeys failed",
        ),
      }),
    ]);
    expect(findings[0]).not.toHaveProperty("location");
  });
});
