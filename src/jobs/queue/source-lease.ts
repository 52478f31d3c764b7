import type { Cluster, Redis } from "ioredis";
import { redisKeys } from "./redis-keys.ts";

/**
 * A bounded number of jobs at a time per (source, location, kind of work) across every worker of a
 * deployment: one for usage extraction (LookupEvents), `queue.locationConcurrency` for collection.
 *
 * Why: provider quotas are per account and region (CloudTrail LookupEvents: 2 requests per second per
 * account and region; KMS read APIs share a per-account request quota). The provider spaces its own calls
 * with an in-process token bucket; holding this lease while a job calls a location guarantees no other
 * process calls the same location for the same kind of work at the same time, so the in-process rate is
 * the deployment-wide rate (with N slots: at most N times it, however many workers join). Two concurrent runs over the same region then take turns instead of doubling
 * the request rate. (A Redis token bucket shared by all processes, redis-token-bucket.ts, is the finer
 * tool once providers accept an injected bucket.)
 *
 * The lease expires on its own (`ttlMs`) if its holder dies, is renewed while held, and is re-entrant for
 * the same job id, so a job retried after its worker was killed takes its own lease back at once.
 */
export interface SourceLease {
  release(): Promise<void>;
}

const ACQUIRE = `
local holder = redis.call('GET', KEYS[1])
if holder == false or holder == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', tonumber(ARGV[2]))
  return 1
end
return 0
`;

const RENEW_OR_RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  if ARGV[2] == 'release' then return redis.call('DEL', KEYS[1]) end
  return redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]))
end
return 0
`;

export const LEASE_TTL_MS = 60_000;

export function leaseKey(prefix: string, source: string, location: string, kind: string): string {
  return redisKeys(prefix).rateLimit(
    `lease:${encodeURIComponent(source)}:${encodeURIComponent(location)}:${kind}`,
  );
}

/** The lease, or undefined when another job holds it. */
export async function tryAcquireSourceLease(
  redis: Redis | Cluster,
  key: string,
  holder: string,
  ttlMs = LEASE_TTL_MS,
): Promise<SourceLease | undefined> {
  const acquired = (await redis.eval(ACQUIRE, 1, key, holder, String(ttlMs))) as number;
  if (acquired !== 1) return undefined;
  const renewal = setInterval(
    () => {
      redis.eval(RENEW_OR_RELEASE, 1, key, holder, "renew", String(ttlMs)).catch(() => undefined);
    },
    Math.max(1000, Math.floor(ttlMs / 3)),
  );
  renewal.unref();
  return {
    async release() {
      clearInterval(renewal);
      await redis.eval(RENEW_OR_RELEASE, 1, key, holder, "release", "0");
    },
  };
}

/**
 * One of `slots` leases of the same (source, location, kind): at most `slots` holders at once. Slots are
 * tried in order, so a retried job whose earlier slot has not expired yet simply takes a free one (its
 * stale slot frees itself after the TTL), and runs asking for different slot counts share the low slots:
 * together they never exceed the largest count asked.
 */
export async function tryAcquireSlottedLease(
  redis: Redis | Cluster,
  key: string,
  slots: number,
  holder: string,
  ttlMs = LEASE_TTL_MS,
): Promise<SourceLease | undefined> {
  for (let slot = 0; slot < Math.max(1, slots); slot += 1) {
    const lease = await tryAcquireSourceLease(redis, slotKey(key, slot), holder, ttlMs);
    if (lease !== undefined) return lease;
  }
  return undefined;
}

/** The Redis key of one slot of a slotted lease (distinct from the plain lease's key). */
export function slotKey(key: string, slot: number): string {
  return `${key}:slot-${slot}`;
}

/** Who holds a lease now, for tests and diagnostics. */
export async function leaseHolder(redis: Redis | Cluster, key: string): Promise<string | undefined> {
  return (await redis.get(key)) ?? undefined;
}
