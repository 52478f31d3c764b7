/**
 * One key of a vault: `getKey`, its versions and its rotation policy from the data plane, joined with the
 * vault's ARM facts (access, protection) into the model's `KeyRecord`. A failed call is carried where its
 * fact would have been.
 */
import type { KeyClient, KeyProperties, KeyVaultKey } from "@azure/keyvault-keys";
import type { AccessPolicy, Collected, CollectionError, KeyRecord, RotationStatus } from "../../model/key.ts";
import { UNKNOWN_KEY_SPEC } from "../../model/key.ts";
import type { AzureKeyVaultSourceConfig } from "../../config/sources/azure-key-vault.schema.ts";
import { missingFact, toCollectionError } from "./azure-error.ts";
import { grantsForKey, keyScopeOf, scopeCovers } from "./access-grants.ts";
import { keyIdOf, type ListedKey } from "./key-ref.ts";
import { normalizeAzureKeySpec } from "./key-spec.ts";
import { roleDefinitionGuid } from "./role-definitions.ts";
import type { AzureRotationPolicy, KeyVersionInfo } from "./rotation-policy.ts";
import { isEmptyRotationPolicy, toRotationStatus } from "./rotation-policy.ts";
import { toVaultProtection, type VaultArmFacts } from "./vault-arm.collector.ts";
import { toIsoInstant, toRawValue } from "../shared/raw-value.ts";
import { readWindowOf } from "../shared/read-window.ts";

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

export interface KeyRecordCollector {
  collectKey(
    client: KeyClient,
    location: string,
    listed: ListedKey,
    facts: VaultArmFacts,
  ): Promise<KeyRecord>;
}

export function createKeyRecordCollector(context: {
  config: AzureKeyVaultSourceConfig;
  now: () => string;
}): KeyRecordCollector {
  const { config, now } = context;
  function ok<T>(value: T, call: string): Collected<T> {
    return { ok: true, value, call, capturedAt: now() };
  }
  function failed<T>(error: CollectionError): Collected<T> {
    return { ok: false, error, capturedAt: now() };
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
    const vaultProtection = toVaultProtection(facts.properties);
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
      readWindow: readWindowOf(
        [...Object.values(raw), rotation, access, vaultProtection],
        facts.properties.capturedAt,
      ),
      errors,
    };
    if (spec !== undefined) record.hsmBacked = spec.hsmBacked;
    if (spec?.unknownReason !== undefined) record.keySpecUnknownReason = spec.unknownReason;
    record.vaultProtection = vaultProtection;
    const operations = key.ok ? key.value.keyOperations : undefined;
    if (operations !== undefined && operations.length > 0) record.keyUsage = [...operations].sort().join(",");
    // Key Vault dates each version, and getKey answers the current one: after a rotation its `created`
    // is the rotation, not the key's creation. The oldest version is the creation when versions were read.
    const createdAt = oldestVersionCreatedOn(versions) ?? properties.createdOn;
    if (createdAt !== undefined) record.createdAt = createdAt;
    if (properties.expiresOn !== undefined) record.expiresAt = properties.expiresOn;
    return record;
  }

  return { collectKey };
}

/** The creation time of a key's oldest version, or undefined when the versions were not read or undated. */
function oldestVersionCreatedOn(versions: Collected<KeyProperties[]>): string | undefined {
  if (!versions.ok) return undefined;
  const dates = versions.value
    .map((version) => toIsoInstant(version.createdOn))
    .filter((date): date is string => date !== undefined)
    .sort();
  return dates[0];
}
