import { describe, expect, it } from "vitest";
import { trailAppliesToRegion, trailLogPrefix } from "./cloudtrail-status.collector.ts";

const ARN = "arn:aws:cloudtrail:us-east-1:111122223333:trail/management";

describe("trailAppliesToRegion", () => {
  it("applies a multi-region trail everywhere and a single-region trail only at home", () => {
    expect(
      trailAppliesToRegion({ TrailARN: ARN, HomeRegion: "us-east-1", IsMultiRegionTrail: true }, "eu-west-1"),
    ).toBe(true);
    expect(
      trailAppliesToRegion(
        { TrailARN: ARN, HomeRegion: "us-east-1", IsMultiRegionTrail: false },
        "us-east-1",
      ),
    ).toBe(true);
    expect(
      trailAppliesToRegion(
        { TrailARN: ARN, HomeRegion: "us-east-1", IsMultiRegionTrail: false },
        "eu-west-1",
      ),
    ).toBe(false);
    expect(trailAppliesToRegion({ TrailARN: ARN }, "eu-west-1")).toBe(false);
  });
});

describe("trailLogPrefix", () => {
  it("places the region's files under the key prefix, the account and the region", () => {
    expect(trailLogPrefix({ TrailARN: ARN }, "eu-west-1")).toBe("AWSLogs/111122223333/CloudTrail/eu-west-1/");
    expect(trailLogPrefix({ TrailARN: ARN, S3KeyPrefix: "audit/" }, "us-east-1")).toBe(
      "audit/AWSLogs/111122223333/CloudTrail/us-east-1/",
    );
    expect(trailLogPrefix({ TrailARN: ARN, S3KeyPrefix: "" }, "us-east-1")).toBe(
      "AWSLogs/111122223333/CloudTrail/us-east-1/",
    );
  });
});
