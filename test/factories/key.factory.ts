import type {
  AccessGrant,
  AccessPolicy,
  Collected,
  KeyRecord,
  RotationStatus,
  VaultProtection,
} from "../../src/model/key.ts";
import { CAPTURED_AT, collected } from "./collected.factory.ts";
import { readWindowOf } from "../../src/providers/shared/read-window.ts";

export const DEFAULT_SOURCE = "aws-prod";
export const DEFAULT_LOCATION = "eu-west-1";
/** The AWS documentation account id; every default ARN and the default source account use it. */
export const DEFAULT_ACCOUNT = "111122223333";

let keySequence = 0;

/** Deterministic, unique, UUID-shaped key ids: `00000000-0000-4000-8000-000000000001`, ... */
export function nextKeyId(): string {
  keySequence += 1;
  return `00000000-0000-4000-8000-${String(keySequence).padStart(12, "0")}`;
}

/**
 * Rotation on, every 365 days, never rotated. Given a `history`, `lastRotation` follows its last event (as
 * every provider fills it) unless given too.
 */
export function makeRotation(overrides: Partial<RotationStatus> = {}): Collected<RotationStatus> {
  const last = overrides.history?.at(-1)?.date;
  return collected<RotationStatus>(
    {
      enabled: true,
      periodDays: 365,
      history: [],
      ...(last === undefined ? {} : { lastRotation: last }),
      ...overrides,
    },
    "kms:GetKeyRotationStatus",
  );
}

/** An Azure vault with soft delete (90 days) and purge protection on, as `KeyRecord.vaultProtection`. */
export function makeVaultProtection(overrides: Partial<VaultProtection> = {}): Collected<VaultProtection> {
  return collected<VaultProtection>(
    { vault: "kv-prod", softDelete: true, softDeleteRetentionDays: 90, purgeProtection: true, ...overrides },
    "arm:Vaults.get",
  );
}

export const DEFAULT_AZURE_VAULT = "https://kv-prod.vault.azure.net";

/**
 * An Azure Key Vault RSA-HSM key in a protected vault, with the typed facts the Azure provider fills
 * (hsmBacked, vaultProtection). Key id and ARN follow `location` and `aliases[0]` unless given.
 */
export function makeAzureKey(overrides: Partial<KeyRecord> = {}): KeyRecord {
  const location = overrides.location ?? DEFAULT_AZURE_VAULT;
  const name = overrides.aliases?.[0] ?? `key-${nextKeyId().slice(-4)}`;
  const keyId = overrides.keyId ?? `${location}/keys/${name}`;
  return makeKey({
    source: "azure-prod",
    sourceType: "azure-key-vault",
    location,
    keyId,
    arn: keyId,
    aliases: [name],
    keySpec: "RSA_2048",
    rawKeyType: "RSA-HSM",
    keyUsage: "decrypt,encrypt,unwrapKey,wrapKey",
    hsmBacked: true,
    vaultProtection: makeVaultProtection(),
    rotation: collected<RotationStatus>(
      { enabled: true, periodDays: 90, history: [] },
      "keyvault:getKeyRotationPolicy",
    ),
    access: collected<AccessPolicy>({ documents: [], grants: [] }, "arm:RoleAssignments.listForScope"),
    ...overrides,
  });
}

/**
 * A HashiCorp Vault transit `aes256-gcm96` key, neither exportable nor backed up in plaintext, with the
 * typed facts the Vault provider fills. `keyId` is `<mount>/<name>`.
 */
export function makeVaultKey(overrides: Partial<KeyRecord> = {}): KeyRecord {
  const location = overrides.location ?? "https://vault.example:8200";
  const keyId = overrides.keyId ?? `transit/key-${nextKeyId().slice(-4)}`;
  const name = keyId.slice(keyId.lastIndexOf("/") + 1);
  const mount = keyId.slice(0, keyId.lastIndexOf("/"));
  return makeKey({
    source: "vault-prod",
    sourceType: "hashicorp-vault",
    location,
    keyId,
    arn: `${location}/v1/${mount}/keys/${name}`,
    aliases: [name],
    keySpec: "aes256-gcm96",
    rawKeyType: "aes256-gcm96",
    keyUsage: "encrypt-decrypt",
    hsmBacked: false,
    exportable: false,
    allowPlaintextBackup: false,
    rotation: collected<RotationStatus>(
      { enabled: true, periodDays: 30, history: [] },
      `vault:GET ${mount}/keys/${name}`,
    ),
    access: collected<AccessPolicy>({ documents: [], grants: [] }, "vault:GET sys/policies/acl"),
    ...overrides,
  });
}

export function makeGrant(overrides: Partial<AccessGrant> = {}): AccessGrant {
  return {
    principal: `arn:aws:iam::${DEFAULT_ACCOUNT}:role/payments-app`,
    principalKind: "role",
    principalAccount: DEFAULT_ACCOUNT,
    effect: "allow",
    actions: ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*"],
    via: "key-policy",
    reference: "Allow use of the key",
    ...overrides,
  };
}

/** The statement AWS puts in every default key policy: the account root may do `kms:*`. */
export function accountRootGrant(account = DEFAULT_ACCOUNT): AccessGrant {
  return makeGrant({
    principal: `arn:aws:iam::${account}:root`,
    principalKind: "account-root",
    principalAccount: account,
    actions: ["kms:*"],
    reference: "Enable IAM User Permissions",
  });
}

/** `makeAccess([makeGrant(...)])`: a collected access policy with exactly these grants. */
export function makeAccess(
  grants: AccessGrant[],
  documents: AccessPolicy["documents"] = [],
): Collected<AccessPolicy> {
  return collected<AccessPolicy>({ documents, grants }, "kms:GetKeyPolicy");
}

/**
 * A customer-managed, enabled, platform-origin AWS symmetric key with rotation on (365 days) and the
 * default key policy. Optional facts (hsmBacked, exportable...) are left unset, as for a source that does not say. Override anything: `makeKey({ state: "disabled", rotation: makeRotation({ enabled: false }) })`.
 * The ARN follows `location`, `keyId` and `sourceType` unless given.
 */
export function makeKey(overrides: Partial<KeyRecord> = {}): KeyRecord {
  const source = overrides.source ?? DEFAULT_SOURCE;
  const sourceType = overrides.sourceType ?? "aws-kms";
  const location = overrides.location ?? DEFAULT_LOCATION;
  const keyId = overrides.keyId ?? nextKeyId();
  const arn =
    overrides.arn ??
    (sourceType === "aws-kms"
      ? `arn:aws:kms:${location}:${DEFAULT_ACCOUNT}:key/${keyId}`
      : `${location}/keys/${keyId}`);
  const rotation = overrides.rotation ?? makeRotation();
  const access = overrides.access ?? makeAccess([accountRootGrant()]);
  const raw = overrides.raw ?? {};
  return {
    source,
    sourceType,
    location,
    keyId,
    arn,
    aliases: [],
    keySpec: "SYMMETRIC_DEFAULT",
    rawKeyType: "SYMMETRIC_DEFAULT",
    keyUsage: "ENCRYPT_DECRYPT",
    origin: "platform",
    manager: "customer",
    state: "enabled",
    createdAt: "2025-01-15T10:00:00.000Z",
    tags: {},
    rotation,
    access,
    raw,
    // As a provider computes it, so a key built with other capture times has the matching window.
    readWindow: readWindowOf(
      [rotation, access, overrides.vaultProtection, ...Object.values(raw)],
      CAPTURED_AT,
    ),
    errors: [],
    ...overrides,
  };
}

/** `count` default keys, each with `overrides` applied: for population-completeness tests. */
export function makeKeys(count: number, overrides: Partial<KeyRecord> = {}): KeyRecord[] {
  return Array.from({ length: count }, () => makeKey(overrides));
}

/**
 * An AWS multi-Region key: its primary in us-east-1 and one replica in eu-west-1 (same `mrk-` key id, one
 * ARN per region), each with the `multiRegionConfiguration` DescribeKey gives it. Overrides apply per key.
 */
export function makeMultiRegionKeys(
  primaryOverrides: Partial<KeyRecord> = {},
  replicaOverrides: Partial<KeyRecord> = {},
): { primary: KeyRecord; replica: KeyRecord; primaryArn: string; replicaArn: string } {
  const keyId = `mrk-${nextKeyId().replaceAll("-", "")}`;
  const primaryArn = `arn:aws:kms:us-east-1:${DEFAULT_ACCOUNT}:key/${keyId}`;
  const replicaArn = `arn:aws:kms:eu-west-1:${DEFAULT_ACCOUNT}:key/${keyId}`;
  const shared = { primaryArn, primaryRegion: "us-east-1", replicaArns: [replicaArn] };
  const primary = makeKey({
    keyId,
    location: "us-east-1",
    multiRegion: true,
    multiRegionConfiguration: { role: "primary", ...shared },
    ...primaryOverrides,
  });
  const replica = makeKey({
    keyId,
    location: "eu-west-1",
    multiRegion: true,
    multiRegionConfiguration: { role: "replica", ...shared },
    ...replicaOverrides,
  });
  return { primary, replica, primaryArn, replicaArn };
}
