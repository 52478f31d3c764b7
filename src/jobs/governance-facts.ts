import type { Cluster, Redis } from "ioredis";
import { describeError } from "../errors/errors.ts";
import type { GovernanceFacts, SignedReviewFact } from "../model/review.ts";
import { ProcedureApprovalStore } from "../procedure/approval-store.ts";
import { redisKeys } from "./queue/redis-keys.ts";

/** Why a run without Redis cannot know about reviews and approvals (a `warn` on the governance checks). */
export const NO_REDIS_REASON =
  "no Redis configured (queue.redisUrl / REDIS_URL): reviews and approvals are kept in the service's Redis";

function isSignedReviewFact(value: unknown): value is SignedReviewFact {
  if (typeof value !== "object" || value === null) return false;
  const fact = value as Partial<SignedReviewFact>;
  return (
    typeof fact.id === "string" &&
    typeof fact.signedAt === "string" &&
    Array.isArray(fact.sources) &&
    Array.isArray(fact.open)
  );
}

/**
 * What the run knows about signed reviews and the latest procedure approval. Never throws: a Redis that
 * fails becomes `unavailable` with severity `error` and the cause, so the governance checks report it
 * (`error`) and the rest of the run is judged as usual. Reviews come sorted by signing time, newest first.
 */
export async function readGovernanceFacts(
  redis: Redis | Cluster | undefined,
  prefix: string,
): Promise<GovernanceFacts> {
  if (redis === undefined) return { state: "unavailable", severity: "warn", reason: NO_REDIS_REASON };
  try {
    const key = redisKeys(prefix).signedReviewFacts;
    const entries = await redis.hgetall(key);
    const signedReviews: SignedReviewFact[] = [];
    for (const [reviewId, text] of Object.entries(entries)) {
      const parsed: unknown = JSON.parse(text);
      // A malformed fact is a broken store, not a missing review: judging without it could turn a fail into a pass.
      if (!isSignedReviewFact(parsed))
        throw new Error(`${key} field ${reviewId} is not a signed review fact`);
      signedReviews.push(parsed);
    }
    signedReviews.sort((left, right) =>
      left.signedAt === right.signedAt ? 0 : left.signedAt < right.signedAt ? 1 : -1,
    );
    const latestApproval = await new ProcedureApprovalStore(redis, prefix).latestApproval();
    return latestApproval === undefined
      ? { state: "read", signedReviews }
      : { state: "read", signedReviews, latestApproval };
  } catch (error) {
    return {
      state: "unavailable",
      severity: "error",
      reason: `reviews and approvals could not be read from Redis: ${describeError(error)}`,
    };
  }
}
