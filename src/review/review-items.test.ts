import { describe, expect, it } from "vitest";
import type { Finding } from "../model/finding.ts";
import { buildReviewItems, type AccessPolicyExport } from "./review-items.ts";

function finding(overrides: Omit<Partial<Finding>, "keyId"> & { keyId?: string | undefined }): Finding {
  const { keyId, ...rest } = overrides;
  const base: Finding = {
    checkId: "key-spec-approved",
    status: "pass",
    severity: "info",
    source: "aws-prod",
    location: "eu-west-1",
    keyId: "k1",
    resource: "arn:aws:kms:eu-west-1:111122223333:key/k1",
    message: "ok",
    evidence: ["sources/aws-prod/eu-west-1/keys/k1/configuration.json"],
    ...rest,
  };
  // keyId: undefined means a location-level finding.
  if ("keyId" in overrides && keyId === undefined) delete base.keyId;
  else if (keyId !== undefined) base.keyId = keyId;
  return base;
}

function policy(overrides: Partial<AccessPolicyExport> = {}): AccessPolicyExport {
  return {
    path: "sources/aws-prod/eu-west-1/keys/k1/access-policy.json",
    source: "aws-prod",
    location: "eu-west-1",
    keyId: "k1",
    arn: "arn:aws:kms:eu-west-1:111122223333:key/k1",
    collected: true,
    grants: [
      {
        principal: "arn:aws:iam::111122223333:role/app",
        principalKind: "role",
        effect: "allow",
        actions: ["kms:Decrypt", "kms:Encrypt"],
        via: "key-policy",
        reference: "AllowApp",
      },
      {
        principal: "arn:aws:iam::111122223333:user/bob",
        principalKind: "human-user",
        effect: "deny",
        actions: ["kms:*"],
        via: "key-policy",
        reference: "DenyBob",
      },
    ],
    ...overrides,
  };
}

describe("buildReviewItems", () => {
  it("gives nothing to review for an empty bundle", () => {
    expect(buildReviewItems({ findings: [], accessPolicies: [] })).toEqual([]);
  });

  it("makes one item per allowed grant, per key's rotation, per location's logging and per open finding", () => {
    const items = buildReviewItems({
      accessPolicies: [policy()],
      findings: [
        finding({
          checkId: "key-rotation-enabled",
          status: "fail",
          severity: "high",
          message: "rotation is off",
        }),
        finding({
          checkId: "key-usage-logging-enabled",
          keyId: undefined,
          resource: "eu-west-1",
          message: "trail t logs",
        }),
        finding({ checkId: "key-spec-approved", status: "pass" }),
        finding({
          checkId: "key-access-no-human-users",
          status: "fail",
          severity: "high",
          message: "bob may decrypt",
        }),
        finding({
          checkId: "key-owner-documented",
          status: "warn",
          severity: "medium",
          message: "owner unknown",
        }),
        finding({
          checkId: "key-state-active",
          status: "error",
          severity: "medium",
          message: "DescribeKey denied",
        }),
        finding({ checkId: "key-in-inventory", status: "not-applicable", message: "AWS managed" }),
      ],
    });
    // Grouped by location then key: the location's logging item comes before its keys' items.
    expect(items.map((item) => item.kind)).toEqual([
      "logging",
      "grant",
      "rotation",
      "finding",
      "finding",
      "finding",
    ]);
    const grant = items.find((item) => item.kind === "grant");
    expect(grant?.grant).toEqual({
      principal: "arn:aws:iam::111122223333:role/app",
      principalType: "role",
      actions: ["kms:Decrypt", "kms:Encrypt"],
      effect: "allow",
      via: "key-policy",
      reference: "AllowApp",
    });
    expect(grant?.evidence).toEqual(["sources/aws-prod/eu-west-1/keys/k1/access-policy.json"]);
    expect(items.find((item) => item.kind === "rotation")?.status).toBe("fail");
    // Passing and not-applicable findings of other checks are not items; the deny statement is not a grant.
    expect(
      items.some((item) => item.checkId === "key-spec-approved" || item.checkId === "key-in-inventory"),
    ).toBe(false);
    expect(items.some((item) => item.title.includes("bob") && item.kind === "grant")).toBe(false);
  });

  it("keeps ids stable and unique, and restricts to the asked sources", () => {
    const input = {
      accessPolicies: [
        policy(),
        policy({
          source: "vault-main",
          location: "transit",
          keyId: "orders",
          path: "sources/vault-main/transit/keys/orders/access-policy.json",
        }),
      ],
      findings: [finding({ checkId: "key-rotation-enabled", status: "pass" })],
    };
    const first = buildReviewItems(input);
    const second = buildReviewItems({ ...input, accessPolicies: [...input.accessPolicies].reverse() });
    expect(second.map((item) => item.id)).toEqual(first.map((item) => item.id));
    expect(new Set(first.map((item) => item.id)).size).toBe(first.length);
    const onlyVault = buildReviewItems({ ...input, sources: ["vault-main"] });
    expect(onlyVault.map((item) => item.source)).toEqual(["vault-main"]);
  });

  it("skips keys whose access policy could not be collected (their error finding is the item)", () => {
    const items = buildReviewItems({
      accessPolicies: [policy({ collected: false, grants: [] })],
      findings: [
        finding({
          checkId: "key-access-not-public",
          status: "error",
          severity: "critical",
          message: "GetKeyPolicy denied",
        }),
      ],
    });
    expect(items.map((item) => item.kind)).toEqual(["finding"]);
    expect(items[0]?.title).toContain("GetKeyPolicy denied");
  });

  it("merges identical statements into one decision", () => {
    const duplicate = policy();
    const grants = [...duplicate.grants, ...duplicate.grants];
    expect(buildReviewItems({ findings: [], accessPolicies: [{ ...duplicate, grants }] })).toHaveLength(1);
  });
});
