import { KeyproofError } from "../../../errors/errors.ts";
import type { Finding } from "../../../model/finding.ts";
import type { Snapshot } from "../../../model/snapshot.ts";
import { createSigner } from "../../../signing/create-signer.ts";
import { renderStep } from "../../steps/render.step.ts";
import type { JobContext } from "../job-context.ts";
import type { RunPayload } from "../job-payloads.ts";
import { openRunScope } from "./run-context.ts";

export interface RenderEvidenceResult {
  files: number;
}

/**
 * Dated screenshots and PDF reports into the bundle, after judging and before sealing, exactly as the
 * inline run renders them (same step, same capture time). Runs only in workers serving the render queue:
 * that is the one process kind with a browser. Re-rendering after a crash rewrites each file atomically.
 */
export async function handleRenderEvidence(
  payload: RunPayload,
  job: JobContext,
): Promise<RenderEvidenceResult> {
  const { plan, writer, work } = await openRunScope(payload.runId, job);
  const [snapshot, findings] = await Promise.all([
    work.get<Snapshot>("snapshot"),
    work.get<Finding[]>("findings"),
  ]);
  if (snapshot === undefined || findings === undefined) {
    throw new KeyproofError(
      "INTERNAL",
      `run ${plan.runId}: no judged snapshot in the work store; judge-run did not complete`,
    );
  }
  // The reports name the signer; creating it also fails fast on a signing key that went missing.
  const signer = await createSigner(plan.config.signing, plan.configDirectory);
  const result = await renderStep({
    snapshot,
    findings,
    bundleDirectory: writer.directory,
    signerDescription: signer.description,
    pool: job.browserPool(),
    generatedAt: new Date(plan.capturedAt),
  });
  return { files: result.files.length };
}
