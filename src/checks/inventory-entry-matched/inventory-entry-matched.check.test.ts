import { describe, expect, it } from "vitest";
import {
  inventoryEntryFor,
  makeCollectionError,
  makeGap,
  makeInventoryEntry,
  makeKey,
  makeSnapshot,
  makeSourceGap,
} from "../../../test/factories/index.ts";
import { check } from "./inventory-entry-matched.check.ts";

describe("inventory-entry-matched", () => {
  it("has nothing to judge without an inventory", () => {
    expect(check.run(makeSnapshot({ keys: [makeKey()] }))).toEqual([]);
  });

  it("passes an entry that names a key, as an inventory-level finding", () => {
    const key = makeKey();
    const findings = check.run(
      makeSnapshot({ keys: [key], inventory: [inventoryEntryFor(key, { owner: "ana" })] }),
    );
    expect(findings).toEqual([
      {
        checkId: "inventory-entry-matched",
        status: "pass",
        severity: "info",
        source: "aws-prod",
        resource: "inventory.json#keys[0]",
        message: `entry "${key.keyId}" (owner ana) matches ${key.arn}`,
        evidence: ["inventory.json"],
      },
    ]);
  });

  it("lists every key an entry names (one alias in two regions)", () => {
    const keys = [
      makeKey({ aliases: ["alias/app"] }),
      makeKey({ location: "us-east-1", aliases: ["alias/app"] }),
    ];
    const [finding] = check.run(
      makeSnapshot({ keys, inventory: [makeInventoryEntry({ match: "alias/app" })] }),
    );
    expect(finding?.message).toContain(`${keys[0]?.arn}, ${keys[1]?.arn}`);
  });

  it("fails (low) an entry that matches no key", () => {
    const findings = check.run(
      makeSnapshot({
        keys: [makeKey()],
        inventory: [makeInventoryEntry({ match: "alias/retired", owner: "bo" })],
      }),
    );
    expect(findings).toEqual([
      expect.objectContaining({
        status: "fail",
        severity: "low",
        resource: "inventory.json#keys[0]",
        message: 'entry "alias/retired" (owner bo) matches no key in aws-prod',
      }),
    ]);
  });

  it("gives every entry exactly one finding, in inventory order", () => {
    const keys = [makeKey({ aliases: ["alias/a"] }), makeKey({ source: "aws-dr", aliases: ["alias/b"] })];
    const inventory = [
      makeInventoryEntry({ match: "alias/a" }),
      makeInventoryEntry({ match: "alias/missing" }),
      makeInventoryEntry({ source: "aws-dr", match: "alias/b" }),
      makeInventoryEntry({ source: "aws-dr", match: "alias/a" }),
    ];
    const findings = check.run(makeSnapshot({ keys, inventory }));
    expect(findings.map((finding) => `${finding.resource}:${finding.status}`)).toEqual([
      "inventory.json#keys[0]:pass",
      "inventory.json#keys[1]:fail",
      "inventory.json#keys[2]:pass",
      "inventory.json#keys[3]:fail",
    ]);
  });

  it("errors instead of failing when the entry's source was not fully collected", () => {
    const inventory = [
      makeInventoryEntry({ match: "alias/in-failed-region" }),
      makeInventoryEntry({ source: "aws-dr", match: "alias/x" }),
      makeInventoryEntry({ source: "aws-gone", match: "alias/y" }),
      makeInventoryEntry({ source: "aws-aliases", match: "alias/z" }),
    ];
    const findings = check.run(
      makeSnapshot({
        keys: [
          makeKey(),
          makeKey({
            source: "aws-aliases",
            errors: [makeCollectionError({ call: "kms:ListAliases", code: "ThrottlingException" })],
          }),
        ],
        gaps: [makeGap({ location: "us-east-1" }), makeSourceGap({ source: "aws-dr" })],
        inventory,
      }),
    );
    expect(findings.map((finding) => finding.status)).toEqual(["error", "error", "error", "error"]);
    expect(findings[0]?.message).toContain("aws-prod was not fully collected: kms:ListKeys failed");
    expect(findings[2]?.message).toContain("source aws-gone is not in the snapshot");
    expect(findings[3]?.message).toContain("kms:ListAliases failed (ThrottlingException)");
    expect(findings[0]?.evidence).toEqual(["inventory.json", "gaps.json"]);
  });

  it("still passes a matched entry when another part of its source failed", () => {
    const key = makeKey();
    const findings = check.run(
      makeSnapshot({ keys: [key], gaps: [makeGap()], inventory: [inventoryEntryFor(key)] }),
    );
    expect(findings[0]?.status).toBe("pass");
  });
});
