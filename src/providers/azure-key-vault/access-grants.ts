import type { AccessGrant, PrincipalKind } from "../../model/key.ts";
import type { RoleDefinitionSummary } from "./role-definitions.ts";
import { keyDataActionsOf, roleDefinitionGuid } from "./role-definitions.ts";

/**
 * Who may use a key, from the two mechanisms Key Vault has. Which one is in force is a vault property:
 * with `enableRbacAuthorization` the data plane honours role assignments only and ignores access policies
 * (even when the array is still there); without it, access policies only. Grants list the mechanism in force,
 * so a stale access policy on an RBAC vault is never reported as access someone has; the raw documents keep both.
 */

export interface RoleAssignmentFact {
  /** Full ARM id of the assignment. */
  id: string;
  name: string;
  /** The scope the assignment was made at: management group, subscription, resource group, vault or key. */
  scope: string;
  roleDefinitionId: string;
  principalId: string;
  principalType?: string;
  condition?: string;
  conditionVersion?: string;
}

export interface AccessPolicyFact {
  tenantId?: string;
  objectId: string;
  applicationId?: string;
  keyPermissions: string[];
}

export interface VaultAuthorizationFacts {
  /** ARM id of the vault, e.g. `/subscriptions/…/providers/Microsoft.KeyVault/vaults/kv`. */
  vaultResourceId: string;
  rbacAuthorization: boolean;
  accessPolicies: AccessPolicyFact[];
  roleAssignments: RoleAssignmentFact[];
}

/** `User` → human-user…; a service principal may be a managed identity, which only Microsoft Graph could tell. */
export function principalKindOf(principalType: string | undefined): PrincipalKind {
  switch ((principalType ?? "").toLowerCase()) {
    case "user":
      return "human-user";
    case "group":
    case "foreigngroup":
      return "group";
    case "serviceprincipal":
      return "service-principal";
    case "msi":
    case "managedidentity":
      return "managed-identity";
    default:
      return "unknown";
  }
}

function normalizeScope(scope: string): string {
  return `/${scope
    .split("/")
    .filter((segment) => segment.length > 0)
    .join("/")}`.toLowerCase();
}

/** ARM id of a key under a vault: RBAC assignments can be made at this scope. */
export function keyScopeOf(vaultResourceId: string, keyName: string): string {
  return `${vaultResourceId.replace(/\/+$/, "")}/keys/${keyName}`;
}

/** An assignment reaches the key when its scope is the key scope or one of its ancestors (`/` included). */
export function scopeCovers(assignmentScope: string, keyScope: string): boolean {
  const parent = normalizeScope(assignmentScope);
  const child = normalizeScope(keyScope);
  return parent === "/" || child === parent || child.startsWith(`${parent}/`);
}

/**
 * Access-policy `objectId`s carry no principal type; when the same object also holds a role assignment
 * somewhere in the vault's hierarchy, ARM told us its type there, so reuse it.
 */
function knownPrincipalTypes(assignments: readonly RoleAssignmentFact[]): Map<string, string> {
  const types = new Map<string, string>();
  for (const assignment of assignments) {
    if (assignment.principalType !== undefined)
      types.set(assignment.principalId.toLowerCase(), assignment.principalType);
  }
  return types;
}

export interface KeyGrantResult {
  grants: AccessGrant[];
  /** Role definition GUIDs that were neither built in nor found: their grants carry the bare role reference. */
  unresolvedRoles: string[];
}

/**
 * The data-plane grants on one key. `roles` maps role GUIDs to definitions (built-ins plus any custom roles
 * read from ARM); a role with no key data action (Secrets User, Owner...) grants nothing on keys and is
 * left out. A role that could not be resolved is kept with its GUID as the action, so it is never silently dropped.
 */
export function grantsForKey(
  facts: VaultAuthorizationFacts,
  keyName: string,
  roles: ReadonlyMap<string, RoleDefinitionSummary>,
): KeyGrantResult {
  const keyScope = keyScopeOf(facts.vaultResourceId, keyName);
  const grants: AccessGrant[] = [];
  const unresolvedRoles = new Set<string>();
  if (facts.rbacAuthorization) {
    for (const assignment of facts.roleAssignments) {
      if (!scopeCovers(assignment.scope, keyScope)) continue;
      const guid = roleDefinitionGuid(assignment.roleDefinitionId);
      const role = roles.get(guid);
      let actions: string[];
      if (role === undefined) {
        unresolvedRoles.add(guid);
        actions = [`role:${guid}`];
      } else {
        actions = keyDataActionsOf(role);
        if (actions.length === 0) continue;
      }
      const roleName = role?.roleName ?? `unknown role ${guid}`;
      const grant: AccessGrant = {
        principal: assignment.principalId,
        principalKind: principalKindOf(assignment.principalType),
        effect: "allow",
        actions,
        via: "rbac-role",
        // The role name first, so the pointer reads as a sentence: "Key Vault Crypto Officer (/subscriptions/…)".
        reference: `${roleName} (${assignment.id})`,
      };
      // Only ABAC conditions are conditions: an empty block means the grant is unconditional.
      if (assignment.condition !== undefined && assignment.condition.length > 0) {
        grant.conditions = {
          condition: assignment.condition,
          ...(assignment.conditionVersion === undefined
            ? {}
            : { conditionVersion: assignment.conditionVersion }),
        };
      }
      grants.push(grant);
    }
  } else {
    const types = knownPrincipalTypes(facts.roleAssignments);
    facts.accessPolicies.forEach((policy, index) => {
      const actions = [...new Set(policy.keyPermissions.map((permission) => permission.toLowerCase()))];
      if (actions.length === 0) return;
      const knownType = types.get(policy.objectId.toLowerCase());
      const grant: AccessGrant = {
        principal: policy.objectId,
        principalKind: principalKindOf(knownType),
        effect: "allow",
        actions,
        via: "access-policy",
        reference: `accessPolicies[${index}] objectId ${policy.objectId}${knownType === undefined ? " (principal type not reported by Key Vault)" : ""}`,
      };
      // A compound identity: the user's permissions apply only when acting through this application.
      if (policy.applicationId !== undefined) grant.conditions = { applicationId: policy.applicationId };
      grants.push(grant);
    });
  }
  return { grants, unresolvedRoles: [...unresolvedRoles] };
}
