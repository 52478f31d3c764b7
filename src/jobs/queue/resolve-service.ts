import { loadConfig, type LoadedConfig } from "../../config/load-config.ts";
import { KeyproofError } from "../../errors/errors.ts";
import { redactRedisUrl } from "./redis-connection.ts";
import {
  readSchedulesSection,
  resolveQueueSettings,
  type ResolvedQueueSettings,
  type Schedule,
} from "./queue-settings.ts";

/** Options every queue-facing command accepts. */
export interface QueueCliOptions {
  config?: string;
  redisUrl?: string;
  prefix?: string;
  dataDir?: string;
}

export interface ResolvedService {
  loaded?: LoadedConfig;
  settings: ResolvedQueueSettings;
  schedules: Schedule[];
}

/**
 * Config (optional) + queue settings for a command. Without a Redis URL anywhere, commands that need the
 * queue stop with exit 2 and say where to set it.
 */
export async function resolveService(
  options: QueueCliOptions,
  requireConfig: boolean,
): Promise<ResolvedService> {
  if (requireConfig && options.config === undefined) {
    throw new KeyproofError("ARGUMENT_INVALID", "give the config: -c keyproof.yaml");
  }
  const loaded = options.config === undefined ? undefined : await loadConfig(options.config);
  const resolved = resolveQueueSettings({
    ...(loaded === undefined ? {} : { config: loaded.config, configDirectory: loaded.directory }),
    overrides: {
      ...(options.redisUrl === undefined ? {} : { redisUrl: options.redisUrl }),
      ...(options.prefix === undefined ? {} : { prefix: options.prefix }),
      ...(options.dataDir === undefined ? {} : { dataDirectory: options.dataDir }),
    },
  });
  if (resolved.redisUrl === undefined) {
    throw new KeyproofError("ARGUMENT_INVALID", "no Redis configured", {
      remediation: "set REDIS_URL, pass --redis-url, or add queue.redisUrl or queue.redis to keyproof.yaml",
    });
  }
  return {
    ...(loaded === undefined ? {} : { loaded }),
    settings: { ...resolved, redisUrl: resolved.redisUrl },
    schedules: loaded === undefined ? [] : readSchedulesSection(loaded.config),
  };
}

export function describeSettings(settings: ResolvedQueueSettings): string {
  return `Redis ${redactRedisUrl(settings.redisUrl)}, prefix ${settings.prefix}, data ${settings.dataDirectory}`;
}
