import { readFile, writeFile } from "node:fs/promises";
import { KeyproofError, describeError, isKeyproofError } from "../errors/errors.ts";
import type { ErrorCode } from "../errors/errors.ts";
import { hashFile } from "../evidence/bundle-tree.ts";
import type { SealedBundle } from "../evidence/bundle-writer.ts";
import type { Manifest } from "../evidence/manifest.ts";
import type { BundleStore } from "./bundle-store.ts";
import { bundleObjectName } from "./chain-scope.ts";

/**
 * The storage step of a run, in two halves around sealing: `prepareBundleStorage` before (check every
 * store, find the previous bundle so the manifest can link to it), `storeSealedBundle` after (upload,
 * read back, write `<bundle>.storage.json`). Used by the inline and the queued pipeline alike.
 *
 * `storage.json` sits next to the bundle directory and archive, not inside the bundle: what it records (the
 * S3 version id, the retain-until date S3 reports, S3's checksum) exists only after the archive was sealed
 * and uploaded, and adding it to the bundle would change the very bytes that were signed and stored. It is
 * a receipt about the bundle, checkable against S3 at any time, not part of the evidence.
 */

export const STORAGE_RECORD_FORMAT = "keyproof-storage/1";

export type PreviousBundleLink = NonNullable<Manifest["previousBundle"]>;

export interface PreparedStorage {
  scope: string;
  stores: BundleStore[];
  /** Stores that passed their readiness check; only these receive the bundle. */
  ready: BundleStore[];
  refused: Array<{ store: BundleStore; error: KeyproofError }>;
  /** The link to record in the manifest; absent for the first bundle of the scope (or no chain store). */
  previousBundle?: PreviousBundleLink;
}

export type StoreOutcome =
  | {
      store: string;
      kind: BundleStore["kind"];
      stored: true;
      location: string;
      versionId?: string;
      /** As read back from the store after upload. */
      retention?: { mode: string; retainUntil: string };
      /** As the store reports it (S3: base64, `-<parts>` for multipart uploads). */
      checksumSha256?: string;
      bytes: number;
    }
  | {
      store: string;
      kind: BundleStore["kind"];
      stored: false;
      code: ErrorCode;
      reason: string;
      remediation?: string;
    };

/** Contents of `<bundle>.storage.json`. */
export interface StorageRecord {
  format: typeof STORAGE_RECORD_FORMAT;
  runId: string;
  /** Absolute path of the sealed archive that was uploaded. */
  archive: string;
  /** SHA-256 hex of the archive. */
  archiveSha256: string;
  manifestSha256: string;
  scope: string;
  objectName: string;
  previousBundle?: PreviousBundleLink;
  recordedAt: string;
  stores: StoreOutcome[];
}

function asKeyproofError(error: unknown): KeyproofError {
  if (isKeyproofError(error)) return error;
  return new KeyproofError("STORAGE_REFUSED", describeError(error), { cause: error });
}

/**
 * Checks every store (a refused one is remembered, not thrown: the bundle is still sealed locally) and
 * asks the first store for the previous bundle of the scope. A chain store whose history cannot be read
 * is refused too: storing a bundle without its link would break the chain.
 */
export async function prepareBundleStorage(stores: BundleStore[], scope: string): Promise<PreparedStorage> {
  const prepared: PreparedStorage = { scope, stores, ready: [], refused: [] };
  for (const store of stores) {
    try {
      await store.checkReady();
      prepared.ready.push(store);
    } catch (error) {
      prepared.refused.push({ store, error: asKeyproofError(error) });
    }
  }
  const chainStore = stores[0];
  if (chainStore !== undefined && prepared.ready.includes(chainStore)) {
    try {
      const previous = await chainStore.findPreviousBundle(scope);
      if (previous !== undefined) {
        prepared.previousBundle = { manifestSha256: previous.manifestSha256, location: previous.location };
      }
    } catch (error) {
      prepared.ready = prepared.ready.filter((store) => store !== chainStore);
      prepared.refused.unshift({ store: chainStore, error: asKeyproofError(error) });
    }
  }
  return prepared;
}

export function storageRecordPath(bundle: Pick<SealedBundle, "directory">): string {
  return `${bundle.directory}.storage.json`;
}

/** The record of an earlier attempt for exactly this archive, so a retry stores only what is missing. */
async function readEarlierRecord(
  path: string,
  archiveSha256: string,
  manifestSha256: string,
): Promise<StorageRecord | undefined> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path, "utf8"));
  } catch {
    return undefined;
  }
  if (typeof parsed !== "object" || parsed === null) return undefined;
  const record = parsed as Partial<StorageRecord>;
  return record.format === STORAGE_RECORD_FORMAT &&
    record.archiveSha256 === archiveSha256 &&
    record.manifestSha256 === manifestSha256 &&
    typeof record.objectName === "string" &&
    Array.isArray(record.stores)
    ? (record as StorageRecord)
    : undefined;
}

/**
 * Uploads the sealed archive to every ready store, writes the storage record, and throws STORAGE_REFUSED
 * naming the local archive when any store refused or failed: a run whose bundle is not where the config
 * says is not a successful run, but the sealed bundle stays on disk untouched. Calling it again for the
 * same archive (a retried job) keeps the object name and skips the stores that already hold it.
 */
export async function storeSealedBundle(input: {
  prepared: PreparedStorage;
  bundle: SealedBundle;
  now?: () => Date;
}): Promise<StorageRecord> {
  const { prepared, bundle } = input;
  const now = input.now ?? (() => new Date());
  const runId = bundle.manifest.runId;
  const archiveSha256 = (await hashFile(bundle.archive)).sha256;
  const earlier = await readEarlierRecord(storageRecordPath(bundle), archiveSha256, bundle.manifestSha256);
  const objectName = earlier?.objectName ?? bundleObjectName(prepared.scope, runId, now());
  const outcomes: StoreOutcome[] = [];

  for (const { store, error } of prepared.refused) {
    outcomes.push({
      store: store.description,
      kind: store.kind,
      stored: false,
      code: error.code,
      reason: error.message,
      ...(error.remediation === undefined ? {} : { remediation: error.remediation }),
    });
  }
  for (const store of prepared.ready) {
    const done = earlier?.stores.find((outcome) => outcome.store === store.description && outcome.stored);
    if (done !== undefined) {
      outcomes.push(done);
      continue;
    }
    try {
      const stored = await store.putBundle(bundle.archive, objectName);
      outcomes.push({
        store: store.description,
        kind: store.kind,
        stored: true,
        location: stored.location,
        ...(stored.versionId === undefined ? {} : { versionId: stored.versionId }),
        ...(stored.retention === undefined ? {} : { retention: stored.retention }),
        ...(stored.checksumSha256 === undefined ? {} : { checksumSha256: stored.checksumSha256 }),
        bytes: stored.bytes,
      });
    } catch (error) {
      const failure = asKeyproofError(error);
      outcomes.push({
        store: store.description,
        kind: store.kind,
        stored: false,
        code: failure.code,
        reason: failure.message,
        ...(failure.remediation === undefined ? {} : { remediation: failure.remediation }),
      });
    }
  }
  // Keep the configured order (S3 first) in the record, whatever happened first.
  outcomes.sort(
    (left, right) =>
      prepared.stores.findIndex((store) => store.description === left.store) -
      prepared.stores.findIndex((store) => store.description === right.store),
  );

  const record: StorageRecord = {
    format: STORAGE_RECORD_FORMAT,
    runId,
    archive: bundle.archive,
    archiveSha256,
    manifestSha256: bundle.manifestSha256,
    scope: prepared.scope,
    objectName,
    ...(prepared.previousBundle === undefined ? {} : { previousBundle: prepared.previousBundle }),
    recordedAt: now().toISOString(),
    stores: outcomes,
  };
  await writeFile(storageRecordPath(bundle), `${JSON.stringify(record, null, 2)}\n`);

  const failed = outcomes.filter((outcome) => !outcome.stored);
  if (failed.length > 0) {
    const first = failed[0];
    const remediation = first !== undefined && !first.stored ? first.remediation : undefined;
    throw new KeyproofError(
      "STORAGE_REFUSED",
      `the bundle is sealed at ${bundle.archive} but was not stored: ${failed
        .map((outcome) => (outcome.stored ? "" : `${outcome.store}: ${outcome.reason}`))
        .join("; ")}`,
      remediation === undefined ? {} : { remediation },
    );
  }
  return record;
}
