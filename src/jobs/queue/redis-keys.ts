/**
 * Names of keyproof's own Redis keys (BullMQ's live under `<prefix>:<queue>:…`). All under
 * `<prefix>:kp:` so one prefix isolates a deployment, and a test cleans up with one SCAN pattern.
 *
 * On a Redis Cluster the prefix is hash-tagged (`{keyproof}`, queuePrefixFor in redis-target.ts): every key
 * here then hashes on that tag alone, so the scripts that take several of them (run creation, the access
 * log claim) and the keys a script builds from a passed prefix (`run("")` + id) stay in one slot.
 */
export function redisKeys(prefix: string) {
  const base = `${prefix}:kp`;
  return {
    /** Hash: the run record (plan, status, result). */
    run: (runId: string) => `${base}:run:${runId}`,
    /** Sorted set of run ids scored by creation time: paging for GET /v1/runs. */
    runIndex: `${base}:runs`,
    /** String: the run id currently running for a scope + period; the dedup lock of requests. */
    activeRun: (scopeDigest: string) => `${base}:active-run:${scopeDigest}`,
    /** String: the run last created for a scope + period, kept after it finished (the dedupe window). */
    recentRun: (scopeDigest: string) => `${base}:recent-run:${scopeDigest}`,
    /** Set: ids of a source's runs that may still be queued or running (finished ones pruned on create). */
    unfinishedRuns: (sourceId: string) => `${base}:unfinished-runs:${encodeURIComponent(sourceId)}`,
    /** List: API accesses not yet written into a bundle. */
    accessLog: `${base}:api-access-log`,
    /** List: the API accesses claimed by one run (moved from `accessLog` once, so a retry rewrites the same entries). */
    runAccessLog: (runId: string) => `${base}:api-access-log:${runId}`,
    /** Hash: token digest → token record JSON. */
    tokens: `${base}:tokens`,
    /** String: the service config (config, its directory, data directory) the scheduled runs use. */
    serviceConfig: `${base}:service-config`,
    /** Per source + location GCRA state of the rate limiter. */
    rateLimit: (bucket: string) => `${base}:rate:${bucket}`,
    /** Hash: one review (fields `meta`, `items`, `version`, `status`, `signOff`, `evidence`, `d:<itemId>` decisions). */
    review: (reviewId: string) => `${base}:review:${reviewId}`,
    /** Sorted set of review ids scored by creation time. */
    reviewIndex: `${base}:reviews`,
    /** Hash: review id → SignedReviewFact JSON, written once at sign-off; what runs judge coverage by. */
    signedReviewFacts: `${base}:review-facts`,
    /** List: ProcedureApproval JSON, newest first (LPUSH). */
    procedureApprovals: `${base}:procedure-approvals`,
    /** Everything above, for cleanup. */
    pattern: `${base}:*`,
  };
}
export type RedisKeys = ReturnType<typeof redisKeys>;
