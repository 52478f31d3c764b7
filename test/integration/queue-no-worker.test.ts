/**
 * Issue #10 §4: a queued `keyproof run` with no worker taking its jobs says so within seconds instead of
 * waiting silently. Real Redis, a fresh queue prefix, no worker at all; then a worker on another queue only,
 * which must not count for `collect`. And through the CLI, which prints the message on stderr; once a worker
 * takes the jobs the run seals with a gap, exits 3 and its record's state is `completed-with-gaps`.
 */
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Worker } from "bullmq";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { loadConfig, type LoadedConfig } from "../../src/config/load-config.ts";
import { QueueClient } from "../../src/jobs/queue/queue-client.ts";
import { createRedisConnection } from "../../src/jobs/queue/redis-connection.ts";
import { noWorkerMessage, runQueued } from "../../src/jobs/run-queued.ts";
import { main, type CliIo } from "../../src/cli/main.ts";
import { generateSigningKey } from "../../src/signing/keygen.ts";
import { parsePeriod } from "../../src/time/date-range.ts";
import { testRedisUrl } from "../support/test-env.ts";
import { cleanupPrefix, removeDirectory, uniquePrefix } from "./queue-harness.ts";

const redisUrl = testRedisUrl();
let directory: string;
let loaded: LoadedConfig;
const prefixes: string[] = [];

beforeAll(async () => {
  directory = await mkdtemp(path.join(tmpdir(), "keyproof-no-worker-"));
  const file = path.join(directory, "keyproof.yaml");
  await writeFile(
    file,
    stringify({
      organization: "No worker",
      sources: [{ id: "vault-nw", type: "hashicorp-vault", address: "http://127.0.0.1:9" }],
      signing: { localKeyFile: "./signing.pem" },
    }),
  );
  loaded = await loadConfig(file);
  await generateSigningKey(path.join(directory, "signing.pem"));
});

afterAll(async () => {
  for (const prefix of prefixes) await cleanupPrefix(redisUrl, prefix);
  await removeDirectory(directory);
});

function freshPrefix(label: string): string {
  const prefix = uniquePrefix(label);
  prefixes.push(prefix);
  return prefix;
}

describe("no worker consuming the queue", () => {
  it("is reported for queue collect within seconds; a worker on another queue does not count", async () => {
    const prefix = freshPrefix("noworker");
    const client = QueueClient.connect(redisUrl, prefix);
    // A worker of the render queue only: present, but not a consumer of collect.
    const connection = createRedisConnection(redisUrl, "worker");
    const renderWorker = new Worker("render", async () => undefined, { connection, prefix });
    const reports: Array<{ queue: string; message: string; at: number }> = [];
    const started = Date.now();
    try {
      await expect(
        runQueued({
          client,
          loaded,
          range: parsePeriod("2026-07"),
          outDirectory: path.join(directory, "out"),
          render: false,
          noWorkerAfterMs: 1500,
          pollIntervalMs: 200,
          timeoutMs: 10_000,
          onNoWorker: (queue, message) => reports.push({ queue, message, at: Date.now() - started }),
        }),
      ).rejects.toThrow(/did not finish within/);
    } finally {
      await renderWorker.close();
      await connection.quit().catch(() => undefined);
      await client.close();
    }
    expect(reports.map((report) => report.queue)).toEqual(["collect"]);
    expect(reports[0]?.message).toBe(noWorkerMessage("collect"));
    expect(reports[0]?.message).toContain("no worker is consuming queue collect: start `keyproof worker`");
    expect(reports[0]?.at).toBeLessThan(8000);
  }, 60_000);

  it("the CLI prints it on stderr while it follows the run", async () => {
    const prefix = freshPrefix("noworkercli");
    let stderr = "";
    const io: CliIo = { stdout: () => undefined, stderr: (text) => (stderr += text), isTty: false };
    const run = main(
      [
        "node",
        "keyproof",
        "run",
        "--config",
        loaded.file,
        "--period",
        "2026-07",
        "--out",
        path.join(directory, "cli-out"),
        "--no-render",
        "--redis-url",
        redisUrl,
        "--prefix",
        prefix,
      ],
      io,
    );
    const deadline = Date.now() + 20_000;
    while (!stderr.includes("no worker is consuming queue collect") && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(stderr).toContain("keyproof: no worker is consuming queue collect: start `keyproof worker`");
    // Let the run finish so the CLI returns: a worker now takes the jobs.
    const { startWorkerRuntime } = await import("../../src/jobs/queue/worker-runtime.ts");
    const workers = await startWorkerRuntime({ redisUrl, prefix, queues: ["collect", "seal", "deliver"] });
    try {
      // The source is unreachable: sealed with a gap, exit 3.
      expect(await run).toBe(3);
    } finally {
      await workers.close();
    }
    // The queued twin of exit 3: the run record's state (GET /v1/runs/{id} shows it).
    const client = QueueClient.connect(redisUrl, prefix);
    try {
      const { runs } = await client.runs.list(0, 1);
      expect(runs[0]).toMatchObject({ status: "completed", state: "completed-with-gaps" });
    } finally {
      await client.close();
    }
  }, 120_000);
});
