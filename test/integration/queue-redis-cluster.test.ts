/**
 * A queued run on a three-node Redis Cluster (`scripts/services.sh start redis-cluster`): the worker process
 * and the follower reach it only through `redis+cluster://…`, the configured prefix is hash-tagged on the
 * way (BullMQ's scripts and keyproof's own multi-key scripts need one slot), and the run completes with a
 * bundle that verifies. An untagged prefix on a Cluster is refused before any script could fail CROSSSLOT.
 */
import path from "node:path";
import { Cluster } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyBundle } from "../../src/evidence/verify-bundle.ts";
import { createLocalEd25519Signer } from "../../src/signing/local-ed25519.signer.ts";
import {
  API_ACCESS_LOG_FILE,
  appendAccessEntry,
  claimAccessEntries,
} from "../../src/jobs/queue/access-log.ts";
import { QueueClient } from "../../src/jobs/queue/queue-client.ts";
import { createRedisConnection } from "../../src/jobs/queue/redis-connection.ts";
import { followRun } from "../../src/jobs/run-queued.ts";
import {
  prepareEstate,
  readJson,
  removeDirectory,
  signalWorker,
  spawnWorker,
  startEstateRun,
  uniquePrefix,
  waitFor,
  waitForWorkerReady,
  type TestEstate,
  type WorkerProcess,
} from "./queue-harness.ts";

const NODES = process.env.KEYPROOF_TEST_REDIS_CLUSTER_NODES;
// Missing is not pass: without the cluster this file fails and says how to start it.
const MISSING =
  "KEYPROOF_TEST_REDIS_CLUSTER_NODES is not set: run `bash scripts/services.sh start redis-cluster` and load .keyproof/services.env";

const prefix = uniquePrefix("cluster");
let redisUrl: string;
let setup: TestEstate | undefined;
let client: QueueClient | undefined;
let worker: WorkerProcess | undefined;

beforeAll(async () => {
  if (NODES === undefined) throw new Error(MISSING);
  // One seed node is enough: the client learns the others from CLUSTER SLOTS.
  redisUrl = `redis+cluster://${NODES.split(",")[0] ?? ""}`;
  setup = await prepareEstate();
  client = QueueClient.connect(redisUrl, prefix);
  await waitFor("the cluster", async () => ((await client?.redis.ping()) === "PONG" ? true : undefined));
}, 120_000);

afterAll(async () => {
  if (worker !== undefined) {
    signalWorker(worker, "SIGKILL");
    await worker.exited;
  }
  if (client !== undefined) {
    // SCAN runs per node on a cluster: every master, every key under the (tagged) prefix.
    const redis = client.redis;
    if (redis instanceof Cluster) {
      for (const node of redis.nodes("master")) {
        let cursor = "0";
        do {
          const [next, keys] = await node.scan(cursor, "MATCH", `${client.prefix}:*`, "COUNT", 1000);
          cursor = next;
          if (keys.length > 0) await node.del(...keys);
        } while (cursor !== "0");
      }
    }
    await client.close();
  }
  await removeDirectory(setup?.directory);
}, 60_000);

describe("a queued run on Redis Cluster", () => {
  it("hash-tags the prefix and refuses an untagged one", () => {
    if (client === undefined) throw new Error(MISSING);
    expect(client.redis).toBeInstanceOf(Cluster);
    expect(client.prefix).toBe(`{${prefix}}`);
    const redis = createRedisConnection(redisUrl, "client");
    try {
      expect(() => new QueueClient({ redis, prefix })).toThrow(/must be hash-tagged on a Redis Cluster/);
    } finally {
      redis.disconnect();
    }
  });

  it("needs the tag: a two-key script of keyproof's own fails CROSSSLOT without it and runs with it", async () => {
    if (client === undefined) throw new Error(MISSING);
    // The access-log claim moves entries from the pending list to the run's list in one script.
    await expect(claimAccessEntries(client.redis, `${prefix}-untagged`, "r1")).rejects.toThrow(/CROSSSLOT/);
    await expect(claimAccessEntries(client.redis, client.prefix, "r0")).resolves.toEqual([]);
  });

  it("completes, with every key of the deployment in the prefix's slot", async () => {
    if (setup === undefined || client === undefined) throw new Error(MISSING);
    // A pending API access makes the seal step claim it: the access-log script moves it between two keys.
    await appendAccessEntry(client.redis, client.prefix, {
      at: "2026-11-28T11:00:00.000Z",
      actor: "jane",
      role: "auditor",
      method: "GET",
      path: "/v1/runs",
      status: 200,
    });
    worker = spawnWorker("all", {
      REDIS_URL: redisUrl,
      // Untagged on purpose: the worker tags it the same way the client did.
      KEYPROOF_QUEUE_PREFIX: prefix,
      AWS_ACCESS_KEY_ID: "test",
      AWS_SECRET_ACCESS_KEY: "test",
    });
    await waitForWorkerReady(worker, 60_000);
    expect(worker.output()).toContain(`"prefix":"{${prefix}}"`);

    const started = await startEstateRun(client, setup, path.join(setup.directory, "data"));
    const finished = await followRun(client, started.runId, { pollIntervalMs: 250, timeoutMs: 150_000 });
    expect(finished.status, `${finished.error ?? ""}\n${worker.output().slice(-3000)}`).toBe("completed");
    expect(finished.summary?.sources[0]?.keys).toBe(14);
    const bundle = path.join(setup.directory, "data", started.runId);
    const verified = await verifyBundle(`${bundle}.tar.gz`, {
      expectedPublicKey: (await createLocalEd25519Signer(path.join(setup.directory, "signing.pem")))
        .publicKeyPem,
    });
    expect(verified.ok, JSON.stringify(verified.files)).toBe(true);
    const accessLog = await readJson<{ entries: Array<{ actor: string }> }>(
      path.join(bundle, API_ACCESS_LOG_FILE),
    );
    expect(accessLog.entries.map((entry) => entry.actor)).toEqual(["jane"]);

    // Every key the run left (BullMQ's and keyproof's) sits in one slot, on one node.
    const redis = client.redis;
    if (!(redis instanceof Cluster)) throw new Error("not a cluster connection");
    const keys: string[] = [];
    for (const node of redis.nodes("master")) {
      let cursor = "0";
      do {
        const [next, found] = await node.scan(cursor, "MATCH", `${client.prefix}:*`, "COUNT", 1000);
        cursor = next;
        keys.push(...found);
      } while (cursor !== "0");
    }
    expect(keys.length).toBeGreaterThan(10);
    expect(keys.some((key) => key.startsWith(`${client?.prefix ?? ""}:kp:run:`))).toBe(true);
    const slots = new Set(
      await Promise.all(
        keys.slice(0, 50).map(async (key) => Number(await redis.call("CLUSTER", "KEYSLOT", key))),
      ),
    );
    expect(slots.size).toBe(1);
    // Worker start on a loaded 2-core machine and a whole run (about 20 s usually).
  }, 300_000);
});
