import { Redis } from "ioredis";
import { KeyproofError } from "../../errors/errors.ts";

/**
 * Redis connections for the queued service. Two roles, because BullMQ needs different failure behaviour:
 *
 * - `worker`: `maxRetriesPerRequest: null`, required by BullMQ for workers (blocking commands must wait
 *   through a Redis restart instead of failing the job), and reconnect forever.
 * - `client`: producers, the API and the CLI follower. Commands wait through a short outage (reconnect)
 *   but give up after a few retries, so an HTTP request fails with 503 instead of hanging.
 */
export type RedisRole = "worker" | "client";

export function createRedisConnection(
  redisUrl: string,
  role: RedisRole,
  name = `keyproof-${role}`,
  onError: (error: Error) => void = () => undefined,
): Redis {
  const redis = new Redis(redisUrl, {
    connectionName: name,
    maxRetriesPerRequest: role === "worker" ? null : 20,
    // Back off to at most 2 s between reconnects; never give up (a restarted Redis comes back).
    retryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 5), 2000),
    // A Redis that restarts from its AOF answers LOADING for a while: wait for it instead of erroring.
    enableReadyCheck: true,
  });
  // Connection errors (Redis restarting) are retried by the client and surface to the callers of the
  // commands that fail; without a listener ioredis prints each one as an "Unhandled error event".
  redis.on("error", onError);
  return redis;
}

export interface EvictionCheck {
  policy: string | undefined;
  ok: boolean;
  /** Set when the policy is wrong or could not be read; print it at start. */
  warning?: string;
}

/**
 * BullMQ keeps job state in Redis keys; a Redis that evicts keys under memory pressure silently loses jobs
 * (BullMQ "going to production": maxmemory-policy must be noeviction). Managed Redis often forbids CONFIG,
 * so an unreadable policy is a warning too, not a failure.
 */
export async function checkEvictionPolicy(redis: Redis): Promise<EvictionCheck> {
  try {
    const reply = (await redis.config("GET", "maxmemory-policy")) as unknown;
    const policy = Array.isArray(reply) && typeof reply[1] === "string" ? reply[1] : undefined;
    if (policy === "noeviction") return { policy, ok: true };
    return {
      policy,
      ok: false,
      warning:
        `Redis maxmemory-policy is "${policy ?? "unknown"}"; BullMQ requires "noeviction" or jobs can vanish under memory pressure. ` +
        `Fix: redis-cli CONFIG SET maxmemory-policy noeviction (and set it in redis.conf).`,
    };
  } catch (error) {
    return {
      policy: undefined,
      ok: false,
      warning: `could not read Redis maxmemory-policy (${error instanceof Error ? error.message : String(error)}); make sure it is "noeviction".`,
    };
  }
}

/** Connects or fails with a clear error naming the URL without its password. */
export async function assertRedisReachable(redis: Redis, redisUrl: string, timeoutMs = 5000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      redis.ping(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } catch (error) {
    throw new KeyproofError(
      "SOURCE_UNAVAILABLE",
      `Redis at ${redactRedisUrl(redisUrl)} is not reachable: ${error instanceof Error ? error.message : String(error)}`,
      {
        remediation: "start Redis or fix REDIS_URL / queue.redisUrl; use --inline to run without Redis",
      },
    );
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}

/** `redis://user:secret@host` → `redis://user:***@host`: URLs end up in logs and errors. */
export function redactRedisUrl(redisUrl: string): string {
  try {
    const url = new URL(redisUrl);
    if (url.password !== "") url.password = "***";
    return url.toString();
  } catch {
    return "(unparseable Redis URL)";
  }
}
