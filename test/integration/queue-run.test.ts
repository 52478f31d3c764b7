/**
 * The queued pipeline against real Redis and a real (small) AWS estate in moto: a run through BullMQ
 * produces the same evidence as the inline run, identical requests share one run, and the flow's jobs
 * are deterministic.
 */
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyBundle } from "../../src/evidence/verify-bundle.ts";
import { createLocalEd25519Signer } from "../../src/signing/local-ed25519.signer.ts";
import { API_ACCESS_LOG_FILE, appendAccessEntry } from "../../src/jobs/queue/access-log.ts";
import { jobIdFor, locationJobId } from "../../src/jobs/queue/job-ids.ts";
import { QueueClient } from "../../src/jobs/queue/queue-client.ts";
import { readRunProgress } from "../../src/jobs/queue/run-progress.ts";
import { startWorkerRuntime, type WorkerRuntime } from "../../src/jobs/queue/worker-runtime.ts";
import { runInline } from "../../src/jobs/run-inline.ts";
import { followRun, runQueued } from "../../src/jobs/run-queued.ts";
import { parsePeriod } from "../../src/time/date-range.ts";
import { readBundleOscal } from "../support/oscal-bundle.ts";
import {
  CAPTURED_AT,
  REDIS_URL,
  TEST_RANGE,
  cleanupPrefix,
  dataFileDigests,
  fixedClock,
  prepareEstate,
  readJson,
  renderedFiles,
  removeDirectory,
  uniquePrefix,
  type TestEstate,
} from "./queue-harness.ts";

const prefix = uniquePrefix("run");
let setup: TestEstate;
let client: QueueClient;
let runtime: WorkerRuntime;

beforeAll(async () => {
  setup = await prepareEstate();
  client = QueueClient.connect(REDIS_URL, prefix);
  runtime = await startWorkerRuntime({
    redisUrl: REDIS_URL,
    prefix,
    queues: ["collect", "render", "seal", "deliver", "schedule"],
    providerOptions: { clock: fixedClock },
  });
});

afterAll(async () => {
  await runtime?.close();
  await client?.close();
  await cleanupPrefix(REDIS_URL, prefix);
  await removeDirectory(setup?.directory);
});

describe("a run through the queue", () => {
  it("produces the same data files (digest for digest) as the inline run, and a bundle that verifies", async () => {
    const runId = "kp-queue-equivalence";
    const inline = await runInline({
      loaded: setup.loaded,
      range: TEST_RANGE,
      outDirectory: path.join(setup.directory, "inline"),
      runId,
      capturedAt: CAPTURED_AT,
      providerOptions: { clock: fixedClock },
    });
    await appendAccessEntry(client.redis, prefix, {
      at: "2026-11-28T11:00:00.000Z",
      actor: "jane",
      role: "auditor",
      method: "GET",
      path: "/v1/runs",
      status: 200,
    });

    const progressSeen: string[] = [];
    const queued = await runQueued({
      client,
      loaded: setup.loaded,
      range: TEST_RANGE,
      outDirectory: path.join(setup.directory, "queued"),
      runId,
      capturedAt: CAPTURED_AT,
      pollIntervalMs: 100,
      onProgress: (progress, record) =>
        progressSeen.push(
          `${record.status} ${progress.map((step) => `${step.step}:${step.completed}/${step.total}`).join(" ")}`,
        ),
    });

    expect(queued.joined).toBe(false);
    expect(queued.record.status).toBe("completed");
    const inlineDigests = await dataFileDigests(inline.bundle.directory);
    const queuedDigests = await dataFileDigests(queued.bundle.directory);
    // The estate has keys in both regions: the comparison covers real exports, not an empty bundle.
    expect(
      [...inlineDigests.keys()].filter((file) => file.endsWith("/configuration.json")).length,
    ).toBeGreaterThanOrEqual(10);
    expect([...inlineDigests.keys()].some((file) => file.endsWith("usage-events.ndjson"))).toBe(true);
    expect(queuedDigests).toEqual(inlineDigests);
    // Both rendered the same screenshots and reports (the render worker ran the inline run's render step).
    const rendered = await renderedFiles(inline.bundle.directory);
    expect(rendered.some((file) => file.endsWith(".png"))).toBe(true);
    expect(rendered.some((file) => file.endsWith(".pdf"))).toBe(true);
    expect(await renderedFiles(queued.bundle.directory)).toEqual(rendered);
    expect(queued.summary).toEqual(inline.summary);

    const verified = await verifyBundle(queued.bundle.archive, {
      expectedPublicKey: (await createLocalEd25519Signer(path.join(setup.directory, "signing.pem")))
        .publicKeyPem,
    });
    expect(verified.ok).toBe(true);
    expect(verified.files.extra).toEqual([]);

    // The OSCAL assessment results are written by the seal handler after rendering and the access log:
    // valid, and listing every other file with the manifest's digest, the PDFs and the log included.
    const oscal = await readBundleOscal(queued.bundle.directory);
    expect(oscal.problems).toEqual([]);
    expect(oscal.listed).toEqual(oscal.expected);
    expect([...oscal.listed.keys()]).toEqual(
      expect.arrayContaining([API_ACCESS_LOG_FILE, ...rendered.filter((file) => file.endsWith(".pdf"))]),
    );

    // The pending API access went into this bundle, once.
    const accessLog = await readJson<{ entries: Array<{ actor: string }> }>(
      path.join(queued.bundle.directory, API_ACCESS_LOG_FILE),
    );
    expect(accessLog.entries.map((entry) => entry.actor)).toEqual(["jane"]);

    // Progress ended with every step complete.
    expect(progressSeen.at(-1)).toBe(
      "completed collect:2/2 usage:2/2 judge:1/1 render:1/1 seal:1/1 deliver:1/1",
    );
    // Two full runs (inline, then queued) with rendering: 27 s in a usual CI run on 2 cores, so the
    // default 60 s left no room for twice that load (issue 16).
  }, 120_000);

  it("gives every job a deterministic id from (run, step, target)", async () => {
    const queue = client.queue("collect");
    const job = await queue.getJob(
      locationJobId("kp-queue-equivalence", "collect-location", "aws-demo", "eu-west-1"),
    );
    expect(job?.id).toBe("kp-queue-equivalence/collect-location/aws-demo/eu-west-1");
    expect(await job?.getState()).toBe("completed");
    const seal = await client.queue("seal").getJob(jobIdFor("kp-queue-equivalence", "seal-bundle"));
    expect(seal?.returnvalue).toMatchObject({ manifestSha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
  });

  it("turns two identical requests arriving together into one run", async () => {
    const request = {
      config: setup.loaded.config,
      configDirectory: setup.loaded.directory,
      outDirectory: path.join(setup.directory, "dedup"),
      range: parsePeriod("2026-07"),
      render: false,
      request: { origin: "api" as const, requester: "auditor@example.com", reason: "sample" },
    };
    const [first, second] = await Promise.all([
      client.startRun(request),
      client.startRun({ ...request, range: { ...parsePeriod("2026-07") } }),
    ]);
    expect(second.runId).toBe(first.runId);
    expect([first.existing, second.existing].sort()).toEqual([false, true]);

    // A third identical request while it runs joins it too; after it completes, a new request starts afresh.
    const third = await client.startRun(request);
    expect(third).toEqual({ runId: first.runId, existing: true });
    const finished = await followRun(client, first.runId, { pollIntervalMs: 100 });
    expect(finished.status).toBe("completed");
    const progress = await readRunProgress(client, finished.plan);
    expect(progress.map((step) => [step.step, step.total, step.completed])).toEqual([
      ["collect", 2, 2],
      ["usage", 2, 2],
      ["judge", 1, 1],
      ["render", 0, 0],
      ["seal", 1, 1],
      ["deliver", 1, 1],
    ]);
    const collectJobs = await client
      .queue("collect")
      .getJobs(["completed", "failed", "waiting", "active", "delayed"]);
    expect(collectJobs.filter((job) => job.data.runId === first.runId)).toHaveLength(4);

    const fourth = await client.startRun(request);
    expect(fourth.existing).toBe(false);
    expect(fourth.runId).not.toBe(first.runId);
    expect((await followRun(client, fourth.runId, { pollIntervalMs: 100 })).status).toBe("completed");
  });
});
