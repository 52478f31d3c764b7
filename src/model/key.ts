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

export interface RotationEvent {
  /** UTC ISO-8601 */
  date: string;
  type: "automatic" | "on-demand" | "manual" | "new-version";
}

export interface RotationStatus {
  /** Automatic (scheduled) rotation is configured and on. */
  enabled: boolean;
  /** Days between automatic rotations; undefined when the source does not report it. */
  periodDays?: number;
  /** UTC ISO-8601 */
  nextRotation?: string;
  /** UTC ISO-8601 of the latest known rotation or key version creation. */
  lastRotation?: string;
  history: RotationEvent[];
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

export interface AccessPolicy {
  /** Raw policy documents as exported (AWS key policy JSON, Azure access policies, Vault ACL text). */
  documents: Array<{ name: string; document: unknown }>;
  grants: AccessGrant[];
}

export interface KeyRecord {
  /** Source id from the config. */
  source: string;
  sourceType: SourceType;
  /** Region, vault URL or Vault mount the key lives in. */
  location: string;
  /** Unique within the source: AWS key id, Azure key id URL without version, Vault `<mount>/<name>`. */
  keyId: string;
  /** Fully qualified identifier: ARN, key URI, Vault address path. */
  arn: string;
  /** Aliases or friendly names (AWS `alias/x`, Azure key name, Vault key name). */
  aliases: string[];
  description?: string;
  /** Normalized spec: AWS KeySpec (`SYMMETRIC_DEFAULT`, `RSA_2048`...), Azure `RSA_2048`/`EC_P256`/`OCT_256`, Vault type. */
  keySpec: string;
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
  multiRegion?: boolean;
  hsmBacked?: boolean;
  tags: Record<string, string>;
  rotation: Collected<RotationStatus>;
  access: Collected<AccessPolicy>;
  /** Raw API responses for the configuration export, keyed by call name. */
  raw: Record<string, Collected<unknown>>;
  /** Failures that affected this key but have no dedicated slot (tags, aliases...). */
  errors: CollectionError[];
}
