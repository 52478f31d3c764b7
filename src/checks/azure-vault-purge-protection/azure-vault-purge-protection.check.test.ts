import { describe, expect, it } from "vitest";
import type { KeyRecord, VaultProtection } from "../../model/key.ts";
import {
  collected,
  makeGap,
  makeKey,
  makeLocation,
  makeLoggingStatus,
  makeSource,
  makeSnapshot,
  notCollected,
} from "../../../test/factories/index.ts";
import { check } from "./azure-vault-purge-protection.check.ts";

const SOURCE = "azure-prod";
const VAULT = "https://kv-payments.vault.azure.net";

function protection(overrides: Partial<VaultProtection> = {}): VaultProtection {
  return {
    vault: "kv-payments",
    softDelete: true,
    softDeleteRetentionDays: 90,
    purgeProtection: true,
    ...overrides,
  };
}

function azureKey(location: string, vaultProtection?: KeyRecord["vaultProtection"]): KeyRecord {
  return makeKey({
    source: SOURCE,
    sourceType: "azure-key-vault",
    location,
    keyId: `${location}/keys/k`,
    ...(vaultProtection === undefined ? {} : { vaultProtection }),
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
    const key = azureKey(VAULT, collected(protection(), "arm:Vaults.get"));
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
    const noPurge = azureKey(VAULT, collected(protection({ purgeProtection: false, vault: "kv-legacy" })));
    const noSoft = azureKey(
      "https://kv-old.vault.azure.net",
      collected(protection({ softDelete: false, purgeProtection: false, vault: "kv-old" })),
    );
    const findings = check.run(snapshotOf([noPurge, noSoft]));
    expect(findings.map((finding) => [finding.status, finding.severity])).toEqual([
      ["fail", "high"],
      ["fail", "high"],
    ]);
    expect(findings[0]?.message).toContain("vault kv-legacy has purge protection disabled");
    expect(findings[1]?.message).toBe("vault kv-old has soft delete disabled: a deleted key is gone at once");
  });

  it("judges many vaults, one verdict each", () => {
    const vaults = Array.from({ length: 4 }, (_, index) => `https://kv-${index}.vault.azure.net`);
    const keys = vaults.map((vault, index) =>
      azureKey(vault, collected(protection({ purgeProtection: index % 2 === 0 }))),
    );
    const findings = check.run(snapshotOf(keys));
    expect(findings.map((finding) => [finding.location, finding.status])).toEqual([
      [vaults[0], "pass"],
      [vaults[1], "fail"],
      [vaults[2], "pass"],
      [vaults[3], "fail"],
    ]);
  });

  it("warns, never fails, when Resource Manager does not report soft delete", () => {
    const { softDelete: _omitted, ...unreported } = protection();
    const findings = check.run(snapshotOf([azureKey(VAULT, collected(unreported))]));
    expect(findings).toEqual([
      expect.objectContaining({
        status: "warn",
        severity: "high",
        message:
          "Azure Resource Manager did not report soft delete (enableSoftDelete) for vault kv-payments; confirm it is enabled in the portal (Key Vault > Properties)",
      }),
    ]);
  });

  it("still fails a vault whose purge protection is off even when soft delete is unreported", () => {
    const { softDelete: _omitted, ...unreported } = protection({ purgeProtection: false });
    const findings = check.run(snapshotOf([azureKey(VAULT, collected(unreported))]));
    expect(findings.map((finding) => finding.status)).toEqual(["fail"]);
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
    const key = azureKey(
      VAULT,
      notCollected("arm:Vaults.get", { code: "AuthorizationFailed", message: "no read on vault" }),
    );
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
    const findings = check.run(snapshotOf([azureKey(VAULT)]));
    expect(findings[0]).toMatchObject({
      status: "error",
      message: "vault properties were not recorded for this vault's keys",
    });
  });
});
