import type { Cluster, Redis } from "ioredis";
import { z } from "zod";
import { ConfigSchema, type Config } from "../../config/config.schema.ts";
import { KeyproofError } from "../../errors/errors.ts";
import { redisKeys } from "./redis-keys.ts";

/**
 * The config scheduled runs use, stored in Redis by `keyproof serve` and `keyproof schedule sync`.
 * Workers need no config file of their own: a run's plan travels in its run record, and a cron tick
 * reads this. It holds no credentials (the config never does).
 */
const ServiceConfigSchema = z.strictObject({
  config: ConfigSchema,
  configDirectory: z.string(),
  dataDirectory: z.string(),
  /** Whether runs started by the service render screenshots and reports (`serve --no-render`: no). */
  render: z.boolean().default(true),
  storedAt: z.string(),
});
export type ServiceConfig = z.infer<typeof ServiceConfigSchema>;

export async function storeServiceConfig(
  redis: Redis | Cluster,
  prefix: string,
  value: { config: Config; configDirectory: string; dataDirectory: string; render?: boolean },
  now = new Date(),
): Promise<void> {
  await redis.set(redisKeys(prefix).serviceConfig, JSON.stringify({ ...value, storedAt: now.toISOString() }));
}

export async function readServiceConfig(redis: Redis | Cluster, prefix: string): Promise<ServiceConfig> {
  const raw = await redis.get(redisKeys(prefix).serviceConfig);
  if (raw === null) {
    throw new KeyproofError("CONFIG_INVALID", `no service config stored under prefix ${prefix}`, {
      remediation: "run `keyproof schedule sync -c keyproof.yaml` or start `keyproof serve`",
    });
  }
  return ServiceConfigSchema.parse(JSON.parse(raw));
}
