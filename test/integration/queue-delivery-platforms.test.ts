/**
 * Queued delivery to the GRC platform FAKES end to end (issue 14): real worker processes (queue-harness),
 * real Redis under a unique prefix, the demo estate in moto, bundles stored in a moto S3 bucket with Object
 * Lock, and the local Vanta, Drata and Secureframe fakes (test/fakes) answering the documented wire format.
 * Shown through the real pipeline, not a target in isolation:
 * - every selected artifact reaches each platform exactly once with the right fields, Vanta is submitted once,
 *   and the run record and delivery.json in S3 list every outcome, while a Vanta token is revoked between two
 *   uploads (one refresh), Drata answers 429 with Retry-After (retried no sooner) and Secureframe 503 twice;
 * - a permanent failure (Drata 404) is recorded without failing the run or the other targets, the queued
 *   `keyproof run` waits for the deliveries, prints them and exits 3, and `keyproof deliver` then sends only
 *   what is missing;
 * - a worker SIGKILLed while Drata holds the answer to an upload it already stored: the next worker finds
 *   the upload (`findSent`) instead of sending it again.
 */
import { randomBytes } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { CreateBucketCommand, GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { parse, stringify } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.ts";
import { runExitCode } from "../../src/cli/commands/run.command.ts";
import type { DeliveryTargetConfig, VantaTargetConfig } from "../../src/config/deliver.schema.ts";
import { openSealedRun, selectArtifacts, type SealedRun } from "../../src/delivery/deliver-run.ts";
import { deliveryRecordPath, type DeliveryRecord } from "../../src/delivery/delivery-record.ts";
import { deliverTargetJobId } from "../../src/jobs/queue/job-ids.ts";
import { QueueClient } from "../../src/jobs/queue/queue-client.ts";
import type { RunRecord } from "../../src/jobs/queue/run-store.ts";
import { waitForDeliveries } from "../../src/jobs/run-queued.ts";
import type { StorageRecord } from "../../src/storage/store-sealed-bundle.ts";
import { RunWorkspace, remoteWorkOf } from "../../src/jobs/queue/run-workspace.ts";
import { startDrataFake, type DrataFake } from "../fakes/drata.fake.ts";
import { startSecureframeFake, type SecureframeFake } from "../fakes/secureframe.fake.ts";
import { startVantaFake, type VantaFake } from "../fakes/vanta.fake.ts";
import {
  AWS_ENDPOINT,
  REDIS_URL,
  TEST_RANGE,
  cleanupPrefix,
  prepareEstate,
  readJson,
  removeDirectory,
  signalWorker,
  spawnWorker,
  uniquePrefix,
  waitFor,
  waitForWorkerReady,
  type TestEstate,
  type WorkerProcess,
} from "./queue-harness.ts";

const prefix = uniquePrefix("helper-delivery2-platforms");
const REGION = "eu-west-1";
const bucket = `kp-helper-delivery2-${randomBytes(4).toString("hex")}`;
const DOCUMENT = "encryption-key-management";
const WORKSPACE = 1;
const TEST_ID = "helper-delivery2-cc6-test";
/** The last day of TEST_RANGE: effectiveAtDate / filedAt / activity_completion. */
const PERIOD_END = "2026-07-06";

const credentials = {
  vantaId: `helper-delivery2-client-${randomBytes(3).toString("hex")}`,
  vantaSecret: randomBytes(16).toString("hex"),
  drataKey: `drata-${randomBytes(16).toString("hex")}`,
  secureframeKey: `sfk-${randomBytes(8).toString("hex")}`,
  secureframeSecret: `sfs-${randomBytes(16).toString("hex")}`,
};
const ENV = {
  KP_D2_VANTA_ID: credentials.vantaId,
  KP_D2_VANTA_SECRET: credentials.vantaSecret,
  KP_D2_DRATA_KEY: credentials.drataKey,
  KP_D2_SF_KEY: credentials.secureframeKey,
  KP_D2_SF_SECRET: credentials.secureframeSecret,
};

let vanta: VantaFake;
let drata: DrataFake;
let secureframe: SecureframeFake;
let setup: TestEstate;
let client: QueueClient;
let s3: S3Client;
const workers: WorkerProcess[] = [];
const releases: Array<() => void> = [];

const workerEnv = {
  REDIS_URL,
  KEYPROOF_QUEUE_PREFIX: prefix,
  // Short locks so a stalled delivery is handed to the next worker within seconds.
  KEYPROOF_WORKER_LOCK_MS: "2000",
  AWS_ACCESS_KEY_ID: "test",
  AWS_SECRET_ACCESS_KEY: "test",
  ...ENV,
};

function vantaTarget(): VantaTargetConfig {
  return {
    name: "vanta",
    type: "vanta",
    documentId: DOCUMENT,
    artifacts: ["findings.json", "oscal/*.json"],
    submit: true,
    clientIdEnv: "KP_D2_VANTA_ID",
    clientSecretEnv: "KP_D2_VANTA_SECRET",
    baseUrl: vanta.url,
  };
}

function drataTarget(): DeliveryTargetConfig {
  return {
    name: "drata",
    type: "drata",
    workspaceId: WORKSPACE,
    controlIds: [42, 43],
    ownerId: 7,
    artifacts: ["findings.json", "summary.json"],
    apiKeyEnv: "KP_D2_DRATA_KEY",
    baseUrl: drata.url,
  };
}

function secureframeTarget(): DeliveryTargetConfig {
  return {
    name: "sf",
    type: "secureframe",
    testId: TEST_ID,
    artifacts: ["oscal/assessment-results.json"],
    apiKeyEnv: "KP_D2_SF_KEY",
    apiSecretEnv: "KP_D2_SF_SECRET",
    baseUrl: secureframe.url,
  };
}

/** Starts a queued, unrendered run of the estate with these targets, as `keyproof run` enqueues it. */
/**
 * The run keeps its files in S3 (storage.s3: the S3 work store), so the sealed bundle and the delivery.json
 * beside it are read from a copy downloaded once the run's delivery jobs have ended.
 */
async function sealedCopy(runId: string): Promise<string> {
  await waitFor(
    "the run's delivery jobs ended",
    async () => {
      const jobs = await client.queue("deliver").getJobs(["active", "waiting", "delayed", "prioritized"]);
      return jobs.some((job) => job.data.runId === runId) ? undefined : true;
    },
    180_000,
    250,
  );
  const record = await client.runs.get(runId);
  const target = record === undefined ? undefined : remoteWorkOf(record.plan);
  if (record === undefined || target === undefined) throw new Error(`run ${runId} is not kept in S3`);
  const copy = await RunWorkspace.open({ target, runId, scratchDirectory: setup.directory });
  await copy.hydrate("all");
  return copy.bundleDirectory;
}

async function startRun(deliver: DeliveryTargetConfig[], out: string): Promise<string> {
  const started = await client.startRun({
    config: { ...setup.loaded.config, deliver },
    configDirectory: setup.loaded.directory,
    outDirectory: path.join(setup.directory, out),
    range: TEST_RANGE,
    render: false,
    request: { origin: "cli" },
  });
  return started.runId;
}

async function completedRun(
  runId: string,
): Promise<RunRecord & { bundle: NonNullable<RunRecord["bundle"]> }> {
  const record = await waitFor(
    `run ${runId} completed`,
    async () => {
      const found = await client.runs.get(runId);
      if (found?.status === "failed") throw new Error(`run failed: ${found.error ?? ""}`);
      return found?.status === "completed" ? found : undefined;
    },
    240_000,
    250,
  );
  if (record.bundle === undefined) throw new Error("completed without a bundle");
  return { ...record, bundle: record.bundle };
}

/** The latest delivery.json beside the stored archive in the Object-Locked bucket. */
async function storedDeliveryRecord(bundleDirectory: string): Promise<DeliveryRecord> {
  const storage = await readJson<StorageRecord>(`${bundleDirectory}.storage.json`);
  const key = `evidence/${storage.objectName.replace(/\.tar\.gz$/, "")}.delivery.json`;
  const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return JSON.parse(await (object.Body?.transformToString() ?? "{}")) as DeliveryRecord;
}

const uploadsOf = (runId: string) => vanta.uploads.filter((item) => item.description?.includes(runId));
const evidenceOf = (runId: string) => drata.evidence.filter((item) => item.description?.includes(runId));
const sfEvidenceOf = (runId: string) =>
  secureframe.evidence.filter((item) => item.fileName.includes(runId.replace(/[^A-Za-z0-9_-]/g, "_")));

async function mintElsewhere(): Promise<void> {
  const response = await fetch(`${vanta.url}/oauth/token`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      client_id: credentials.vantaId,
      client_secret: credentials.vantaSecret,
      scope: "vanta-api.all:write",
      grant_type: "client_credentials",
    }),
  });
  if (response.status !== 200) throw new Error(`mint elsewhere: ${response.status}`);
}

/** `keyproof run` through the queue, as a user types it, with a config whose `deliver:` is `deliver`. */
async function runCli(
  name: string,
  deliver: DeliveryTargetConfig[],
  deliveryWaitSeconds: number,
): Promise<{ code: number; stdout: string; stderr: string; runId: string }> {
  const configFile = path.join(setup.directory, `keyproof-${name}.yaml`);
  const base = parse(await readFile(setup.configFile, "utf8")) as Record<string, unknown>;
  await writeFile(configFile, stringify({ ...base, deliver }));
  let stdout = "";
  let stderr = "";
  const code = await main(
    [
      "node",
      "keyproof",
      "run",
      "-c",
      configFile,
      "--from",
      "2026-07-01",
      "--to",
      PERIOD_END,
      "--no-render",
      "-o",
      path.join(setup.directory, `out-${name}`),
      "--redis-url",
      REDIS_URL,
      "--prefix",
      prefix,
      "--delivery-wait",
      String(deliveryWaitSeconds),
    ],
    { stdout: (text) => (stdout += text), stderr: (text) => (stderr += text), isTty: false },
  );
  return { code, stdout, stderr, runId: /^Run (\S+)/m.exec(stdout)?.[1] ?? "(no run id printed)" };
}

async function startWorker(): Promise<WorkerProcess> {
  const worker = spawnWorker("all", workerEnv);
  workers.push(worker);
  await waitForWorkerReady(worker, 90_000);
  return worker;
}

beforeAll(async () => {
  [vanta, drata, secureframe] = await Promise.all([
    startVantaFake(),
    startDrataFake(),
    startSecureframeFake(),
  ]);
  vanta.addClient(credentials.vantaId, credentials.vantaSecret);
  vanta.addDocument(DOCUMENT);
  drata.addApiKey(credentials.drataKey);
  drata.addWorkspace(WORKSPACE);
  secureframe.addCredentials(credentials.secureframeKey, credentials.secureframeSecret);
  secureframe.addTest(TEST_ID);

  s3 = new S3Client({
    endpoint: AWS_ENDPOINT,
    region: REGION,
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
    forcePathStyle: true,
  });
  await s3.send(
    new CreateBucketCommand({
      Bucket: bucket,
      CreateBucketConfiguration: { LocationConstraint: REGION },
      ObjectLockEnabledForBucket: true,
    }),
  );
  setup = await prepareEstate({
    configExtra: {
      storage: {
        s3: {
          bucket,
          prefix: "evidence/",
          region: REGION,
          endpoint: AWS_ENDPOINT,
          retention: { mode: "COMPLIANCE", days: 1 },
        },
      },
    },
  });
  client = QueueClient.connect(REDIS_URL, prefix);
  await startWorker();
}, 180_000);

afterAll(async () => {
  for (const release of releases) release();
  for (const worker of workers) {
    signalWorker(worker, "SIGKILL");
    await worker.exited;
  }
  await client?.close();
  s3?.destroy();
  await Promise.all([vanta?.close(), drata?.close(), secureframe?.close()]);
  await cleanupPrefix(REDIS_URL, prefix);
  await removeDirectory(setup?.directory);
}, 60_000);

describe("queued delivery to Vanta, Drata and Secureframe", () => {
  it("uploads each selected artifact once with the period's end, through a revoked token, 429 and 503s", async () => {
    const uploadRoute = /^POST \/v1\/documents\/[^/]+\/uploads$/;
    // Another holder of the Vanta application mints a token between the first and second upload.
    vanta.server.beforeAnswer(uploadRoute, mintElsewhere);
    drata.server.failNext(
      1,
      {
        status: 429,
        headers: { "retry-after": "3" },
        body: { statusCode: 429, message: "Too Many Requests", code: 42900 },
      },
      /^POST \/public\/workspaces\/\d+\/evidence-library$/,
    );
    secureframe.server.failNext(
      2,
      {
        status: 503,
        body: { errors: [{ status: "503", title: "Service Unavailable", detail: "try later" }] },
      },
      /^POST \/tests\//,
    );
    const mintsBefore = vanta.mints(credentials.vantaId);

    const targets = [vantaTarget(), drataTarget(), secureframeTarget()];
    const runId = await startRun(targets, "out-platforms");
    await completedRun(runId);
    const deliveries = await waitForDeliveries(client, runId, { timeoutMs: 180_000, pollIntervalMs: 250 });
    expect(deliveries.map((delivery) => [delivery.target, delivery.state])).toEqual([
      ["vanta", "delivered"],
      ["drata", "delivered"],
      ["sf", "delivered"],
    ]);

    const bundleDirectory = await sealedCopy(runId);
    const sealed: SealedRun = await openSealedRun(bundleDirectory);
    const selected = (config: DeliveryTargetConfig) =>
      selectArtifacts(config, sealed.bundleDirectory, sealed.manifest.files);
    const [forVanta, forDrata, forSecureframe] = targets.map(selected) as [
      ReturnType<typeof selected>,
      ReturnType<typeof selected>,
      ReturnType<typeof selected>,
    ];
    expect(forVanta.map((artifact) => artifact.path)).toEqual(
      expect.arrayContaining(["findings.json", "oscal/assessment-results.json"]),
    );
    expect(forDrata.map((artifact) => artifact.path).sort()).toEqual(["findings.json", "summary.json"]);
    expect(forSecureframe.map((artifact) => artifact.path)).toEqual(["oscal/assessment-results.json"]);
    const digests = (artifacts: Array<{ sha256: string }>) => artifacts.map((item) => item.sha256).sort();

    // Vanta: one upload per artifact, the period's end, a description naming run and manifest; one submit.
    const uploads = uploadsOf(runId);
    expect(digests(uploads)).toEqual(digests(forVanta));
    for (const upload of uploads) {
      expect(upload.effectiveDate).toBe(`${PERIOD_END}T00:00:00.000Z`);
      expect(upload.description).toContain(sealed.manifestSha256);
      expect(upload.documentId).toBe(DOCUMENT);
    }
    expect(vanta.submits).toEqual([DOCUMENT]);
    // The revoked token cost exactly one refresh: the worker's first mint, ours, the worker's refresh.
    expect(vanta.mints(credentials.vantaId) - mintsBefore).toBe(3);
    expect(vanta.server.received.filter((request) => request.status === 401)).toHaveLength(1);

    // Drata: one evidence entry per artifact, filed at the period's end, linked and owned.
    const evidence = evidenceOf(runId);
    expect(digests(evidence.map((item) => ({ sha256: item.file?.sha256 ?? "" })))).toEqual(digests(forDrata));
    for (const item of evidence) {
      expect(item).toMatchObject({
        workspaceId: WORKSPACE,
        filedAt: `${PERIOD_END}T00:00:00.000Z`,
        ownerId: 7,
        controlIds: [42, 43],
        source: "S3_FILE",
        renewalScheduleType: "NONE",
      });
      expect(item.description).toContain(sealed.manifestSha256);
    }
    // The 429 was retried, no sooner than its Retry-After.
    const drataPosts = drata.server.received.filter((request) => request.method === "POST");
    const throttled = drataPosts.findIndex((request) => request.status === 429);
    expect(throttled).toBeGreaterThanOrEqual(0);
    const retried = drataPosts[throttled + 1];
    expect(retried?.status).toBe(201);
    expect((retried?.at ?? 0) - (drataPosts[throttled]?.at ?? 0)).toBeGreaterThanOrEqual(2_900);

    // Secureframe: two 503s, then one evidence for the test, dated the period's end.
    const sfPosts = secureframe.server.received.filter((request) => request.path.startsWith("/tests/"));
    expect(sfPosts.map((request) => request.status)).toEqual([503, 503, 201]);
    const sfEvidence = sfEvidenceOf(runId);
    expect(digests(sfEvidence)).toEqual(digests(forSecureframe));
    expect(sfEvidence[0]).toMatchObject({ testId: TEST_ID, activityCompletion: PERIOD_END });

    // The run record and delivery.json (local and in S3) list every outcome with remote id and SHA-256.
    const fresh = await client.runs.get(runId);
    const remoteIds = {
      vanta: uploads.map((upload) => upload.id),
      drata: evidence.map((item) => String(item.id)),
      sf: sfEvidence.map((item) => item.id),
    };
    const local = JSON.parse(await readFile(deliveryRecordPath(bundleDirectory), "utf8")) as DeliveryRecord;
    const stored = await storedDeliveryRecord(bundleDirectory);
    for (const [name, artifacts] of [
      ["vanta", forVanta],
      ["drata", forDrata],
      ["sf", forSecureframe],
    ] as const) {
      for (const view of [fresh?.delivery?.[name], local.targets[name], stored.targets[name]]) {
        expect(view?.state).toBe("delivered");
        const sent = (view?.outcomes ?? []).filter((outcome) => outcome.path !== "(finish)");
        expect(sent.map((outcome) => outcome.sha256).sort()).toEqual(digests(artifacts));
        expect(sent.every((outcome) => outcome.state === "delivered")).toBe(true);
        expect(sent.map((outcome) => outcome.remoteId).sort()).toEqual([...remoteIds[name]].sort());
      }
    }
    expect(stored.targets["vanta"]?.outcomes.find((outcome) => outcome.path === "(finish)")?.state).toBe(
      "delivered",
    );
    // Credentials reach no record.
    const texts = [JSON.stringify(fresh), JSON.stringify(local), JSON.stringify(stored)];
    for (const text of texts)
      for (const secret of Object.values(credentials).slice(1)) expect(text).not.toContain(secret);
  }, 420_000);

  it("records a permanent failure, the queued keyproof run waits, prints it and exits 3; deliver sends only what is missing", async () => {
    const evidenceRoute = /^POST \/public\/workspaces\/\d+\/evidence-library$/;
    // The first Drata upload is stored; from then on the workspace answers 404 (not retryable).
    drata.server.beforeAnswer(evidenceRoute, () =>
      drata.server.failNext(
        1,
        { status: 404, body: { statusCode: 404, message: "Workspace not found", code: 40401 } },
        evidenceRoute,
      ),
    );
    const { code, stdout, stderr, runId } = await runCli(
      "permanent",
      [drataTarget(), secureframeTarget()],
      300,
    );
    expect(stderr).not.toContain("still delivering");
    expect(code).toBe(3);
    expect(stdout).toContain("drata (drata): FAILED");
    expect(stdout).toContain("sf (secureframe): DELIVERED");
    expect(stdout).toMatch(/: failed HTTP 404/);
    const record = await client.runs.get(runId);
    expect(record?.status).toBe("completed");
    expect(record?.delivery?.["drata"]?.state).toBe("failed");
    expect(record?.delivery?.["sf"]?.state).toBe("delivered");
    // The failed target alone makes the exit 3 (the demo estate's gap is 3 on its own too).
    const deliveries = await waitForDeliveries(client, runId, { timeoutMs: 1000, pollIntervalMs: 100 });
    const complete = { ...(record?.summary as NonNullable<RunRecord["summary"]>), complete: true, gaps: 0 };
    expect(runExitCode(complete, undefined, deliveries)).toBe(3);
    expect(
      runExitCode(
        complete,
        undefined,
        deliveries.filter((item) => item.target === "sf"),
      ),
    ).toBe(0);
    // A failed job, not retried: one stored upload, one 404.
    expect(await client.queue("deliver").getJobState(deliverTargetJobId(runId, "drata"))).toBe("failed");
    const before = evidenceOf(runId);
    expect(before).toHaveLength(1);
    const deliveredFirst = before[0];

    // The cause is fixed; the operator re-delivers the target.
    Object.assign(process.env, ENV);
    let deliverOut = "";
    let deliverCode: number;
    try {
      deliverCode = await main(
        [
          "node",
          "keyproof",
          "deliver",
          "--run",
          runId,
          "--target",
          "drata",
          "--redis-url",
          REDIS_URL,
          "--prefix",
          prefix,
        ],
        { stdout: (text) => (deliverOut += text), stderr: () => undefined, isTty: false },
      );
    } finally {
      for (const name of Object.keys(ENV)) delete process.env[name];
    }
    expect(deliverCode).toBe(0);
    expect(deliverOut).toContain("drata (drata): DELIVERED");
    // Exactly the missing artifact went: two entries, each artifact once, the first one untouched.
    const after = evidenceOf(runId);
    expect(after).toHaveLength(2);
    expect(new Set(after.map((item) => item.file?.sha256)).size).toBe(2);
    expect(after[0]?.id).toBe(deliveredFirst?.id);
    expect((await client.runs.get(runId))?.delivery?.["drata"]?.state).toBe("delivered");
    expect(sfEvidenceOf(runId)).toHaveLength(1);
  }, 420_000);

  it("stops waiting after --delivery-wait: a target still sending is shown pending and does not change the exit code", async () => {
    const held = vanta.server.holdNext(/^POST \/v1\/documents\/[^/]+\/uploads$/);
    releases.push(held.release);
    const { code, stdout, stderr, runId } = await runCli("wait", [{ ...vantaTarget(), submit: false }], 2);
    const record = await client.runs.get(runId);
    expect(stdout).toContain("vanta (vanta): PENDING");
    expect(stderr).toContain(`still delivering to vanta after --delivery-wait`);
    // Not settled is not failed: the exit code is the run's own.
    expect(code).toBe(runExitCode(record?.summary as NonNullable<RunRecord["summary"]>, undefined));

    // The workers go on: once the platform answers, the target is delivered, each artifact once.
    held.release();
    const deliveries = await waitForDeliveries(client, runId, { timeoutMs: 120_000, pollIntervalMs: 250 });
    expect(deliveries.map((delivery) => delivery.state)).toEqual(["delivered"]);
    const sealed = await openSealedRun(await sealedCopy(runId));
    const selected = selectArtifacts(vantaTarget(), sealed.bundleDirectory, sealed.manifest.files);
    expect(
      uploadsOf(runId)
        .map((upload) => upload.sha256)
        .sort(),
    ).toEqual(selected.map((artifact) => artifact.sha256).sort());
  }, 420_000);

  it("a worker SIGKILLed while Drata holds an upload's answer: the next worker finds it and does not send it again", async () => {
    const held = drata.server.holdNext(/^POST \/public\/workspaces\/\d+\/evidence-library$/);
    releases.push(held.release);
    const runId = await startRun([drataTarget()], "out-kill");
    await waitFor("a Drata upload held", () => held.arrived.then(() => true), 300_000);
    // The platform stored the upload; the worker never hears so.
    expect(evidenceOf(runId)).toHaveLength(1);
    const first = workers[workers.length - 1] as WorkerProcess;
    signalWorker(first, "SIGKILL");
    expect(await first.exited).toBe("SIGKILL");

    await startWorker();
    const jobId = deliverTargetJobId(runId, "drata");
    const state = await waitFor(
      "the delivery job handed over and finished",
      async () => {
        const current = await client.queue("deliver").getJobState(jobId);
        return current === "failed" || current === "completed" ? current : undefined;
      },
      180_000,
      250,
    );
    expect(state).toBe("completed");
    const record = await client.runs.get(runId);
    const drataDelivery = record?.delivery?.["drata"];
    expect(drataDelivery?.state).toBe("delivered");
    const sealed = await openSealedRun(await sealedCopy(runId));
    const selected = selectArtifacts(drataTarget(), sealed.bundleDirectory, sealed.manifest.files);
    // Each artifact once on the platform; the held one recorded as found there, with its id.
    const evidence = evidenceOf(runId);
    expect(evidence.map((item) => item.file?.sha256).sort()).toEqual(
      selected.map((artifact) => artifact.sha256).sort(),
    );
    const found = drataDelivery?.outcomes.filter((outcome) =>
      outcome.reason?.includes("found on the platform"),
    );
    expect(found).toHaveLength(1);
    expect(found?.[0]?.remoteId).toBe(String(evidence[0]?.id));
    expect(drataDelivery?.outcomes.every((outcome) => outcome.state === "delivered")).toBe(true);
  }, 480_000);
});
