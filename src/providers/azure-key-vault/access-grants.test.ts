import { describe, expect, it } from "vitest";
import type { VaultAuthorizationFacts } from "./access-grants.ts";
import { grantsForKey, principalKindOf, scopeCovers } from "./access-grants.ts";
import {
  BUILT_IN_KEY_VAULT_ROLES,
  keyDataActionsOf,
  rbacActionMatches,
  roleDefinitionGuid,
} from "./role-definitions.ts";

const vault = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv";
const roles = new Map(Object.entries(BUILT_IN_KEY_VAULT_ROLES));

function assignment(scope: string, guid: string, principalType = "User", principalId = "p1") {
  return {
    id: `${scope}/providers/Microsoft.Authorization/roleAssignments/${principalId}-${guid}`,
    name: `${principalId}-${guid}`,
    scope,
    roleDefinitionId: `/subscriptions/s1/providers/Microsoft.Authorization/roleDefinitions/${guid.toUpperCase()}`,
    principalId,
    principalType,
  };
}

function facts(overrides: Partial<VaultAuthorizationFacts>): VaultAuthorizationFacts {
  return {
    vaultResourceId: vault,
    rbacAuthorization: true,
    accessPolicies: [],
    roleAssignments: [],
    ...overrides,
  };
}

describe("role definitions", () => {
  it("matches on the trailing GUID whatever the prefix and case", () => {
    expect(
      roleDefinitionGuid(
        "/providers/Microsoft.Authorization/roleDefinitions/14B46E9E-C2B7-41B4-B07B-48A6EBF60603",
      ),
    ).toBe("14b46e9e-c2b7-41b4-b07b-48a6ebf60603");
  });

  it("expands wildcard data actions against the key actions and removes not-data actions", () => {
    expect(
      rbacActionMatches("Microsoft.KeyVault/vaults/*", "microsoft.keyvault/vaults/keys/purge/action"),
    ).toBe(true);
    expect(
      keyDataActionsOf({
        dataActions: ["Microsoft.KeyVault/vaults/keys/*"],
        notDataActions: ["*/purge/action"],
      }),
    ).not.toContain("Microsoft.KeyVault/vaults/keys/purge/action");
    expect(
      keyDataActionsOf(
        BUILT_IN_KEY_VAULT_ROLES["e147488a-f6f5-4113-8e2d-b22465e65bf6"] ?? {
          dataActions: [],
          notDataActions: [],
        },
      ),
    ).toEqual([
      "Microsoft.KeyVault/vaults/keys/read",
      "Microsoft.KeyVault/vaults/keys/wrap/action",
      "Microsoft.KeyVault/vaults/keys/unwrap/action",
    ]);
  });
});

describe("grantsForKey", () => {
  it("has nothing to grant when nothing is assigned", () => {
    expect(grantsForKey(facts({}), "k", roles)).toEqual({ grants: [], unresolvedRoles: [] });
  });

  it("keeps assignments at, above and on the key, not on siblings, and drops roles without key data actions", () => {
    const result = grantsForKey(
      facts({
        roleAssignments: [
          assignment(vault, "14b46e9e-c2b7-41b4-b07b-48a6ebf60603"),
          assignment("/", "00482a5a-887f-4fb3-b363-3b7fe8e74483", "Group", "g1"),
          assignment(`${vault}/keys/k`, "12338af0-0e69-4776-bea7-57ae8d297424", "ServicePrincipal", "app"),
          assignment(`${vault}/keys/k2`, "12338af0-0e69-4776-bea7-57ae8d297424", "ServicePrincipal", "other"),
          assignment(`${vault}-old`, "14b46e9e-c2b7-41b4-b07b-48a6ebf60603", "User", "p9"),
          assignment("/subscriptions/s1", "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"),
        ],
      }),
      "k",
      roles,
    );
    expect(
      result.grants.map((grant) => [grant.principal, grant.principalKind, grant.reference.split(" (")[0]]),
    ).toEqual([
      ["p1", "human-user", "Key Vault Crypto Officer"],
      ["g1", "group", "Key Vault Administrator"],
      ["app", "service-principal", "Key Vault Crypto User"],
    ]);
    expect(result.grants.every((grant) => grant.via === "rbac-role" && grant.conditions === undefined)).toBe(
      true,
    );
  });

  it("keeps an unresolvable role with its GUID instead of dropping it", () => {
    const result = grantsForKey(
      facts({ roleAssignments: [assignment(vault, "0000aaaa-0000-0000-0000-000000000000")] }),
      "k",
      roles,
    );
    expect(result.unresolvedRoles).toEqual(["0000aaaa-0000-0000-0000-000000000000"]);
    expect(result.grants[0]?.actions).toEqual(["role:0000aaaa-0000-0000-0000-000000000000"]);
  });

  it("carries ABAC conditions only when there is one", () => {
    const conditional = {
      ...assignment(vault, "12338af0-0e69-4776-bea7-57ae8d297424"),
      condition: "@Resource[...] StringEquals 'k'",
      conditionVersion: "2.0",
    };
    expect(grantsForKey(facts({ roleAssignments: [conditional] }), "k", roles).grants[0]?.conditions).toEqual(
      {
        condition: "@Resource[...] StringEquals 'k'",
        conditionVersion: "2.0",
      },
    );
  });

  it("uses access policies (lower-cased, principal type borrowed from a role assignment) only in access-policy mode", () => {
    const vaultFacts = facts({
      rbacAuthorization: false,
      accessPolicies: [
        { objectId: "P1", keyPermissions: ["All"] },
        { objectId: "app", applicationId: "client", keyPermissions: ["Get", "UnwrapKey"] },
        { objectId: "secrets-only", keyPermissions: [] },
      ],
      roleAssignments: [assignment(vault, "21090545-7ca7-4776-b22c-e363652d74d2", "User", "p1")],
    });
    const { grants } = grantsForKey(vaultFacts, "k", roles);
    expect(grants).toHaveLength(2);
    expect(grants[0]).toMatchObject({
      principal: "P1",
      principalKind: "human-user",
      actions: ["all"],
      via: "access-policy",
    });
    expect(grants[1]).toMatchObject({
      principalKind: "unknown",
      actions: ["get", "unwrapkey"],
      conditions: { applicationId: "client" },
    });
    expect(
      grantsForKey({ ...vaultFacts, rbacAuthorization: true }, "k", roles).grants.every(
        (grant) => grant.via === "rbac-role",
      ),
    ).toBe(true);
  });

  it("maps principal types and scope ancestry", () => {
    expect(
      ["User", "Group", "ForeignGroup", "ServicePrincipal", "Device", undefined].map(principalKindOf),
    ).toEqual(["human-user", "group", "group", "service-principal", "unknown", "unknown"]);
    expect(scopeCovers("/subscriptions/S1/", `${vault}/keys/k`)).toBe(true);
    expect(scopeCovers(`${vault}/keys/k`, `${vault}/keys/k2`)).toBe(false);
  });
});
