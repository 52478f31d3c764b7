/**
 * A queued run on a Sentinel-managed Redis, with the master failed over in the middle of it: the set-up of
 * `scripts/services.sh start redis-sentinel` (a master, one replica, three sentinels with quorum 2). A worker
 * process and the follower reach Redis only through `redis+sentinel://…/<name>`; `SENTINEL FAILOVER` while
 * a collect job is in flight promotes the replica, both move to the new master, and the run completes with
 * a bundle that verifies.
 */
import path from "node:path";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyBundle } from "../../src/evidence/verify-bundle.ts";
import { createLocalEd25519Signer } from "../../src/signing/local-ed25519.signer.ts";
import { QueueClient } from "../../src/jobs/queue/queue-client.ts";
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

const SENTINELS = process.env.KEYPROOF_TEST_REDIS_SENTINELS;
const MASTER_NAME = process.env.KEYPROOF_TEST_REDIS_SENTINEL_NAME;
// Missing is not pass: without the set-up this file fails and says how to start it.
const MISSING =
  "KEYPROOF_TEST_REDIS_SENTINELS / KEYPROOF_TEST_REDIS_SENTINEL_NAME are not set: run `bash scripts/services.sh start redis-sentinel` and load .keyproof/services.env";

const prefix = uniquePrefix("sentinel");
let redisUrl: string;
let setup: TestEstate | undefined;
let client: QueueClient | undefined;
let worker: WorkerProcess | undefined;
let proxy: Awaited<ReturnType<typeof startDelayProxy>> | undefined;

/** A direct connection to one sentinel (the first listed), to ask it about the master and to fail it over. */
function firstSentinel(): Redis {
  const [host, port] = (SENTINELS?.split(",")[0] ?? "").split(":");
  return new Redis({ host: host ?? "127.0.0.1", port: Number(port), maxRetriesPerRequest: 3 });
}

async function currentMaster(sentinel: Redis): Promise<string> {
  const reply = (await sentinel.call("SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER_NAME ?? "")) as string[];
  return reply.join(":");
}

beforeAll(async () => {
  if (SENTINELS === undefined || MASTER_NAME === undefined) throw new Error(MISSING);
  redisUrl = `redis+sentinel://${SENTINELS}/${MASTER_NAME}`;
  // Slow collection (80 ms per KMS call) keeps collect jobs in flight long enough to fail over under them.
  proxy = await startDelayProxy(AWS_ENDPOINT, 80);
  setup = await prepareEstate({ sourceOverrides: { endpoints: { kms: proxy.endpoint } } });
  client = QueueClient.connect(redisUrl, prefix);
  await waitFor("the master through the sentinels", async () =>
    (await client?.redis.ping()) === "PONG" ? true : undefined,
  );
}, 120_000);

afterAll(async () => {
  if (worker !== undefined) {
    signalWorker(worker, "SIGKILL");
    await worker.exited;
  }
  if (client !== undefined) {
    // Every key of this test, on whichever node is master now.
    const redis = client.redis;
    if (redis instanceof Redis) {
      let cursor = "0";
      do {
        const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
        cursor = next;
        if (keys.length > 0) await redis.del(...keys);
      } while (cursor !== "0");
    }
    await client.close();
  }
  await proxy?.close();
  await removeDirectory(setup?.directory);
}, 60_000);

describe("a queued run on Redis Sentinel", () => {
  it("completes when the master fails over in the middle of it", async () => {
    if (setup === undefined || client === undefined) throw new Error(MISSING);
    worker = spawnWorker("all", {
      REDIS_URL: redisUrl,
      KEYPROOF_QUEUE_PREFIX: prefix,
      // A job whose lock was written to the old master just before the switch is taken again soon.
      KEYPROOF_WORKER_LOCK_MS: "5000",
      AWS_ACCESS_KEY_ID: "test",
      AWS_SECRET_ACCESS_KEY: "test",
    });
    await waitForWorkerReady(worker, 60_000);
    const started = await startEstateRun(client, setup, path.join(setup.directory, "data"));
    await waitForActiveCollectJob(client, started.collectIds);

    const sentinel = firstSentinel();
    let before: string;
    let after: string;
    try {
      before = await currentMaster(sentinel);
      expect(await sentinel.call("SENTINEL", "FAILOVER", MASTER_NAME ?? "")).toBe("OK");
      after = await waitFor(
        "the sentinels to name a new master",
        async () => {
          const now = await currentMaster(sentinel);
          return now === before ? undefined : now;
        },
        60_000,
        200,
      );
    } finally {
      sentinel.disconnect();
    }
    expect(after).not.toBe(before);
    // The failover happened under the run, not after it (read through the follower, now on the new master).
    const during = await client.runs.get(started.runId);
    expect(during?.status).not.toMatch(/^(completed|failed)/);

    const finished = await followRun(client, started.runId, { pollIntervalMs: 250, timeoutMs: 150_000 });
    expect(finished.status, `${finished.error ?? ""}\n${worker.output().slice(-3000)}`).toBe("completed");
    expect(finished.summary?.sources[0]?.keys).toBe(14);
    const verified = await verifyBundle(`${path.join(setup.directory, "data", started.runId)}.tar.gz`, {
      expectedPublicKey: (await createLocalEd25519Signer(path.join(setup.directory, "signing.pem")))
        .publicKeyPem,
    });
    expect(verified.ok, JSON.stringify(verified.files)).toBe(true);
    // The worker rode through the failover (it did not exit), and the follower's connection is on the new
    // master: it can write.
    expect(worker.child.exitCode).toBeNull();
    const role = (await client.redis.call("ROLE")) as unknown[];
    expect(role[0]).toBe("master");
    // Worker start on a loaded 2-core machine, a run slowed to keep jobs in flight, a failover (about 2 s
    // of election plus the reconnects): 300 s leaves room for twice the usual load.
  }, 300_000);
});
