import { describe, expect, it } from "vitest";
import { makeKey } from "../../test/factories/index.ts";
import type { InventoryEntry } from "../config/config.schema.ts";
import { keyReference, matchInventory } from "./match-inventory.ts";

function entry(match: string, overrides: Partial<InventoryEntry> = {}): InventoryEntry {
  return {
    source: "aws-prod",
    match,
    owner: "payments-team",
    usage: "data-at-rest",
    systems: ["orders-db"],
    ...overrides,
  };
}

describe("matchInventory", () => {
  const key = makeKey({
    keyId: "1111aaaa-0000-4000-8000-000000000001",
    aliases: ["alias/orders"],
    arn: "arn:aws:kms:eu-west-1:111122223333:key/1111aaaa-0000-4000-8000-000000000001",
  });

  it("matches an entry by key id, ARN, alias or alias ARN, within its own source only", () => {
    for (const match of [
      key.keyId,
      key.arn,
      "alias/orders",
      "arn:aws:kms:eu-west-1:111122223333:alias/orders",
    ]) {
      const result = matchInventory([entry(match)], [key]);
      expect(result.entryByKey.get(keyReference(key))?.match, match).toBe(match);
      expect(result.unmatchedEntries).toEqual([]);
    }
    const elsewhere = entry("alias/orders", { source: "aws-other" });
    const result = matchInventory([elsewhere], [key]);
    expect(result.entryByKey.size).toBe(0);
    expect(result.unmatchedEntries).toEqual([elsewhere]);
  });

  it("matches <account>:alias/... and <account>:<key-id> only in that account (organization sources)", () => {
    const other = makeKey({
      keyId: "2222bbbb-0000-4000-8000-000000000002",
      aliases: ["alias/orders"],
      arn: "arn:aws:kms:eu-west-1:444455556666:key/2222bbbb-0000-4000-8000-000000000002",
    });
    const qualified = entry("444455556666:alias/orders");
    const byId = entry(`111122223333:${key.keyId}`, { owner: "orders-team" });
    const result = matchInventory([qualified, byId], [key, other]);
    expect(result.entryByKey.get(keyReference(other))).toBe(qualified);
    expect(result.entryByKey.get(keyReference(key))).toBe(byId);
    expect(result.duplicateEntries.size).toBe(0);
    expect(matchInventory([entry("444455556666:alias/nothing")], [key, other]).unmatchedEntries).toHaveLength(
      1,
    );
    // A plain alias is not qualified: it documents the alias in every account of the source.
    const plain = entry("alias/orders");
    const both = matchInventory([plain], [key, other]);
    expect(both.entryByKey.get(keyReference(key))).toBe(plain);
    expect(both.entryByKey.get(keyReference(other))).toBe(plain);
  });

  it("takes the first entry in config order and reports every entry naming the same key", () => {
    const byAlias = entry("alias/orders", { owner: "first" });
    const byId = entry(key.keyId, { owner: "second" });
    const result = matchInventory([byAlias, byId], [key]);
    expect(result.entryByKey.get(keyReference(key))).toBe(byAlias);
    expect(result.duplicateEntries.get(keyReference(key))).toEqual([byAlias, byId]);
    // The other way round, the id entry comes first.
    expect(matchInventory([byId, byAlias], [key]).entryByKey.get(keyReference(key))).toBe(byId);
  });

  it("is exact: case and partial names do not match", () => {
    const result = matchInventory([entry("ALIAS/ORDERS"), entry("alias/order")], [key]);
    expect(result.entryByKey.size).toBe(0);
    expect(result.unmatchedEntries).toHaveLength(2);
  });

  it("matches an estate of 20,000 keys against 20,000 entries, each key to its own entry", () => {
    const keys = Array.from({ length: 20_000 }, (_, index) =>
      makeKey({ keyId: `key-${index}`, aliases: [`alias/app-${index}`] }),
    );
    const entries = keys.map((item, index) => entry(index % 2 === 0 ? item.keyId : `alias/app-${index}`));
    entries.push(entry("alias/gone"));
    const result = matchInventory(entries, keys);
    expect(result.entryByKey.size).toBe(20_000);
    expect(result.entryByKey.get(keyReference(keys[12_345] ?? key))?.match).toBe("alias/app-12345");
    expect(result.duplicateEntries.size).toBe(0);
    expect(result.unmatchedEntries.map((item) => item.match)).toEqual(["alias/gone"]);
  });
});
