import { describe, expect, it } from "vitest";
import {
  makeCollectionError,
  makeGap,
  makeKey,
  makeLocation,
  makeSource,
  makeKeys,
  makeLoggingStatus,
  makeSnapshot,
  makeUsageGap,
  makeUsageSummary,
} from "../../../test/factories/index.ts";
import { check } from "./usage-log-present.check.ts";

describe("usage-log-present", () => {
  it("has nothing to judge in an empty snapshot", () => {
    expect(check.run(makeSnapshot())).toEqual([]);
  });

  it("passes a location with events and no gaps, pointing at the extract", () => {
    expect(check.run(makeSnapshot({ keys: [makeKey()] }))).toEqual([
      {
        checkId: "usage-log-present",
        status: "pass",
        severity: "info",
        source: "aws-prod",
        location: "eu-west-1",
        resource: "aws-prod/eu-west-1",
        message:
          "42 key events for 2026-Q3 from 2026-07-01T00:03:00.000Z to 2026-09-30T23:58:00.000Z (cloudtrail-s3)",
        evidence: [
          "sources/aws-prod/eu-west-1/usage-events.ndjson",
          "sources/aws-prod/eu-west-1/usage-summary.json",
        ],
      },
    ]);
  });

  it("fails (medium) no events, or no log source, where enabled keys live", () => {
    const findings = check.run(
      makeSnapshot({
        keys: [makeKey(), ...makeKeys(2, { location: "us-east-1" })],
        usage: [
          makeUsageSummary({ eventCount: 0, byAction: {} }),
          makeUsageSummary({ location: "us-east-1", method: "none", eventCount: 0 }),
        ],
      }),
    );
    expect(findings.map((finding) => [finding.status, finding.severity, finding.message])).toEqual([
      [
        "fail",
        "medium",
        "the usage log (cloudtrail-s3) holds no key events for 2026-Q3 although 1 enabled key live here",
      ],
      [
        "fail",
        "medium",
        "no usage log source is configured for this location although 2 enabled keys live here",
      ],
    ]);
  });

  it("is not applicable when a location without enabled keys has no events", () => {
    const findings = check.run(
      makeSnapshot({
        keys: [makeKey({ state: "disabled" })],
        logging: [makeLoggingStatus({ location: "us-east-1" })],
        usage: [
          makeUsageSummary({ eventCount: 0 }),
          makeUsageSummary({ location: "us-east-1", method: "none", eventCount: 0 }),
        ],
      }),
    );
    expect(findings.map((finding) => finding.status)).toEqual(["not-applicable", "not-applicable"]);
  });

  it("errors, not not-applicable, when no key here is known to be enabled because key metadata failed", () => {
    const unread = makeKey({
      keySpec: "UNKNOWN",
      state: "unavailable",
      errors: [
        makeCollectionError({ call: "kms:DescribeKey", code: "AccessDeniedException", message: "denied" }),
      ],
    });
    const [finding] = check.run(
      makeSnapshot({ keys: [unread], usage: [makeUsageSummary({ eventCount: 0 })] }),
    );
    expect(finding).toMatchObject({ status: "error" });
    expect(finding?.message).toContain(
      "whether a key here is enabled is unknown, 1 key's metadata could not be read: kms:DescribeKey failed (AccessDeniedException): denied",
    );
  });

  it("warns when events were read but parts of the log were not, naming the gaps", () => {
    const gap = makeUsageGap({
      object: "AWSLogs/x/2026/08/14/a.json.gz",
      code: "AccessDenied",
      message: "denied",
    });
    const [finding] = check.run(
      makeSnapshot({ keys: [makeKey()], usage: [makeUsageSummary({ gaps: [gap] })] }),
    );
    expect(finding).toMatchObject({ status: "warn", severity: "medium" });
    expect(finding?.message).toContain(
      "the extract is incomplete: 1 unreadable part: AWSLogs/x/2026/08/14/a.json.gz (AccessDenied: denied)",
    );
    expect(finding?.evidence).toContain("gaps.json");
  });

  it("gives every location exactly one finding", () => {
    const findings = check.run(
      makeSnapshot({
        keys: [
          makeKey(),
          makeKey({ location: "us-east-1" }),
          makeKey({ source: "aws-dr", location: "eu-west-2" }),
        ],
        gaps: [makeGap({ location: "me-south-1" })],
      }),
    );
    expect(findings.map((finding) => `${finding.source}/${finding.location}:${finding.status}`)).toEqual([
      "aws-prod/eu-west-1:pass",
      "aws-prod/us-east-1:pass",
      "aws-prod/me-south-1:error",
      "aws-dr/eu-west-2:pass",
    ]);
  });

  it("errors when the usage stream failed entirely or never ran", () => {
    const failed = makeUsageSummary({
      eventCount: 0,
      gaps: [makeUsageGap(), makeUsageGap({ object: "b.json.gz" })],
    });
    const findings = check.run(
      makeSnapshot({
        keys: [makeKey(), makeKey({ location: "us-east-1" })],
        usage: [failed],
      }),
    );
    expect(findings.map((finding) => finding.status)).toEqual(["error", "error"]);
    expect(findings[0]?.message).toContain("could not be read (cloudtrail-s3); 2 unreadable parts");
    expect(findings[1]?.message).toBe(
      "no usage log summary for 2026-Q3: the usage log of this location was not read",
    );
  });

  it("errors, not not-applicable, when the location's keys could not be listed", () => {
    const gap = makeGap({ location: "eu-west-1" });
    const snapshot = makeSnapshot({
      sources: [
        makeSource({
          locations: [makeLocation({ location: "eu-west-1", gaps: [gap] })],
          usage: [
            makeUsageSummary({
              location: "eu-west-1",
              method: "none",
              eventCount: 0,
              byKey: {},
              byAction: {},
            }),
          ],
        }),
      ],
    });
    expect(check.run(snapshot)).toEqual([
      expect.objectContaining({
        status: "error",
        location: "eu-west-1",
        message: expect.stringContaining("kms:ListKeys failed (UnrecognizedClientException)"),
      }),
    ]);
  });
});
