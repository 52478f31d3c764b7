/**
 * A worker process killed with SIGKILL in the middle of collecting: its jobs lose their locks, the stalled
 * check hands them to a new worker process, and the run completes with exactly the artifacts of an
 * uninterrupted run: none missing, none twice, a bundle that verifies.
 */
import { readdir } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readBundleTree } from "../../src/evidence/bundle-tree.ts";
import { MANIFEST_FILE, SIGNATURE_FILE } from "../../src/evidence/paths.ts";
import { verifyBundle } from "../../src/evidence/verify-bundle.ts";
import { createLocalEd25519Signer } from "../../src/signing/local-ed25519.signer.ts";
import { API_ACCESS_LOG_FILE } from "../../src/jobs/queue/access-log.ts";
import { QueueClient } from "../../src/jobs/queue/queue-client.ts";
import { runInline } from "../../src/jobs/run-inline.ts";
import { followRun } from "../../src/jobs/run-queued.ts";
import {
  AWS_ENDPOINT,
  REDIS_URL,
  TEST_RANGE,
  cleanupPrefix,
  prepareEstate,
  removeDirectory,
  signalWorker,
  spawnWorker,
  startDelayProxy,
  startEstateRun,
  uniquePrefix,
  waitForActiveCollectJob,
  waitForWorkerReady,
  type TestEstate,
  type WorkerProcess,
} from "./queue-harness.ts";

const prefix = uniquePrefix("kill");
let setup: TestEstate;
let client: QueueClient;
let proxy: Awaited<ReturnType<typeof startDelayProxy>>;
const workers: WorkerProcess[] = [];

const workerEnv = {
  REDIS_URL,
  KEYPROOF_QUEUE_PREFIX: prefix,
  // Short locks so the stalled job is handed over within seconds instead of the default 30 s.
  KEYPROOF_WORKER_LOCK_MS: "2000",
  AWS_ACCESS_KEY_ID: "test",
  AWS_SECRET_ACCESS_KEY: "test",
};

beforeAll(async () => {
  // Every KMS call takes 80 ms more: collecting a region lasts seconds, long enough to be cut off.
  proxy = await startDelayProxy(AWS_ENDPOINT, 80);
  // Batches of 4 keys: the kill lands among a region's listing, its batch jobs and their merge.
  setup = await prepareEstate({
    sourceOverrides: { endpoints: { kms: proxy.endpoint } },
    configExtra: { queue: { keyBatchSize: 4 } },
  });
  client = QueueClient.connect(REDIS_URL, prefix);
});

afterAll(async () => {
  for (const worker of workers) {
    signalWorker(worker, "SIGKILL");
    await worker.exited;
  }
  await client?.close();
  await proxy?.close();
  await cleanupPrefix(REDIS_URL, prefix);
  await removeDirectory(setup?.directory);
});

function artifactPaths(files: string[]): string[] {
  return files
    .filter((file) => file !== MANIFEST_FILE && file !== SIGNATURE_FILE && file !== API_ACCESS_LOG_FILE)
    .sort();
}

describe("a worker killed mid-run", () => {
  it("is replaced by another worker process and the run completes with no missing or duplicate artifact", async () => {
    const first = spawnWorker("all", workerEnv);
    workers.push(first);
    await waitForWorkerReady(first);

    const dataDirectory = path.join(setup.directory, "data");
    const started = await startEstateRun(client, setup, dataDirectory);
    const { collectIds } = started;

    // Kill as soon as the worker is collecting: its jobs are cut off in the middle.
    await waitForActiveCollectJob(client, collectIds);
    signalWorker(first, "SIGKILL");
    expect(await first.exited).toBe("SIGKILL");
    const interrupted = await Promise.all(collectIds.map((id) => client.queue("collect").getJobState(id)));
    expect(interrupted).not.toEqual(["completed", "completed"]);

    const second = spawnWorker("all", workerEnv);
    workers.push(second);
    await waitForWorkerReady(second);
    const finished = await followRun(client, started.runId, { pollIntervalMs: 250, timeoutMs: 90_000 });
    expect(finished.status, `${finished.error ?? ""}\n${second.output().slice(-2000)}`).toBe("completed");

    // The killed worker's jobs were handed over (stalled) rather than lost or run as new jobs.
    const jobs = await Promise.all(collectIds.map((id) => client.queue("collect").getJob(id)));
    expect(jobs.some((job) => (job?.stalledCounter ?? 0) >= 1 || (job?.attemptsStarted ?? 0) >= 2)).toBe(
      true,
    );
    // Every job exactly once: two locations, two usage extracts, and one job per key batch.
    const allCollectJobs = await client
      .queue("collect")
      .getJobs(["completed", "failed", "active", "waiting", "delayed", "waiting-children"]);
    const batchJobs = Object.values(finished.keyBatches).reduce(
      (sum, count) => sum + (count > 1 ? count : 0),
      0,
    );
    expect(batchJobs).toBeGreaterThanOrEqual(4);
    const ofRun = allCollectJobs.filter((job) => job.data.runId === started.runId);
    expect(ofRun).toHaveLength(4 + batchJobs);
    expect(new Set(ofRun.map((job) => job.id)).size).toBe(ofRun.length);

    // One bundle, verified, with exactly the files an uninterrupted inline run of the same estate writes.
    const entries = (await readdir(dataDirectory)).filter((entry) => !entry.startsWith("."));
    expect(entries.sort()).toEqual([started.runId, `${started.runId}.tar.gz`]);
    const bundle = path.join(dataDirectory, started.runId);
    const verified = await verifyBundle(`${bundle}.tar.gz`, {
      expectedPublicKey: (await createLocalEd25519Signer(path.join(setup.directory, "signing.pem")))
        .publicKeyPem,
    });
    expect(verified.ok, JSON.stringify(verified.files)).toBe(true);
    const inline = await runInline({
      loaded: setup.loaded,
      range: TEST_RANGE,
      outDirectory: path.join(setup.directory, "inline"),
      runId: started.runId,
      render: false,
    });
    const expected = artifactPaths((await readBundleTree(inline.bundle.directory)).files);
    expect(artifactPaths((await readBundleTree(bundle)).files)).toEqual(expected);
    expect(expected.filter((file) => file.endsWith("/configuration.json"))).toHaveLength(14);
    expect(finished.summary?.sources[0]?.keys).toBe(14);
    // The replacement worker stops here: the next test's graceful worker must be the only one taking jobs.
    signalWorker(second, "SIGKILL");
    await second.exited;
  });

  it("on SIGTERM finishes the jobs in flight, then exits 0", async () => {
    const worker = spawnWorker("collect", workerEnv);
    workers.push(worker);
    await waitForWorkerReady(worker);
    const started = await startEstateRun(client, setup, path.join(setup.directory, "graceful"));
    const { collectIds } = started;
    await waitForActiveCollectJob(client, collectIds);
    const activeBefore = (
      await Promise.all(
        collectIds.map(async (id) => [id, await client.queue("collect").getJobState(id)] as const),
      )
    )
      .filter(([, state]) => state === "active")
      .map(([id]) => id);
    // SIGTERM to the worker's own process (what a process manager sends to it), not to npx around it.
    const pid = Number(/"pid":(\d+)/.exec(worker.output())?.[1]);
    expect(pid).toBeGreaterThan(0);
    process.kill(pid, "SIGTERM");
    expect(await worker.exited).toBe(0);
    expect(worker.output()).toContain("closing: finishing jobs in flight");
    // What was running when the signal came was finished, not abandoned to the stalled check: completed,
    // or (a location that fanned out into key batches) parked until its batch jobs are done.
    for (const id of activeBefore) {
      const job = await client.queue("collect").getJob(id);
      expect(["completed", "waiting-children"], id).toContain(await job?.getState());
      expect(job?.stalledCounter ?? 0).toBe(0);
    }
  });
});
