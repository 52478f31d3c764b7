import type { JsonValue } from "./json.ts";
import type { SourceType } from "./key.ts";

/**
 * The configuration history of a period: which logged actions change a key's configuration, and the
 * bounded per-key summary of those changes that checks judge (`rotation-continuous`,
 * `key-policy-changes-reviewed`). The full history is in the bundle's `changes.ndjson`; this summary
 * only keeps what the checks need, capped per key, so memory grows with keys, not events.
 */

/**
 * What an administrative action changes. `rotation`: automatic rotation switched on or off; `access`: the
 * key policy or a grant (who may use the key); `other`: any other configuration (state, deletion, material,
 * aliases, tags, on-demand rotation).
 */
export type ChangeKind = "rotation" | "access" | "other";

/**
 * AWS KMS administrative API calls (CloudTrail `eventName`), per the AWS KMS API reference. Read-only
 * calls (Describe*, Get*, List*) and cryptographic operations are usage, not configuration.
 */
const AWS_KMS_ADMINISTRATIVE_ACTIONS: Readonly<Record<string, ChangeKind>> = {
  CreateKey: "other",
  EnableKey: "other",
  DisableKey: "other",
  ScheduleKeyDeletion: "other",
  CancelKeyDeletion: "other",
  EnableKeyRotation: "rotation",
  DisableKeyRotation: "rotation",
  RotateKeyOnDemand: "other",
  PutKeyPolicy: "access",
  CreateGrant: "access",
  RevokeGrant: "access",
  RetireGrant: "access",
  ImportKeyMaterial: "other",
  DeleteImportedKeyMaterial: "other",
  CreateAlias: "other",
  UpdateAlias: "other",
  DeleteAlias: "other",
  TagResource: "other",
  UntagResource: "other",
};

/** The AWS actions that switch automatic rotation, with the state each leaves behind. */
export const ROTATION_TOGGLES: Readonly<Record<string, "enabled" | "disabled">> = {
  EnableKeyRotation: "enabled",
  DisableKeyRotation: "disabled",
};

/**
 * Azure Key Vault AuditEvent `operationName`s that change a key or who may use it (research/apis.md,
 * "operationName values"). `KeyBackup` is left out: it exports the key's (wrapped) material and changes
 * nothing, so it is usage, like a read. `KeyRotateIfDue` is the service's own scheduled check, not a
 * decision anyone made. `VaultPut` / `VaultPatch` are the ARM writes of the vault resource, which carry
 * its access policies and RBAC mode: they change who may use every key of the vault.
 */
const AZURE_KEY_VAULT_ADMINISTRATIVE_ACTIONS: Readonly<Record<string, ChangeKind>> = {
  KeyCreate: "other",
  KeyImport: "other",
  KeyUpdate: "other",
  KeyDelete: "other",
  KeyPurge: "other",
  KeyRecover: "other",
  KeyRestore: "other",
  KeyRotate: "other",
  KeyRotationPolicySet: "rotation",
  VaultPut: "access",
  VaultPatch: "access",
};

/** Azure actions that are vault-level: they name no key and apply to every key of the vault. */
const AZURE_LOCATION_WIDE_ACTIONS: ReadonlySet<string> = new Set(["VaultPut", "VaultPatch"]);

/**
 * Vault actions as the audit reader names them (audit-log.reader.ts). `transit/configure-key` is `other`
 * unless its logged request sets `auto_rotate_period`, which makes it a rotation switch. `sys/policy-*`
 * are writes to `sys/policy/<name>` and `sys/policies/acl/<name>`: ACL policies are namespace-wide, so
 * they are location-wide access changes. Crypto operations and reads stay usage.
 */
const HASHICORP_VAULT_ADMINISTRATIVE_ACTIONS: Readonly<Record<string, ChangeKind>> = {
  "transit/create-key": "other",
  "transit/delete-key": "other",
  "transit/configure-key": "other",
  "transit/rotate-key": "other",
  "transit/trim-key": "other",
  "transit/import-key": "other",
  "transit/restore-key": "other",
  "transit/soft-delete-key": "other",
  "transit/restore-soft-deleted-key": "other",
  "sys/policy-write": "access",
  "sys/policy-delete": "access",
};

/** Where a change applies: to the key the event names, or to every key of its location (vault, namespace). */
export type ChangeScope = "key" | "location";

export interface AdministrativeClass {
  kind: ChangeKind;
  scope: ChangeScope;
}

/** What classification reads from an event: the action, and for Vault the request as logged. */
export interface LoggedAction {
  action: string;
  requestParameters?: JsonValue;
}

function requestField(requestParameters: JsonValue | undefined, field: string): JsonValue | undefined {
  if (typeof requestParameters !== "object" || requestParameters === null || Array.isArray(requestParameters))
    return undefined;
  return Object.hasOwn(requestParameters, field) ? requestParameters[field] : undefined;
}

/**
 * The kind and scope of change a logged action makes, or undefined when it is usage (or unknown).
 * AWS and Azure decide from the action alone; Vault's `transit/configure-key` also reads which request
 * fields were logged (the names survive the audit device's HMAC, the values do not).
 */
export function classifyAdministrativeAction(
  sourceType: SourceType,
  logged: LoggedAction,
): AdministrativeClass | undefined {
  const { action } = logged;
  if (sourceType === "aws-kms") {
    const kind = lookup(AWS_KMS_ADMINISTRATIVE_ACTIONS, action);
    return kind === undefined ? undefined : { kind, scope: "key" };
  }
  if (sourceType === "azure-key-vault") {
    const kind = lookup(AZURE_KEY_VAULT_ADMINISTRATIVE_ACTIONS, action);
    if (kind === undefined) return undefined;
    return { kind, scope: AZURE_LOCATION_WIDE_ACTIONS.has(action) ? "location" : "key" };
  }
  const kind = lookup(HASHICORP_VAULT_ADMINISTRATIVE_ACTIONS, action);
  if (kind === undefined) return undefined;
  if (action.startsWith("sys/")) return { kind, scope: "location" };
  if (
    action === "transit/configure-key" &&
    requestField(logged.requestParameters, "auto_rotate_period") !== undefined
  ) {
    return { kind: "rotation", scope: "key" };
  }
  return { kind, scope: "key" };
}

function lookup(table: Readonly<Record<string, ChangeKind>>, action: string): ChangeKind | undefined {
  return Object.hasOwn(table, action) ? table[action] : undefined;
}

/**
 * The automatic-rotation state a rotation change leaves behind, or `unknown` when the log does not say:
 * Azure's AuditEvent does not carry the rotation policy that `KeyRotationPolicySet` wrote, and a Vault
 * audit device HMACs `auto_rotate_period` unless told not to. An unknown change is listed for review,
 * never read as "disabled".
 */
export type RotationState = "enabled" | "disabled" | "unknown";

export function rotationStateAfter(sourceType: SourceType, logged: LoggedAction): RotationState {
  if (sourceType === "aws-kms")
    return Object.hasOwn(ROTATION_TOGGLES, logged.action)
      ? (ROTATION_TOGGLES[logged.action] ?? "unknown")
      : "unknown";
  if (sourceType === "hashicorp-vault" && logged.action === "transit/configure-key") {
    const period = requestField(logged.requestParameters, "auto_rotate_period");
    // Vault takes a duration string ("24h", "0s") or a number of seconds; 0 turns automatic rotation off.
    if (typeof period === "number") return period === 0 ? "disabled" : "enabled";
    if (typeof period !== "string" || period.startsWith("hmac-")) return "unknown";
    const text = period.trim();
    if (/^0+[smhd]?$/.test(text)) return "disabled";
    return /^(\d+[smhd]?)+$/.test(text) ? "enabled" : "unknown";
  }
  return "unknown";
}

/** One successful change as the checks name it: what, who, when, from where. */
export interface ChangeRecord {
  /** UTC ISO-8601 */
  time: string;
  action: string;
  principal: string;
  sourceAddress?: string;
  eventId: string;
  /** On rotation changes only: the state the change left behind (`unknown` when the log does not say). */
  rotationState?: RotationState;
}

/** A key's changes in the period, in time order, each list capped at `CHANGES_KEPT_PER_KEY`. */
export interface KeyChangeHistory {
  /** The key id the events named (the key id when known, else the reference they carried). */
  key: string;
  /**
   * Successful rotation changes (AWS EnableKeyRotation / DisableKeyRotation, Azure KeyRotationPolicySet,
   * Vault key config setting auto_rotate_period), earliest first.
   */
  rotationToggles: ChangeRecord[];
  /** Successful rotation switches beyond the cap: counted, not listed. */
  rotationTogglesOmitted: number;
  /** Successful changes that left rotation disabled, all of them, so a capped list cannot hide one. */
  rotationDisabledCount: number;
  /** Successful rotation changes whose resulting state the log does not show: to review, not a disable. */
  rotationUnknownCount: number;
  /** Successful key policy and grant changes (PutKeyPolicy, CreateGrant, RevokeGrant, RetireGrant), earliest first. */
  accessChanges: ChangeRecord[];
  accessChangesOmitted: number;
}

/** At most this many changes of each list are kept per key; the rest are counted. changes.ndjson has all. */
export const CHANGES_KEPT_PER_KEY = 100;

/** One location's configuration history for the range, summarized. Its completeness is the usage summary's. */
export interface ChangeSummary {
  source: string;
  location: string;
  /** Administrative events in changes.ndjson, failed attempts included. */
  changeCount: number;
  byAction: Record<string, number>;
  /** Keys with at least one successful rotation or access change, sorted by key. */
  keys: KeyChangeHistory[];
  /**
   * Successful access changes that apply to every key of the location (Azure VaultPut/VaultPatch, Vault
   * ACL policy writes), kept once here rather than copied onto each key; the checks name them on every
   * key of the location.
   */
  locationAccessChanges: ChangeRecord[];
  locationAccessChangesOmitted: number;
}
