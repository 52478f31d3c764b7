import { describe, expect, it } from "vitest";
import type { AccessGrant, KeyRecord } from "../../model/key.ts";
import type { SourceGap } from "../../model/snapshot.ts";
import {
  makeAccess,
  makeGap,
  makeGrant,
  makeKey,
  makeKeys,
  makeSnapshot,
  notCollected,
} from "../../../test/factories/index.ts";
import { check, problemsOf } from "./azure-access-too-broad.check.ts";

const SOURCE = "azure-prod";
const VAULT = "https://kv.vault.azure.net";

function grant(overrides: Partial<AccessGrant>): AccessGrant {
  return makeGrant({
    principal: "00000000-0000-0000-0000-0000000000a1",
    principalKind: "service-principal",
    actions: ["get", "wrapkey", "unwrapkey"],
    via: "access-policy",
    reference: "accessPolicies[0]",
    ...overrides,
  });
}

function azureKey(grants: AccessGrant[], overrides: Partial<KeyRecord> = {}): KeyRecord {
  return makeKey({
    source: SOURCE,
    sourceType: "azure-key-vault",
    location: VAULT,
    access: makeAccess(grants),
    ...overrides,
  });
}

function run(keys: KeyRecord[], gaps: SourceGap[] = []) {
  return check.run(makeSnapshot({ keys, gaps, accounts: { [SOURCE]: "sub" } }));
}

describe("azure-access-too-broad", () => {
  it("has nothing to judge without Azure keys", () => {
    expect(check.run(makeSnapshot())).toEqual([]);
    expect(check.run(makeSnapshot({ keys: [makeKey()] }))).toEqual([]);
  });

  it("passes least-privilege service principals, RBAC workload roles, and leaves human users to the generic check", () => {
    const findings = run([
      azureKey([
        grant({}),
        grant({
          via: "rbac-role",
          actions: ["Microsoft.KeyVault/vaults/keys/read", "Microsoft.KeyVault/vaults/keys/unwrap/action"],
          reference: "Key Vault Crypto Service Encryption User (/x)",
        }),
        grant({
          principalKind: "human-user",
          via: "rbac-role",
          actions: ["Microsoft.KeyVault/vaults/keys/*"],
        }),
        grant({ principalKind: "group", actions: ["Microsoft.KeyVault/vaults/keys/read"], via: "rbac-role" }),
      ]),
    ]);
    expect(findings).toEqual([
      expect.objectContaining({
        status: "pass",
        message: "4 grants reviewed: no all/purge access policy, no broad group or unidentified access",
      }),
    ]);
  });

  it("fails `all`/`purge` access policies whoever holds them, and groups that can purge", () => {
    const [finding] = run([
      azureKey([
        grant({ actions: ["all"], principalKind: "unknown" }),
        grant({ actions: ["get", "purge"], principalKind: "human-user", reference: "accessPolicies[1]" }),
        grant({
          principalKind: "group",
          via: "rbac-role",
          actions: ["Microsoft.KeyVault/vaults/keys/purge/action"],
          reference: "Key Vault Crypto Officer (/a)",
        }),
      ]),
    ]);
    expect(finding).toMatchObject({ status: "fail", severity: "high" });
    expect(finding?.message).toContain(
      'access policy grants all to 00000000-0000-0000-0000-0000000000a1 (all via access-policy "accessPolicies[0]")',
    );
    expect(finding?.message).toContain("access policy grants purge to");
    expect(finding?.message).toContain("can delete or purge the key");
  });

  it("warns (medium) on crypto use by groups or by principals of unknown type", () => {
    const [finding] = run([
      azureKey([
        grant({ principalKind: "unknown", actions: ["get", "decrypt"] }),
        grant({
          principalKind: "group",
          via: "rbac-role",
          actions: ["Microsoft.KeyVault/vaults/keys/decrypt/action"],
        }),
      ]),
    ]);
    expect(finding).toMatchObject({ status: "warn", severity: "medium" });
    expect(finding?.message).toContain("confirm it is a managed identity or service principal");
    expect(finding?.message).toContain("grant a managed identity instead");
  });

  it("judges many keys, one finding each, and skips deny grants", () => {
    const keys = [
      ...makeKeys(3, {
        source: SOURCE,
        sourceType: "azure-key-vault",
        location: VAULT,
        access: makeAccess([grant({})]),
      }),
      azureKey([grant({ effect: "deny", actions: ["all"] })]),
    ];
    expect(run(keys).map((finding) => finding.status)).toEqual(["pass", "pass", "pass", "pass"]);
    expect(problemsOf(grant({ effect: "deny", actions: ["all"] }))).toEqual([]);
  });

  it("answers error with the cause when access could not be read, and for vaults that could not be collected", () => {
    const key = azureKey([], {
      access: notCollected("arm:RoleAssignments.listForScope", {
        code: "AuthorizationFailed",
        message: "no read",
      }),
    });
    const gap = makeGap({
      source: SOURCE,
      location: "https://kv-dark.vault.azure.net",
      error: {
        call: "keyvault:listPropertiesOfKeys",
        code: "ForbiddenByFirewall",
        message: "blocked",
        retryable: false,
      },
    });
    const findings = run([key], [gap]);
    expect(findings.map((finding) => finding.status)).toEqual(["error", "error"]);
    expect(findings[0]?.message).toBe(
      "access unknown: arm:RoleAssignments.listForScope failed (AuthorizationFailed): no read",
    );
    expect(findings[1]?.message).toContain("ForbiddenByFirewall");
  });

  it("is not applicable to keys Key Vault manages for certificates", () => {
    const [finding] = run([azureKey([grant({ actions: ["all"] })], { manager: "provider" })]);
    expect(finding?.status).toBe("not-applicable");
  });
});
