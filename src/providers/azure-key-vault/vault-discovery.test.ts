import { describe, expect, it } from "vitest";
import { exclusionOf, matchesFilter } from "./vault-discovery.ts";

const SUBSCRIPTION = "11111111-1111-4111-8111-111111111111";
const vault = {
  url: "https://kv-prod-payments.vault.azure.net",
  name: "kv-prod-payments",
  resourceId: `/subscriptions/${SUBSCRIPTION}/resourceGroups/RG-Prod/providers/Microsoft.KeyVault/vaults/kv-prod-payments`,
};

describe("vaults: all filters", () => {
  it("matches a vault by name with wildcards, by URL in any spelling, and by resource group", () => {
    expect(matchesFilter("kv-prod-*", vault)).toBe(true);
    expect(matchesFilter("KV-*-PAYMENTS", vault)).toBe(true);
    expect(matchesFilter("kv-prod", vault)).toBe(false);
    expect(matchesFilter("https://KV-prod-payments.vault.azure.net:443/", vault)).toBe(true);
    expect(matchesFilter(`/subscriptions/${SUBSCRIPTION}/resourceGroups/rg-prod/`, vault)).toBe(true);
    // A resource group whose name starts like the vault's is another group.
    expect(matchesFilter(`/subscriptions/${SUBSCRIPTION}/resourceGroups/rg-pr`, vault)).toBe(false);
  });

  it("says which filter left a vault out, include before exclude", () => {
    expect(exclusionOf({}, vault)).toBeUndefined();
    expect(exclusionOf({ include: ["kv-dev-*"] }, vault)).toBe("matches no include entry (kv-dev-*)");
    expect(exclusionOf({ include: ["kv-*"], exclude: ["*-payments"] }, vault)).toBe(
      "matches exclude entry *-payments",
    );
    expect(exclusionOf({ include: ["kv-*"], exclude: ["kv-dev-*"] }, vault)).toBeUndefined();
  });
});
