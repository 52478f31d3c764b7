/**
 * KMS request quotas shared by workers through Redis, on moto and real Redis: two providers (two workers'
 * worth: separate Redis connections, separate SDK clients) collect one region's keys together with a small
 * configured rate per API, and together they stay within it. The account is fresh (assumed role in a
 * random 12-digit account; moto keeps state per account) and the Redis prefix unique, so nothing collides
 * with other tests. The times are those at which each request was let through to the SDK (the middleware
 * sends it right after), recorded in this process.
 */
import { randomUUID } from "node:crypto";
import { CreateGrantCommand, CreateKeyCommand, KMSClient } from "@aws-sdk/client-kms";
import { fromTemporaryCredentials } from "@aws-sdk/credential-providers";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AwsKmsSourceConfig } from "../../src/config/config.schema.ts";
import { createRedisConnection } from "../../src/jobs/queue/redis-connection.ts";
import { createRedisTokenBucket } from "../../src/jobs/queue/redis-token-bucket.ts";
import { createAwsKmsProvider } from "../../src/providers/aws-kms/aws-kms.provider.ts";
import type { AwsKmsProvider } from "../../src/providers/aws-kms/aws-kms.provider.ts";
import type { TokenBucketFactory } from "../../src/providers/aws-kms/kms-rate-limit.ts";
import { REDIS_URL, cleanupPrefix, uniquePrefix } from "./queue-harness.ts";

const ENDPOINT = process.env.KEYPROOF_TEST_AWS_ENDPOINT ?? "http://127.0.0.1:5000";
const CREDENTIALS = { accessKeyId: "test", secretAccessKey: "test" };
const ACCOUNT = `6${String(Math.floor(Math.random() * 1e11)).padStart(11, "0")}`;
const ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/keyproof-rate-${randomUUID().slice(0, 8)}`;
const REGION = "us-west-2";
const KEYS = 8;
/** Requests per second per API, small so that eight keys already take seconds. */
const RATE = 4;

const SOURCE: AwsKmsSourceConfig = {
  id: "aws-rate",
  type: "aws-kms",
  regions: [REGION],
  endpoint: ENDPOINT,
  roleArn: ROLE_ARN,
  rateLimits: {
    ListKeys: RATE,
    ListAliases: RATE,
    DescribeKey: RATE,
    GetKeyPolicy: RATE,
    GetKeyRotationStatus: RATE,
    ListKeyRotations: RATE,
    ListGrants: RATE,
    ListResourceTags: RATE,
  },
};

const prefix = uniquePrefix("kms-rate");
const connections: Redis[] = [];
const providers: AwsKmsProvider[] = [];
/** API → the times (ms) its requests were let through, by either worker. */
const sentAt = new Map<string, number[]>();

/** A worker's bucket factory: Redis-backed on its own connection, recording each grant. */
function workerBuckets(): TokenBucketFactory {
  const redis = createRedisConnection(REDIS_URL, "client");
  connections.push(redis as Redis);
  return ({ bucket, ratePerSecond }) => {
    const shared = createRedisTokenBucket({ redis, prefix, bucket, ratePerSecond });
    const api = bucket.split(":").at(-1) ?? bucket;
    return {
      async take() {
        await shared.take();
        const times = sentAt.get(api) ?? [];
        times.push(performance.now());
        sentAt.set(api, times);
      },
    };
  };
}

beforeAll(async () => {
  const kms = new KMSClient({
    endpoint: ENDPOINT,
    region: REGION,
    credentials: fromTemporaryCredentials({
      masterCredentials: CREDENTIALS,
      params: { RoleArn: ROLE_ARN, RoleSessionName: "keyproof-rate-arrange" },
      clientConfig: { endpoint: ENDPOINT, region: REGION },
    }),
  });
  try {
    for (let index = 0; index < KEYS; index += 1) {
      const created = await kms.send(new CreateKeyCommand({ Description: `rate ${index}` }));
      const keyId = created.KeyMetadata?.KeyId;
      if (keyId === undefined) throw new Error("moto created a key without an id");
      await kms.send(
        new CreateGrantCommand({
          KeyId: keyId,
          GranteePrincipal: `arn:aws:iam::${ACCOUNT}:role/app`,
          Operations: ["Decrypt"],
        }),
      );
    }
  } finally {
    kms.destroy();
  }
}, 120_000);

afterAll(async () => {
  for (const provider of providers) provider.close();
  await Promise.all(connections.map((redis) => redis.quit().catch(() => undefined)));
  await cleanupPrefix(REDIS_URL, prefix);
});

describe("KMS request quotas shared through Redis", () => {
  it("keeps two workers together within the configured rate per API", async () => {
    const first = createAwsKmsProvider(SOURCE, { credentials: CREDENTIALS, tokenBuckets: workerBuckets() });
    const second = createAwsKmsProvider(SOURCE, { credentials: CREDENTIALS, tokenBuckets: workerBuckets() });
    providers.push(first, second);
    const listing = await first.listKeys(REGION);
    expect(listing.gaps).toEqual([]);
    expect(listing.refs).toHaveLength(KEYS);
    const half = KEYS / 2;
    const [a, b] = await Promise.all([
      first.collectKeys(REGION, listing.refs.slice(0, half)),
      second.collectKeys(REGION, listing.refs.slice(half)),
    ]);
    const keys = [...a.keys, ...b.keys];
    expect(keys).toHaveLength(KEYS);
    expect(keys.flatMap((key) => key.errors)).toEqual([]);
    expect(keys.every((key) => key.access.ok && key.access.value.grants.length > 0)).toBe(true);

    for (const api of ["DescribeKey", "GetKeyPolicy", "ListGrants", "ListResourceTags"]) {
      const times = (sentAt.get(api) ?? []).sort((left, right) => left - right);
      // Every key's request went through the shared bucket, from both workers.
      expect(times.length, api).toBeGreaterThanOrEqual(KEYS);
      const elapsedSeconds = ((times.at(-1) ?? 0) - (times[0] ?? 0)) / 1000;
      // Within the rate: n requests at RATE/s need at least (n - 1) / RATE seconds. 100 ms of slack for a
      // grant recorded late by a busy event loop, which can only make the spread look shorter.
      expect(elapsedSeconds, api).toBeGreaterThanOrEqual((times.length - 1) / RATE - 0.1);
      expect(times.length, api).toBeLessThanOrEqual(RATE * (elapsedSeconds + 1));
      // No one-second window holds more than RATE requests (plus one for a late-recorded grant).
      for (let index = 0; index + RATE + 1 < times.length; index += 1) {
        expect((times[index + RATE + 1] ?? 0) - (times[index] ?? 0), api).toBeGreaterThanOrEqual(900);
      }
    }
  }, 300_000);
});
