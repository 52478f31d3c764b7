import path from "node:path";
import { describe, expect, it } from "vitest";
import { readQueueSection, resolveQueueSettings } from "./queue-settings.ts";
import { redactRedisUrl } from "./redis-connection.ts";
import { scopeDigestOf } from "./run-plan.ts";
import { parsePeriod, parseRange } from "../../time/date-range.ts";

describe("queue settings", () => {
  it("takes overrides over the environment over the config section, and resolves the data directory beside the config", () => {
    const config = {
      queue: { redisUrl: "redis://config:6379", prefix: "fromconfig", dataDirectory: "./shared" },
    };
    expect(resolveQueueSettings({ config, configDirectory: "/etc/keyproof", env: {} })).toEqual({
      redisUrl: "redis://config:6379",
      prefix: "fromconfig",
      dataDirectory: "/etc/keyproof/shared",
    });
    const env = {
      REDIS_URL: "redis://env:6379",
      KEYPROOF_QUEUE_PREFIX: "fromenv",
      KEYPROOF_DATA_DIR: "/data",
    };
    expect(resolveQueueSettings({ config, configDirectory: "/etc/keyproof", env })).toEqual({
      redisUrl: "redis://env:6379",
      prefix: "fromenv",
      dataDirectory: "/data",
    });
    expect(resolveQueueSettings({ config, env, overrides: { prefix: "cli" } }).prefix).toBe("cli");
    expect(resolveQueueSettings({ env: {} })).toEqual({
      redisUrl: undefined,
      prefix: "keyproof",
      dataDirectory: path.resolve("evidence"),
    });
  });

  it("refuses a bad queue section naming the field", () => {
    expect(() => readQueueSection({ queue: { redisUrl: "http://x" } })).toThrow(
      /queue.redisUrl: must be a redis/,
    );
    expect(() => readQueueSection({ queue: { prefix: "a:b" } })).toThrow(/queue.prefix/);
    expect(() => readQueueSection({ queue: { redis: "x" } })).toThrow(/queue\./);
  });

  it("never prints a Redis password", () => {
    expect(redactRedisUrl("redis://default:s3cret@redis.internal:6379/0")).toBe(
      "redis://default:***@redis.internal:6379/0",
    );
  });

  it("treats a quarter and the same dates as one scope, and other sources, keys or periods as another", () => {
    const base = {
      organization: "Acme",
      sources: ["b", "a"],
      range: parsePeriod("2026-Q3"),
      outDirectory: "/data",
    };
    expect(scopeDigestOf(base)).toBe(
      scopeDigestOf({ ...base, sources: ["a", "b"], range: parseRange("2026-07-01", "2026-09-30") }),
    );
    expect(scopeDigestOf(base)).not.toBe(scopeDigestOf({ ...base, sources: ["a"] }));
    expect(scopeDigestOf(base)).not.toBe(scopeDigestOf({ ...base, keys: ["alias/x"] }));
    expect(scopeDigestOf(base)).not.toBe(scopeDigestOf({ ...base, range: parsePeriod("2026-Q2") }));
  });
});
