import { describe, expect, it } from "vitest";
import {
  dayFolder,
  normalizeConfiguredPrefix,
  normalizePrefix,
  organizationIdOfConfiguredPrefix,
} from "./cloudtrail-s3.usage.ts";

describe("normalizePrefix", () => {
  it.each([
    ["", ""],
    ["audit", "audit/"],
    ["audit/", "audit/"],
    ["org/audit", "org/audit/"],
  ])("%j → %j", (prefix, expected) => {
    expect(normalizePrefix(prefix)).toBe(expected);
  });
});

describe("dayFolder", () => {
  it("builds CloudTrail's delivery folder for a region and UTC day", () => {
    expect(dayFolder("", "111122223333", "us-east-1", "2026-07-01")).toBe(
      "AWSLogs/111122223333/CloudTrail/us-east-1/2026/07/01/",
    );
    expect(dayFolder("audit", "111122223333", "eu-west-1", "2026-12-31")).toBe(
      "audit/AWSLogs/111122223333/CloudTrail/eu-west-1/2026/12/31/",
    );
  });

  it("puts an organization trail's organization id between AWSLogs/ and the account", () => {
    expect(dayFolder("org/", "111122223333", "us-east-1", "2026-07-01", "o-a1b2c3d4e5")).toBe(
      "org/AWSLogs/o-a1b2c3d4e5/111122223333/CloudTrail/us-east-1/2026/07/01/",
    );
  });
});

describe("normalizeConfiguredPrefix", () => {
  it.each([
    ["", ""],
    ["audit", "audit/"],
    ["audit/", "audit/"],
    ["AWSLogs/", ""],
    ["AWSLogs", ""],
    ["/AWSLogs/", ""],
    ["audit/AWSLogs/", "audit/"],
    ["org/audit/AWSLogs", "org/audit/"],
    ["MyAWSLogs/", "MyAWSLogs/"],
    ["AWSLogs/archive/", "AWSLogs/archive/"],
    ["AWSLogs/o-a1b2c3d4e5/", ""],
    ["org/AWSLogs/o-a1b2c3d4e5", "org/"],
  ])("%j → %j", (prefix, expected) => {
    expect(normalizeConfiguredPrefix(prefix)).toBe(expected);
  });
});

describe("organizationIdOfConfiguredPrefix", () => {
  it.each([
    ["AWSLogs/o-a1b2c3d4e5/", "o-a1b2c3d4e5"],
    ["/org/AWSLogs/o-a1b2c3d4e5", "o-a1b2c3d4e5"],
    ["AWSLogs/", undefined],
    ["audit/", undefined],
    ["AWSLogs/111122223333/", undefined],
  ])("%j → %j", (prefix, expected) => {
    expect(organizationIdOfConfiguredPrefix(prefix)).toBe(expected);
  });
});
