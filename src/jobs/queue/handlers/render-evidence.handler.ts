import { KeyproofError } from "../../../errors/errors.ts";
import type { Finding } from "../../../model/finding.ts";
import type { Snapshot } from "../../../model/snapshot.ts";
import { screenshotCount, type ScreenshotSlice } from "../../../render/render-evidence.ts";
import { createSigner } from "../../../signing/create-signer.ts";
import { renderScreenshotSliceStep, renderStep } from "../../steps/render.step.ts";
import type { WorkStore } from "../../work-store.ts";
import type { JobContext } from "../job-context.ts";
import { screenshotBatchJobId } from "../job-ids.ts";
import type { RunPayload, ScreenshotBatchPayload } from "../job-payloads.ts";
import { fanOutSettingsOf } from "../queue-settings.ts";
import type { RunPlan } from "../run-plan.ts";
import { withRunScope } from "./run-context.ts";
import { withoutExtracts } from "../run-workspace.ts";
import { signerIdentityOf } from "../../../render/view-models/signer-identity.ts";

export interface RenderEvidenceResult {
  files: number;
  screenshotBatches: number;
}

/** A rendered slice: written once the slice's PNGs are all in the bundle, so its presence means done. */
interface RenderedSlice {
  slice: ScreenshotSlice;
  files: number;
}

function sliceWorkName(batch: number): string {
  return `render-parts/batch-${String(batch).padStart(5, "0")}`;
}

async function readJudged(
  plan: RunPlan,
  work: WorkStore,
): Promise<{ snapshot: Snapshot; findings: Finding[] }> {
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
  return { snapshot, findings };
}

/** Consecutive slices of `size` over `count` screenshots. */
export function screenshotSlices(count: number, size: number): ScreenshotSlice[] {
  const slices: ScreenshotSlice[] = [];
  for (let start = 0; start < count; start += size)
    slices.push({ start, end: Math.min(count, start + size) });
  return slices;
}

/**
 * Dated screenshots and PDF reports into the bundle, after judging and before sealing, exactly as the
 * inline run renders them (same step, same capture time). Runs only in workers serving the render queue:
 * that is the one process kind with a browser. Re-rendering after a crash rewrites each file atomically.
 *
 * A run with more screenshots than `queue.screenshotBatchSize` renders them as `render-screenshot-batch`
 * child jobs (any render worker, deterministic ids) and waits for them; the reports and the evidence index,
 * which lists every file, come last, here.
 */
export async function handleRenderEvidence(
  payload: RunPayload,
  job: JobContext,
): Promise<RenderEvidenceResult> {
  return withRunScope(payload.runId, job, { hydrate: "all" }, async ({ plan, writer, work }) => {
    const { snapshot, findings } = await readJudged(plan, work);
    const slices = screenshotSlices(
      screenshotCount(snapshot),
      fanOutSettingsOf(plan.config).screenshotBatchSize,
    );
    const fannedOut = slices.length > 1;
    if (fannedOut) {
      await job.runs.recordScreenshotBatches(plan.runId, slices.length);
      const missing: number[] = [];
      for (let batch = 0; batch < slices.length; batch += 1) {
        if ((await work.get<RenderedSlice>(sliceWorkName(batch))) === undefined) missing.push(batch);
      }
      if (missing.length > 0) {
        await job.job.awaitChildren(
          missing.map((batch) => ({
            name: "render-screenshot-batch" as const,
            data: { runId: plan.runId, batch },
            jobId: screenshotBatchJobId(plan.runId, batch),
          })),
        );
      }
    }
    // The reports name the signer; creating it also fails fast on a signing key that went missing.
    const signer = await createSigner(plan.config.signing, plan.configDirectory);
    const result = await renderStep({
      snapshot,
      findings,
      bundleDirectory: writer.directory,
      signer: signerIdentityOf(signer),
      pool: job.browserPool(),
      generatedAt: new Date(plan.capturedAt),
      screenshotsRendered: fannedOut,
    });
    const sliced = fannedOut ? slices.reduce((sum, slice) => sum + (slice.end - slice.start), 0) : 0;
    return { files: result.files.length + sliced, screenshotBatches: fannedOut ? slices.length : 0 };
  });
}

/** One slice of a large run's screenshots; the slice is recomputed from the judged snapshot, never carried. */
export async function handleRenderScreenshotBatch(
  payload: ScreenshotBatchPayload,
  job: JobContext,
): Promise<RenderedSlice> {
  return withRunScope(payload.runId, job, { hydrate: withoutExtracts }, async ({ plan, writer, work }) => {
    const { snapshot, findings } = await readJudged(plan, work);
    const slices = screenshotSlices(
      screenshotCount(snapshot),
      fanOutSettingsOf(plan.config).screenshotBatchSize,
    );
    const slice = slices[payload.batch];
    if (slice === undefined) {
      throw new KeyproofError(
        "INTERNAL",
        `run ${plan.runId} has ${slices.length} screenshot batches, not ${payload.batch + 1}`,
      );
    }
    const files = await renderScreenshotSliceStep({
      snapshot,
      findings,
      bundleDirectory: writer.directory,
      pool: job.browserPool(),
      slice,
    });
    const rendered: RenderedSlice = { slice, files: files.length };
    await work.put(sliceWorkName(payload.batch), rendered);
    return rendered;
  });
}
