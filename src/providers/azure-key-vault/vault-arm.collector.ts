/**
 * What Azure Resource Manager says about a vault, read once per vault per provider instance: its resource
 * (found through the listings of the source's subscriptions, one each per instance), properties (authorization mode, soft delete, purge protection),
 * role assignments and the custom roles they use, and diagnostic settings.
 */
import type { Vault } from "@azure/arm-keyvault";
import type { RoleAssignment } from "@azure/arm-authorization";
import type { FullOperationResponse } from "@azure/core-client";
import type { Collected, CollectionError, VaultProtection } from "../../model/key.ts";
import type { LoggingSink, LoggingStatus } from "../../model/logging.ts";
import type { AzureKeyVaultSourceConfig } from "../../config/sources/azure-key-vault.schema.ts";
import { normalizeVaultUrl, subscriptionsOf } from "../../config/sources/azure-key-vault.schema.ts";
import type { AzureClients } from "./azure-clients.ts";
import { missingFact, toCollectionError } from "./azure-error.ts";
import type { AccessPolicyFact, RoleAssignmentFact, VaultAuthorizationFacts } from "./access-grants.ts";
import type { DiagnosticSettingResource } from "./diagnostic-settings.ts";
import { toLoggingSink } from "./diagnostic-settings.ts";
import type { RoleDefinitionSummary } from "./role-definitions.ts";
import { BUILT_IN_KEY_VAULT_ROLES, roleDefinitionGuid } from "./role-definitions.ts";
import { toRawValue } from "../shared/raw-value.ts";

/**
 * The vault properties as evidence, on each key's raw `arm:vaultProperties` and in the logging detail. Checks
 * read the typed `KeyRecord.vaultProtection` built from them (toVaultProtection), never these.
 */
export interface VaultPropertiesFact {
  resourceId: string;
  name: string;
  resourceGroup: string;
  vaultUri?: string;
  sku?: string;
  rbacAuthorization: boolean;
  /** Undefined when ARM does not report `enableSoftDelete` (vaults older than soft delete may have it off). */
  softDeleteEnabled?: boolean;
  softDeleteRetentionInDays?: number;
  /** ARM omits the property when it was never enabled (it can only ever be set to true); absent means off. */
  purgeProtectionEnabled: boolean;
  publicNetworkAccess?: string;
}

export interface VaultArmFacts {
  properties: Collected<VaultPropertiesFact>;
  rawVault: Collected<unknown>;
  authorization: Collected<VaultAuthorizationFacts>;
  roles: Map<string, RoleDefinitionSummary>;
  roleErrors: CollectionError[];
  diagnosticSettings: Collected<DiagnosticSettingResource[]>;
}

export interface VaultLocator {
  resourceId: string;
  /** The subscription the vault lives in, from its resource id: the ARM clients' scope for it. */
  subscriptionId: string;
  name: string;
  resourceGroup: string;
}

/** A vault as one subscription's listing returned it. */
export interface ListedVault {
  /** The normalized `properties.vaultUri`: the vault's location. */
  vaultUrl: string;
  locator: VaultLocator;
  /** Azure region, e.g. `westeurope`. */
  region?: string;
}

/** One subscription's vault listing: every page, in ARM's order. */
export interface SubscriptionVaults {
  vaults: ListedVault[];
  pages: number;
  /** Items ARM returned, including any without a usable id or vaultUri. */
  count: number;
}

const KEY_VAULT_ARM_ID =
  /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.KeyVault\/vaults\/([^/]+)$/i;

const LIST_VAULTS_CALL = "arm:Vaults.listBySubscription";

/** A listed vault with its location and ARM coordinates; undefined when ARM left out the id or vaultUri. */
export function toListedVault(vault: Vault): ListedVault | undefined {
  const uri = vault.properties?.vaultUri;
  const match = vault.id === undefined ? null : KEY_VAULT_ARM_ID.exec(vault.id);
  if (uri === undefined || match === null || !URL.canParse(uri)) return undefined;
  return {
    vaultUrl: normalizeVaultUrl(uri),
    locator: {
      resourceId: vault.id as string,
      subscriptionId: match[1] as string,
      resourceGroup: match[2] as string,
      name: match[3] as string,
    },
    ...(vault.location === undefined ? {} : { region: vault.location }),
  };
}

/** The vault's deletion safeguards as the model types them, or the failed ARM read. */
export function toVaultProtection(properties: Collected<VaultPropertiesFact>): Collected<VaultProtection> {
  if (!properties.ok) return properties;
  const fact = properties.value;
  const protection: VaultProtection = { vault: fact.name, purgeProtection: fact.purgeProtectionEnabled };
  if (fact.softDeleteEnabled !== undefined) protection.softDelete = fact.softDeleteEnabled;
  if (fact.softDeleteRetentionInDays !== undefined)
    protection.softDeleteRetentionDays = fact.softDeleteRetentionInDays;
  return { ...properties, value: protection };
}

export interface VaultArmCollector {
  /**
   * The vaults of one subscription (`Vaults.listBySubscription`, every page), read once per provider instance:
   * discovery and locating share it.
   */
  listSubscriptionVaults(subscriptionId: string): Promise<Collected<SubscriptionVaults>>;
  /**
   * The vault's ARM resource, from the listings of the source's subscriptions (shared by every vault of the
   * source). Works from the location alone, so a worker that never discovered finds a discovered vault too.
   */
  locateVault(location: string): Promise<Collected<VaultLocator>>;
  /** The vault's ARM facts, memoized per vault: every batch of this instance shares one read. */
  collectArmFacts(location: string): Promise<VaultArmFacts>;
  /** The vault's logging status from its diagnostic settings. */
  describeLogging(location: string, facts: VaultArmFacts): LoggingStatus;
}

export function createVaultArmCollector(context: {
  config: AzureKeyVaultSourceConfig;
  clients: AzureClients;
  now: () => string;
}): VaultArmCollector {
  const { config, clients, now } = context;
  function ok<T>(value: T, call: string): Collected<T> {
    return { ok: true, value, call, capturedAt: now() };
  }
  function failed<T>(error: CollectionError): Collected<T> {
    return { ok: false, error, capturedAt: now() };
  }

  // One listing per subscription serves every vault of the source; a failure is shared, not retried per vault.
  const subscriptionListings = new Map<string, Promise<Collected<SubscriptionVaults>>>();
  function listSubscriptionVaults(subscriptionId: string): Promise<Collected<SubscriptionVaults>> {
    const key = subscriptionId.toLowerCase();
    let pending = subscriptionListings.get(key);
    if (pending === undefined) {
      pending = readSubscriptionVaults(subscriptionId);
      subscriptionListings.set(key, pending);
    }
    return pending;
  }

  async function readSubscriptionVaults(subscriptionId: string): Promise<Collected<SubscriptionVaults>> {
    const call = LIST_VAULTS_CALL;
    try {
      const listed: SubscriptionVaults = { vaults: [], pages: 0, count: 0 };
      for await (const page of clients.arm(subscriptionId).vaults.vaults.listBySubscription().byPage()) {
        listed.pages += 1;
        for (const vault of page) {
          listed.count += 1;
          const entry = toListedVault(vault);
          if (entry !== undefined) listed.vaults.push(entry);
        }
      }
      return ok(listed, call);
    } catch (error) {
      const failure = toCollectionError(call, error);
      return failed({ ...failure, message: `subscription ${subscriptionId}: ${failure.message}` });
    }
  }

  async function locateVault(location: string): Promise<Collected<VaultLocator>> {
    const subscriptions = subscriptionsOf(config);
    const listings = await Promise.all(subscriptions.map(listSubscriptionVaults));
    for (const listing of listings) {
      if (!listing.ok) continue;
      const found = listing.value.vaults.find((vault) => vault.vaultUrl === location);
      if (found !== undefined) return ok(found.locator, LIST_VAULTS_CALL);
    }
    // Not found where the listing worked: a failed subscription may hold it, so its failure is the cause.
    const failure = listings.find((listing) => !listing.ok);
    if (failure !== undefined) return failure;
    return failed(
      missingFact(
        LIST_VAULTS_CALL,
        "VaultNotFoundInSubscription",
        `no vault with vaultUri ${location} in subscription ${subscriptions.join(", ")}`,
      ),
    );
  }

  const armFacts = new Map<string, Promise<VaultArmFacts>>();
  function collectArmFacts(location: string): Promise<VaultArmFacts> {
    let pending = armFacts.get(location);
    if (pending === undefined) {
      pending = readArmFacts(location);
      armFacts.set(location, pending);
    }
    return pending;
  }

  async function readArmFacts(location: string): Promise<VaultArmFacts> {
    const located = await locateVault(location);
    if (!located.ok) {
      return {
        properties: located,
        rawVault: located,
        authorization: located,
        roles: new Map(),
        roleErrors: [],
        diagnosticSettings: located,
      };
    }
    const locator = located.value;
    const [vault, assignments, diagnosticSettings] = await Promise.all([
      readVault(locator),
      readRoleAssignments(locator),
      readDiagnosticSettings(locator),
    ]);
    const properties: Collected<VaultPropertiesFact> = vault.ok
      ? ok(toVaultProperties(locator, vault.value), vault.call)
      : vault;
    const { roles, errors: roleErrors } = assignments.ok
      ? await resolveRoles(locator, assignments.value)
      : { roles: new Map<string, RoleDefinitionSummary>(), errors: [] };
    let authorization: Collected<VaultAuthorizationFacts>;
    if (!vault.ok) authorization = vault;
    else if (!assignments.ok) authorization = assignments;
    else {
      authorization = ok(
        {
          vaultResourceId: locator.resourceId,
          rbacAuthorization: vault.value.properties.enableRbacAuthorization === true,
          accessPolicies: (vault.value.properties.accessPolicies ?? []).map((entry): AccessPolicyFact => ({
            objectId: entry.objectId,
            ...(entry.tenantId === undefined ? {} : { tenantId: entry.tenantId }),
            ...(entry.applicationId === undefined || entry.applicationId === null
              ? {}
              : { applicationId: entry.applicationId }),
            keyPermissions: entry.permissions.keys ?? [],
          })),
          roleAssignments: assignments.value,
        },
        "arm:Vaults.get+RoleAssignments.listForScope",
      );
    }
    return {
      properties,
      rawVault: vault.ok ? ok(toRawValue(vault.value), vault.call) : vault,
      authorization,
      roles,
      roleErrors,
      diagnosticSettings,
    };
  }

  async function readVault(locator: VaultLocator): Promise<Collected<Vault>> {
    const call = "arm:Vaults.get";
    try {
      return ok(
        await clients.arm(locator.subscriptionId).vaults.vaults.get(locator.resourceGroup, locator.name),
        call,
      );
    } catch (error) {
      return failed(toCollectionError(call, error));
    }
  }

  function toVaultProperties(locator: VaultLocator, vault: Vault): VaultPropertiesFact {
    const properties = vault.properties;
    const fact: VaultPropertiesFact = {
      resourceId: locator.resourceId,
      name: locator.name,
      resourceGroup: locator.resourceGroup,
      rbacAuthorization: properties.enableRbacAuthorization === true,
      purgeProtectionEnabled: properties.enablePurgeProtection === true,
    };
    // New vaults get soft delete on and it cannot be switched off, but a vault created before soft delete
    // existed may answer without the property and still have it off: absent stays unknown.
    if (typeof properties.enableSoftDelete === "boolean")
      fact.softDeleteEnabled = properties.enableSoftDelete;
    if (properties.vaultUri !== undefined) fact.vaultUri = properties.vaultUri;
    if (properties.sku?.name !== undefined) fact.sku = properties.sku.name;
    if (properties.softDeleteRetentionInDays !== undefined)
      fact.softDeleteRetentionInDays = properties.softDeleteRetentionInDays;
    if (properties.publicNetworkAccess !== undefined)
      fact.publicNetworkAccess = properties.publicNetworkAccess;
    return fact;
  }

  /**
   * Without a filter, listForScope returns the assignments at, above (inherited from resource group,
   * subscription, management groups) and below (key scopes) the vault: one call covers every key.
   */
  async function readRoleAssignments(locator: VaultLocator): Promise<Collected<RoleAssignmentFact[]>> {
    const call = "arm:RoleAssignments.listForScope";
    try {
      const facts: RoleAssignmentFact[] = [];
      // AutoRest joins `/{scope}` to the host: pass the scope without its leading slash.
      const scope = locator.resourceId.replace(/^\/+/, "");
      for await (const assignment of clients
        .arm(locator.subscriptionId)
        .authorization.roleAssignments.listForScope(scope)) {
        const fact = toRoleAssignmentFact(assignment);
        if (fact !== undefined) facts.push(fact);
      }
      return ok(facts, call);
    } catch (error) {
      return failed(toCollectionError(call, error));
    }
  }

  function toRoleAssignmentFact(assignment: RoleAssignment): RoleAssignmentFact | undefined {
    if (assignment.principalId === undefined || assignment.roleDefinitionId === undefined) return undefined;
    const fact: RoleAssignmentFact = {
      id: assignment.id ?? assignment.name ?? "(unknown)",
      name: assignment.name ?? "(unknown)",
      scope: assignment.scope ?? "/",
      roleDefinitionId: assignment.roleDefinitionId,
      principalId: assignment.principalId,
    };
    if (assignment.principalType !== undefined) fact.principalType = assignment.principalType;
    if (assignment.condition !== undefined && assignment.condition !== null)
      fact.condition = assignment.condition;
    if (assignment.conditionVersion !== undefined && assignment.conditionVersion !== null)
      fact.conditionVersion = assignment.conditionVersion;
    return fact;
  }

  /** Built-ins come from the table; a custom role is read once per vault from ARM. */
  async function resolveRoles(
    locator: VaultLocator,
    assignments: readonly RoleAssignmentFact[],
  ): Promise<{ roles: Map<string, RoleDefinitionSummary>; errors: CollectionError[] }> {
    const roles = new Map<string, RoleDefinitionSummary>();
    const errors: CollectionError[] = [];
    const unknown = new Set<string>();
    for (const assignment of assignments) {
      const guid = roleDefinitionGuid(assignment.roleDefinitionId);
      const known = BUILT_IN_KEY_VAULT_ROLES[guid];
      if (known !== undefined) roles.set(guid, known);
      else unknown.add(guid);
    }
    const scope = locator.resourceId.replace(/^\/+/, "");
    for (const guid of unknown) {
      const call = "arm:RoleDefinitions.get";
      try {
        const definition = await clients
          .arm(locator.subscriptionId)
          .authorization.roleDefinitions.get(scope, guid);
        const permissions = definition.permissions ?? [];
        roles.set(guid, {
          id: guid,
          roleName: definition.roleName ?? guid,
          builtIn: definition.roleType === "BuiltInRole",
          dataActions: permissions.flatMap((permission) => permission.dataActions ?? []),
          notDataActions: permissions.flatMap((permission) => permission.notDataActions ?? []),
        });
      } catch (error) {
        errors.push({
          ...toCollectionError(call, error),
          message: `role ${guid}: ${toCollectionError(call, error).message}`,
        });
      }
    }
    return { roles, errors };
  }

  async function readDiagnosticSettings(
    locator: VaultLocator,
  ): Promise<Collected<DiagnosticSettingResource[]>> {
    const call = "arm:DiagnosticSettings.list";
    try {
      let raw: unknown;
      await clients
        .arm(locator.subscriptionId)
        .monitor.diagnosticSettings.list(locator.resourceId.replace(/^\/+/, ""), {
          // The typed result flattens `properties` and drops `categoryGroup` (unknown to the 2017 model):
          // read the body as ARM sent it.
          onResponse: (response: FullOperationResponse) => {
            raw =
              response.bodyAsText === undefined || response.bodyAsText === null
                ? undefined
                : (JSON.parse(response.bodyAsText) as unknown);
          },
        });
      const value = (raw as { value?: unknown } | undefined)?.value;
      return ok(Array.isArray(value) ? (value as DiagnosticSettingResource[]) : [], call);
    } catch (error) {
      return failed(toCollectionError(call, error));
    }
  }

  function describeLogging(location: string, facts: VaultArmFacts): LoggingStatus {
    const sinks: LoggingSink[] = [];
    const errors: CollectionError[] = [];
    if (facts.diagnosticSettings.ok) {
      for (const setting of facts.diagnosticSettings.value) {
        const sink = toLoggingSink(setting);
        // The vault properties travel with the logging status as evidence for people (a keyless vault still
        // shows them); the purge-protection check reads the typed KeyRecord.vaultProtection instead.
        if (facts.properties.ok) sink.detail["vault"] = facts.properties.value;
        sinks.push(sink);
      }
    } else {
      errors.push(facts.diagnosticSettings.error);
    }
    return { source: config.id, location, capturedAt: now(), sinks, errors };
  }

  return { listSubscriptionVaults, locateVault, collectArmFacts, describeLogging };
}
