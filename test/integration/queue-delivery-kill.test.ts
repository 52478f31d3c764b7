/**
 * Queued delivery with a worker SIGKILLed mid-delivery: a run with a webhook target completes, its
 * `deliver-target` job POSTs to a receiver that hangs the first request, the worker is killed during it, and
 * a new worker takes the stalled job over. The webhook cannot be asked whether the cut-off POST arrived, so
 * the new worker does not send it again: the target is recorded as possibly delivered (failed), the run
 * itself stays completed, and `keyproof deliver --resend '(finish)'` sends it on purpose. The receiver
 * counts every POST; the secret appears in no record.
 */
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.ts";
import { deliveryLedgerKey } from "../../src/delivery/delivery-ledger.ts";
import { deliveryRecordPath } from "../../src/delivery/delivery-record.ts";
import { deliverTargetJobId } from "../../src/jobs/queue/job-ids.ts";
import { QueueClient } from "../../src/jobs/queue/queue-client.ts";
import {
  REDIS_URL,
  cleanupPrefix,
  prepareEstate,
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
import { startTestReceiver, type TestReceiver } from "../support/webhook-receiver.ts";

const prefix = uniquePrefix("helper-delivery-kill");
const SECRET = `whsec-${randomBytes(16).toString("hex")}`;
const SECRET_ENV = "KEYPROOF_TEST_KILL_WEBHOOK_SECRET";
let setup: TestEstate;
let client: QueueClient;
let receiver: TestReceiver;
const workers: WorkerProcess[] = [];

const workerEnv = {
  REDIS_URL,
  KEYPROOF_QUEUE_PREFIX: prefix,
  // Short locks so the stalled delivery is handed over within seconds.
  KEYPROOF_WORKER_LOCK_MS: "2000",
  AWS_ACCESS_KEY_ID: "test",
  AWS_SECRET_ACCESS_KEY: "test",
  [SECRET_ENV]: SECRET,
};

beforeAll(async () => {
  receiver = await startTestReceiver({ secret: SECRET });
  receiver.script("/hook", { hang: true });
  setup = await prepareEstate({
    configExtra: {
      deliver: [{ name: "hook", type: "webhook", url: `${receiver.url}/hook`, secretEnv: SECRET_ENV }],
    },
  });
  client = QueueClient.connect(REDIS_URL, prefix);
}, 120_000);

afterAll(async () => {
  for (const worker of workers) {
    signalWorker(worker, "SIGKILL");
    await worker.exited;
  }
  await client?.close();
  await receiver?.close();
  await cleanupPrefix(REDIS_URL, prefix);
  await removeDirectory(setup?.directory);
});

describe("a worker killed mid-delivery", () => {
  it("is not followed by a second POST; the run stays completed; --resend sends it on purpose", async () => {
    const first = spawnWorker("all", workerEnv);
    workers.push(first);
    await waitForWorkerReady(first, 60_000);
    const { runId } = await startEstateRun(client, setup, path.join(setup.directory, "out"));

    // The delivery's POST is in flight (the receiver holds it): kill the worker now.
    await waitFor(
      "the webhook POST in flight",
      async () => (receiver.countFor("/hook") > 0 ? true : undefined),
      120_000,
    );
    signalWorker(first, "SIGKILL");
    expect(await first.exited).toBe("SIGKILL");

    const second = spawnWorker("all", workerEnv);
    workers.push(second);
    await waitForWorkerReady(second, 60_000);
    const jobId = deliverTargetJobId(runId, "hook");
    await waitFor(
      "the delivery job handed over and finished",
      async () => {
        const state = await client.queue("deliver").getJobState(jobId);
        return state === "failed" || state === "completed" ? state : undefined;
      },
      90_000,
    );
    // Exactly one POST reached the receiver: the new worker did not send blindly.
    expect(receiver.countFor("/hook")).toBe(1);
    const record = await client.runs.get(runId);
    expect(record?.status).toBe("completed");
    expect(record?.delivery?.["hook"]).toMatchObject({ state: "failed" });
    expect(record?.delivery?.["hook"]?.outcomes[0]?.reason).toContain("may have been delivered");
    const bundleDirectory = record?.bundle?.directory ?? "";
    const onDisk = await readFile(deliveryRecordPath(bundleDirectory), "utf8");
    expect(JSON.parse(onDisk)).toMatchObject({ runId, targets: { hook: { state: "failed" } } });

    // The operator checked the receiver and asks for it explicitly.
    let stdout = "";
    process.env[SECRET_ENV] = SECRET;
    const code = await main(
      [
        "node",
        "keyproof",
        "deliver",
        "--run",
        runId,
        "--resend",
        "(finish)",
        "--redis-url",
        REDIS_URL,
        "--prefix",
        prefix,
      ],
      { stdout: (text) => (stdout += text), stderr: () => undefined, isTty: false },
    );
    delete process.env[SECRET_ENV];
    expect(code).toBe(0);
    expect(stdout).toContain("hook (webhook): DELIVERED");
    expect(receiver.countFor("/hook")).toBe(2);
    expect((await client.runs.get(runId))?.delivery?.["hook"]?.state).toBe("delivered");

    const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 3 });
    const ledgerText = JSON.stringify(await redis.hgetall(deliveryLedgerKey(prefix, runId, "hook")));
    const runText = JSON.stringify(await redis.hgetall(`${prefix}:kp:run:${runId}`));
    await redis.quit();
    for (const text of [ledgerText, runText, onDisk, stdout, second.output(), first.output()])
      expect(text).not.toContain(SECRET);
  }, 300_000);
});
