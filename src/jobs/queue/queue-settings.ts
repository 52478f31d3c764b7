import path from "node:path";
import { KeyproofError } from "../../errors/errors.ts";

export {
  QueueSettingsSchema,
  SCHEDULE_PERIODS,
  ScheduleSchema,
  SchedulesSchema,
  DEFAULT_SCHEDULES,
  isTimeZone,
} from "../../config/queue.schema.ts";
export type { QueueSettings, SchedulePeriod, Schedule } from "../../config/queue.schema.ts";
import { formatRedisTarget, queuePrefixFor } from "./redis-target.ts";
import {
  QUEUE_PREFIX_PATTERN,
  QueueSettingsSchema,
  SchedulesSchema,
  DEFAULT_SCHEDULES,
  type QueueSettings,
  type Schedule,
} from "../../config/queue.schema.ts";

export const DEFAULT_KEY_BATCH_SIZE = 250;
export const DEFAULT_LOCATION_CONCURRENCY = 4;
export const DEFAULT_SCREENSHOT_BATCH_SIZE = 500;

/** How work fans out, from a config's `queue:` section or the defaults. */
export function fanOutSettingsOf(config: object): {
  keyBatchSize: number;
  locationConcurrency: number;
  screenshotBatchSize: number;
} {
  const section = readQueueSection(config);
  return {
    keyBatchSize: section.keyBatchSize ?? DEFAULT_KEY_BATCH_SIZE,
    locationConcurrency: section.locationConcurrency ?? DEFAULT_LOCATION_CONCURRENCY,
    screenshotBatchSize: section.screenshotBatchSize ?? DEFAULT_SCREENSHOT_BATCH_SIZE,
  };
}

export interface ResolvedQueueSettings {
  redisUrl: string;
  prefix: string;
  /** Absolute. */
  dataDirectory: string;
}

/**
 * The `queue:` and `schedules:` sections of a config object, whether or not the config schema declares
 * them yet. Reading through `unknown` keeps this working before and after the schema change.
 */
export function readQueueSection(config: object): QueueSettings {
  const raw = (config as { queue?: unknown }).queue;
  const parsed = QueueSettingsSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new KeyproofError(
      "CONFIG_INVALID",
      `queue.${issue?.path.join(".") ?? ""}: ${issue?.message ?? "invalid"}`,
    );
  }
  if (parsed.data.redisUrl !== undefined && parsed.data.redis !== undefined) {
    throw new KeyproofError(
      "CONFIG_INVALID",
      "queue.redis: set either queue.redisUrl or queue.redis, not both",
    );
  }
  return parsed.data;
}

export function readSchedulesSection(config: object): Schedule[] {
  const raw = (config as { schedules?: unknown }).schedules;
  if (raw === undefined) return DEFAULT_SCHEDULES;
  const parsed = SchedulesSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where =
      issue?.path
        .map((segment) => (typeof segment === "number" ? `[${segment}]` : `.${String(segment)}`))
        .join("") ?? "";
    throw new KeyproofError("CONFIG_INVALID", `schedules${where}: ${issue?.message ?? "invalid"}`);
  }
  return parsed.data;
}

/**
 * Redis URL, prefix and data directory from (highest first) explicit options, the environment, the config
 * section (`queue.redisUrl`, or `queue.redis` turned into the same kind of connection string). With a
 * Redis Cluster the prefix comes back hash-tagged (`{keyproof}`). Undefined `redisUrl` everywhere means "no queue": `keyproof run` then runs inline.
 */
export function resolveQueueSettings(input: {
  config?: object;
  configDirectory?: string;
  env?: NodeJS.ProcessEnv;
  overrides?: { redisUrl?: string; prefix?: string; dataDirectory?: string };
}): Omit<ResolvedQueueSettings, "redisUrl"> & { redisUrl: string | undefined } {
  const env = input.env ?? process.env;
  const section = input.config === undefined ? QueueSettingsSchema.parse({}) : readQueueSection(input.config);
  const redisUrl =
    input.overrides?.redisUrl ??
    nonEmpty(env.REDIS_URL) ??
    section.redisUrl ??
    (section.redis === undefined ? undefined : formatRedisTarget(section.redis));
  const configured = input.overrides?.prefix ?? nonEmpty(env.KEYPROOF_QUEUE_PREFIX) ?? section.prefix;
  const base = input.configDirectory ?? process.cwd();
  const dataDirectory = path.resolve(
    base,
    input.overrides?.dataDirectory ?? nonEmpty(env.KEYPROOF_DATA_DIR) ?? section.dataDirectory ?? "evidence",
  );
  if (!QUEUE_PREFIX_PATTERN.test(configured)) {
    throw new KeyproofError(
      "ARGUMENT_INVALID",
      `queue prefix "${configured}" must be letters, digits, _ or -, optionally in braces ({keyproof})`,
    );
  }
  // Redis Cluster: hash-tagged, so every multi-key script finds its keys in one slot (redis-target.ts).
  const prefix = redisUrl === undefined ? configured : queuePrefixFor(redisUrl, configured);
  return { redisUrl, prefix, dataDirectory };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value;
}
