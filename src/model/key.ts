/**
 * The normalized model shared by every provider (AWS KMS, Azure Key Vault, HashiCorp Vault).
 * Providers fill it with facts only; checks judge it. Nothing here performs I/O.
 */

export const SOURCE_TYPES = ["aws-kms", "azure-key-vault", "hashicorp-vault"] as const;
export type SourceType = (typeof SOURCE_TYPES)[number];

/** Where a provider call failed. Carried instead of the value, so the key is never dropped. */
export interface CollectionError {
  /** The API call that failed, e.g. `kms:GetKeyPolicy`. */
  call: string;
  /** Provider error code or name, e.g. `AccessDeniedException`. */
  code: string;
  message: string;
  retryable: boolean;
}

/** A fact gathered by one call, or the reason it could not be gathered. */
export type Collected<T> =
  | { ok: true; value: T; call: string; capturedAt: string }
  | { ok: false; error: CollectionError; capturedAt: string };

/** The first and the last moment facts were read (UTC ISO-8601): a key's reads, or a whole run's. */
export interface ReadWindow {
  first: string;
  last: string;
}

export const KEY_STATES = [
  "enabled",
  "disabled",
  "pending-deletion",
  "pending-import",
  "unavailable",
  "other",
] as const;
export type KeyState = (typeof KEY_STATES)[number];

/** Where the key material came from; only `platform` keys can rotate automatically. */
export const KEY_ORIGINS = ["platform", "imported", "external-store", "custom-key-store"] as const;
export type KeyOrigin = (typeof KEY_ORIGINS)[number];

/** One rotation the source reports with its time (an AWS rotation, a new Azure or Vault key version). */
export interface RotationEvent {
  /** UTC ISO-8601 */
  date: string;
  /** `new-version`: the source says a version was created but not whether a schedule or a person did it. */
  type: "automatic" | "on-demand" | "manual" | "new-version";
  /** The key version the rotation created, when the source names versions (Azure version id, Vault number). */
  version?: string;
}

/**
 * A multi-Region key's place in its set. Primary and replicas share key material and rotation (AWS KMS
 * synchronizes "automatic key rotation status" and rotates them together); rotation is configured on the
 * primary only, so rotation is judged on the primary's facts.
 */
export interface MultiRegionConfiguration {
  role: "primary" | "replica";
  /** ARN of the set's primary key (the key itself when `role` is `primary`). */
  primaryArn: string;
  /** Region of the primary key. */
  primaryRegion: string;
  /** ARNs of the replica keys as the source lists them (for a replica, AWS lists at least itself). */
  replicaArns: string[];
}

export interface RotationStatus {
  /** Automatic (scheduled) rotation is configured and on. */
  enabled: boolean;
  /** Days between automatic rotations; undefined when the source does not report it. */
  periodDays?: number;
  /** UTC ISO-8601 */
  nextRotation?: string;
  /**
   * UTC ISO-8601 of the latest rotation: always the date of the last `history` event, never set without
   * one. Undefined for a key that never rotated (its creation is `KeyRecord.createdAt`) or whose source
   * reports no rotation times.
   */
  lastRotation?: string;
  /** Rotations the source reports with their times, oldest first. The key's creation is not a rotation. */
  history: RotationEvent[];
  /**
   * Why `history` is not the key's full rotation history although the status was read (AWS ListKeyRotations
   * failed): checks that judge the history warn with this reason, they never read an empty list as
   * "never rotated". Undefined when the history is complete as far as the source keeps it.
   */
  historyUnavailable?: string;
  /** Provider-specific details worth showing an auditor (raw policy, lifetime actions...). */
  detail?: Record<string, unknown>;
}

export const PRINCIPAL_KINDS = [
  "wildcard",
  "account-root",
  "human-user",
  "role",
  "service",
  "group",
  "managed-identity",
  "service-principal",
  "policy",
  "unknown",
] as const;
export type PrincipalKind = (typeof PRINCIPAL_KINDS)[number];

/** One principal's permissions on one key, from whichever mechanism grants it. */
export interface AccessGrant {
  /** ARN, object id, policy name, or `*`. */
  principal: string;
  principalKind: PrincipalKind;
  /** The account/tenant the principal lives in, when known (AWS account id). */
  principalAccount?: string;
  effect: "allow" | "deny";
  /** Actions or capabilities as the source names them, e.g. `kms:Decrypt`, `decrypt`, `update`. */
  actions: string[];
  /** Raw condition block; undefined or empty means unconditional. */
  conditions?: Record<string, unknown>;
  /** key-policy/grant/identity-policy: AWS; rbac-role/access-policy: Azure; acl-policy: Vault. */
  via: "key-policy" | "grant" | "identity-policy" | "rbac-role" | "access-policy" | "acl-policy";
  /** Statement id, grant id, role assignment id, policy name: the pointer an auditor follows. */
  reference: string;
}

/** A rule that may or may not reach the key, depending on facts the source cannot tell in advance. */
export interface UndeterminedAccess {
  /** Who the rule belongs to (a Vault policy name). */
  principal: string;
  /** The rule as written (a Vault path pattern). */
  reference: string;
  /** Why its reach is unknown, in an auditor's words. */
  reason: string;
}

export interface AccessPolicy {
  /** Raw policy documents as exported (AWS key policy JSON, Azure access policies, Vault ACL text). */
  documents: Array<{ name: string; document: unknown }>;
  grants: AccessGrant[];
  /**
   * Rules whose reach on this key is unknown (Vault templated paths such as `transit/keys/{{identity.entity.name}}`
   * resolve per token): neither a grant nor nothing, so checks warn. Absent when there are none.
   */
  undetermined?: UndeterminedAccess[];
}

/** Key spec a provider records when the key's metadata call failed; the failure itself is in `KeyRecord.errors`. */
export const UNKNOWN_KEY_SPEC = "UNKNOWN";

/**
 * Deletion safeguards of the vault a key lives in (Azure Key Vault properties from Resource Manager).
 * Each fact is undefined when the source does not report it: a check warns then, it never guesses.
 */
export interface VaultProtection {
  /** Vault name, for messages. */
  vault: string;
  /** A deleted key is kept (recoverable) for the retention period instead of being erased at once. */
  softDelete?: boolean;
  /** Days a soft-deleted key is kept (Azure: 7 to 90, 90 when never set). */
  softDeleteRetentionDays?: number;
  /** Soft-deleted keys cannot be purged before their retention ends; irreversible once on. */
  purgeProtection?: boolean;
}

export interface KeyRecord {
  /** Source id from the config. */
  source: string;
  sourceType: SourceType;
  /** Region, vault URL or Vault mount the key lives in. */
  location: string;
  /**
   * Unique within the source: AWS key id, Azure key id URL without version, Vault `<mount>/<name>` (in a
   * namespace below the source's `namespace`, prefixed with the namespace relative to it: `team-a/transit/x`).
   */
  keyId: string;
  /** Fully qualified identifier: ARN, key URI, Vault address path. */
  arn: string;
  /** Aliases or friendly names (AWS `alias/x`, Azure key name, Vault key name). */
  aliases: string[];
  description?: string;
  /**
   * Normalized spec: AWS KeySpec (`SYMMETRIC_DEFAULT`, `RSA_2048`...), Azure `RSA_2048`/`EC_P256`/`OCT_256`,
   * Vault type; `UNKNOWN` when the key's metadata could not be read. A spec whose size or curve the source
   * does not report ends in `_UNKNOWN` (`OCT_UNKNOWN`) and `keySpecUnknownReason` says why.
   */
  keySpec: string;
  /**
   * Why part of `keySpec` is unknown although the key was read (Azure does not report the size of oct-HSM
   * keys): the reason a check gives in its `warn`. Undefined when the spec is complete.
   */
  keySpecUnknownReason?: string;
  /** Provider's own key type string before normalization. */
  rawKeyType: string;
  keyUsage?: string;
  origin: KeyOrigin;
  /** `provider` for AWS-managed keys and similar keys the customer cannot configure. */
  manager: "customer" | "provider";
  state: KeyState;
  /** UTC ISO-8601 */
  createdAt?: string;
  /** UTC ISO-8601, set when state is pending-deletion or an expiry is set. */
  deletionDate?: string;
  expiresAt?: string;
  /** AWS multi-Region key (DescribeKey `MultiRegion`); undefined when the source has no such notion. */
  multiRegion?: boolean;
  /**
   * Where a multi-Region key sits in its set (DescribeKey `MultiRegionConfiguration`): present only when
   * `multiRegion` is true and the source reported the configuration.
   */
  multiRegionConfiguration?: MultiRegionConfiguration;
  /** Key material is generated and kept in an HSM. Undefined when the source does not say. */
  hsmBacked?: boolean;
  /**
   * The key material can be exported from the service in usable form (Vault transit `exportable`).
   * Undefined when the source has no such setting or did not report it.
   */
  exportable?: boolean;
  /**
   * A backup of the key returns its material unencrypted (Vault transit `allow_plaintext_backup`).
   * Undefined when the source has no such setting or did not report it.
   */
  allowPlaintextBackup?: boolean;
  /**
   * Deletion safeguards of the key's vault (Azure Key Vault), or why they could not be read. Absent for
   * sources without vault-level deletion settings.
   */
  vaultProtection?: Collected<VaultProtection>;
  /**
   * Vault transit keys only: the namespace (`admin/team-a/`, `""` root), mount and name. A namespace's ACL
   * paths are relative to it, so checks matching them use `mount` and `name`, never the (prefixed) `keyId`.
   */
  vaultTransitKey?: { namespace: string; mount: string; name: string };
  tags: Record<string, string>;
  rotation: Collected<RotationStatus>;
  access: Collected<AccessPolicy>;
  /**
   * Raw API responses for the configuration export, keyed by call name: evidence for people only. No check
   * or view model reads it; every fact they judge has a typed field above.
   */
  raw: Record<string, Collected<unknown>>;
  /**
   * When the facts of this record were read: the earliest and the latest `capturedAt` of every call behind
   * it (those in `raw`, rotation, access, vault protection). What banners and the sealing time are bounded
   * by, so that nobody has to read `raw` to know it.
   */
  readWindow: ReadWindow;
  /** Failures that affected this key but have no dedicated slot (tags, aliases...). */
  errors: CollectionError[];
}
