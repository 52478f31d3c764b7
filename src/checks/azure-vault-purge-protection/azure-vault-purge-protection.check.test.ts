import { describe, expect, it } from "vitest";
import type { KeyRecord } from "../../model/key.ts";
import {
  collected,
  makeGap,
  makeKey,
  makeLocation,
  makeLoggingStatus,
  makeSink,
  makeSource,
  makeSnapshot,
  notCollected,
} from "../../../test/factories/index.ts";
import { check } from "./azure-vault-purge-protection.check.ts";

const SOURCE = "azure-prod";
const VAULT = "https://kv-payments.vault.azure.net";

function vaultProperties(overrides: Record<string, unknown> = {}) {
  return {
    resourceId: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv-payments",
    name: "kv-payments",
    resourceGroup: "rg",
    rbacAuthorization: true,
    softDeleteEnabled: true,
    softDeleteRetentionInDays: 90,
    purgeProtectionEnabled: true,
    ...overrides,
  };
}

function azureKey(location: string, raw: KeyRecord["raw"]): KeyRecord {
  return makeKey({
    source: SOURCE,
    sourceType: "azure-key-vault",
    location,
    keyId: `${location}/keys/k`,
    raw,
  });
}

function snapshotOf(keys: KeyRecord[], extra: Parameters<typeof makeSnapshot>[0] = {}) {
  return makeSnapshot({ keys, accounts: { [SOURCE]: "sub" }, ...extra });
}

describe("azure-vault-purge-protection", () => {
  it("has nothing to judge without Azure vaults", () => {
    expect(check.run(makeSnapshot())).toEqual([]);
    expect(check.run(makeSnapshot({ keys: [makeKey()] }))).toEqual([]);
  });

  it("passes a vault with soft delete and purge protection", () => {
    const key = azureKey(VAULT, { "arm:vaultProperties": collected(vaultProperties(), "arm:Vaults.get") });
    const findings = check.run(snapshotOf([key]));
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({
      checkId: "azure-vault-purge-protection",
      status: "pass",
      location: VAULT,
      message:
        "vault kv-payments has soft delete and purge protection enabled (soft-delete retention 90 days)",
      evidence: [
        "sources/azure-prod/kv-payments.vault.azure.net/keys/kv-payments.vault.azure.net_keys_k/configuration.json",
      ],
    });
  });

  it("fails (high) a vault without purge protection, and one without soft delete", () => {
    const noPurge = azureKey(VAULT, {
      "arm:vaultProperties": collected(vaultProperties({ purgeProtectionEnabled: false, name: "kv-legacy" })),
    });
    const noSoft = azureKey("https://kv-old.vault.azure.net", {
      "arm:vaultProperties": collected(
        vaultProperties({ softDeleteEnabled: false, purgeProtectionEnabled: false, name: "kv-old" }),
      ),
    });
    const findings = check.run(snapshotOf([noPurge, noSoft]));
    expect(findings.map((finding) => [finding.status, finding.severity])).toEqual([
      ["fail", "high"],
      ["fail", "high"],
    ]);
    expect(findings[0]?.message).toContain("vault kv-legacy has purge protection disabled");
    expect(findings[1]?.message).toBe("vault kv-old has soft delete disabled: a deleted key is gone at once");
  });

  it("judges many vaults, one verdict each, reading a keyless vault from its logging detail", () => {
    const vaults = Array.from({ length: 5 }, (_, index) => `https://kv-${index}.vault.azure.net`);
    const keys = vaults.slice(0, 4).map((vault, index) =>
      azureKey(vault, {
        "arm:vaultProperties": collected(vaultProperties({ purgeProtectionEnabled: index % 2 === 0 })),
      }),
    );
    const keyless = vaults[4] as string;
    const logging = [
      makeLoggingStatus({
        source: SOURCE,
        location: keyless,
        sinks: [
          makeSink({
            kind: "azure-diagnostic-setting",
            detail: { vault: vaultProperties({ purgeProtectionEnabled: false }) },
          }),
        ],
      }),
    ];
    const findings = check.run(snapshotOf(keys, { logging }));
    expect(findings.map((finding) => [finding.location, finding.status])).toEqual([
      [vaults[0], "pass"],
      [vaults[1], "fail"],
      [vaults[2], "pass"],
      [vaults[3], "fail"],
      [keyless, "fail"],
    ]);
  });

  it("is not applicable to an empty vault whose properties are unknown", () => {
    const location = makeLocation({
      source: SOURCE,
      location: VAULT,
      logging: makeLoggingStatus({ source: SOURCE, location: VAULT, sinks: [] }),
    });
    const findings = check.run(
      makeSnapshot({
        sources: [makeSource({ source: SOURCE, type: "azure-key-vault", locations: [location] })],
      }),
    );
    expect(findings).toEqual([
      expect.objectContaining({
        status: "not-applicable",
        severity: "info",
        message: "the vault holds no keys, so there is no key to lose to a purge",
      }),
    ]);
  });

  it("answers error with the cause when vault properties or the vault itself could not be collected", () => {
    const key = azureKey(VAULT, {
      "arm:vaultProperties": notCollected("arm:Vaults.get", {
        code: "AuthorizationFailed",
        message: "no read on vault",
      }),
    });
    const gap = makeGap({
      source: SOURCE,
      location: "https://kv-dark.vault.azure.net",
      error: {
        call: "keyvault:listPropertiesOfKeys",
        code: "ECONNREFUSED",
        message: "connect ECONNREFUSED",
        retryable: true,
      },
    });
    const findings = check.run(snapshotOf([key], { gaps: [gap] }));
    expect(findings.map((finding) => finding.status)).toEqual(["error", "error"]);
    expect(findings[0]?.message).toBe(
      "vault properties unknown: arm:Vaults.get failed (AuthorizationFailed): no read on vault",
    );
    expect(findings[1]?.message).toContain("keyvault:listPropertiesOfKeys failed (ECONNREFUSED)");
  });

  it("errors when a vault's keys carry no vault properties at all", () => {
    const findings = check.run(snapshotOf([azureKey(VAULT, {})]));
    expect(findings[0]).toMatchObject({
      status: "error",
      message: "vault properties were not recorded for this vault's keys",
    });
  });
});
