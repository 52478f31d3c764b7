import { KeyproofError } from "../../../errors/errors.ts";
import type { Finding } from "../../../model/finding.ts";
import type { Snapshot } from "../../../model/snapshot.ts";
import { createSigner } from "../../../signing/create-signer.ts";
import { chainScope } from "../../../storage/chain-scope.ts";
import { createBundleStores } from "../../../storage/create-store.ts";
import { prepareBundleStorage } from "../../../storage/store-sealed-bundle.ts";
import { sealStep } from "../../steps/seal.step.ts";
import { API_ACCESS_LOG_FILE, claimAccessEntries } from "../access-log.ts";
import type { JobContext } from "../job-context.ts";
import type { RunPayload } from "../job-payloads.ts";
import type { BundleLocation } from "../run-store.ts";
import { withRunScope } from "./run-context.ts";

/**
 * Writes the API access log the run claims, then seals: OSCAL assessment results, manifest (linked to the previous stored bundle when
 * `storage:` is configured), signature, archive. Sealing again after
 * a crash is safe (the writer replaces manifest, signature and archive), and the access log claim is
 * made once per run, so a retry writes the same entries.
 */
export async function handleSealBundle(payload: RunPayload, job: JobContext): Promise<BundleLocation> {
  return withRunScope(payload.runId, job, { hydrate: "all" }, async ({ plan, writer, work, workspace }) => {
    const snapshot = await work.get<Snapshot>("snapshot");
    const findings = await work.get<Finding[]>("findings");
    if (snapshot === undefined || findings === undefined) {
      throw new KeyproofError(
        "INTERNAL",
        `run ${plan.runId}: no judged snapshot or findings in the work store; judge-run did not complete`,
      );
    }
    const accesses = await claimAccessEntries(job.redis, job.prefix, plan.runId);
    await writer.writeJson(
      API_ACCESS_LOG_FILE,
      {
        runId: plan.runId,
        description: "HTTP API accesses since the previous run sealed its bundle (who, what, when).",
        entries: accesses,
      },
      { overwrite: true },
    );
    const signer = await createSigner(plan.config.signing, plan.configDirectory);
    // With `storage:`, the manifest links to the previous bundle of the chain (looked up now, as inline does);
    // deliver-run uploads the sealed archive.
    const stores = createBundleStores(plan.config.storage, plan.configDirectory);
    const storage =
      stores.length === 0 ? undefined : await prepareBundleStorage(stores, chainScope(plan.config));
    const bundle = await sealStep({
      runId: plan.runId,
      config: plan.config,
      range: plan.range,
      capturedAt: plan.capturedAt,
      sources: plan.sources,
      snapshot,
      findings,
      writer,
      signer,
      ...(storage?.previousBundle === undefined ? {} : { previousBundle: storage.previousBundle }),
    });
    // Kept in S3: the scratch folder goes when this job ends; the record names the published copy.
    const location: BundleLocation =
      workspace === undefined
        ? { directory: bundle.directory, archive: bundle.archive, manifestSha256: bundle.manifestSha256 }
        : {
            directory: `${workspace.remoteUrl}files/${plan.runId}`,
            archive: `${workspace.remoteUrl}files/${plan.runId}.tar.gz`,
            manifestSha256: bundle.manifestSha256,
            remote: workspace.remoteUrl,
          };
    await job.runs.recordBundle(plan.runId, location);
    return location;
  });
}
