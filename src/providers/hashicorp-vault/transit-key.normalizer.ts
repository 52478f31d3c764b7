/**
 * Normalizes a transit key read (`GET <mount>/keys/<name>` → `data`) into the model's key facts. Pure.
 *
 * Facts worth knowing (research/apis.md §1.3, checked against OpenBao 2.7):
 * - `keys` maps version → creation time in two shapes: unix seconds (AES, ChaCha20) or an object with an
 *   RFC 3339 `creation_time` (RSA, ECDSA, Ed25519). HMAC and managed keys have no `keys` field at all.
 * - `auto_rotate_period` is whole seconds, 0 = automatic rotation off.
 * - There is no enabled/disabled switch; OpenBao adds `soft_deleted` (key unusable until restored).
 *
 * keySpec is Vault's own `type` string (`aes256-gcm96`, `rsa-2048`, `ecdsa-p256`...), as the model documents:
 * to approve Vault keys, list those type strings in `policy.approvedKeySpecs`.
 */
import { z } from "zod";
import type { KeyOrigin, KeyState, RotationEvent, RotationStatus } from "../../model/key.ts";

const SECONDS_PER_DAY = 86_400;

const VersionEntrySchema = z.union([
  z.number(),
  z.looseObject({ creation_time: z.string().optional(), name: z.string().optional() }),
]);

/** Only the fields keyproof reads; the whole response is kept raw beside the key anyway. */
export const TransitKeyDataSchema = z.looseObject({
  name: z.string().optional(),
  type: z.string(),
  keys: z.record(z.string(), VersionEntrySchema).optional(),
  latest_version: z.number().int().optional(),
  min_available_version: z.number().int().optional(),
  min_decryption_version: z.number().int().optional(),
  min_encryption_version: z.number().int().optional(),
  auto_rotate_period: z.number().optional(),
  deletion_allowed: z.boolean().optional(),
  exportable: z.boolean().optional(),
  allow_plaintext_backup: z.boolean().optional(),
  imported_key: z.boolean().optional(),
  imported: z.boolean().optional(),
  soft_deleted: z.boolean().optional(),
  supports_encryption: z.boolean().optional(),
  supports_decryption: z.boolean().optional(),
  supports_signing: z.boolean().optional(),
  derived: z.boolean().optional(),
  key_size: z.number().optional(),
  managed_key_name: z.string().optional(),
});
export type TransitKeyData = z.infer<typeof TransitKeyDataSchema>;

export interface TransitKeyVersion {
  version: number;
  /** UTC ISO-8601, undefined when the entry carries no parsable time. */
  createdAt?: string;
}

export interface NormalizedTransitKey {
  keySpec: string;
  rawKeyType: string;
  keyUsage: string;
  origin: KeyOrigin;
  state: KeyState;
  hsmBacked: boolean;
  /** `exportable`; undefined when the read does not carry the field. */
  exportable?: boolean;
  /** `allow_plaintext_backup`; undefined when the read does not carry the field. */
  allowPlaintextBackup?: boolean;
  createdAt?: string;
  versions: TransitKeyVersion[];
  rotation: RotationStatus;
}

function instantOf(entry: z.infer<typeof VersionEntrySchema>): string | undefined {
  const date =
    typeof entry === "number"
      ? new Date(entry * 1000)
      : entry.creation_time === undefined
        ? undefined
        : new Date(entry.creation_time);
  if (date === undefined || Number.isNaN(date.getTime())) return undefined;
  return date.toISOString();
}

/** Versions in ascending order with their creation instants, from either shape of the `keys` map. */
export function transitKeyVersions(data: TransitKeyData): TransitKeyVersion[] {
  return Object.entries(data.keys ?? {})
    .map(([version, entry]) => {
      const createdAt = instantOf(entry);
      return createdAt === undefined ? { version: Number(version) } : { version: Number(version), createdAt };
    })
    .filter((entry) => Number.isInteger(entry.version))
    .sort((a, b) => a.version - b.version);
}

/** `encrypt-decrypt`, `sign-verify`, both joined by `+`, or `hmac`/`none`. */
function keyUsageOf(data: TransitKeyData): string {
  if (data.type === "hmac") return "hmac";
  const uses: string[] = [];
  if (data.supports_encryption === true || data.supports_decryption === true) uses.push("encrypt-decrypt");
  if (data.supports_signing === true) uses.push("sign-verify");
  return uses.length === 0 ? "none" : uses.join("+");
}

function originOf(data: TransitKeyData): KeyOrigin {
  if (data.type === "managed_key" || data.managed_key_name !== undefined) return "external-store";
  if (data.imported_key === true || data.imported === true) return "imported";
  return "platform";
}

export function normalizeTransitKey(data: TransitKeyData): NormalizedTransitKey {
  const versions = transitKeyVersions(data);
  const created = versions.map((version) => version.createdAt).filter((value) => value !== undefined);
  const periodSeconds = data.auto_rotate_period ?? 0;
  const enabled = periodSeconds > 0;
  // Every version after the first is a rotation (Vault does not say whether the schedule or a person made it).
  const history = versions
    .filter((version) => version.version > 1 && version.createdAt !== undefined)
    .map((version): RotationEvent => ({
      date: version.createdAt as string,
      type: "new-version",
      version: String(version.version),
    }))
    .sort((left, right) => left.date.localeCompare(right.date));
  const lastRotation = history.at(-1)?.date;
  // The schedule counts from the newest version, which is the creation when the key never rotated.
  const newestVersionAt = created.length === 0 ? undefined : created.reduce((a, b) => (a > b ? a : b));

  const rotation: RotationStatus = {
    enabled,
    history,
    detail: {
      autoRotatePeriodSeconds: periodSeconds,
      latestVersion: data.latest_version,
      minDecryptionVersion: data.min_decryption_version,
      minEncryptionVersion: data.min_encryption_version,
      minAvailableVersion: data.min_available_version,
      versions: Object.fromEntries(
        versions.map((version) => [String(version.version), version.createdAt ?? null]),
      ),
    },
  };
  if (enabled) rotation.periodDays = periodSeconds / SECONDS_PER_DAY;
  if (lastRotation !== undefined) rotation.lastRotation = lastRotation;
  if (enabled && newestVersionAt !== undefined) {
    // Vault's periodic func rotates once `now - newest version time >= period`; it checks about every minute.
    rotation.nextRotation = new Date(Date.parse(newestVersionAt) + periodSeconds * 1000).toISOString();
  }

  const normalized: NormalizedTransitKey = {
    keySpec: data.type,
    rawKeyType: data.type,
    keyUsage: keyUsageOf(data),
    origin: originOf(data),
    state: data.soft_deleted === true ? "disabled" : "enabled",
    hsmBacked: data.type === "managed_key" || data.managed_key_name !== undefined,
    versions,
    rotation,
  };
  if (data.exportable !== undefined) normalized.exportable = data.exportable;
  if (data.allow_plaintext_backup !== undefined)
    normalized.allowPlaintextBackup = data.allow_plaintext_backup;
  // Trimmed keys (min_available_version > 0) lost their first versions: the oldest left is the best we know.
  const createdAt = created.length === 0 ? undefined : created.reduce((a, b) => (a < b ? a : b));
  if (createdAt !== undefined) normalized.createdAt = createdAt;
  return normalized;
}
