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
 * The kind of change a logged action makes, or undefined when it is usage (or unknown). Azure Key Vault
 * and Vault audit actions are not classified yet: their events stay in the usage extract only.
 */
export function classifyAdministrativeAction(sourceType: SourceType, action: string): ChangeKind | undefined {
  if (sourceType === "aws-kms") {
    return Object.hasOwn(AWS_KMS_ADMINISTRATIVE_ACTIONS, action)
      ? AWS_KMS_ADMINISTRATIVE_ACTIONS[action]
      : undefined;
  }
  return undefined;
}

/** One successful change as the checks name it: what, who, when, from where. */
export interface ChangeRecord {
  /** UTC ISO-8601 */
  time: string;
  action: string;
  principal: string;
  sourceAddress?: string;
  eventId: string;
}

/** A key's changes in the period, in time order, each list capped at `CHANGES_KEPT_PER_KEY`. */
export interface KeyChangeHistory {
  /** The key id the events named (the key id when known, else the reference they carried). */
  key: string;
  /** Successful rotation switches (EnableKeyRotation / DisableKeyRotation), earliest first. */
  rotationToggles: ChangeRecord[];
  /** Successful rotation switches beyond the cap: counted, not listed. */
  rotationTogglesOmitted: number;
  /** Successful DisableKeyRotation calls, all of them, so a capped list cannot hide one. */
  rotationDisabledCount: number;
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
}
