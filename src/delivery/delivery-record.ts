import { rename, writeFile } from "node:fs/promises";
import type { DeliveryTargetConfig } from "../config/deliver.schema.ts";
import { describeError } from "../errors/errors.ts";
import type { BundleStore } from "../storage/bundle-store.ts";
import type { DeliveryLedger } from "./delivery-ledger.ts";
import {
  expectsFinish,
  readTargetDelivery,
  selectArtifacts,
  type SealedRun,
  type TargetDelivery,
} from "./deliver-run.ts";

/**
 * `delivery.json`: where a run's evidence was delivered, per target and artifact (remote id, time,
 * SHA-256 of what was sent, HTTP status). A receipt beside the bundle, like storage.json: written after
 * sealing, so it is not in the signed bundle; every write replaces the local file and adds an S3 version.
 */

export const DELIVERY_RECORD_FORMAT = "keyproof-delivery/1";
export const DELIVERY_RECORD_SUFFIX = ".delivery.json";

export interface DeliveryRecord {
  format: typeof DELIVERY_RECORD_FORMAT;
  runId: string;
  manifestSha256: string;
  updatedAt: string;
  targets: Record<string, Omit<TargetDelivery, "target">>;
}

/** `<bundle directory>.delivery.json`, beside the archive and storage.json. */
export function deliveryRecordPath(bundleDirectory: string): string {
  return `${bundleDirectory}${DELIVERY_RECORD_SUFFIX}`;
}

/** Every configured target's delivery as its ledger has it (`pending` for one not tried yet). */
export async function readRunDeliveries(
  ledger: DeliveryLedger,
  sealed: Pick<SealedRun, "bundleDirectory" | "manifest">,
  targets: readonly DeliveryTargetConfig[],
): Promise<TargetDelivery[]> {
  return Promise.all(
    targets.map((config) =>
      readTargetDelivery(
        ledger,
        sealed.manifest.runId,
        config,
        selectArtifacts(config, sealed.bundleDirectory, sealed.manifest.files),
        expectsFinish(config),
      ),
    ),
  );
}

export function deliveryRecordOf(
  sealed: Pick<SealedRun, "manifest" | "manifestSha256">,
  deliveries: readonly TargetDelivery[],
  now: Date,
): DeliveryRecord {
  return {
    format: DELIVERY_RECORD_FORMAT,
    runId: sealed.manifest.runId,
    manifestSha256: sealed.manifestSha256,
    updatedAt: now.toISOString(),
    targets: Object.fromEntries(deliveries.map(({ target, ...delivery }) => [target, delivery] as const)),
  };
}

export interface WrittenDeliveryRecord {
  local: string;
  /** Where the stores keep it (S3 with its version id). */
  stored: Array<{ location: string; versionId?: string }>;
  /** Stores that refused the write: the local file still holds it. */
  problems: string[];
}

/**
 * Writes delivery.json beside the local bundle and beside the stored bundle in every store that holds it.
 * A store that refuses is reported, not thrown: the deliveries themselves happened either way.
 */
export async function writeDeliveryRecord(input: {
  sealed: Pick<SealedRun, "bundleDirectory" | "storage">;
  record: DeliveryRecord;
  stores: readonly BundleStore[];
}): Promise<WrittenDeliveryRecord> {
  const body = `${JSON.stringify(input.record, null, 2)}\n`;
  const local = deliveryRecordPath(input.sealed.bundleDirectory);
  await writeFile(`${local}.tmp`, body);
  await rename(`${local}.tmp`, local);
  const written: WrittenDeliveryRecord = { local, stored: [], problems: [] };
  const storage = input.sealed.storage;
  if (storage === undefined) return written;
  for (const store of input.stores) {
    const held = storage.stores.some((outcome) => outcome.store === store.description && outcome.stored);
    if (!held) continue;
    try {
      written.stored.push(await store.putReceipt(storage.objectName, DELIVERY_RECORD_SUFFIX, body));
    } catch (error) {
      written.problems.push(`${store.description}: delivery.json not written: ${describeError(error)}`);
    }
  }
  return written;
}
