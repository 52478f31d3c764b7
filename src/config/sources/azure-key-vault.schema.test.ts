import { describe, expect, it } from "vitest";
import {
  AzureKeyVaultSourceSchema,
  configuredVaults,
  normalizeVaultUrl,
  subscriptionsOf,
} from "./azure-key-vault.schema.ts";

const valid = {
  id: "azure-prod",
  type: "azure-key-vault",
  subscriptionId: "00000000-0000-0000-0000-000000000000",
  vaults: ["https://acme-prod.vault.azure.net"],
};

describe("AzureKeyVaultSourceSchema", () => {
  it("accepts the documented example with every optional field", () => {
    const parsed = AzureKeyVaultSourceSchema.parse({
      ...valid,
      logAnalyticsWorkspaceId: "11111111-1111-1111-1111-111111111111",
      endpoints: {
        resourceManager: "https://management.usgovcloudapi.net",
        logAnalytics: "https://api.loganalytics.us/v1",
      },
      requireHsm: true,
    });
    expect(parsed.requireHsm).toBe(true);
  });

  it.each([
    ["an unknown field", { ...valid, clientSecret: "x" }],
    ["a non-GUID subscription", { ...valid, subscriptionId: "prod" }],
    ["an http vault", { ...valid, vaults: ["http://acme.vault.azure.net"] }],
    ["a vault URL with a path", { ...valid, vaults: ["https://acme.vault.azure.net/keys/x"] }],
    ["no vault", { ...valid, vaults: [] }],
    [
      "a duplicate vault",
      { ...valid, vaults: ["https://acme.vault.azure.net", "https://ACME.vault.azure.net:443/"] },
    ],
    [
      "a data-plane override with two vaults",
      {
        ...valid,
        vaults: ["https://a.vault.azure.net", "https://b.vault.azure.net"],
        endpoints: { keyVault: "https://127.0.0.1:8443" },
      },
    ],
    ["an unknown endpoint", { ...valid, endpoints: { graph: "https://graph.microsoft.com" } }],
  ])("rejects %s", (_, config) => {
    expect(AzureKeyVaultSourceSchema.safeParse(config).success).toBe(false);
  });

  it("normalizes vault URLs to scheme and lower-case host", () => {
    expect(normalizeVaultUrl("https://Acme.Vault.Azure.net:443/")).toBe("https://acme.vault.azure.net");
    expect(normalizeVaultUrl("https://127.0.0.1:8443")).toBe("https://127.0.0.1:8443");
  });
});

const SUBSCRIPTION_A = "11111111-1111-4111-8111-111111111111";
const SUBSCRIPTION_B = "22222222-2222-4222-8222-222222222222";

/** The issues zod reports, as `path: message`, so a test names the field a person must fix. */
function issuesOf(input: Record<string, unknown>): string[] {
  const result = AzureKeyVaultSourceSchema.safeParse({ id: "azure", type: "azure-key-vault", ...input });
  return result.success
    ? []
    : result.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`);
}

describe("azure-key-vault source: vaults: all and subscriptions", () => {
  it("accepts vaults: all with subscriptions, or with the one subscriptionId", () => {
    const many = AzureKeyVaultSourceSchema.parse({
      id: "azure",
      type: "azure-key-vault",
      vaults: "all",
      subscriptions: [SUBSCRIPTION_A, SUBSCRIPTION_B],
      exclude: ["kv-sandbox-*", `/subscriptions/${SUBSCRIPTION_B}/resourceGroups/rg-test`],
    });
    expect(subscriptionsOf(many)).toEqual([SUBSCRIPTION_A, SUBSCRIPTION_B]);
    expect(configuredVaults(many)).toEqual([]);
    const one = AzureKeyVaultSourceSchema.parse({
      id: "azure",
      type: "azure-key-vault",
      vaults: "all",
      subscriptionId: SUBSCRIPTION_A,
    });
    expect(subscriptionsOf(one)).toEqual([SUBSCRIPTION_A]);
  });

  it("keeps listed vaults working exactly as before (subscriptionId, normalized URLs)", () => {
    const listed = AzureKeyVaultSourceSchema.parse({
      id: "azure",
      type: "azure-key-vault",
      subscriptionId: SUBSCRIPTION_A,
      vaults: ["https://Acme.vault.azure.net/"],
    });
    expect(configuredVaults(listed)).toEqual(["https://acme.vault.azure.net"]);
    expect(subscriptionsOf(listed)).toEqual([SUBSCRIPTION_A]);
  });

  it("names the field of each contradictory combination", () => {
    expect(issuesOf({ vaults: "all" })).toEqual([
      "subscriptions: vaults: all needs the subscriptions to discover: list them here (or give subscriptionId)",
    ]);
    expect(
      issuesOf({ vaults: "all", subscriptionId: SUBSCRIPTION_A, subscriptions: [SUBSCRIPTION_B] }),
    ).toEqual(["subscriptionId: give either subscriptionId or subscriptions with vaults: all, not both"]);
    expect(
      issuesOf({
        vaults: "all",
        subscriptions: [SUBSCRIPTION_A],
        endpoints: { keyVault: "https://127.0.0.1:1" },
      }),
    ).toEqual([expect.stringMatching(/^endpoints\.keyVault: redirects one vault's data plane/)]);
    expect(issuesOf({ vaults: ["https://a.vault.azure.net"] })).toEqual([
      "subscriptionId: is required with a list of vaults (the subscription they live in)",
    ]);
    expect(
      issuesOf({
        vaults: ["https://a.vault.azure.net"],
        subscriptionId: SUBSCRIPTION_A,
        subscriptions: [SUBSCRIPTION_A],
        exclude: ["kv-*"],
      }),
    ).toEqual([
      "subscriptions: is only used with vaults: all; listed vaults are found in subscriptionId",
      "exclude: is only used with vaults: all; listed vaults are found in subscriptionId",
    ]);
  });

  it("refuses a repeated subscription, a malformed one and a filter of no known form", () => {
    expect(
      issuesOf({ vaults: "all", subscriptions: [SUBSCRIPTION_A, SUBSCRIPTION_A.toUpperCase()] }),
    ).toEqual(["subscriptions: lists a subscription twice"]);
    expect(issuesOf({ vaults: "all", subscriptions: ["prod"] })).toEqual([
      "subscriptions.0: must be a subscription id (a GUID)",
    ]);
    expect(issuesOf({ vaults: "all", subscriptions: [SUBSCRIPTION_A], include: ["rg/prod"] })).toEqual([
      "include.0: must be a vault name (with * wildcards), a vault URL or /subscriptions/<id>/resourceGroups/<name>",
    ]);
    expect(issuesOf({ vaults: "every", subscriptions: [SUBSCRIPTION_A] })).toHaveLength(1);
  });
});
