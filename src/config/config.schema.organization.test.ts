import { describe, expect, it } from "vitest";
import { AwsKmsSourceSchema } from "./config.schema.ts";

const base = { id: "aws-org", type: "aws-kms", regions: ["us-east-1"] } as const;

describe("aws-kms organization settings", () => {
  it("accepts a role name alone and with externalId, include and exclude by OU, root or account id", () => {
    for (const organization of [
      { roleName: "keyproof-reader" },
      {
        roleName: "audit/keyproof-reader",
        externalId: "acme-keyproof",
        include: ["ou-ab12-cdef3456", "r-ab12", "111122223333"],
        exclude: ["444455556666"],
      },
    ]) {
      const parsed = AwsKmsSourceSchema.safeParse({ ...base, organization });
      expect(parsed.error?.issues ?? [], JSON.stringify(organization)).toEqual([]);
    }
  });

  it("refuses a missing role name, a role ARN in its place, and ids that are neither OU nor account", () => {
    for (const organization of [
      {},
      { roleName: "arn:aws:iam::111122223333:role/keyproof-reader" },
      { roleName: "keyproof-reader", include: ["1111"] },
      { roleName: "keyproof-reader", exclude: ["payments"] },
      { roleName: "keyproof-reader", unknown: true },
    ]) {
      const parsed = AwsKmsSourceSchema.safeParse({ ...base, organization });
      expect(parsed.success, JSON.stringify(organization)).toBe(false);
      expect(parsed.error?.issues[0]?.path[0]).toBe("organization");
    }
  });
});
