/**
 * Redis restarted in the middle of a run: a Redis of the test's own (append-only file on, noeviction) on a
 * free port is shut down while a worker process is collecting and started again from its AOF; the worker
 * and the follower reconnect, and the run completes with a bundle that verifies.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyBundle } from "../../src/evidence/verify-bundle.ts";
import { createLocalEd25519Signer } from "../../src/signing/local-ed25519.signer.ts";
import { QueueClient } from "../../src/jobs/queue/queue-client.ts";
import { checkEvictionPolicy } from "../../src/jobs/queue/redis-connection.ts";
import { followRun } from "../../src/jobs/run-queued.ts";
import {
  AWS_ENDPOINT,
  prepareEstate,
  removeDirectory,
  signalWorker,
  spawnWorker,
  startDelayProxy,
  startEstateRun,
  uniquePrefix,
  waitFor,
  waitForActiveCollectJob,
  waitForWorkerReady,
  type TestEstate,
  type WorkerProcess,
} from "./queue-harness.ts";

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

interface OwnRedis {
  process: ChildProcess;
  exited: Promise<unknown>;
}

function startRedis(port: number, directory: string): OwnRedis {
  const child = spawn(
    "redis-server",
    [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--dir",
      directory,
      "--appendonly",
      "yes",
      "--appendfsync",
      "always",
      "--save",
      "",
      "--maxmemory-policy",
      "noeviction",
    ],
    { stdio: "ignore" },
  );
  return { process: child, exited: new Promise((resolve) => child.once("exit", resolve)) };
}

const prefix = uniquePrefix("restart");
let port: number;
let redisDirectory: string;
let redis: OwnRedis | undefined;
let setup: TestEstate;
let client: QueueClient;
let worker: WorkerProcess | undefined;
let proxy: Awaited<ReturnType<typeof startDelayProxy>>;

beforeAll(async () => {
  port = await freePort();
  redisDirectory = await mkdtemp(path.join(tmpdir(), "keyproof-redis-"));
  redis = startRedis(port, redisDirectory);
  proxy = await startDelayProxy(AWS_ENDPOINT, 80);
  setup = await prepareEstate({ sourceOverrides: { endpoints: { kms: proxy.endpoint } } });
  client = QueueClient.connect(`redis://127.0.0.1:${port}`, prefix);
  await waitFor("own Redis", async () => ((await client.redis.ping()) === "PONG" ? true : undefined));
});

afterAll(async () => {
  if (worker !== undefined) {
    signalWorker(worker, "SIGKILL");
    await worker.exited;
  }
  await client?.close();
  redis?.process.kill("SIGKILL");
  await redis?.exited;
  await proxy?.close();
  await removeDirectory(redisDirectory);
  await removeDirectory(setup?.directory);
});

describe("Redis restarted mid-run", () => {
  it("reports noeviction as fine", async () => {
    expect(await checkEvictionPolicy(client.redis)).toEqual({ policy: "noeviction", ok: true });
  });

  it("loses no job: the worker reconnects and the run completes", async () => {
    worker = spawnWorker("all", {
      REDIS_URL: `redis://127.0.0.1:${port}`,
      KEYPROOF_QUEUE_PREFIX: prefix,
      AWS_ACCESS_KEY_ID: "test",
      AWS_SECRET_ACCESS_KEY: "test",
    });
    await waitForWorkerReady(worker);
    const started = await startEstateRun(client, setup, path.join(setup.directory, "data"));
    const { collectIds } = started;
    await waitForActiveCollectJob(client, collectIds);

    // SIGTERM makes Redis flush its AOF and exit; it comes back on the same port from the same files.
    const stopped = redis;
    stopped?.process.kill("SIGTERM");
    await stopped?.exited;
    await new Promise((resolve) => setTimeout(resolve, 1500));
    redis = startRedis(port, redisDirectory);

    const waits: string[] = [];
    const finished = await followRun(client, started.runId, {
      pollIntervalMs: 250,
      timeoutMs: 90_000,
      onWaiting: (reason) => waits.push(reason),
    });
    expect(finished.status, `${finished.error ?? ""}\n${worker.output().slice(-3000)}`).toBe("completed");
    expect(finished.summary?.sources[0]?.keys).toBe(14);
    const verified = await verifyBundle(`${path.join(setup.directory, "data", started.runId)}.tar.gz`, {
      expectedPublicKey: (await createLocalEd25519Signer(path.join(setup.directory, "signing.pem")))
        .publicKeyPem,
    });
    expect(verified.ok, JSON.stringify(verified.files)).toBe(true);
    // The worker logged the outage and kept going (it did not exit).
    expect(worker.child.exitCode).toBeNull();
    // Worker start, a Redis restart and a whole run: it took 60 s under a loaded 2-core machine. The run
    // itself may take 90 s (followRun above), so the test needs more than that.
  }, 180_000);
});
