import { readFileSync } from "node:fs";
import type { ConnectionOptions as TlsConnectionOptions } from "node:tls";
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from "ioredis";
import { KeyproofError } from "../../errors/errors.ts";
import { parseRedisTarget, redactRedisUrl, type RedisTarget, type RedisTlsFiles } from "./redis-target.ts";

export { redactRedisUrl } from "./redis-target.ts";

/**
 * A connection to a single Redis, a Sentinel-managed master (also a `Redis`, with a sentinel connector) or
 * a Redis Cluster. Everything keyproof does with Redis works on both; BullMQ takes either.
 */
export type RedisClient = Redis | Cluster;

/**
 * Redis connections for the queued service. Two roles, because BullMQ needs different failure behaviour:
 *
 * - `worker`: `maxRetriesPerRequest: null`, required by BullMQ for workers (blocking commands must wait
 *   through a Redis restart instead of failing the job), and reconnect forever.
 * - `client`: producers, the API and the CLI follower. Commands wait through a short outage (reconnect)
 *   but give up after a few retries, so an HTTP request fails with 503 instead of hanging.
 */
export type RedisRole = "worker" | "client";

/**
 * Connects to the Redis a connection string names (redis-target.ts: `redis://`, `rediss://`,
 * `redis+sentinel://`, `redis+cluster://`). Passwords named by `passwordEnv` / `sentinelPasswordEnv` are
 * read from `env` now; TLS files are read now. Either missing throws CONFIG_INVALID naming it.
 */
export function createRedisConnection(
  redisUrl: string,
  role: RedisRole,
  name = `keyproof-${role}`,
  onError: (error: Error) => void = () => undefined,
  env: NodeJS.ProcessEnv = process.env,
): RedisClient {
  const target = parseRedisTarget(redisUrl);
  const common: RedisOptions = {
    connectionName: name,
    maxRetriesPerRequest: role === "worker" ? null : 20,
    // Back off to at most 2 s between reconnects; never give up (a restarted Redis comes back).
    retryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 5), 2000),
    // A Redis that restarts from its AOF answers LOADING for a while: wait for it instead of erroring.
    enableReadyCheck: true,
    ...authOf(target, env),
    ...(target.tls === undefined ? {} : { tls: tlsOptionsOf(target.tls) }),
  };
  let redis: RedisClient;
  switch (target.topology) {
    case "standalone":
      // The URL first: ioredis takes its host, port, db, user and password, and the options fill the rest.
      redis = new Redis(target.url, common);
      break;
    case "sentinel":
      redis = new Redis({
        ...common,
        sentinels: target.sentinels,
        name: target.name,
        ...(target.db === undefined ? {} : { db: target.db }),
        ...(target.sentinelUsername === undefined ? {} : { sentinelUsername: target.sentinelUsername }),
        ...(target.sentinelPasswordEnv === undefined
          ? {}
          : { sentinelPassword: secretFromEnv(env, target.sentinelPasswordEnv, "sentinelPasswordEnv") }),
        ...(target.tls === undefined
          ? {}
          : { enableTLSForSentinelMode: true, sentinelTLS: tlsOptionsOf(target.tls) }),
        // After a failover the old master is a replica: a connection still on it gets READONLY for writes.
        // Reconnecting (2 = reconnect and resend the command) asks the sentinels again and reaches the new
        // master (ioredis README, "Reconnect on error"). Only here: on a single Redis, READONLY means a
        // misconfigured URL and stays an error, as before.
        reconnectOnError: (error) => (error.message.startsWith("READONLY") ? 2 : false),
        // Subscribe to the sentinels' +switch-master so a failover moves the connection at once instead of
        // on the next failing command.
        failoverDetector: true,
        // Sentinels come and go too: keep asking them, with the same back-off as the nodes.
        sentinelRetryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 5), 2000),
      });
      break;
    case "cluster": {
      const { retryStrategy, ...redisOptions } = common;
      const clusterOptions: ClusterOptions = {
        redisOptions,
        // The cluster-level retry: re-reads the slots from any reachable seed node.
        clusterRetryStrategy: retryStrategy ?? (() => 1000),
        enableReadyCheck: true,
        // TLS endpoints of managed clusters answer CLUSTER SLOTS with IP addresses that the certificate does
        // not name; keep the host names as given (ioredis README, "Special note: AWS ElastiCache Clusters with TLS").
        ...(target.tls === undefined ? {} : { dnsLookup: (address, lookup) => lookup(null, address) }),
      };
      redis = new Cluster(target.nodes, clusterOptions);
      break;
    }
  }
  // Connection errors (Redis restarting) are retried by the client and surface to the callers of the
  // commands that fail; without a listener ioredis prints each one as an "Unhandled error event".
  redis.on("error", onError);
  return redis;
}

function authOf(target: RedisTarget, env: NodeJS.ProcessEnv): Pick<RedisOptions, "username" | "password"> {
  const password =
    target.passwordEnv === undefined
      ? target.password
      : secretFromEnv(env, target.passwordEnv, "passwordEnv");
  // The standalone URL carries its own user and password; options only fill what it lacks.
  return {
    ...(target.username === undefined || target.topology === "standalone"
      ? {}
      : { username: target.username }),
    ...(password === undefined ? {} : { password }),
  };
}

function secretFromEnv(env: NodeJS.ProcessEnv, variable: string, field: string): string {
  const value = env[variable];
  if (value === undefined || value === "") {
    throw new KeyproofError(
      "CONFIG_INVALID",
      `Redis ${field} names ${variable}, which is not set in the environment`,
      {
        remediation: `export ${variable}=<the password> in the environment of every keyproof process`,
      },
    );
  }
  return value;
}

function tlsOptionsOf(files: RedisTlsFiles): TlsConnectionOptions {
  return {
    ...(files.caFile === undefined ? {} : { ca: readTlsFile(files.caFile, "tlsCaFile") }),
    ...(files.certFile === undefined ? {} : { cert: readTlsFile(files.certFile, "tlsCertFile") }),
    ...(files.keyFile === undefined ? {} : { key: readTlsFile(files.keyFile, "tlsKeyFile") }),
    ...(files.servername === undefined ? {} : { servername: files.servername }),
  };
}

function readTlsFile(file: string, field: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    throw new KeyproofError(
      "CONFIG_INVALID",
      `Redis ${field} ${file} cannot be read: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
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
export async function checkEvictionPolicy(redis: RedisClient): Promise<EvictionCheck> {
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
export async function assertRedisReachable(
  redis: RedisClient,
  redisUrl: string,
  timeoutMs = 5000,
): Promise<void> {
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
        remediation:
          "start Redis or fix REDIS_URL / queue.redisUrl / queue.redis (for Sentinel: the sentinels and the master name); use --inline to run without Redis",
      },
    );
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}
