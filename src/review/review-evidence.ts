import type { Config } from "../config/config.schema.ts";
import { describeError } from "../errors/errors.ts";
import { BrowserPool } from "../render/browser-pool.ts";
import { sealReviewEvidence } from "./seal-review.ts";
import type { ReviewEvidence, ReviewStore, StoredReview } from "./review-store.ts";

/**
 * Seals a signed review as evidence (review/annual-review-<year>.pdf and .json in a new signed bundle,
 * stored and chained like a run's) and records the outcome on the review. The signature stands whatever
 * happens here. With `onFailure: "record"` (the CLI) a failure is recorded as `failed` and returned, so
 * `keyproof review seal <id>` can try again; with `"throw"` (the render worker's job) it is thrown, and the
 * job's retries decide when it is final.
 */
export async function sealSignedReview(input: {
  store: ReviewStore;
  review: StoredReview;
  config: Config;
  configDirectory: string;
  outDirectory: string;
  pool?: BrowserPool;
  now?: () => Date;
  onFailure?: "record" | "throw";
}): Promise<ReviewEvidence> {
  const { review } = input;
  const pool = input.pool ?? new BrowserPool();
  let evidence: ReviewEvidence;
  try {
    const sealed = await sealReviewEvidence({
      record: review.record,
      config: input.config,
      configDirectory: input.configDirectory,
      outDirectory: input.outDirectory,
      pool,
      ...(input.now === undefined ? {} : { now: input.now }),
    });
    const stored = sealed.storage?.stores.find((outcome) => outcome.stored);
    evidence = {
      state: "sealed",
      runId: sealed.bundle.manifest.runId,
      manifestSha256: sealed.bundle.manifestSha256,
      location: stored !== undefined && stored.stored ? stored.location : sealed.bundle.archive,
    };
  } catch (error) {
    if (input.onFailure === "throw") throw error;
    evidence = { state: "failed", message: describeError(error), at: new Date().toISOString() };
  } finally {
    if (input.pool === undefined) await pool.close();
  }
  await input.store.recordEvidence(review.record.id, evidence);
  return evidence;
}
