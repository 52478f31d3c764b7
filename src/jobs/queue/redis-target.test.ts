import { describe, expect, it } from "vitest";
import { Cluster, Redis } from "ioredis";
import { readQueueSection, resolveQueueSettings } from "./queue-settings.ts";
import { createRedisConnection } from "./redis-connection.ts";
import { redisKeys } from "./redis-keys.ts";
import {
  formatRedisTarget,
  hashTaggedPrefix,
  parseRedisTarget,
  queuePrefixFor,
  redactRedisUrl,
} from "./redis-target.ts";

describe("Redis connection strings", () => {
  it("keeps a redis:// URL for ioredis as it was, ioredis's own parameters included", () => {
    expect(parseRedisTarget("redis://default:s3cret@redis.internal:6379/2?family=6")).toEqual({
      topology: "standalone",
      url: "redis://default:s3cret@redis.internal:6379/2?family=6",
    });
  });

  it("reads TLS files and the password variable out of a rediss:// URL and leaves the rest to ioredis", () => {
    expect(
      parseRedisTarget("rediss://cache:6380/0?tlsCaFile=/etc/ca.pem&passwordEnv=REDIS_PASSWORD"),
    ).toEqual({
      topology: "standalone",
      url: "rediss://cache:6380/0",
      passwordEnv: "REDIS_PASSWORD",
      tls: { caFile: "/etc/ca.pem" },
    });
    expect(parseRedisTarget("rediss://cache:6380").tls).toEqual({});
    expect(() => parseRedisTarget("redis://cache:6380?tlsCaFile=/etc/ca.pem")).toThrow(/need a TLS scheme/);
  });

  it("parses sentinels, the master name, the database and the sentinels' own credentials", () => {
    expect(
      parseRedisTarget(
        "redis+sentinel://app:pw@s1:26379,s2,[::1]:26381/mymaster/3?sentinelPasswordEnv=SENTINEL_PW&sentinelUsername=watch",
      ),
    ).toEqual({
      topology: "sentinel",
      sentinels: [
        { host: "s1", port: 26379 },
        { host: "s2", port: 26379 },
        { host: "::1", port: 26381 },
      ],
      name: "mymaster",
      db: 3,
      username: "app",
      password: "pw",
      sentinelUsername: "watch",
      sentinelPasswordEnv: "SENTINEL_PW",
    });
    expect(() => parseRedisTarget("redis+sentinel://s1:26379")).toThrow(/master name/);
    expect(() => parseRedisTarget("redis+sentinel://s1:99999/m")).toThrow(/port out of range/);
    expect(() => parseRedisTarget("redis+sentinel://s1:26379/m?retry=1")).toThrow(
      /unknown parameter\(s\) retry/,
    );
  });

  it("parses cluster seed nodes and refuses a database other than 0", () => {
    expect(parseRedisTarget("rediss+cluster://n1:7000,n2:7001?tlsCaFile=/ca.pem")).toEqual({
      topology: "cluster",
      nodes: [
        { host: "n1", port: 7000 },
        { host: "n2", port: 7001 },
      ],
      tls: { caFile: "/ca.pem" },
    });
    expect(() => parseRedisTarget("redis+cluster://n1:7000/1")).toThrow(/only database 0/);
    expect(() => parseRedisTarget("redis+cluster://:pw@n1:7000?passwordEnv=P")).toThrow(/choose one/);
    expect(() => parseRedisTarget("http://n1")).toThrow(/not a redis:\/\//);
  });

  it("never prints a password, whatever the scheme", () => {
    expect(redactRedisUrl("redis://default:s3cret@redis.internal:6379/0")).toBe(
      "redis://default:***@redis.internal:6379/0",
    );
    expect(redactRedisUrl("redis+sentinel://app:s3cret@s1:26379,s2:26380/mymaster")).toBe(
      "redis+sentinel://app:***@s1:26379,s2:26380/mymaster",
    );
    expect(redactRedisUrl("redis+cluster://:p@ss@n1:7000")).toBe("redis+cluster://:***@n1:7000");
    expect(redactRedisUrl("redis+cluster://n1:7000,n2:7001")).toBe("redis+cluster://n1:7000,n2:7001");
    expect(() => parseRedisTarget("redis+cluster://:s3cret@n1:7000:x")).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining("s3cret") as unknown }),
    );
  });
});

describe("queue.redis", () => {
  it("turns each form into a connection string that parses back to the same target", () => {
    const sentinel = formatRedisTarget({
      sentinels: [
        { host: "10.0.0.1", port: 26379 },
        { host: "10.0.0.2", port: 26379 },
      ],
      name: "keyproof",
      passwordEnv: "REDIS_PASSWORD",
      sentinelPasswordEnv: "SENTINEL_PASSWORD",
      tls: { caFile: "/etc/keyproof/redis-ca.pem" },
    });
    expect(sentinel).toBe(
      "rediss+sentinel://10.0.0.1:26379,10.0.0.2:26379/keyproof?tlsCaFile=%2Fetc%2Fkeyproof%2Fredis-ca.pem&passwordEnv=REDIS_PASSWORD&sentinelPasswordEnv=SENTINEL_PASSWORD",
    );
    expect(parseRedisTarget(sentinel)).toMatchObject({
      topology: "sentinel",
      name: "keyproof",
      passwordEnv: "REDIS_PASSWORD",
      sentinelPasswordEnv: "SENTINEL_PASSWORD",
      tls: { caFile: "/etc/keyproof/redis-ca.pem" },
    });
    const cluster = formatRedisTarget({ cluster: { nodes: [{ host: "n1", port: 7000 }] }, username: "kp" });
    expect(cluster).toBe("redis+cluster://kp@n1:7000");
    expect(parseRedisTarget(cluster)).toEqual({
      topology: "cluster",
      nodes: [{ host: "n1", port: 7000 }],
      username: "kp",
    });
    expect(formatRedisTarget({ url: "redis://cache:6379/1", tls: { caFile: "/ca.pem" } })).toBe(
      "rediss://cache:6379/1?tlsCaFile=%2Fca.pem",
    );
  });

  it("refuses an incomplete or mixed section naming the field", () => {
    expect(() => readQueueSection({ queue: { redis: {} } })).toThrow(
      /queue.redis: needs one of url, sentinels/,
    );
    expect(() => readQueueSection({ queue: { redis: { sentinels: [{ host: "s", port: 26379 }] } } })).toThrow(
      /queue.redis.name: is required with sentinels/,
    );
    expect(() =>
      readQueueSection({
        queue: { redis: { url: "redis://a:1", cluster: { nodes: [{ host: "n", port: 7000 }] } } },
      }),
    ).toThrow(/queue.redis: takes one of url, sentinels or cluster, not url and cluster/);
    expect(() =>
      readQueueSection({ queue: { redis: { cluster: { nodes: [{ host: "n", port: 7000 }] }, db: 2 } } }),
    ).toThrow(/queue.redis.db: a Redis Cluster has only database 0/);
    expect(() =>
      readQueueSection({ queue: { redis: { url: "redis://a:1", passwordEnv: "not a name" } } }),
    ).toThrow(/queue.redis.passwordEnv: must be the name of an environment variable/);
    expect(() =>
      readQueueSection({ queue: { redisUrl: "redis://a:1", redis: { url: "redis://b:1" } } }),
    ).toThrow(/either queue.redisUrl or queue.redis/);
    expect(() =>
      readQueueSection({ queue: { redis: { url: "redis://a:1", tls: { certFile: "/c.pem" } } } }),
    ).toThrow(/queue.redis.tls: certFile and keyFile go together/);
  });

  it("resolves queue.redis into the connection string, with REDIS_URL still winning", () => {
    const config = { queue: { redis: { cluster: { nodes: [{ host: "n1", port: 7000 }] } } } };
    expect(resolveQueueSettings({ config, env: {} })).toMatchObject({
      redisUrl: "redis+cluster://n1:7000",
      prefix: "{keyproof}",
    });
    expect(resolveQueueSettings({ config, env: { REDIS_URL: "redis://env:6379" } })).toMatchObject({
      redisUrl: "redis://env:6379",
      prefix: "keyproof",
    });
  });
});

describe("the queue prefix on a Redis Cluster", () => {
  it("is hash-tagged automatically, once, and left alone elsewhere", () => {
    expect(queuePrefixFor("redis+cluster://n1:7000", "keyproof")).toBe("{keyproof}");
    expect(queuePrefixFor("redis+cluster://n1:7000", "{keyproof}")).toBe("{keyproof}");
    expect(queuePrefixFor("redis://n1:6379", "keyproof")).toBe("keyproof");
    expect(queuePrefixFor("redis+sentinel://s1:26379/m", "keyproof")).toBe("keyproof");
    expect(() => hashTaggedPrefix("a{b}")).toThrow(/not one hash tag/);
    expect(
      resolveQueueSettings({ env: { REDIS_URL: "redis+cluster://n1:7000", KEYPROOF_QUEUE_PREFIX: "acme" } })
        .prefix,
    ).toBe("{acme}");
    expect(() => resolveQueueSettings({ env: { KEYPROOF_QUEUE_PREFIX: "{acme" } })).toThrow(/queue prefix/);
  });

  it("puts every key of keyproof's own in the prefix's slot", () => {
    const keys = redisKeys("{acme}");
    const own = [
      keys.run("r1"),
      keys.run(""),
      keys.runIndex,
      keys.activeRun("d"),
      keys.recentRun("d"),
      keys.unfinishedRuns("aws/prod"),
      keys.accessLog,
      keys.runAccessLog("r1"),
      keys.rateLimit("aws:eu-west-1"),
      keys.review("v1"),
    ];
    // Redis Cluster hashes only the text between the first { and the next }: the same tag, the same slot.
    expect(new Set(own.map((key) => /\{([^}]+)\}/.exec(key)?.[1]))).toEqual(new Set(["acme"]));
    expect(own.every((key) => key.startsWith("{acme}:"))).toBe(true);
  });
});

describe("createRedisConnection", () => {
  it("builds a Cluster for redis+cluster:// and a sentinel-backed Redis for redis+sentinel://, without connecting", () => {
    const env = { KP_TEST_PW: "pw", KP_TEST_SENTINEL_PW: "spw" };
    const cluster = createRedisConnection(
      "redis+cluster://127.0.0.1:1?passwordEnv=KP_TEST_PW",
      "worker",
      "t",
      undefined,
      env,
    );
    const sentinel = createRedisConnection(
      "redis+sentinel://127.0.0.1:1/mymaster?sentinelPasswordEnv=KP_TEST_SENTINEL_PW",
      "worker",
      "t",
      undefined,
      env,
    );
    try {
      expect(cluster).toBeInstanceOf(Cluster);
      expect(
        cluster instanceof Cluster ? cluster.options.redisOptions?.maxRetriesPerRequest : "no",
      ).toBeNull();
      expect(cluster instanceof Cluster ? cluster.options.redisOptions?.password : "no").toBe("pw");
      expect(sentinel).toBeInstanceOf(Redis);
      expect(sentinel instanceof Redis ? sentinel.options : undefined).toMatchObject({
        name: "mymaster",
        sentinels: [{ host: "127.0.0.1", port: 1 }],
        sentinelPassword: "spw",
        maxRetriesPerRequest: null,
      });
    } finally {
      cluster.disconnect();
      sentinel.disconnect();
    }
  });

  it("names a password variable that is not set, and a TLS file that cannot be read", () => {
    expect(() =>
      createRedisConnection("redis://a:1?passwordEnv=KP_TEST_UNSET", "client", "t", undefined, {}),
    ).toThrow(/passwordEnv names KP_TEST_UNSET, which is not set/);
    expect(() =>
      createRedisConnection("rediss://a:1?tlsCaFile=/nonexistent/ca.pem", "client", "t", undefined, {}),
    ).toThrow(/tlsCaFile \/nonexistent\/ca.pem cannot be read/);
  });
});
