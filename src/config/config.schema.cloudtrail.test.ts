import { describe, expect, it } from "vitest";
import { AwsKmsSourceSchema } from "./config.schema.ts";

const base = { id: "aws-prod", type: "aws-kms", regions: ["us-east-1"] } as const;

describe("aws-kms cloudtrail settings", () => {
  it("accepts no cloudtrail, an empty one, a bucket alone, and the full form with maxObjectBytes", () => {
    for (const cloudtrail of [
      undefined,
      {},
      { maxObjectBytes: 64 * 1024 * 1024 },
      { bucket: "acme-cloudtrail" },
      { bucket: "acme-cloudtrail", prefix: "AWSLogs/", region: "us-east-1", maxObjectBytes: 1024 },
    ]) {
      const parsed = AwsKmsSourceSchema.safeParse({
        ...base,
        ...(cloudtrail === undefined ? {} : { cloudtrail }),
      });
      expect(parsed.error?.issues ?? [], JSON.stringify(cloudtrail)).toEqual([]);
    }
  });

  it("keeps the prefix as written (the AWSLogs/ form is reduced when read, not rewritten here)", () => {
    const parsed = AwsKmsSourceSchema.parse({
      ...base,
      cloudtrail: { bucket: "acme-cloudtrail", prefix: "AWSLogs/" },
    });
    expect(parsed.cloudtrail).toEqual({ bucket: "acme-cloudtrail", prefix: "AWSLogs/" });
  });

  it("names the field of a prefix without its bucket, and of a non-positive or fractional maxObjectBytes", () => {
    const paths = (cloudtrail: unknown) =>
      AwsKmsSourceSchema.safeParse({ ...base, cloudtrail }).error?.issues.map((issue) => [
        issue.path.join("."),
        issue.message,
      ]);
    expect(paths({ prefix: "audit/" })).toEqual([
      ["cloudtrail.prefix", expect.stringContaining("a prefix needs its bucket")],
    ]);
    expect(paths({ maxObjectBytes: 0 })?.[0]?.[0]).toBe("cloudtrail.maxObjectBytes");
    expect(paths({ maxObjectBytes: 1.5 })?.[0]?.[0]).toBe("cloudtrail.maxObjectBytes");
    expect(paths({ bucket: "acme-cloudtrail", maxobjectbytes: 5 })?.[0]?.[0]).toBe("cloudtrail");
  });
});
