/**
 * Storage through the queue: with `storage:` configured, the seal job links the manifest to the previous
 * stored bundle of the chain and the deliver job stores the sealed archive, as the inline run does.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jobIdFor } from "../../src/jobs/queue/job-ids.ts";
import { QueueClient } from "../../src/jobs/queue/queue-client.ts";
import { startWorkerRuntime, type WorkerRuntime } from "../../src/jobs/queue/worker-runtime.ts";
import { runQueued } from "../../src/jobs/run-queued.ts";
import { parseRange } from "../../src/time/date-range.ts";
import {
  REDIS_URL,
  cleanupPrefix,
  prepareEstate,
  readJson,
  removeDirectory,
  uniquePrefix,
  type TestEstate,
} from "./queue-harness.ts";

const prefix = uniquePrefix("store");
let setup: TestEstate;
let client: QueueClient;
let runtime: WorkerRuntime;

beforeAll(async () => {
  setup = await prepareEstate({ configExtra: { storage: { local: "./vault" } } });
  client = QueueClient.connect(REDIS_URL, prefix);
  runtime = await startWorkerRuntime({ redisUrl: REDIS_URL, prefix, queues: ["collect", "seal", "deliver"] });
});

afterAll(async () => {
  await runtime?.close();
  await client?.close();
  await cleanupPrefix(REDIS_URL, prefix);
  await removeDirectory(setup?.directory);
});

describe("storage through the queue", () => {
  it("stores each sealed bundle and chains the second to the first", async () => {
    const outDirectory = path.join(setup.directory, "data");
    const first = await runQueued({
      client,
      loaded: setup.loaded,
      range: parseRange("2026-07-01", "2026-07-02"),
      outDirectory,
      render: false,
      pollIntervalMs: 200,
    });
    const second = await runQueued({
      client,
      loaded: setup.loaded,
      range: parseRange("2026-07-03", "2026-07-04"),
      outDirectory,
      render: false,
      pollIntervalMs: 200,
    });

    const deliver = await client.queue("deliver").getJob(jobIdFor(first.runId, "deliver-run"));
    expect(deliver?.returnvalue).toMatchObject({
      status: "completed",
      storage: { stores: [expect.objectContaining({ kind: "local", stored: true })] },
    });
    const record = await readJson<{
      manifestSha256: string;
      stores: Array<{ stored: boolean; location: string }>;
    }>(`${first.bundle.directory}.storage.json`);
    expect(record.manifestSha256).toBe(first.bundle.manifestSha256);
    const copy = await readFile(record.stores[0]?.location ?? "");
    expect(copy.equals(await readFile(first.bundle.archive))).toBe(true);

    expect(first.storage).toMatchObject({
      manifestSha256: first.bundle.manifestSha256,
      stores: [{ stored: true }],
    });
    const manifest = await readJson<{
      previousBundle?: { manifestSha256: string };
      files: Array<{ path: string }>;
    }>(path.join(second.bundle.directory, "manifest.json"));
    expect(manifest.previousBundle?.manifestSha256).toBe(first.bundle.manifestSha256);

    // The judge job writes changes-since-previous.json, as the inline run does (compared with the stored one).
    const firstChanges = await readJson<{ previous: null; reason: string }>(
      path.join(first.bundle.directory, "changes-since-previous.json"),
    );
    expect(firstChanges).toMatchObject({ previous: null, reason: "first bundle of its chain" });
    const secondChanges = await readJson<{
      previous: { runId: string; manifestSha256: string };
      unchanged: boolean;
    }>(path.join(second.bundle.directory, "changes-since-previous.json"));
    expect(secondChanges.previous).toEqual(
      expect.objectContaining({ runId: first.runId, manifestSha256: first.bundle.manifestSha256 }),
    );
    expect(manifest.files.map((file) => file.path)).toContain("changes-since-previous.json");
  });
});
