/**
 * One transit key: `GET <mount>/keys/<name>` read and normalized (transit-key.normalizer.ts), then built
 * into the model's `KeyRecord` with its mount entry and access. A failed read still makes a record: every
 * fact it would have given carries the failure.
 */
import type { AccessPolicy, Collected, CollectionError, KeyRecord } from "../../model/key.ts";
import { UNKNOWN_KEY_SPEC } from "../../model/key.ts";
import {
  normalizeTransitKey,
  TransitKeyDataSchema,
  type NormalizedTransitKey,
} from "./transit-key.normalizer.ts";
import { dataOf, type VaultApi } from "./vault-client.ts";
import { setupError, toVaultCollectionError } from "./vault-error.ts";
import { vaultCall } from "./vault-paths.ts";
import { readWindowOf } from "../shared/read-window.ts";

/** A key as a reference names it: the transit mount (no trailing slash) and the key's name. */
export interface TransitKeyName {
  mount: string;
  name: string;
}

/** What places a key record in its source: the config id, the location, the address and namespace. */
export interface TransitKeyContext {
  sourceId: string;
  location: string;
  /** Address without a trailing slash. */
  address: string;
  /** Normalized namespace (`admin/`), `""` for root. */
  namespace: string;
  /**
   * The namespace relative to the source's configured one (`team-a/`), `""` in it: the prefix of each key id,
   * so the same `<mount>/<name>` in two namespaces of one source are two key ids.
   */
  keyPrefix: string;
}

export type TransitKeyRead =
  | {
      ok: true;
      raw: Collected<unknown>;
      key: NormalizedTransitKey;
      latestVersion?: number;
      capturedAt: string;
    }
  | { ok: false; raw?: Collected<unknown>; error: CollectionError; capturedAt: string };

/** `GET <mount>/keys/<name>`: the raw response, and the normalized key or why there is none. */
export async function readTransitKey(
  api: VaultApi,
  keyPath: string,
  now: () => string,
): Promise<TransitKeyRead> {
  const call = vaultCall("GET", keyPath);
  let data: Record<string, unknown>;
  try {
    data = dataOf(await api.read(keyPath));
  } catch (error) {
    const failure = toVaultCollectionError(call, error);
    const capturedAt = now();
    return { ok: false, raw: { ok: false, error: failure, capturedAt }, error: failure, capturedAt };
  }
  const capturedAt = now();
  const raw: Collected<unknown> = { ok: true, value: data, call, capturedAt };
  const parsed = TransitKeyDataSchema.safeParse(data);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`).join("; ");
    const error = setupError(call, "UnexpectedResponse", `transit key response not understood: ${issues}`);
    return { ok: false, raw, error, capturedAt };
  }
  const latestVersion = parsed.data.latest_version;
  return {
    ok: true,
    raw,
    key: normalizeTransitKey(parsed.data),
    capturedAt,
    ...(latestVersion === undefined ? {} : { latestVersion }),
  };
}

/** The model's record of one transit key. Pure. */
export function toTransitKeyRecord(
  context: TransitKeyContext,
  key: TransitKeyName,
  mount: Collected<unknown>,
  read: TransitKeyRead,
  access: Collected<AccessPolicy>,
): KeyRecord {
  const keyPath = `${key.mount}/keys/${key.name}`;
  const call = vaultCall("GET", keyPath);
  const record: KeyRecord = {
    source: context.sourceId,
    sourceType: "hashicorp-vault",
    location: context.location,
    keyId: `${context.keyPrefix}${key.mount}/${key.name}`,
    arn: `${context.address}/v1/${context.namespace}${keyPath}`,
    aliases: [key.name],
    // The read failed: the spec is not known (the failure is in `errors`), and checks answer `error`.
    keySpec: UNKNOWN_KEY_SPEC,
    rawKeyType: UNKNOWN_KEY_SPEC,
    origin: "platform",
    manager: "customer",
    state: "unavailable",
    tags: {},
    vaultTransitKey: { namespace: context.namespace, mount: key.mount, name: key.name },
    rotation: read.ok
      ? { ok: true, value: read.key.rotation, call, capturedAt: read.capturedAt }
      : { ok: false, error: read.error, capturedAt: read.capturedAt },
    access,
    raw: { [vaultCall("GET", "sys/mounts")]: mount },
    readWindow: { first: read.capturedAt, last: read.capturedAt },
    errors: read.ok ? [] : [read.error],
  };
  if (read.raw !== undefined) record.raw[call] = read.raw;
  record.readWindow = readWindowOf([...Object.values(record.raw), record.rotation, access], read.capturedAt);
  if (!read.ok) return record;
  const normalized = read.key;
  record.keySpec = normalized.keySpec;
  record.rawKeyType = normalized.rawKeyType;
  record.keyUsage = normalized.keyUsage;
  record.origin = normalized.origin;
  record.state = normalized.state;
  record.hsmBacked = normalized.hsmBacked;
  if (normalized.exportable !== undefined) record.exportable = normalized.exportable;
  if (normalized.allowPlaintextBackup !== undefined)
    record.allowPlaintextBackup = normalized.allowPlaintextBackup;
  if (normalized.createdAt !== undefined) record.createdAt = normalized.createdAt;
  return record;
}
