import { KeyproofError, describeError } from "../../../errors/errors.ts";
import { sealSignedReview } from "../../../review/review-evidence.ts";
import { ReviewStore } from "../../../review/review-store.ts";
import { isFinalAttempt, type JobContext } from "../job-context.ts";
import type { JobPayloads } from "../job-payloads.ts";

/**
 * Seals a signed annual review on a render worker (the PDF needs the browser, which only render workers
 * launch): the review and how to seal it (config, output directory) are read from Redis, recorded at
 * sign-off. A failure is retried; the last attempt records it on the review (`evidence.state: failed`),
 * where the page, the API and `keyproof review show` report it and `review seal` asks again.
 */
export async function handleSealReview(
  payload: JobPayloads["seal-review"],
  job: JobContext,
): Promise<{ state: string }> {
  const store = new ReviewStore(job.redis, job.prefix);
  const review = await store.get(payload.reviewId);
  const context = await store.sealContext(payload.reviewId);
  if (review === undefined || context === undefined || review.status !== "signed") {
    throw new KeyproofError("INTERNAL", `review ${payload.reviewId} is not signed or has no seal context`);
  }
  if (review.evidence?.state === "sealed") return { state: "sealed" };
  try {
    const evidence = await sealSignedReview({
      store,
      review,
      ...context,
      pool: job.browserPool(),
      onFailure: "throw",
    });
    return { state: evidence.state };
  } catch (error) {
    if (isFinalAttempt(job)) {
      await store.recordEvidence(payload.reviewId, {
        state: "failed",
        message: describeError(error),
        at: new Date().toISOString(),
      });
    }
    throw error;
  }
}
