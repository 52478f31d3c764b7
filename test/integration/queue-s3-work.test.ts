/**
 * Queued runs whose workers share nothing but Redis and S3 (`storage.s3`): work items and the bundle being
 * assembled live under the run's S3 work prefix (moto), each worker keeps only per-job scratch folders in
 * its own data directory, and the run's planned data directory is never created.
 *
 * 1. Two worker runtimes with different data directories (in this process, so both get the fixed provider
 *    clock the inline comparison needs) complete a run whose data files equal an inline run's, digest for
 *    digest, and whose sealed archive (in S3) verifies.
 * 2. Worker processes: one SIGKILLed while collecting, two more (each with its own data directory) finish
 *    the run; nothing is lost: the archive verifies and holds exactly the inline run's files.
 */
import { access, mkdir, mkdtemp, readdir } from "node:fs/promises";
import path from "node:path";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { extract as extractTar } from "tar";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readBundleTree } from "../../src/evidence/bundle-tree.ts";
import { MANIFEST_FILE, SIGNATURE_FILE } from "../../src/evidence/paths.ts";
import { verifyBundle } from "../../src/evidence/verify-bundle.ts";
import { API_ACCESS_LOG_FILE } from "../../src/jobs/queue/access-log.ts";
import { QueueClient } from "../../src/jobs/queue/queue-client.ts";
import { startWorkerRuntime, type WorkerRuntime } from "../../src/jobs/queue/worker-runtime.ts";
import { runInline } from "../../src/jobs/run-inline.ts";
import { followRun, runQueued } from "../../src/jobs/run-queued.ts";
import { createLocalEd25519Signer } from "../../src/signing/local-ed25519.signer.ts";
import { downloadS3Object } from "../../src/storage/s3-download.ts";
import { parseS3Url } from "../../src/storage/s3-location.ts";
import type { LoadedConfig } from "../../src/config/load-config.ts";
import { awsTestClientConfig, uniqueName } from "../support/test-env.ts";
import {
  AWS_ENDPOINT,
  CAPTURED_AT,
  REDIS_URL,
  TEST_RANGE,
  cleanupPrefix,
  dataFileDigests,
  fixedClock,
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

const REGION = "eu-west-1";
const aws = awsTestClientConfig(REGION);
const s3 = new S3Client({ ...aws, forcePathStyle: true });
const prefix = uniquePrefix("s3work");
const bucket = uniqueName("kp-work");
let setup: TestEstate;
let client: QueueClient;
let proxy: Awaited<ReturnType<typeof startDelayProxy>>;
const runtimes: WorkerRuntime[] = [];
const workers: WorkerProcess[] = [];

beforeAll(async () => {
  // The evidence bucket (Object Lock, no default retention) also holds the work prefix.
  await s3.send(
    new CreateBucketCommand({
      Bucket: bucket,
      CreateBucketConfiguration: { LocationConstraint: REGION },
      ObjectLockEnabledForBucket: true,
    }),
  );
  // Every KMS call takes 80 ms more, so the SIGKILL lands while collecting.
  proxy = await startDelayProxy(AWS_ENDPOINT, 80);
  setup = await prepareEstate({
    sourceOverrides: { endpoints: { kms: proxy.endpoint } },
    configExtra: {
      queue: { keyBatchSize: 4 },
      storage: {
        scope: uniqueName("queued"),
        s3: {
          bucket,
          region: REGION,
          endpoint: aws.endpoint,
          retention: { mode: "COMPLIANCE", days: 1 },
          workPrefix: `${prefix}/`,
        },
      },
    },
  });
  client = QueueClient.connect(REDIS_URL, prefix);
});

afterAll(async () => {
  for (const worker of workers) {
    signalWorker(worker, "SIGKILL");
    await worker.exited;
  }
  for (const runtime of runtimes) await runtime.close();
  await client?.close();
  await proxy?.close();
  await cleanupPrefix(REDIS_URL, prefix);
  await removeDirectory(setup?.directory);
});

/** The same config chained under another scope: the inline run is the first of its chain, as the queued one. */
function inlineConfig(): LoadedConfig {
  const { config } = setup.loaded;
  if (config.storage === undefined) throw new Error("no storage in the test config");
  return {
    ...setup.loaded,
    config: { ...config, storage: { ...config.storage, scope: uniqueName("inline") } },
  };
}

/** Downloads the sealed archive the run record names (in the run's S3 work prefix) and unpacks it. */
async function fetchArchive(url: string, into: string): Promise<{ archive: string; directory: string }> {
  const location = parseS3Url(url);
  if (location === undefined) throw new Error(`${url} is not an s3:// URL`);
  await mkdir(into, { recursive: true });
  const archive = path.join(into, path.posix.basename(location.key));
  await downloadS3Object(s3, location, archive);
  await extractTar({ file: archive, cwd: into });
  return { archive, directory: archive.slice(0, -".tar.gz".length) };
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

async function expectVerified(archive: string): Promise<void> {
  const verified = await verifyBundle(archive, {
    expectedPublicKey: (await createLocalEd25519Signer(path.join(setup.directory, "signing.pem")))
      .publicKeyPem,
  });
  expect(verified.ok, JSON.stringify(verified.files)).toBe(true);
}

function artifactPaths(files: string[]): string[] {
  return files
    .filter((file) => file !== MANIFEST_FILE && file !== SIGNATURE_FILE && file !== API_ACCESS_LOG_FILE)
    .sort();
}

describe("queued runs kept in S3", () => {
  it("complete on two workers with different data directories, digest for digest as inline", async () => {
    const dataDirectories = [
      await mkdtemp(path.join(setup.directory, "worker-a-")),
      await mkdtemp(path.join(setup.directory, "worker-b-")),
    ];
    for (const dataDirectory of dataDirectories) {
      runtimes.push(
        await startWorkerRuntime({
          redisUrl: REDIS_URL,
          prefix,
          queues: ["collect", "seal", "deliver"],
          providerOptions: { clock: fixedClock },
          // One job at a time each, so the run's jobs spread over both workers.
          tuning: { concurrency: 1 },
          dataDirectory,
        }),
      );
    }
    const runId = `kp-s3-work-${uniqueName("eq")}`;
    const planned = path.join(setup.directory, "planner-only");
    const queued = await runQueued({
      client,
      loaded: setup.loaded,
      range: TEST_RANGE,
      outDirectory: planned,
      runId,
      capturedAt: CAPTURED_AT,
      render: false,
      pollIntervalMs: 200,
      timeoutMs: 240_000,
    });
    expect(queued.record.status, queued.record.error).toBe("completed");
    // Nothing on the planner's disk: the bundle and its work items are in S3.
    expect(await exists(planned)).toBe(false);
    expect(queued.bundle.remote).toBe(`s3://${bucket}/${prefix}/${runId}/`);
    // Both workers took jobs: each left its run folder of (emptied) scratch space.
    for (const dataDirectory of dataDirectories) {
      expect(await readdir(path.join(dataDirectory, ".scratch", runId))).toEqual([]);
    }
    // The deliver job stored the archive in the Object-Locked bucket, and the CLI sees its record.
    expect(queued.storage).toMatchObject({
      manifestSha256: queued.bundle.manifestSha256,
      stores: [{ stored: true }],
    });

    const { archive, directory } = await fetchArchive(
      queued.bundle.archive,
      path.join(setup.directory, "fetched"),
    );
    await expectVerified(archive);
    const inline = await runInline({
      loaded: inlineConfig(),
      range: TEST_RANGE,
      outDirectory: path.join(setup.directory, "inline"),
      runId,
      capturedAt: CAPTURED_AT,
      providerOptions: { clock: fixedClock },
      render: false,
    });
    const inlineDigests = await dataFileDigests(inline.bundle.directory);
    const queuedDigests = await dataFileDigests(directory);
    expect(
      [...inlineDigests.keys()].filter((file) => file.endsWith("/configuration.json")).length,
    ).toBeGreaterThan(0);
    expect(
      [...inlineDigests.keys()].filter((file) => file.endsWith("/usage-events.ndjson")).length,
    ).toBeGreaterThan(0);
    expect(Object.fromEntries(queuedDigests)).toEqual(Object.fromEntries(inlineDigests));
    for (const runtime of runtimes.splice(0)) await runtime.close();
  }, 300_000);

  it("loses nothing when a worker process is SIGKILLed mid-run", async () => {
    const workerEnv = {
      REDIS_URL,
      KEYPROOF_QUEUE_PREFIX: prefix,
      KEYPROOF_WORKER_LOCK_MS: "2000",
      KEYPROOF_WORKER_CONCURRENCY: "1",
      AWS_ACCESS_KEY_ID: "test",
      AWS_SECRET_ACCESS_KEY: "test",
    };
    const killed = spawnWorker("all", {
      ...workerEnv,
      KEYPROOF_DATA_DIR: await mkdtemp(path.join(setup.directory, "killed-")),
    });
    workers.push(killed);
    await waitForWorkerReady(killed, 60_000);
    const planned = path.join(setup.directory, "planner-kill");
    const started = await startEstateRun(client, setup, planned);
    await waitForActiveCollectJob(client, started.collectIds);
    signalWorker(killed, "SIGKILL");
    expect(await killed.exited).toBe("SIGKILL");

    const survivors: string[] = [];
    for (const name of ["b", "c"]) {
      const dataDirectory = await mkdtemp(path.join(setup.directory, `survivor-${name}-`));
      survivors.push(dataDirectory);
      const worker = spawnWorker("all", { ...workerEnv, KEYPROOF_DATA_DIR: dataDirectory });
      workers.push(worker);
      await waitForWorkerReady(worker, 60_000);
    }
    const finished = await followRun(client, started.runId, { pollIntervalMs: 250, timeoutMs: 240_000 });
    expect(finished.status, `${finished.error ?? ""}\n${workers[1]?.output().slice(-2000) ?? ""}`).toBe(
      "completed",
    );
    expect(await exists(planned)).toBe(false);
    const bundle = finished.bundle;
    if (bundle === undefined) throw new Error("completed without a bundle");
    const { archive, directory } = await fetchArchive(
      bundle.archive,
      path.join(setup.directory, "killed-run"),
    );
    await expectVerified(archive);
    const inline = await runInline({
      loaded: inlineConfig(),
      range: TEST_RANGE,
      outDirectory: path.join(setup.directory, "inline-kill"),
      runId: started.runId,
      render: false,
    });
    const expected = artifactPaths((await readBundleTree(inline.bundle.directory)).files);
    expect(artifactPaths((await readBundleTree(directory)).files)).toEqual(expected);
    expect(expected.filter((file) => file.endsWith("/configuration.json"))).toHaveLength(14);
    expect(finished.summary?.sources[0]?.keys).toBe(14);
    // The run went on in the survivors' own data directories, never in the planned one.
    let used = 0;
    for (const dataDirectory of survivors) {
      if (await exists(path.join(dataDirectory, ".scratch", started.runId))) used += 1;
    }
    expect(used).toBeGreaterThanOrEqual(1);
  }, 300_000);
});
