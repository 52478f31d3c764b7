import { readFile } from "node:fs/promises";
import path from "node:path";
import { KeyproofError } from "../../../errors/errors.ts";
import type { SealedBundle } from "../../../evidence/bundle-writer.ts";
import { ManifestSchema, sha256Hex } from "../../../evidence/manifest.ts";
import { MANIFEST_FILE, SIGNATURE_FILE } from "../../../evidence/paths.ts";
import type { SignatureRecord } from "../../../signing/verify-signature.ts";
import { chainScope } from "../../../storage/chain-scope.ts";
import { createBundleStores } from "../../../storage/create-store.ts";
import {
  prepareBundleStorage,
  storeSealedBundle,
  type StorageRecord,
} from "../../../storage/store-sealed-bundle.ts";
import type { JobContext } from "../job-context.ts";
import { deliverTargetJobId } from "../job-ids.ts";
import type { RunPayload } from "../job-payloads.ts";
import { withSealedFiles } from "../run-workspace.ts";

export interface DeliverRunResult {
  status: "completed";
  /** Where the bundle was stored, when the config has `storage:`. */
  storage?: Pick<StorageRecord, "objectName" | "scope" | "stores">;
}

/**
 * Runs after sealing: uploads the sealed archive to the configured stores (S3 Object Lock and/or a local
 * directory, src/storage) and completes the run, which frees its scope for the next identical request.
 * Without `storage:` the bundle stays in the shared data directory, where the API serves it from.
 * A retry stores only what an earlier attempt did not (storeSealedBundle keeps a record beside the bundle).
 */
export async function handleDeliverRun(payload: RunPayload, job: JobContext): Promise<DeliverRunResult> {
  const record = await job.runs.get(payload.runId);
  if (record === undefined) throw new KeyproofError("INTERNAL", `run ${payload.runId} has no record`);
  if (record.bundle === undefined) {
    throw new KeyproofError("INTERNAL", `run ${payload.runId} reached delivery without a sealed bundle`);
  }
  const { plan } = record;
  const stores = createBundleStores(plan.config.storage, plan.configDirectory);
  let stored: StorageRecord | undefined;
  if (stores.length > 0) {
    const runId = plan.runId;
    // Kept in S3: only the archive, the manifest pair and an earlier attempt's storage.json are read.
    const reads = new Set([
      `${runId}/${MANIFEST_FILE}`,
      `${runId}/${SIGNATURE_FILE}`,
      `${runId}.tar.gz`,
      `${runId}.storage.json`,
    ]);
    stored = await withSealedFiles(
      {
        plan,
        bundle: record.bundle,
        ...(job.dataDirectory === undefined ? {} : { scratchDirectory: job.dataDirectory }),
        hydrate: (relative) => reads.has(relative),
      },
      async (files) => {
        const bundle = await readSealedBundle(files.directory, files.archive);
        const prepared = await prepareBundleStorage(stores, chainScope(plan.config));
        // The link recorded must be the one the signed manifest carries, even if another run stored since.
        delete prepared.previousBundle;
        if (bundle.manifest.previousBundle !== undefined)
          prepared.previousBundle = bundle.manifest.previousBundle;
        return storeSealedBundle({ prepared, bundle });
      },
    );
  }
  await job.runs.complete(payload.runId);
  // After completing: a delivery is not part of the run's lifecycle (a failed target does not fail it).
  // Deterministic ids make a retry of this job, after a crash between the two, add nothing twice.
  for (const target of plan.config.deliver) {
    await job.job.enqueue({
      name: "deliver-target",
      data: { runId: payload.runId, target: target.name },
      jobId: deliverTargetJobId(payload.runId, target.name),
    });
  }
  return {
    status: "completed",
    ...(stored === undefined
      ? {}
      : { storage: { objectName: stored.objectName, scope: stored.scope, stores: stored.stores } }),
  };
}

/** The sealed bundle as the seal step left it on the shared data directory. */
async function readSealedBundle(directory: string, archive: string): Promise<SealedBundle> {
  const bytes = await readFile(path.join(directory, MANIFEST_FILE));
  const manifest = ManifestSchema.parse(JSON.parse(bytes.toString("utf8")));
  const signature = JSON.parse(
    await readFile(path.join(directory, SIGNATURE_FILE), "utf8"),
  ) as SignatureRecord;
  return { directory, archive, manifestSha256: sha256Hex(bytes), manifest, signature };
}
