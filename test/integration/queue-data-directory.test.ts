/**
 * Every worker must see the run's data directory at the same path (a shared volume). A worker that does
 * not, simulated here by removing the run's marker before any worker starts, fails the run at once with the
 * path named, and creates nothing of its own there (no half bundle where the sealing worker never looks).
 */
import { readdir, rm } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { QueueClient } from "../../src/jobs/queue/queue-client.ts";
import { startWorkerRuntime, type WorkerRuntime } from "../../src/jobs/queue/worker-runtime.ts";
import { followRun } from "../../src/jobs/run-queued.ts";
import {
  REDIS_URL,
  cleanupPrefix,
  prepareEstate,
  removeDirectory,
  startEstateRun,
  uniquePrefix,
  type TestEstate,
} from "./queue-harness.ts";

const prefix = uniquePrefix("datadir");
let setup: TestEstate;
let client: QueueClient;
let runtime: WorkerRuntime | undefined;

beforeAll(async () => {
  setup = await prepareEstate();
  client = QueueClient.connect(REDIS_URL, prefix);
});

afterAll(async () => {
  await runtime?.close();
  await client?.close();
  await cleanupPrefix(REDIS_URL, prefix);
  await removeDirectory(setup?.directory);
});

describe("the shared data directory", () => {
  it("is marked when a run starts, and a worker that cannot see it fails the run naming the path", async () => {
    const dataDirectory = path.join(setup.directory, "data");
    const started = await startEstateRun(client, setup, dataDirectory);
    const workDirectory = path.join(dataDirectory, ".work", started.runId);
    expect(await readdir(workDirectory)).toEqual(["run.json"]);

    // What a worker on a machine without the volume sees: no marker at that path.
    await rm(dataDirectory, { recursive: true, force: true });
    runtime = await startWorkerRuntime({
      redisUrl: REDIS_URL,
      prefix,
      queues: ["collect", "seal", "deliver"],
    });
    const finished = await followRun(client, started.runId, { pollIntervalMs: 100, timeoutMs: 60_000 });

    expect(finished.status).toBe("failed");
    expect(finished.error).toContain(`its data directory ${dataDirectory} is not visible on this worker`);
    // Failed at once (not retried five times) and nothing written where the evidence would have split.
    const jobs = await client.queue("collect").getJobs(["failed"]);
    const ofRun = jobs.filter((job) => job.data.runId === started.runId);
    expect(ofRun.length).toBeGreaterThan(0);
    expect(ofRun.every((job) => job.attemptsMade === 1)).toBe(true);
    await expect(readdir(path.join(dataDirectory, started.runId))).rejects.toMatchObject({ code: "ENOENT" });
  });
});
