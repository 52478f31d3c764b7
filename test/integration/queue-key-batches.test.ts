/**
 * Large locations fan out into batches of keys (issue #5), on real Redis and a real AWS estate in moto: with
 * `queue.keyBatchSize: 3` each region's listing becomes several `collect-key-batch` jobs that two worker
 * processes' worth of runtimes share, at most `queue.locationConcurrency` of them calling one region at once,
 * and the evidence is the same, digest for digest, as an inline run that describes each region in one go.
 * Rendering fans out the same way: `queue.screenshotBatchSize` PNGs per render job.
 */
import path from "node:path";
import type { Cluster, Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { batchJobId, jobIdFor, locationJobId, screenshotBatchJobId } from "../../src/jobs/queue/job-ids.ts";
import { QueueClient } from "../../src/jobs/queue/queue-client.ts";
import { redisKeys } from "../../src/jobs/queue/redis-keys.ts";
import { readRunProgress } from "../../src/jobs/queue/run-progress.ts";
import { keyBatchTarget } from "../../src/jobs/queue/run-store.ts";
import { leaseKey, slotKey, tryAcquireSlottedLease } from "../../src/jobs/queue/source-lease.ts";
import { startWorkerRuntime, type WorkerRuntime } from "../../src/jobs/queue/worker-runtime.ts";
import { runInline } from "../../src/jobs/run-inline.ts";
import { runQueued } from "../../src/jobs/run-queued.ts";
import { loadConfig } from "../../src/config/load-config.ts";
import {
  AWS_ENDPOINT,
  CAPTURED_AT,
  REDIS_URL,
  TEST_RANGE,
  cleanupPrefix,
  dataFileDigests,
  fixedClock,
  renderedFiles,
  prepareEstate,
  removeDirectory,
  startDelayProxy,
  uniquePrefix,
  type TestEstate,
} from "./queue-harness.ts";

const prefix = uniquePrefix("batch");
const BATCH_SIZE = 3;
const LOCATION_CONCURRENCY = 2;
let setup: TestEstate;
let client: QueueClient;
let proxy: Awaited<ReturnType<typeof startDelayProxy>>;
const runtimes: WorkerRuntime[] = [];

beforeAll(async () => {
  // Each KMS call 30 ms slower, so batches overlap long enough for the slot bound to be observable.
  proxy = await startDelayProxy(AWS_ENDPOINT, 30);
  setup = await prepareEstate({
    sourceOverrides: { endpoints: { kms: proxy.endpoint } },
    configExtra: { queue: { keyBatchSize: BATCH_SIZE, locationConcurrency: LOCATION_CONCURRENCY } },
  });
  client = QueueClient.connect(REDIS_URL, prefix);
  // Two runtimes as two worker processes would be: each takes up to 4 collect jobs at once.
  for (let index = 0; index < 2; index += 1) {
    runtimes.push(
      await startWorkerRuntime({
        redisUrl: REDIS_URL,
        prefix,
        queues: ["collect", "render", "seal", "deliver"],
        providerOptions: { clock: fixedClock },
      }),
    );
  }
}, 120_000);

afterAll(async () => {
  for (const runtime of runtimes) await runtime.close();
  await client?.close();
  await proxy?.close();
  await cleanupPrefix(REDIS_URL, prefix);
  await removeDirectory(setup?.directory);
});

/** Collect slots of every region currently held, sampled until stopped: the most seen at once per region. */
function sampleHeldSlots(
  redis: Redis | Cluster,
  source: string,
  regions: readonly string[],
): { stop(): Promise<number> } {
  let running = true;
  let most = 0;
  const sampling = (async () => {
    while (running) {
      for (const region of regions) {
        const base = leaseKey(prefix, source, region, "collect");
        const held = await redis.exists(
          ...Array.from({ length: LOCATION_CONCURRENCY + 2 }, (_, slot) => slotKey(base, slot)),
        );
        most = Math.max(most, held);
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  })();
  return {
    async stop() {
      running = false;
      await sampling;
      return most;
    },
  };
}

describe("collection in batches of keys", () => {
  it("fans a region out into batch jobs and produces the same evidence as describing it in one go", async () => {
    const runId = "kp-batches";
    const source = setup.estate.source.id;
    const regions = setup.estate.source.regions;

    // Inline, with the default batch size: every region is one batch.
    const unbatched = await loadConfig(setup.configFile);
    delete (unbatched.config as { queue?: unknown }).queue;
    const inline = await runInline({
      loaded: unbatched,
      range: TEST_RANGE,
      outDirectory: path.join(setup.directory, "inline"),
      runId,
      capturedAt: CAPTURED_AT,
      render: false,
      providerOptions: { clock: fixedClock },
    });

    const sampler = sampleHeldSlots(client.redis, source, regions);
    const queued = await runQueued({
      client,
      loaded: setup.loaded,
      range: TEST_RANGE,
      outDirectory: path.join(setup.directory, "queued"),
      runId,
      capturedAt: CAPTURED_AT,
      render: false,
      pollIntervalMs: 100,
    });
    const mostHeld = await sampler.stop();
    expect(queued.record.status, queued.record.error).toBe("completed");

    // Same files, same bytes (the bundle covers ≥ 10 keys over two regions, so several batches each).
    const inlineDigests = await dataFileDigests(inline.bundle.directory);
    expect([...inlineDigests.keys()].filter((file) => file.endsWith("/configuration.json")).length).toBe(14);
    expect(await dataFileDigests(queued.bundle.directory)).toEqual(inlineDigests);
    expect(queued.summary).toEqual(inline.summary);

    // The run record knows each region's batches: ceil(keys / 3) per region.
    const record = await client.runs.get(runId);
    const keysPerRegion = new Map<string, number>();
    for (const file of inlineDigests.keys()) {
      const match = /^sources\/[^/]+\/([^/]+)\/keys\/[^/]+\/configuration\.json$/.exec(file);
      if (match?.[1] !== undefined) keysPerRegion.set(match[1], (keysPerRegion.get(match[1]) ?? 0) + 1);
    }
    expect(record?.keyBatches).toEqual(
      Object.fromEntries(
        regions.map((region) => [
          keyBatchTarget(source, region),
          Math.ceil((keysPerRegion.get(region) ?? 0) / BATCH_SIZE),
        ]),
      ),
    );

    // Every batch is a completed job with its deterministic id, a child of its region's collect job.
    const collect = client.queue("collect");
    let batchJobs = 0;
    for (const region of regions) {
      const batches = record?.keyBatches[keyBatchTarget(source, region)] ?? 0;
      expect(batches).toBeGreaterThan(1);
      for (let batch = 0; batch < batches; batch += 1) {
        const job = await collect.getJob(batchJobId(runId, source, region, batch));
        expect(job?.id).toBe(`${runId}/collect-key-batch/${source}/${region}/${batch}`);
        expect(await job?.getState()).toBe("completed");
        expect(job?.parent?.id).toBe(locationJobId(runId, "collect-location", source, region));
        batchJobs += 1;
      }
      const parent = await collect.getJob(locationJobId(runId, "collect-location", source, region));
      expect(parent?.returnvalue).toEqual({ keys: keysPerRegion.get(region), gaps: 0, batches });
    }

    // Progress counts the batch jobs as collect work.
    const progress = await readRunProgress(client, queued.record.plan, record?.keyBatches);
    expect(progress.find((step) => step.step === "collect")).toMatchObject({
      total: regions.length + batchJobs,
      completed: regions.length + batchJobs,
    });

    // Batches of a region ran side by side, and never more at once than locationConcurrency.
    expect(mostHeld).toBeLessThanOrEqual(LOCATION_CONCURRENCY);
    expect(mostHeld).toBe(LOCATION_CONCURRENCY);
    // No lease is left behind.
    const leftover = await client.redis.keys(`${redisKeys(prefix).rateLimit("lease:")}*`);
    expect(leftover).toEqual([]);
  }, 180_000);

  it("renders a large run's screenshots in batch jobs, then reports and index, with the same files as inline", async () => {
    const runId = "kp-render-batches";
    const loaded = await loadConfig(setup.configFile);
    // 14 keys and 2 locations: 30 screenshots, in slices of 8.
    loaded.config.queue = { prefix: "keyproof", keyBatchSize: 250, screenshotBatchSize: 8 };
    const inline = await runInline({
      loaded,
      range: TEST_RANGE,
      outDirectory: path.join(setup.directory, "render-inline"),
      runId,
      capturedAt: CAPTURED_AT,
      providerOptions: { clock: fixedClock },
    });
    const queued = await runQueued({
      client,
      loaded,
      range: TEST_RANGE,
      outDirectory: path.join(setup.directory, "render-queued"),
      runId,
      capturedAt: CAPTURED_AT,
      pollIntervalMs: 100,
    });
    expect(queued.record.status, queued.record.error).toBe("completed");

    const rendered = await renderedFiles(inline.bundle.directory);
    const screenshots = rendered.filter((file) => file.endsWith(".png"));
    expect(screenshots).toHaveLength(30);
    expect(rendered.filter((file) => file.endsWith(".pdf")).length).toBeGreaterThanOrEqual(5);
    expect(await renderedFiles(queued.bundle.directory)).toEqual(rendered);
    expect(await dataFileDigests(queued.bundle.directory)).toEqual(
      await dataFileDigests(inline.bundle.directory),
    );

    const record = await client.runs.get(runId);
    expect(record?.screenshotBatches).toBe(4);
    const render = client.queue("render");
    for (let batch = 0; batch < 4; batch += 1) {
      const job = await render.getJob(screenshotBatchJobId(runId, batch));
      expect(await job?.getState()).toBe("completed");
      expect(job?.parent?.id).toBe(jobIdFor(runId, "render-evidence"));
      expect(job?.returnvalue).toMatchObject({ files: batch < 3 ? 8 : 6 });
    }
    const parent = await render.getJob(jobIdFor(runId, "render-evidence"));
    expect(parent?.returnvalue).toMatchObject({ screenshotBatches: 4 });
    const progress = await readRunProgress(
      client,
      queued.record.plan,
      record?.keyBatches,
      record?.screenshotBatches,
    );
    expect(progress.find((step) => step.step === "render")).toMatchObject({ total: 5, completed: 5 });
  }, 240_000);

  it("slotted leases admit at most N holders and free a slot on release", async () => {
    const key = leaseKey(prefix, "slot-test", "eu-west-1", "collect");
    const first = await tryAcquireSlottedLease(client.redis, key, 2, "job-a");
    const second = await tryAcquireSlottedLease(client.redis, key, 2, "job-b");
    expect(first).toBeDefined();
    expect(second).toBeDefined();
    expect(await tryAcquireSlottedLease(client.redis, key, 2, "job-c")).toBeUndefined();
    // Re-entrant: a retried job takes its own slot back.
    const again = await tryAcquireSlottedLease(client.redis, key, 2, "job-a");
    expect(again).toBeDefined();
    await second?.release();
    const third = await tryAcquireSlottedLease(client.redis, key, 2, "job-c");
    expect(third).toBeDefined();
    expect(await client.redis.get(slotKey(key, 1))).toBe("job-c");
    await Promise.all([first?.release(), third?.release()]);
    expect(await client.redis.exists(slotKey(key, 0), slotKey(key, 1))).toBe(0);
  });
});
