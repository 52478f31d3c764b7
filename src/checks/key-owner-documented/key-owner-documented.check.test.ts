import { describe, expect, it } from "vitest";
import {
  inventoryEntryFor,
  makeCollectionError,
  makeGap,
  makeInventoryEntry,
  makeKey,
  makeKeys,
  makeSnapshot,
} from "../../../test/factories/index.ts";
import { check } from "./key-owner-documented.check.ts";

describe("key-owner-documented", () => {
  it("has nothing to judge in an empty snapshot, even with an inventory", () => {
    expect(check.run(makeSnapshot({ inventory: [makeInventoryEntry()] }))).toEqual([]);
  });

  it("passes a key named by an entry with an owner, by key id, ARN or alias", () => {
    const byId = makeKey();
    const byArn = makeKey();
    const byAlias = makeKey({ aliases: ["alias/payments"] });
    const inventory = [
      inventoryEntryFor(byId, { owner: "ana@example.com" }),
      makeInventoryEntry({ match: byArn.arn, owner: "bo@example.com" }),
      makeInventoryEntry({ match: "alias/payments", owner: "cy@example.com" }),
    ];
    const findings = check.run(makeSnapshot({ keys: [byId, byArn, byAlias], inventory }));
    expect(findings.map((finding) => [finding.status, finding.message])).toEqual([
      ["pass", "owner ana@example.com (inventory.json#keys[0])"],
      ["pass", "owner bo@example.com (inventory.json#keys[1])"],
      ["pass", "owner cy@example.com (inventory.json#keys[2])"],
    ]);
    expect(findings[0]?.evidence).toEqual([
      "inventory.json",
      `sources/aws-prod/eu-west-1/keys/${byId.keyId}/configuration.json`,
    ]);
  });

  it("fails (medium) a key no entry names, and an entry with a blank owner", () => {
    const undocumented = makeKey();
    const blank = makeKey();
    const findings = check.run(
      makeSnapshot({ keys: [undocumented, blank], inventory: [inventoryEntryFor(blank, { owner: "  " })] }),
    );
    expect(findings.map((finding) => [finding.status, finding.severity, finding.message])).toEqual([
      ["fail", "medium", "no inventory entry names this key, so it has no documented owner"],
      ["fail", "medium", "inventory.json#keys[0] names no owner"],
    ]);
  });

  it("does not match an entry of another source", () => {
    const key = makeKey();
    const findings = check.run(
      makeSnapshot({ keys: [key], inventory: [inventoryEntryFor(key, { source: "aws-dr" })] }),
    );
    expect(findings[0]?.status).toBe("fail");
  });

  it("warns when entries name different owners for one key", () => {
    const key = makeKey({ aliases: ["alias/payments"] });
    const inventory = [
      inventoryEntryFor(key, { owner: "ana" }),
      makeInventoryEntry({ match: "alias/payments", owner: "bo" }),
    ];
    const [finding] = check.run(makeSnapshot({ keys: [key], inventory }));
    expect(finding).toMatchObject({
      status: "warn",
      message:
        "inventory.json#keys[0], inventory.json#keys[1] name different owners (ana, bo); accountability is ambiguous",
    });
  });

  it("is not applicable to provider-managed keys", () => {
    expect(check.run(makeSnapshot({ keys: [makeKey({ manager: "provider" })] }))[0]?.status).toBe(
      "not-applicable",
    );
  });

  it("errors, never not-applicable, when the key's metadata could not be read (managed by whom is unknown)", () => {
    const key = makeKey({
      keySpec: "UNKNOWN",
      rawKeyType: "UNKNOWN",
      state: "other",
      errors: [makeCollectionError({ call: "kms:DescribeKey", message: "denied" })],
    });
    const [finding] = check.run(makeSnapshot({ keys: [key] }));
    expect(finding).toMatchObject({
      status: "error",
      message: "key metadata unavailable: kms:DescribeKey failed (AccessDeniedException): denied",
    });
  });

  it("gives every key exactly one finding", () => {
    const keys = [
      ...makeKeys(4),
      ...makeKeys(2, { location: "us-east-1" }),
      ...makeKeys(2, { source: "aws-dr" }),
    ];
    const inventory = keys.slice(0, 5).map((key) => inventoryEntryFor(key));
    const findings = check.run(makeSnapshot({ keys, inventory }));
    expect(findings.map((finding) => finding.keyId).sort()).toEqual(keys.map((key) => key.keyId).sort());
    expect(findings.filter((finding) => finding.status === "pass")).toHaveLength(5);
    expect(findings.filter((finding) => finding.status === "fail")).toHaveLength(3);
  });

  it("errors when the key's aliases could not be read and nothing else names it, and for gaps", () => {
    const key = makeKey({
      errors: [makeCollectionError({ call: "kms:ListAliases", code: "AccessDeniedException" })],
    });
    const findings = check.run(makeSnapshot({ keys: [key], gaps: [makeGap()] }));
    expect(findings.map((finding) => finding.status)).toEqual(["error", "error"]);
    expect(findings[0]?.message).toContain(
      "its aliases are unknown: kms:ListAliases failed (AccessDeniedException)",
    );
  });
});
