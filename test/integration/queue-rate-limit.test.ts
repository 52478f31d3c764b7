/**
 * Per-source rate limits across processes, on real Redis: the shared token bucket spaces requests from
 * several clients at the configured rate, and the source lease lets a bounded number of jobs
 * (`queue.locationConcurrency`, one here) work on a source's location, so two runs over one region take turns.
 */
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { QueueClient } from "../../src/jobs/queue/queue-client.ts";
import { createRedisConnection } from "../../src/jobs/queue/redis-connection.ts";
import { createRedisTokenBucket } from "../../src/jobs/queue/redis-token-bucket.ts";
import { leaseHolder, leaseKey, tryAcquireSourceLease } from "../../src/jobs/queue/source-lease.ts";
import { locationJobId } from "../../src/jobs/queue/job-ids.ts";
import { startWorkerRuntime, type WorkerRuntime } from "../../src/jobs/queue/worker-runtime.ts";
import { followRun } from "../../src/jobs/run-queued.ts";
import {
  REDIS_URL,
  TEST_RANGE,
  cleanupPrefix,
  prepareEstate,
  removeDirectory,
  uniquePrefix,
  type TestEstate,
} from "./queue-harness.ts";

const prefix = uniquePrefix("rate");
let client: QueueClient;
let setup: TestEstate | undefined;
let runtime: WorkerRuntime | undefined;

beforeAll(() => {
  client = QueueClient.connect(REDIS_URL, prefix);
});

afterAll(async () => {
  await runtime?.close();
  await client?.close();
  await cleanupPrefix(REDIS_URL, prefix);
  await removeDirectory(setup?.directory);
});

describe("shared token bucket", () => {
  it("spaces requests from separate connections at the rate (LookupEvents: 2 per second per region)", async () => {
    const first = createRedisConnection(REDIS_URL, "client");
    const connections = [first, createRedisConnection(REDIS_URL, "client")];
    try {
      const buckets = connections.map((redis) =>
        createRedisTokenBucket({
          redis,
          prefix,
          bucket: "aws-demo:us-east-1:LookupEvents",
          ratePerSecond: 2,
        }),
      );
      const started = Date.now();
      const sentAt: number[] = [];
      await Promise.all(
        Array.from({ length: 6 }, async (_, index) => {
          await buckets[index % 2]?.take();
          sentAt.push(Date.now() - started);
        }),
      );
      sentAt.sort((a, b) => a - b);
      // Six requests at 2/s: the first at once, the last 2.5 s later; never more than 2 in any second.
      // sentAt is read in this process after take() resolves, so a busy event loop (the suite at twice its
      // load) can record a grant late and shrink the next gap: 100 ms of slack below, generous above.
      expect(sentAt[5]).toBeGreaterThanOrEqual(2400);
      expect(sentAt[5]).toBeLessThan(6000);
      for (let index = 2; index < sentAt.length; index++) {
        expect((sentAt[index] ?? 0) - (sentAt[index - 2] ?? 0)).toBeGreaterThanOrEqual(900);
      }
      // Another region has its own bucket.
      const other = createRedisTokenBucket({
        redis: first,
        prefix,
        bucket: "aws-demo:eu-west-1:LookupEvents",
        ratePerSecond: 2,
      });
      const before = Date.now();
      await other.take();
      expect(Date.now() - before).toBeLessThan(200);
    } finally {
      await Promise.all(connections.map((redis) => redis.quit()));
    }
  });
});

describe("source lease", () => {
  it("is exclusive, re-entrant for its holder, and free again after release or expiry", async () => {
    const key = leaseKey(prefix, "aws-demo", "us-east-1", "usage");
    const first = await tryAcquireSourceLease(client.redis, key, "job-a", 500);
    expect(first).toBeDefined();
    expect(await tryAcquireSourceLease(client.redis, key, "job-b", 500)).toBeUndefined();
    // The same job (retried after its worker died) takes its lease back.
    const again = await tryAcquireSourceLease(client.redis, key, "job-a", 500);
    expect(again).toBeDefined();
    await again?.release();
    expect(await leaseHolder(client.redis, key)).toBeUndefined();
    // A holder that stops renewing (its process died) loses the lease after the TTL: renewal runs every
    // second at the earliest, so a 300 ms lease lapses before it would be renewed.
    const lapsing = await tryAcquireSourceLease(client.redis, `${key}-x`, "job-c", 300);
    expect(lapsing).toBeDefined();
    await new Promise((resolve) => setTimeout(resolve, 450));
    const taken = await tryAcquireSourceLease(client.redis, `${key}-x`, "job-d", 300);
    expect(taken).toBeDefined();
    // The late release of the old holder does not free the new holder's lease.
    await lapsing?.release();
    expect(await leaseHolder(client.redis, `${key}-x`)).toBe("job-d");
    await taken?.release();
  });

  it("makes two runs over the same region take turns (usage always; collection with locationConcurrency 1)", async () => {
    setup = await prepareEstate({ configExtra: { queue: { locationConcurrency: 1 } } });
    runtime = await startWorkerRuntime({
      redisUrl: REDIS_URL,
      prefix,
      queues: ["collect", "seal", "deliver"],
      tuning: { concurrency: 8 },
    });
    const base = {
      config: setup.loaded.config,
      configDirectory: setup.loaded.directory,
      range: TEST_RANGE,
      render: false,
      request: { origin: "cli" as const },
    };
    // Different output directories make them two runs (different scopes), started together.
    const [a, b] = await Promise.all([
      client.startRun({ ...base, outDirectory: path.join(setup.directory, "a") }),
      client.startRun({ ...base, outDirectory: path.join(setup.directory, "b") }),
    ]);
    expect(a.runId).not.toBe(b.runId);
    for (const run of [a, b])
      expect((await followRun(client, run.runId, { pollIntervalMs: 200, timeoutMs: 60_000 })).status).toBe(
        "completed",
      );

    for (const [kind, name] of [
      ["usage", "extract-usage"],
      ["collect", "collect-location"],
    ] as const) {
      for (const region of ["us-east-1", "eu-west-1"]) {
        const jobs = await Promise.all(
          [a, b].map((run) =>
            client.queue("collect").getJob(locationJobId(run.runId, name, "aws-demo", region)),
          ),
        );
        const [first, second] = jobs
          .map((job) => ({ from: job?.processedOn ?? 0, to: job?.finishedOn ?? 0 }))
          .sort((x, y) => x.from - y.from);
        // No overlap: the second started after the first finished.
        expect(second?.from ?? 0, `${kind} ${region}`).toBeGreaterThanOrEqual(
          first?.to ?? Number.POSITIVE_INFINITY,
        );
      }
    }
  });
});
