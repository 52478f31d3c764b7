import type { Cluster, Redis } from "ioredis";
import type { TokenBucket } from "../../providers/aws-kms/token-bucket.ts";
import { redisKeys } from "./redis-keys.ts";

/**
 * The provider's `TokenBucket` port backed by Redis, so every worker process of a deployment draws from
 * one bucket per (source, location, API): GCRA with one "theoretical arrival time" per key, computed with
 * Redis' own clock (TIME), so machines with skewed clocks still agree. Each `take()` reserves the next slot
 * atomically and sleeps until it; requests go out `1000 / ratePerSecond` ms apart after a burst of
 * `capacity`. Ready for providers that accept an injected bucket (see the report: AWS LookupEvents at 2/s
 * per account and region).
 */

/** KEYS: bucket. ARGV: interval ms, burst ms. Returns the milliseconds to wait before sending. */
const RESERVE = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
local start = math.max(tat - burst, now)
local newTat = math.max(tat, now) + interval
redis.call('SET', KEYS[1], tostring(newTat), 'PX', math.ceil(newTat - now + 1000))
return start - now
`;

export interface RedisTokenBucketOptions {
  redis: Redis | Cluster;
  prefix: string;
  /** e.g. `aws-prod:us-east-1:cloudtrail:LookupEvents` */
  bucket: string;
  ratePerSecond: number;
  /** Burst size; 1 (the default) means strictly spaced requests. */
  capacity?: number;
  sleep?: (milliseconds: number) => Promise<void>;
}

export function createRedisTokenBucket(options: RedisTokenBucketOptions): TokenBucket {
  if (!(options.ratePerSecond > 0)) throw new RangeError("ratePerSecond must be positive");
  const interval = 1000 / options.ratePerSecond;
  const burst = (Math.max(1, options.capacity ?? 1) - 1) * interval;
  const key = redisKeys(options.prefix).rateLimit(`bucket:${options.bucket}`);
  const sleep =
    options.sleep ??
    ((milliseconds: number) => new Promise<void>((resolve) => setTimeout(resolve, milliseconds)));
  return {
    async take() {
      const wait = Number(await options.redis.eval(RESERVE, 1, key, String(interval), String(burst)));
      if (wait > 0) await sleep(wait);
    },
  };
}
