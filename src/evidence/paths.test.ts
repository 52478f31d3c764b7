import { describe, expect, it } from "vitest";
import { keyConfigurationPath, locationDirectory, usageExtractPath } from "./paths.ts";

describe("locationDirectory", () => {
  it("nests an AWS organization member location as <account>/<region>", () => {
    expect(locationDirectory("aws-org", "111122223333/eu-west-1")).toBe(
      "sources/aws-org/111122223333/eu-west-1",
    );
    expect(
      keyConfigurationPath("aws-org", "111122223333/us-east-1", "arn:aws:kms:us-east-1:111122223333:key/k"),
    ).toBe(
      "sources/aws-org/111122223333/us-east-1/keys/arn_aws_kms_us-east-1_111122223333_key_k/configuration.json",
    );
  });

  it("keeps plain regions and other locations with a slash as one slug", () => {
    expect(locationDirectory("aws-prod", "eu-west-1")).toBe("sources/aws-prod/eu-west-1");
    expect(locationDirectory("vault", "team-a/keys")).toBe("sources/vault/team-a_keys");
    expect(usageExtractPath("aws-org", "1111/eu-west-1", "csv")).toBe(
      "sources/aws-org/1111_eu-west-1/usage-events.csv",
    );
  });
});
