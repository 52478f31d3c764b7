import { describe, expect, it } from "vitest";
import { evaluateKmsCoverage, retentionFromLifecycle } from "./cloudtrail-coverage.ts";

const LOG_PREFIX = "AWSLogs/111122223333/CloudTrail/us-east-1/";

describe("evaluateKmsCoverage: basic event selectors", () => {
  it("covers KMS with all management events", () => {
    const coverage = evaluateKmsCoverage(
      [{ ReadWriteType: "All", IncludeManagementEvents: true, ExcludeManagementEventSources: [] }],
      [],
    );
    expect(coverage).toEqual({
      coversKeyEvents: true,
      reason: "event selector 1: management events (ReadWriteType All), kms.amazonaws.com not excluded",
    });
  });

  it("treats omitted fields as the API defaults (management events on, All)", () => {
    expect(evaluateKmsCoverage([{}], []).coversKeyEvents).toBe(true);
  });

  it("covers when read-only and write-only selectors together cover both", () => {
    expect(
      evaluateKmsCoverage([{ ReadWriteType: "ReadOnly" }, { ReadWriteType: "WriteOnly" }], [])
        .coversKeyEvents,
    ).toBe(true);
  });

  it("does not cover when KMS is excluded, management events are off, or only one side is logged", () => {
    const excluded = evaluateKmsCoverage(
      [{ ReadWriteType: "All", ExcludeManagementEventSources: ["kms.amazonaws.com"] }],
      [],
    );
    expect(excluded).toEqual({
      coversKeyEvents: false,
      reason: "event selector 1: kms.amazonaws.com is in ExcludeManagementEventSources",
    });
    expect(evaluateKmsCoverage([{ IncludeManagementEvents: false }], [])).toEqual({
      coversKeyEvents: false,
      reason: "event selector 1: IncludeManagementEvents is false",
    });
    const writeOnly = evaluateKmsCoverage([{ ReadWriteType: "WriteOnly" }], []);
    expect(writeOnly.coversKeyEvents).toBe(false);
    expect(writeOnly.reason).toMatch(/read-only and are not logged/);
    const readOnly = evaluateKmsCoverage([{ ReadWriteType: "ReadOnly" }], []);
    expect(readOnly.coversKeyEvents).toBe(false);
    expect(readOnly.reason).toMatch(/administrative events/);
  });

  it("assumes CloudTrail's default when no selectors at all are returned", () => {
    const coverage = evaluateKmsCoverage([], []);
    expect(coverage.coversKeyEvents).toBe(true);
    expect(coverage.reason).toMatch(/no event selectors returned/);
  });
});

describe("evaluateKmsCoverage: advanced event selectors", () => {
  it("covers KMS with a management selector", () => {
    const coverage = evaluateKmsCoverage(
      [],
      [{ Name: "Management events", FieldSelectors: [{ Field: "eventCategory", Equals: ["Management"] }] }],
    );
    expect(coverage).toEqual({
      coversKeyEvents: true,
      reason:
        'advanced event selector "Management events": eventCategory Management (read and write), kms.amazonaws.com not excluded',
    });
  });

  it("does not cover when KMS is excluded by eventSource, or only data events are selected", () => {
    expect(
      evaluateKmsCoverage(
        [],
        [
          {
            Name: "No KMS",
            FieldSelectors: [
              { Field: "eventCategory", Equals: ["Management"] },
              { Field: "eventSource", NotEquals: ["kms.amazonaws.com"] },
            ],
          },
        ],
      ),
    ).toEqual({
      coversKeyEvents: false,
      reason: 'advanced event selector "No KMS": eventSource excludes kms.amazonaws.com',
    });
    expect(
      evaluateKmsCoverage(
        [],
        [
          {
            FieldSelectors: [
              { Field: "eventCategory", Equals: ["Data"] },
              { Field: "resources.type", Equals: ["AWS::S3::Object"] },
            ],
          },
        ],
      ),
    ).toEqual({
      coversKeyEvents: false,
      reason: "advanced event selector 1: not a management-event selector",
    });
  });

  it("follows readOnly and eventSource Equals", () => {
    const writes = evaluateKmsCoverage(
      [],
      [
        {
          FieldSelectors: [
            { Field: "eventCategory", Equals: ["Management"] },
            { Field: "readOnly", Equals: ["false"] },
          ],
        },
      ],
    );
    expect(writes.coversKeyEvents).toBe(false);
    const kmsOnly = evaluateKmsCoverage(
      [],
      [
        {
          FieldSelectors: [
            { Field: "eventCategory", Equals: ["Management"] },
            { Field: "eventSource", Equals: ["kms.amazonaws.com"] },
          ],
        },
      ],
    );
    expect(kmsOnly.coversKeyEvents).toBe(true);
    const otherSource = evaluateKmsCoverage(
      [],
      [
        {
          FieldSelectors: [
            { Field: "eventCategory", Equals: ["Management"] },
            { Field: "eventSource", Equals: ["s3.amazonaws.com"] },
          ],
        },
      ],
    );
    expect(otherSource.coversKeyEvents).toBe(false);
  });
});

describe("retentionFromLifecycle", () => {
  it("is unlimited without rules or without an expiring rule", () => {
    expect(retentionFromLifecycle(undefined, LOG_PREFIX)).toEqual({ kind: "unlimited" });
    expect(retentionFromLifecycle([], LOG_PREFIX)).toEqual({ kind: "unlimited" });
    expect(
      retentionFromLifecycle([{ ID: "archive", Status: "Enabled", Filter: { Prefix: "" } }], LOG_PREFIX),
    ).toEqual({ kind: "unlimited" });
  });

  it("takes the shortest enabled expiration whose prefix covers the log folder", () => {
    expect(
      retentionFromLifecycle(
        [
          { ID: "logs", Status: "Enabled", Filter: { Prefix: "AWSLogs/" }, Expiration: { Days: 400 } },
          { ID: "everything", Status: "Enabled", Filter: {}, Expiration: { Days: 90 } },
          { ID: "legacy", Status: "Enabled", Prefix: "AWSLogs/111122223333/", Expiration: { Days: 120 } },
        ],
        LOG_PREFIX,
      ),
    ).toEqual({ kind: "days", days: 90 });
  });

  it("ignores disabled rules, other prefixes and tag-filtered rules", () => {
    expect(
      retentionFromLifecycle(
        [
          { ID: "off", Status: "Disabled", Filter: { Prefix: "AWSLogs/" }, Expiration: { Days: 1 } },
          { ID: "elsewhere", Status: "Enabled", Filter: { Prefix: "exports/" }, Expiration: { Days: 2 } },
          {
            ID: "tagged",
            Status: "Enabled",
            Filter: { Tag: { Key: "tier", Value: "scratch" } },
            Expiration: { Days: 3 },
          },
          {
            ID: "tagged-and",
            Status: "Enabled",
            Filter: { And: { Prefix: "AWSLogs/", Tags: [{ Key: "a", Value: "b" }] } },
            Expiration: { Days: 4 },
          },
          {
            ID: "and-prefix",
            Status: "Enabled",
            Filter: { And: { Prefix: "AWSLogs/111122223333/CloudTrail/" } },
            Expiration: { Days: 200 },
          },
        ],
        LOG_PREFIX,
      ),
    ).toEqual({ kind: "days", days: 200 });
  });

  it("reports a fixed-date expiration as unknown with the reason", () => {
    const retention = retentionFromLifecycle(
      [
        {
          ID: "sunset",
          Status: "Enabled",
          Filter: { Prefix: "" },
          Expiration: { Date: new Date("2027-01-01T00:00:00Z") },
        },
      ],
      LOG_PREFIX,
    );
    expect(retention).toEqual({
      kind: "unknown",
      reason:
        "lifecycle rule sunset expires log files on a fixed date (2027-01-01T00:00:00.000Z), not after a number of days",
    });
  });
});
