import type { KeyClient, KeyProperties, KeyVaultKey } from "@azure/keyvault-keys";
import type { Vault } from "@azure/arm-keyvault";
import type { RoleAssignment } from "@azure/arm-authorization";
import type { FullOperationResponse } from "@azure/core-client";
import { z } from "zod";
import type {
  AccessPolicy,
  Collected,
  CollectionError,
  KeyRecord,
  RotationStatus,
  VaultProtection,
} from "../../model/key.ts";
import { UNKNOWN_KEY_SPEC } from "../../model/key.ts";
import type { LoggingSink, LoggingStatus } from "../../model/logging.ts";
import type { DateRange, SourceGap } from "../../model/snapshot.ts";
import type { UsageItem } from "../../model/usage.ts";
import type { Clock, JsonValue, KeyBatch, KeyListing, KeyProvider, KeyRef } from "../key-provider.ts";
import { systemClock } from "../key-provider.ts";
import type { AzureKeyVaultSourceConfig } from "../../config/sources/azure-key-vault.schema.ts";
import { normalizeVaultUrl } from "../../config/sources/azure-key-vault.schema.ts";
import type { AzureClientOptions, AzureClients } from "./azure-clients.ts";
import { createAzureClients } from "./azure-clients.ts";
import { missingFact, toCollectionError } from "./azure-error.ts";
import type { AccessPolicyFact, RoleAssignmentFact, VaultAuthorizationFacts } from "./access-grants.ts";
import { grantsForKey, keyScopeOf, scopeCovers } from "./access-grants.ts";
import type { DiagnosticSettingResource } from "./diagnostic-settings.ts";
import { toLoggingSink } from "./diagnostic-settings.ts";
import { normalizeAzureKeySpec } from "./key-spec.ts";
import type { RoleDefinitionSummary } from "./role-definitions.ts";
import { BUILT_IN_KEY_VAULT_ROLES, roleDefinitionGuid } from "./role-definitions.ts";
import type { AzureRotationPolicy, KeyVersionInfo } from "./rotation-policy.ts";
import { isEmptyRotationPolicy, toRotationStatus } from "./rotation-policy.ts";
import type { UsageRow, UsageTable } from "./usage-query.ts";
import { USAGE_TABLES, buildUsageQuery, toUsageEvent, usageWindows } from "./usage-query.ts";
import { mapWithConcurrency } from "../shared/concurrency.ts";
import { toIsoInstant, toRawValue } from "../shared/raw-value.ts";

/**
 * Azure Key Vault behind the `KeyProvider` port. Per vault (the location is the vault URL): every key from the
 * data plane with its versions and rotation policy; from Azure Resource Manager the vault's properties (RBAC
 * or access-policy mode, soft delete, purge protection), its role assignments and its diagnostic settings;
 * usage events from Log Analytics. Facts only: checks judge them. A failed call is carried where its fact
 * would have been (`Collected` with `ok: false`, a key error, a gap), never dropped.
 * A vault is collected in parts that may run in different processes: `listKeys` (one `listPropertiesOfKeys`;
 * each reference carries the listed properties), `collectKeys` per batch (the ARM facts read once per vault
 * per provider instance), `collectLogging` (the same memoized ARM facts).
 */

export interface AzureKeyVaultProviderOptions extends AzureClientOptions {
  clock?: Clock;
  /** Rows per Log Analytics page (default 5,000; the service caps a result at 500,000 rows / 64 MB). */
  usagePageSize?: number;
  /** Hours per Log Analytics time window (default 24). */
  usageWindowHours?: number;
  /** Keys read in parallel per vault (default 4): Key Vault throttles at 4,000 calls per 10 s per vault. */
  keyConcurrency?: number;
  /** Prebuilt clients (tests of error paths); by default built from the config. */
  clients?: AzureClients;
}

/** Vault properties the checks need, carried on each key's raw `arm:Vaults.get` and in the logging detail. */
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

interface VaultArmFacts {
  properties: Collected<VaultPropertiesFact>;
  rawVault: Collected<unknown>;
  authorization: Collected<VaultAuthorizationFacts>;
  roles: Map<string, RoleDefinitionSummary>;
  roleErrors: CollectionError[];
  diagnosticSettings: Collected<DiagnosticSettingResource[]>;
}

interface VaultLocator {
  resourceId: string;
  name: string;
  resourceGroup: string;
}

/** An ISO-8601 instant exactly as `Date#toISOString` writes it, so reading it back gives the same string. */
const IsoInstantSchema = z.string().refine((value) => {
  const date = new Date(value);
  return !Number.isNaN(date.getTime()) && date.toISOString() === value;
}, "not an ISO-8601 instant");

/**
 * A key reference's `listed`: the listed `KeyProperties` a key record needs, as plain JSON (dates as ISO
 * strings, absent values omitted). The name addresses the key; the rest is what the record falls back to when
 * `getKey` fails, and the listed id is the record's `arn`, as when the location was collected in one call.
 */
const ListedKeySchema = z.object({
  name: z.string().min(1),
  id: z.string().min(1).optional(),
  enabled: z.boolean().optional(),
  managed: z.boolean().optional(),
  tags: z.record(z.string(), z.string()).optional(),
  createdOn: IsoInstantSchema.optional(),
  expiresOn: IsoInstantSchema.optional(),
});
type ListedKey = z.infer<typeof ListedKeySchema>;

/** The key properties a record is built from: `getKey`'s, or the listing's when `getKey` failed. */
interface KeyPropertyFacts {
  enabled?: boolean | undefined;
  managed?: boolean | undefined;
  tags?: Record<string, string> | undefined;
  /** ISO-8601 */
  createdOn?: string | undefined;
  /** ISO-8601 */
  expiresOn?: string | undefined;
}

const KEY_VAULT_ARM_ID =
  /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.KeyVault\/vaults\/([^/]+)$/i;

/** A key's id within the source, as on its record (the vault URL is normalized, without a trailing slash). */
function keyIdOf(location: string, name: string): string {
  return `${location}/keys/${name}`;
}

/** Code-unit order, not locale order: the same on every machine that cuts batches from the listing. */
function byKeyId(left: KeyRef, right: KeyRef): number {
  if (left.keyId === right.keyId) return 0;
  return left.keyId < right.keyId ? -1 : 1;
}

/** The listed properties as a reference carries them: plain JSON, nothing undefined. */
function toListedJson(properties: KeyProperties): { [field: string]: JsonValue } {
  const listed: { [field: string]: JsonValue } = { name: properties.name };
  if (properties.id !== undefined) listed["id"] = properties.id;
  if (properties.enabled !== undefined) listed["enabled"] = properties.enabled;
  if (properties.managed !== undefined) listed["managed"] = properties.managed;
  if (properties.tags !== undefined) listed["tags"] = { ...properties.tags };
  const created = toIsoInstant(properties.createdOn);
  if (created !== undefined) listed["createdOn"] = created;
  const expires = toIsoInstant(properties.expiresOn);
  if (expires !== undefined) listed["expiresOn"] = expires;
  return listed;
}

/**
 * Reads a reference back (it may come from another process, through a file): a `listed` that is not what
 * `listKeys` wrote, or that names another key or vault, is an error about that key rather than a throw.
 */
function readKeyRef(
  location: string,
  ref: KeyRef,
): { ok: true; listed: ListedKey } | { ok: false; message: string } {
  // The type says KeyRef, but the value came through JSON from another process: check before trusting.
  const keyId: unknown = (ref as { keyId?: unknown } | null)?.keyId;
  if (typeof keyId !== "string") return { ok: false, message: "keyId is not a string" };
  const parsed = ListedKeySchema.safeParse(ref.listed);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where =
      issue === undefined || issue.path.length === 0 ? "listed" : `listed.${issue.path.join(".")}`;
    return { ok: false, message: `${where}: ${issue?.message ?? "invalid"}` };
  }
  const expected = keyIdOf(location, parsed.data.name);
  if (keyId !== expected) {
    return {
      ok: false,
      message: `listed name ${parsed.data.name} in ${location} is key ${expected}, not ${keyId}`,
    };
  }
  return { ok: true, listed: parsed.data };
}

export function createAzureKeyVaultProvider(
  config: AzureKeyVaultSourceConfig,
  options: AzureKeyVaultProviderOptions = {},
): KeyProvider {
  const clock = options.clock ?? systemClock;
  const clients = options.clients ?? createAzureClients(config, options);
  const pageSize = options.usagePageSize ?? 5000;
  const windowHours = options.usageWindowHours ?? 24;
  const keyConcurrency = options.keyConcurrency ?? 4;
  const locations = config.vaults.map(normalizeVaultUrl);
  const now = (): string => clock().toISOString();

  function ok<T>(value: T, call: string): Collected<T> {
    return { ok: true, value, call, capturedAt: now() };
  }
  function failed<T>(error: CollectionError): Collected<T> {
    return { ok: false, error, capturedAt: now() };
  }

  // One subscription listing serves every vault of the source; a failure is shared, not retried per vault.
  let vaultIndex: Promise<Collected<Map<string, VaultLocator>>> | undefined;
  function listVaults(): Promise<Collected<Map<string, VaultLocator>>> {
    vaultIndex ??= (async () => {
      const call = "arm:Vaults.listBySubscription";
      try {
        const index = new Map<string, VaultLocator>();
        for await (const vault of clients.vaults.vaults.listBySubscription()) {
          const uri = vault.properties?.vaultUri;
          const match = vault.id === undefined ? null : KEY_VAULT_ARM_ID.exec(vault.id);
          if (uri === undefined || match === null) continue;
          index.set(normalizeVaultUrl(uri), {
            resourceId: vault.id as string,
            resourceGroup: match[2] as string,
            name: match[3] as string,
          });
        }
        return ok(index, call);
      } catch (error) {
        return failed(toCollectionError(call, error));
      }
    })();
    return vaultIndex;
  }

  async function locateVault(location: string): Promise<Collected<VaultLocator>> {
    const index = await listVaults();
    if (!index.ok) return index;
    const found = index.value.get(location);
    if (found === undefined) {
      return failed(
        missingFact(
          "arm:Vaults.listBySubscription",
          "VaultNotFoundInSubscription",
          `no vault with vaultUri ${location} in subscription ${config.subscriptionId}`,
        ),
      );
    }
    return ok(found, "arm:Vaults.listBySubscription");
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
      return ok(await clients.vaults.vaults.get(locator.resourceGroup, locator.name), call);
    } catch (error) {
      return failed(toCollectionError(call, error));
    }
  }

  /** The vault's deletion safeguards as the model types them, or the failed ARM read. */
  function toVaultProtection(properties: Collected<VaultPropertiesFact>): Collected<VaultProtection> {
    if (!properties.ok) return properties;
    const fact = properties.value;
    const protection: VaultProtection = { vault: fact.name, purgeProtection: fact.purgeProtectionEnabled };
    if (fact.softDeleteEnabled !== undefined) protection.softDelete = fact.softDeleteEnabled;
    if (fact.softDeleteRetentionInDays !== undefined)
      protection.softDeleteRetentionDays = fact.softDeleteRetentionInDays;
    return { ...properties, value: protection };
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
      for await (const assignment of clients.authorization.roleAssignments.listForScope(scope)) {
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
        const definition = await clients.authorization.roleDefinitions.get(scope, guid);
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
      await clients.monitor.diagnosticSettings.list(locator.resourceId.replace(/^\/+/, ""), {
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
        // Vault protection settings travel with the logging status too, so a location with no key still shows them.
        if (facts.properties.ok) sink.detail["vault"] = facts.properties.value;
        sinks.push(sink);
      }
    } else {
      errors.push(facts.diagnosticSettings.error);
    }
    return { source: config.id, location, capturedAt: now(), sinks, errors };
  }

  async function readKeyVersions(client: KeyClient, name: string): Promise<Collected<KeyProperties[]>> {
    const call = "keyvault:listPropertiesOfKeyVersions";
    try {
      const versions: KeyProperties[] = [];
      for await (const version of client.listPropertiesOfKeyVersions(name)) versions.push(version);
      return ok(versions, call);
    } catch (error) {
      return failed(toCollectionError(call, error));
    }
  }

  async function readRotationPolicy(
    client: KeyClient,
    name: string,
  ): Promise<Collected<AzureRotationPolicy | undefined>> {
    const call = "keyvault:getKeyRotationPolicy";
    try {
      const policy = await client.getKeyRotationPolicy(name);
      const value: AzureRotationPolicy = {};
      if (policy.id !== undefined) value.id = policy.id;
      if (policy.expiresIn !== undefined) value.expiresIn = policy.expiresIn;
      if (policy.createdOn !== undefined) value.createdOn = policy.createdOn;
      if (policy.updatedOn !== undefined) value.updatedOn = policy.updatedOn;
      if (policy.lifetimeActions !== undefined) {
        value.lifetimeActions = policy.lifetimeActions.map((action) => ({
          action: String(action.action),
          ...(action.timeAfterCreate === undefined ? {} : { timeAfterCreate: action.timeAfterCreate }),
          ...(action.timeBeforeExpiry === undefined ? {} : { timeBeforeExpiry: action.timeBeforeExpiry }),
        }));
      }
      // Lowkey Vault answers 200 with an empty body for a key that never had a policy: that is "no policy".
      return ok(isEmptyRotationPolicy(value) ? undefined : value, call);
    } catch (error) {
      return failed(toCollectionError(call, error));
    }
  }

  async function readKey(client: KeyClient, name: string): Promise<Collected<KeyVaultKey>> {
    const call = "keyvault:getKey";
    try {
      return ok(await client.getKey(name), call);
    } catch (error) {
      return failed(toCollectionError(call, error));
    }
  }

  async function collectKey(
    client: KeyClient,
    location: string,
    listed: ListedKey,
    facts: VaultArmFacts,
  ): Promise<KeyRecord> {
    const name = listed.name;
    const [key, versions, policy] = await Promise.all([
      readKey(client, name),
      readKeyVersions(client, name),
      readRotationPolicy(client, name),
    ]);
    const properties: KeyPropertyFacts = key.ok
      ? {
          enabled: key.value.properties.enabled,
          managed: key.value.properties.managed,
          tags: key.value.properties.tags,
          createdOn: toIsoInstant(key.value.properties.createdOn),
          expiresOn: toIsoInstant(key.value.properties.expiresOn),
        }
      : listed;
    const jwk = key.ok ? key.value.key : undefined;
    const rawKeyType = key.ok ? String(key.value.keyType ?? jwk?.kty ?? UNKNOWN_KEY_SPEC) : UNKNOWN_KEY_SPEC;
    const spec = key.ok
      ? normalizeAzureKeySpec({
          keyType: rawKeyType,
          ...(jwk?.n === undefined ? {} : { modulus: jwk.n }),
          ...(jwk?.crv === undefined ? {} : { curve: jwk.crv }),
        })
      : undefined;
    const errors: CollectionError[] = [...facts.roleErrors];
    if (!key.ok) errors.push(key.error);

    let rotation: Collected<RotationStatus>;
    if (!policy.ok) rotation = policy;
    else if (!versions.ok) rotation = versions;
    else {
      const versionInfo: KeyVersionInfo[] = versions.value.map((version) => {
        const info: KeyVersionInfo = { version: version.version ?? "" };
        const created = toIsoInstant(version.createdOn);
        if (created !== undefined) info.createdOn = created;
        return info;
      });
      rotation = ok(toRotationStatus(policy.value, versionInfo), "keyvault:getKeyRotationPolicy");
    }

    let access: Collected<AccessPolicy>;
    if (!facts.authorization.ok) access = facts.authorization;
    else {
      const authorization = facts.authorization.value;
      const keyScope = keyScopeOf(authorization.vaultResourceId, name);
      const { grants, unresolvedRoles } = grantsForKey(authorization, name, facts.roles);
      for (const guid of unresolvedRoles) {
        if (!errors.some((error) => error.message.includes(guid))) {
          errors.push(
            missingFact(
              "arm:RoleDefinitions.get",
              "RoleDefinitionUnresolved",
              `role ${guid} could not be resolved`,
            ),
          );
        }
      }
      access = ok(
        {
          documents: [
            {
              name: "authorization-mode",
              document: {
                enableRbacAuthorization: authorization.rbacAuthorization,
                effective: authorization.rbacAuthorization ? "role assignments" : "access policies",
              },
            },
            { name: "vault-access-policies", document: authorization.accessPolicies },
            {
              name: "role-assignments",
              document: authorization.roleAssignments
                .filter((assignment) => scopeCovers(assignment.scope, keyScope))
                .map((assignment) => ({
                  ...assignment,
                  roleName:
                    facts.roles.get(roleDefinitionGuid(assignment.roleDefinitionId))?.roleName ?? null,
                })),
            },
          ],
          grants,
        },
        facts.authorization.call,
      );
    }

    const raw: Record<string, Collected<unknown>> = {
      "keyvault:getKey": key.ok
        ? ok(
            toRawValue({
              ...key.value,
              key: { ...key.value.key, n: undefined, e: undefined, x: undefined, y: undefined },
            }),
            key.call,
          )
        : key,
      "keyvault:listPropertiesOfKeyVersions": versions.ok
        ? ok(toRawValue(versions.value), versions.call)
        : versions,
      "keyvault:getKeyRotationPolicy": policy.ok ? ok(toRawValue(policy.value ?? null), policy.call) : policy,
      "arm:Vaults.get": facts.rawVault,
      "arm:vaultProperties": facts.properties,
    };

    const keyId = keyIdOf(location, name);
    const record: KeyRecord = {
      source: config.id,
      sourceType: "azure-key-vault",
      location,
      keyId,
      arn: listed.id ?? keyId,
      aliases: [name],
      keySpec: spec?.keySpec ?? UNKNOWN_KEY_SPEC,
      rawKeyType,
      origin: "platform",
      // Keys backing certificates are managed by Key Vault (`managed: true`); their owner is the certificate.
      manager: properties.managed === true ? "provider" : "customer",
      state: properties.enabled === false ? "disabled" : "enabled",
      tags: { ...(properties.tags ?? {}) },
      rotation,
      access,
      raw,
      errors,
    };
    if (spec !== undefined) record.hsmBacked = spec.hsmBacked;
    if (spec?.unknownReason !== undefined) record.keySpecUnknownReason = spec.unknownReason;
    record.vaultProtection = toVaultProtection(facts.properties);
    const operations = key.ok ? key.value.keyOperations : undefined;
    if (operations !== undefined && operations.length > 0) record.keyUsage = [...operations].sort().join(",");
    if (properties.createdOn !== undefined) record.createdAt = properties.createdOn;
    if (properties.expiresOn !== undefined) record.expiresAt = properties.expiresOn;
    return record;
  }

  return {
    sourceId: config.id,
    type: "azure-key-vault",
    listLocations: () => [...locations],
    describeAccount: async () => config.subscriptionId,

    async listKeys(location): Promise<KeyListing> {
      const client = clients.keyClient(location);
      const listed: KeyProperties[] = [];
      try {
        for await (const properties of client.listPropertiesOfKeys()) listed.push(properties);
      } catch (error) {
        // A firewalled or unreachable vault is "not collected", never "no keys".
        const gap: SourceGap = {
          source: config.id,
          location,
          error: toCollectionError("keyvault:listPropertiesOfKeys", error),
        };
        return { refs: [], gaps: [gap] };
      }
      const refs = listed.map((properties): KeyRef => ({
        keyId: keyIdOf(location, properties.name),
        listed: toListedJson(properties),
      }));
      return { refs: refs.sort(byKeyId), gaps: [] };
    },

    async collectKeys(location, refs): Promise<KeyBatch> {
      if (refs.length === 0) return { keys: [], gaps: [] };
      const gaps: SourceGap[] = [];
      const readable: ListedKey[] = [];
      for (const ref of refs) {
        const read = readKeyRef(location, ref);
        if (read.ok) readable.push(read.listed);
        else {
          // Without a trustworthy name and listing there is nothing to describe: the key is a gap, so the
          // checks report the population as incomplete instead of judging a made-up record.
          gaps.push({
            source: config.id,
            location,
            error: missingFact(
              "keyproof:readKeyRef",
              "MalformedKeyRef",
              `key ${typeof ref.keyId === "string" ? ref.keyId : JSON.stringify(ref.keyId)}: ${read.message}`,
            ),
          });
        }
      }
      if (readable.length === 0) return { keys: [], gaps };
      // Memoized per vault: every batch this instance describes shares one read of the vault's ARM facts.
      const facts = await collectArmFacts(location);
      const client = clients.keyClient(location);
      const keys = await mapWithConcurrency(readable, keyConcurrency, (listed) =>
        collectKey(client, location, listed, facts),
      );
      return { keys, gaps };
    },

    async collectLogging(location): Promise<LoggingStatus> {
      return describeLogging(location, await collectArmFacts(location));
    },

    streamUsage(location: string, range: DateRange) {
      const workspaceId = config.logAnalyticsWorkspaceId;
      if (workspaceId === undefined) {
        return {
          method: "none",
          items: (async function* (): AsyncGenerator<UsageItem> {
            yield {
              kind: "gap",
              gap: {
                source: config.id,
                location,
                object: "logAnalyticsWorkspaceId",
                code: "UsageSourceNotConfigured",
                message:
                  "no Log Analytics workspace is configured for this source: Key Vault AuditEvent records were not read",
              },
            };
          })(),
        };
      }
      return { method: "log-analytics", items: streamLogAnalytics(location, range, workspaceId) };
    },
  };

  async function* streamLogAnalytics(
    location: string,
    range: DateRange,
    workspaceId: string,
  ): AsyncGenerator<UsageItem> {
    const located = await locateVault(location);
    if (!located.ok) {
      yield {
        kind: "gap",
        gap: {
          source: config.id,
          location,
          object: "vault resource id",
          code: located.error.code,
          message: `cannot scope the audit query to the vault: ${located.error.message}`,
        },
      };
      return;
    }
    for (const table of USAGE_TABLES) {
      for (const window of usageWindows(range.from, range.toExclusive, windowHours)) {
        yield* streamWindow(
          location,
          workspaceId,
          located.value.resourceId,
          table,
          window.startTime,
          window.endTime,
        );
      }
    }
  }

  async function* streamWindow(
    location: string,
    workspaceId: string,
    vaultResourceId: string,
    table: UsageTable,
    startTime: Date,
    endTime: Date,
  ): AsyncGenerator<UsageItem> {
    const context = { source: config.id, location, workspaceId, table };
    for (let offset = 0; ; offset += pageSize) {
      const object = `${table} ${startTime.toISOString()}/${endTime.toISOString()} rows ${offset + 1}-${offset + pageSize}`;
      let rows: UsageRow[];
      let partialError: string | undefined;
      try {
        const query = buildUsageQuery({ table, vaultResourceId, offset, pageSize });
        const result = await clients.logs.queryWorkspace(workspaceId, query, { startTime, endTime });
        const tables = result.status === "Success" ? result.tables : result.partialTables;
        if (result.status !== "Success") {
          partialError = `${result.partialError.code ?? "PartialError"}: ${result.partialError.message}`;
        }
        const first = tables[0];
        rows = (first?.rows ?? []).map((cells) => {
          const row: UsageRow = {};
          first?.columnDescriptors.forEach((column, index) => {
            if (column.name !== undefined) row[column.name] = cells[index];
          });
          return row;
        });
      } catch (error) {
        const failure = toCollectionError("loganalytics:queryWorkspace", error);
        yield {
          kind: "gap",
          gap: { source: config.id, location, object, code: failure.code, message: failure.message },
        };
        return;
      }
      for (const row of rows) {
        const event = toUsageEvent(row, context);
        if (event === undefined) {
          yield {
            kind: "gap",
            gap: {
              source: config.id,
              location,
              object,
              code: "UnreadableRecord",
              message: `a ${table} row has no TimeGenerated: ${JSON.stringify(row).slice(0, 300)}`,
            },
          };
        } else yield { kind: "event", event };
      }
      if (partialError !== undefined) {
        // The service returned what it could; the rest of the window is unknown, so say so and move on.
        yield {
          kind: "gap",
          gap: { source: config.id, location, object, code: "PartialError", message: partialError },
        };
        return;
      }
      if (rows.length < pageSize) return;
    }
  }
}
