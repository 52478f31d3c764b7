/**
 * Azure RBAC role definitions, reduced to what decides key access: the data actions a role grants on keys.
 * Built-in Key Vault roles are known by their tenant-independent GUIDs (research/apis.md §2.4, from the
 * Key Vault RBAC guide), so no lookup is needed for them; any other role is read from ARM and judged by the
 * same matching of its `dataActions`/`notDataActions`.
 */

export interface RoleDefinitionSummary {
  /** Trailing GUID of the role definition id. */
  id: string;
  roleName: string;
  builtIn: boolean;
  dataActions: string[];
  notDataActions: string[];
}

/** Every data action Key Vault defines on keys; a role's patterns are matched against this list. */
export const KEY_DATA_ACTIONS = [
  "Microsoft.KeyVault/vaults/keys/read",
  "Microsoft.KeyVault/vaults/keys/write",
  "Microsoft.KeyVault/vaults/keys/update/action",
  "Microsoft.KeyVault/vaults/keys/create/action",
  "Microsoft.KeyVault/vaults/keys/import/action",
  "Microsoft.KeyVault/vaults/keys/delete",
  "Microsoft.KeyVault/vaults/keys/backup/action",
  "Microsoft.KeyVault/vaults/keys/restore/action",
  "Microsoft.KeyVault/vaults/keys/recover/action",
  "Microsoft.KeyVault/vaults/keys/purge/action",
  "Microsoft.KeyVault/vaults/keys/encrypt/action",
  "Microsoft.KeyVault/vaults/keys/decrypt/action",
  "Microsoft.KeyVault/vaults/keys/wrap/action",
  "Microsoft.KeyVault/vaults/keys/unwrap/action",
  "Microsoft.KeyVault/vaults/keys/sign/action",
  "Microsoft.KeyVault/vaults/keys/verify/action",
  "Microsoft.KeyVault/vaults/keys/release/action",
  "Microsoft.KeyVault/vaults/keys/rotate/action",
  "Microsoft.KeyVault/vaults/keyrotationpolicies/read",
  "Microsoft.KeyVault/vaults/keyrotationpolicies/write",
] as const;

function builtIn(
  id: string,
  roleName: string,
  dataActions: string[],
  notDataActions: string[] = [],
): RoleDefinitionSummary {
  return { id, roleName, builtIn: true, dataActions, notDataActions };
}

const KEYS = "Microsoft.KeyVault/vaults/keys";

/** Built-in roles by GUID. Roles without key data actions (Secrets/Certificates roles, Contributor...) grant no key access. */
export const BUILT_IN_KEY_VAULT_ROLES: Readonly<Record<string, RoleDefinitionSummary>> = Object.fromEntries(
  [
    builtIn("00482a5a-887f-4fb3-b363-3b7fe8e74483", "Key Vault Administrator", [
      "Microsoft.KeyVault/vaults/*",
    ]),
    builtIn("14b46e9e-c2b7-41b4-b07b-48a6ebf60603", "Key Vault Crypto Officer", [
      `${KEYS}/*`,
      "Microsoft.KeyVault/vaults/keyrotationpolicies/*",
    ]),
    builtIn("12338af0-0e69-4776-bea7-57ae8d297424", "Key Vault Crypto User", [
      `${KEYS}/read`,
      `${KEYS}/update/action`,
      `${KEYS}/backup/action`,
      `${KEYS}/encrypt/action`,
      `${KEYS}/decrypt/action`,
      `${KEYS}/wrap/action`,
      `${KEYS}/unwrap/action`,
      `${KEYS}/sign/action`,
      `${KEYS}/verify/action`,
    ]),
    builtIn("e147488a-f6f5-4113-8e2d-b22465e65bf6", "Key Vault Crypto Service Encryption User", [
      `${KEYS}/read`,
      `${KEYS}/wrap/action`,
      `${KEYS}/unwrap/action`,
    ]),
    builtIn("08bbd89e-9f13-488c-ac41-acfcb10c90ab", "Key Vault Crypto Service Release User", [
      `${KEYS}/release/action`,
    ]),
    builtIn("21090545-7ca7-4776-b22c-e363652d74d2", "Key Vault Reader", [
      "Microsoft.KeyVault/vaults/*/read",
      "Microsoft.KeyVault/vaults/secrets/readMetadata/action",
    ]),
    builtIn("a4417e6f-fecd-4de8-b567-7b0420556985", "Key Vault Certificates Officer", []),
    builtIn("db79e9a7-68ee-4b58-9aeb-b90e7c24fcba", "Key Vault Certificate User", []),
    builtIn("b86a8fe4-44ce-4948-aee5-eccb2c155cd7", "Key Vault Secrets Officer", []),
    builtIn("4633458b-17de-408a-b874-0445c86b69e6", "Key Vault Secrets User", []),
    builtIn("a68e7c17-0ab2-4c09-9a58-125dae29748c", "Key Vault Purge Operator", []),
    builtIn("8b54135c-b56d-4d72-a534-26097cfdc8d8", "Key Vault Data Access Administrator", []),
    builtIn("f25e0fa2-a7c8-4377-a976-54943a77a395", "Key Vault Contributor", []),
    builtIn("8e3af657-a8ff-443c-a75c-2fe8c4bcb635", "Owner", []),
    builtIn("b24988ac-6180-48a0-ab88-20f7382dd24c", "Contributor", []),
    builtIn("acdd72a7-3385-48ef-bd42-f606fba81ae7", "Reader", []),
    builtIn("18d7d88d-d35e-4fb5-a5c3-7773c20a72d9", "User Access Administrator", []),
  ].map((role) => [role.id, role]),
);

/** `/subscriptions/…/roleDefinitions/14B46E9E-…` → `14b46e9e-…`; the prefix varies with the scope, the GUID does not. */
export function roleDefinitionGuid(roleDefinitionId: string): string {
  const last =
    roleDefinitionId
      .split("/")
      .filter((segment) => segment.length > 0)
      .at(-1) ?? roleDefinitionId;
  return last.toLowerCase();
}

/** RBAC action patterns: `*` matches any run of characters, case-insensitive (Azure action names are). */
export function rbacActionMatches(pattern: string, action: string): boolean {
  const expression = pattern
    .split("*")
    .map((part) => part.replace(/[.+?^${}()|[\]\\/]/g, "\\$&"))
    .join(".*");
  return new RegExp(`^${expression}$`, "i").test(action);
}

/** The key data actions a role grants: matched by some data action and not removed by a not-data action. */
export function keyDataActionsOf(
  role: Pick<RoleDefinitionSummary, "dataActions" | "notDataActions">,
): string[] {
  return KEY_DATA_ACTIONS.filter(
    (action) =>
      role.dataActions.some((pattern) => rbacActionMatches(pattern, action)) &&
      !role.notDataActions.some((pattern) => rbacActionMatches(pattern, action)),
  );
}
