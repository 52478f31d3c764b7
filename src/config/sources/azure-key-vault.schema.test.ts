import { describe, expect, it } from "vitest";
import { AzureKeyVaultSourceSchema, normalizeVaultUrl } from "./azure-key-vault.schema.ts";

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
