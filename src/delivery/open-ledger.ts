import type { Config } from "../config/config.schema.ts";
import { KeyproofError, describeError } from "../errors/errors.ts";
import { resolveQueueSettings } from "../jobs/queue/queue-settings.ts";
import { FileDeliveryLedger, RedisDeliveryLedger, type DeliveryLedger } from "./delivery-ledger.ts";

/**
 * The ledger a CLI process uses: Redis when a Redis URL is configured (`--redis-url`, REDIS_URL,
 * `queue.redisUrl`): the same ledger the workers and every other `keyproof deliver` use, so "never twice"
 * holds across them; else `<bundle>.delivery-ledger.json` beside a local run's bundle.
 */
export async function openDeliveryLedger(input: {
  config: Config;
  configDirectory: string;
  bundleDirectory: string;
  overrides?: { redisUrl?: string; prefix?: string };
}): Promise<{ ledger: DeliveryLedger; close: () => void }> {
  const settings = resolveQueueSettings({
    config: input.config,
    configDirectory: input.configDirectory,
    ...(input.overrides === undefined ? {} : { overrides: input.overrides }),
  });
  if (settings.redisUrl === undefined) {
    return { ledger: FileDeliveryLedger.besideBundle(input.bundleDirectory), close: () => undefined };
  }
  const { assertRedisReachable, createRedisConnection } = await import("../jobs/queue/redis-connection.ts");
  const redis = createRedisConnection(settings.redisUrl, "client", "keyproof-deliver");
  try {
    await assertRedisReachable(redis, settings.redisUrl);
  } catch (error) {
    redis.disconnect();
    // Falling back to a file would split the ledger in two and allow a second upload: refuse instead.
    throw new KeyproofError(
      "ARGUMENT_INVALID",
      `the delivery ledger is in Redis, which is not reachable: ${describeError(error)}`,
      { remediation: "start Redis (or fix --redis-url / REDIS_URL), then run keyproof deliver --run <id>" },
    );
  }
  return { ledger: new RedisDeliveryLedger(redis, settings.prefix), close: () => redis.disconnect() };
}
