/**
 * Delivery of sealed runs (issue 14), against real servers: a real HTTP receiver in the test (webhook
 * signature verification and replay refusal, scripted 503 / 429 / 400 / hangs), the ledger in the real
 * Redis (unique prefix), and delivery.json beside a bundle stored in moto S3 with Object Lock. The fake
 * GRC target below is a tiny DeliveryTarget that uploads to the same receiver and can look uploads up, to
 * show the orchestrator's crash recovery (`findSent`); the real platform targets have their own fakes.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListObjectVersionsCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { Redis } from "ioredis";
import { stringify } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DeliveryTargetConfig, WebhookTargetConfig } from "../../src/config/deliver.schema.ts";
import { main } from "../../src/cli/main.ts";
import { runExitCode } from "../../src/cli/commands/run.command.ts";
import {
  deliverToTarget,
  deliveryRunSummaryOf,
  FINISH_PATH,
  openSealedRun,
  type SealedRun,
} from "../../src/delivery/deliver-run.ts";
import { deliverSealedRun } from "../../src/delivery/deliver-sealed-run.ts";
import { deliveryLedgerKey, RedisDeliveryLedger } from "../../src/delivery/delivery-ledger.ts";
import { deliveryRecordPath, type DeliveryRecord } from "../../src/delivery/delivery-record.ts";
import { DeliveryError, type DeliveryTarget } from "../../src/delivery/delivery-target.ts";
import { createWebhookTarget, webhookDeliveryId } from "../../src/delivery/targets/webhook.target.ts";
import { BundleWriter } from "../../src/evidence/bundle-writer.ts";
import { SUMMARY_FILE } from "../../src/evidence/paths.ts";
import type { RunSummary } from "../../src/jobs/run-summary.ts";
import { generateSigningKey } from "../../src/signing/keygen.ts";
import { createLocalEd25519Signer, type LocalEd25519Signer } from "../../src/signing/local-ed25519.signer.ts";
import { S3ObjectLockStore } from "../../src/storage/s3-object-lock.store.ts";
import { createS3Client } from "../../src/storage/s3-client.ts";
import { prepareBundleStorage, storeSealedBundle } from "../../src/storage/store-sealed-bundle.ts";
import { parseRange } from "../../src/time/date-range.ts";
import { cleanupPrefix } from "./queue-harness.ts";
import { startTestReceiver, verifyWebhook, type TestReceiver } from "../support/webhook-receiver.ts";
import { awsTestClientConfig, testRedisUrl, uniqueName } from "../support/test-env.ts";

const REDIS_URL = testRedisUrl();
const PREFIX = uniqueName("kpt-helper-delivery");
const SECRET = `whsec-${randomBytes(16).toString("hex")}`;
const SECRET_ENV = "KEYPROOF_TEST_DELIVERY_SECRET";
const range = parseRange("2026-07-01", "2026-09-30");
const REGION = "eu-west-1";
const aws = awsTestClientConfig(REGION);

let workspace: string;
let signer: LocalEd25519Signer;
let redis: Redis;
let receiver: TestReceiver;
let runCounter = 0;

function summaryOf(runId: string): RunSummary {
  return {
    runId,
    period: { label: "2026-Q3", from: "2026-07-01", to: "2026-09-30" },
    capturedAt: "2026-10-01T06:00:00.000Z",
    complete: true,
    sources: [],
    findings: {
      total: 3,
      byStatus: { pass: 2, fail: 1, warn: 0, error: 0, "not-applicable": 0 },
      openBySeverity: { critical: 0, high: 1, medium: 0, low: 0, informational: 0 },
      failBySeverity: { critical: 0, high: 1, medium: 0, low: 0, informational: 0 },
    },
    gaps: 0,
    gapDetails: [],
  } as unknown as RunSummary;
}

/** A small real sealed bundle: two PDFs, a PNG, summary.json; signed. */
async function sealRun(): Promise<SealedRun> {
  runCounter += 1;
  const runId = `kp-delivery-${String(runCounter).padStart(3, "0")}-${randomBytes(2).toString("hex")}`;
  const writer = await BundleWriter.open(join(workspace, "runs", runId));
  await writer.writeJson(SUMMARY_FILE, summaryOf(runId));
  await writer.writeText("reports/findings-report.pdf", `%PDF-1.7 findings ${runId}`);
  await writer.writeText("reports/key-management-procedure.pdf", `%PDF-1.7 procedure ${runId}`);
  await writer.writeText("screenshots/aws/k-1.png", randomBytes(64));
  const bundle = await writer.seal({
    manifestFields: {
      runId,
      organization: "Delivery Corp",
      period: { label: "2026-Q3", from: range.from, to: range.to, toExclusive: range.toExclusive },
      // Now: a seal more than 24 hours away from the capture time is refused.
      capturedAt: new Date().toISOString(),
      keyproofVersion: "0.1.0",
      sources: [{ id: "aws-prod", type: "aws-kms", account: "111122223333", locations: [REGION] }],
    },
    signer,
  });
  return openSealedRun(bundle.directory);
}

function webhook(name: string, path = `/hook/${name}`): WebhookTargetConfig {
  return { name, type: "webhook", url: `${receiver.url}${path}`, secretEnv: SECRET_ENV };
}

const env = (): NodeJS.ProcessEnv => ({ ...process.env, [SECRET_ENV]: SECRET });
const ledger = (): RedisDeliveryLedger => new RedisDeliveryLedger(redis, PREFIX);
const fastPolicy = { attempts: 4, baseDelayMs: 20, maxRetryAfterMs: 5_000 };

/**
 * The fake GRC target: uploads each artifact to `<receiver>/upload/<path>` with a key of run + SHA-256
 * (what a real target writes into the upload's description), and `findSent` asks the receiver for it.
 */
function fakeGrcTarget(
  artifacts: string[],
  options: { withFindSent: boolean | "cannot tell" },
): DeliveryTarget {
  const config: DeliveryTargetConfig = {
    name: "fake-grc",
    type: "vanta",
    documentId: "encryption-key-management",
    artifacts,
    submit: false,
    clientIdEnv: "UNUSED_ID",
    clientSecretEnv: "UNUSED_SECRET",
    baseUrl: receiver.url,
  };
  const keyOf = (runId: string, sha256: string) => `${runId}:${sha256}`;
  return {
    config,
    async sendArtifact(artifact, run) {
      const response = await fetch(`${receiver.url}/upload/${artifact.path}`, {
        method: "POST",
        headers: { "x-upload-key": keyOf(run.runId, artifact.sha256), "content-type": artifact.mimeType },
        body: await readFile(artifact.file),
      });
      if (!response.ok) {
        throw new DeliveryError(`upload answered ${response.status}`, {
          status: response.status,
          retryable: response.status >= 500,
        });
      }
      return { remoteId: ((await response.json()) as { id: string }).id, httpStatus: response.status };
    },
    ...(options.withFindSent === "cannot tell"
      ? { findSent: () => Promise.resolve("unknown" as const) }
      : options.withFindSent
        ? {
            async findSent(artifact, run) {
              const response = await fetch(`${receiver.url}/lookup`, {
                headers: { "x-upload-key": keyOf(run.runId, artifact.sha256) },
              });
              if (response.status !== 200) return undefined;
              return { remoteId: ((await response.json()) as { id: string }).id, httpStatus: 200 };
            },
          }
        : {}),
  };
}

beforeAll(async () => {
  workspace = await mkdtemp(join(tmpdir(), "keyproof-delivery-"));
  signer = await createLocalEd25519Signer((await generateSigningKey(join(workspace, "signing.pem"))).path);
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 3 });
  receiver = await startTestReceiver({ secret: SECRET });
});

afterAll(async () => {
  await receiver?.close();
  await redis?.quit().catch(() => undefined);
  await cleanupPrefix(REDIS_URL, PREFIX);
  if (workspace !== undefined) await rm(workspace, { recursive: true, force: true });
});

describe("the signed webhook", () => {
  it("POSTs the run summary signed over timestamp.body; the receiver verifies it and refuses a replay", async () => {
    const sealed = await sealRun();
    const result = await deliverSealedRun({
      sealed,
      targets: [webhook("hook")],
      scope: "delivery-corp",
      ledger: ledger(),
      stores: [],
      env: env(),
      policy: fastPolicy,
    });
    expect(result.deliveries).toEqual([
      expect.objectContaining({ target: "hook", type: "webhook", state: "delivered" }),
    ]);
    const [sent] = receiver.requests.filter((request) => request.path === "/hook/hook");
    expect(sent?.verdict).toBe(200);
    expect(sent?.headers["x-keyproof-delivery"]).toBe(webhookDeliveryId(sealed.manifest.runId, "hook"));
    const body = JSON.parse(sent?.body ?? "{}") as Record<string, unknown>;
    expect(body).toMatchObject({
      runId: sealed.manifest.runId,
      scope: "delivery-corp",
      organization: "Delivery Corp",
      findings: { byStatus: { fail: 1 }, bySeverity: { high: 1 } },
      gaps: 0,
      bundle: { manifestSha256: sealed.manifestSha256 },
    });

    // The same request again (a replay by someone who captured it): refused.
    const replay = await fetch(`${receiver.url}/hook/hook`, {
      method: "POST",
      headers: {
        "x-keyproof-timestamp": String(sent?.headers["x-keyproof-timestamp"]),
        "x-keyproof-signature": String(sent?.headers["x-keyproof-signature"]),
      },
      body: sent?.body ?? "",
    });
    expect(replay.status).toBe(401);
    expect(await replay.text()).toBe("replayed");
    // A forged body with the captured signature: refused too; an old timestamp likewise.
    expect(verifyWebhook(SECRET, sent?.headers ?? {}, `${sent?.body ?? ""} `, new Set()).ok).toBe(false);
    const stale = Number(sent?.headers["x-keyproof-timestamp"]) + 301;
    expect(verifyWebhook(SECRET, sent?.headers ?? {}, sent?.body ?? "", new Set(), stale)).toEqual({
      ok: false,
      reason: "stale timestamp",
    });

    const record = JSON.parse(
      await readFile(deliveryRecordPath(sealed.bundleDirectory), "utf8"),
    ) as DeliveryRecord;
    expect(record.targets["hook"]?.outcomes).toEqual([
      expect.objectContaining({ path: FINISH_PATH, state: "delivered", httpStatus: 200 }),
    ]);
  });

  it("names the missing secret variable, never sends, and records a permanent failure", async () => {
    const sealed = await sealRun();
    const before = receiver.countFor("/hook/nosecret");
    const result = await deliverSealedRun({
      sealed,
      targets: [{ ...webhook("nosecret"), secretEnv: "KEYPROOF_TEST_UNSET_SECRET" }],
      scope: "s",
      ledger: ledger(),
      stores: [],
      env: {},
      policy: fastPolicy,
    });
    expect(result.deliveries[0]?.state).toBe("failed");
    expect(result.deliveries[0]?.outcomes[0]?.reason).toContain("KEYPROOF_TEST_UNSET_SECRET is not set");
    expect(receiver.countFor("/hook/nosecret")).toBe(before);
  });
});

describe("retries", () => {
  it("retries a 503 and then delivers", async () => {
    const sealed = await sealRun();
    receiver.script("/hook/flaky", { status: 503 });
    const result = await deliverSealedRun({
      sealed,
      targets: [webhook("flaky")],
      scope: "s",
      ledger: ledger(),
      stores: [],
      env: env(),
      policy: fastPolicy,
    });
    expect(result.deliveries[0]?.state).toBe("delivered");
    expect(
      receiver.requests.filter((request) => request.path === "/hook/flaky").map((r) => r.verdict),
    ).toEqual([503, 200]);
  });

  it("waits for the Retry-After of a 429 before the next attempt", async () => {
    const sealed = await sealRun();
    receiver.script("/hook/throttled", { status: 429, headers: { "retry-after": "2" } });
    const result = await deliverSealedRun({
      sealed,
      targets: [webhook("throttled")],
      scope: "s",
      ledger: ledger(),
      stores: [],
      env: env(),
      policy: fastPolicy,
    });
    expect(result.deliveries[0]?.state).toBe("delivered");
    const times = receiver.requests.filter((request) => request.path === "/hook/throttled").map((r) => r.at);
    expect(times).toHaveLength(2);
    // Backoff alone would be 20 ms; the platform asked for 2 s (generous lower bound for a loaded machine).
    expect((times[1] ?? 0) - (times[0] ?? 0)).toBeGreaterThanOrEqual(1_800);
  });

  it("does not retry a 400: recorded as failed, exit code 3, the other target still delivered", async () => {
    const sealed = await sealRun();
    receiver.script("/hook/refuses", { status: 400, body: `{"error":"bad","echo":"${SECRET}"}` });
    const result = await deliverSealedRun({
      sealed,
      targets: [webhook("refuses"), webhook("fine")],
      scope: "s",
      ledger: ledger(),
      stores: [],
      env: env(),
      policy: fastPolicy,
    });
    expect(receiver.countFor("/hook/refuses")).toBe(1);
    expect(result.deliveries.map((delivery) => [delivery.target, delivery.state])).toEqual([
      ["refuses", "failed"],
      ["fine", "delivered"],
    ]);
    expect(result.deliveries[0]?.outcomes[0]).toMatchObject({ state: "failed", httpStatus: 400 });
    expect(runExitCode(sealed.summary, undefined, result.deliveries)).toBe(3);
    expect(runExitCode(sealed.summary, undefined, result.deliveries.slice(1))).toBe(0);
  });
});

describe("never twice", () => {
  it("re-delivery sends only what is missing; an upload cut off mid-send is found, not sent again", async () => {
    const sealed = await sealRun();
    const run = deliveryRunSummaryOf(sealed, "s");
    const target = fakeGrcTarget(["reports/*.pdf"], { withFindSent: true });
    const first = await deliverToTarget({ target, run, sealed, ledger: ledger() });
    expect(first.state).toBe("delivered");
    expect(first.outcomes.map((outcome) => outcome.path)).toEqual([
      "reports/findings-report.pdf",
      "reports/key-management-procedure.pdf",
    ]);
    expect(first.outcomes.every((outcome) => outcome.remoteId?.startsWith("up-") === true)).toBe(true);
    const shaOfFile = createHash("sha256")
      .update(await readFile(join(sealed.bundleDirectory, "reports", "findings-report.pdf")))
      .digest("hex");
    expect(first.outcomes[0]?.sha256).toBe(shaOfFile);

    // Again, even asking to retry failures: nothing is missing, nothing is sent.
    await deliverToTarget({ target, run, sealed, ledger: ledger(), retryFailed: true });
    expect(receiver.countFor("/upload/reports/findings-report.pdf")).toBe(1);

    // A worker died after the platform got the upload, before recording it: the entry says `sending`.
    const key = deliveryLedgerKey(PREFIX, sealed.manifest.runId, "fake-grc");
    await redis.hset(
      key,
      "reports/findings-report.pdf",
      JSON.stringify({ state: "sending", attemptAt: "2026-10-01T06:00:00.000Z" }),
    );
    const recovered = await deliverToTarget({ target, run, sealed, ledger: ledger() });
    expect(recovered.outcomes[0]).toMatchObject({
      state: "delivered",
      reason: expect.stringContaining("not sent again"),
    });
    expect(receiver.countFor("/upload/reports/findings-report.pdf")).toBe(1);
  });

  it("a lookup that cannot tell leaves a cut-off upload possibly delivered: not sent again until --resend", async () => {
    const sealed = await sealRun();
    const run = deliveryRunSummaryOf(sealed, "s");
    const target = fakeGrcTarget(["reports/findings-report.pdf"], { withFindSent: "cannot tell" });
    const key = deliveryLedgerKey(PREFIX, sealed.manifest.runId, "fake-grc");
    await redis.hset(
      key,
      "reports/findings-report.pdf",
      JSON.stringify({ state: "sending", attemptAt: "2026-10-01T06:00:00.000Z" }),
    );
    const before = receiver.countFor("/upload/reports/findings-report.pdf");
    const after = await deliverToTarget({ target, run, sealed, ledger: ledger() });
    expect(after.outcomes[0]).toMatchObject({
      state: "failed",
      reason: expect.stringContaining("could not tell whether it arrived; it may have been delivered"),
    });
    expect(receiver.countFor("/upload/reports/findings-report.pdf")).toBe(before);
    const resent = await deliverToTarget({
      target,
      run,
      sealed,
      ledger: ledger(),
      resend: ["reports/findings-report.pdf"],
    });
    expect(resent.state).toBe("delivered");
    expect(receiver.countFor("/upload/reports/findings-report.pdf")).toBe(before + 1);
  });

  it("without findSent, a cut-off send is recorded as possibly delivered and sent only on --resend", async () => {
    const sealed = await sealRun();
    const run = deliveryRunSummaryOf(sealed, "s");
    const key = deliveryLedgerKey(PREFIX, sealed.manifest.runId, "cut");
    await redis.hset(
      key,
      FINISH_PATH,
      JSON.stringify({ state: "sending", attemptAt: "2026-10-01T06:00:00.000Z" }),
    );
    const target = createWebhookTarget(webhook("cut"), env());
    const after = await deliverToTarget({ target, run, sealed, ledger: ledger() });
    expect(after.state).toBe("failed");
    expect(after.outcomes[0]?.reason).toContain("may have been delivered");
    expect(after.outcomes[0]?.reason).toContain("--resend '(finish)'");
    expect(receiver.countFor("/hook/cut")).toBe(0);
    // Retrying failures does not cover it either: only naming it does.
    await deliverToTarget({ target, run, sealed, ledger: ledger(), retryFailed: true });
    expect(receiver.countFor("/hook/cut")).toBe(0);
    const resent = await deliverToTarget({ target, run, sealed, ledger: ledger(), resend: [FINISH_PATH] });
    expect(resent.state).toBe("delivered");
    expect(receiver.countFor("/hook/cut")).toBe(1);
  });
});

describe("keyproof deliver", () => {
  it("re-delivers a missing target of a local run and leaves the delivered one alone", async () => {
    const sealed = await sealRun();
    const configFile = join(workspace, `keyproof-${sealed.manifest.runId}.yaml`);
    await writeFile(
      configFile,
      stringify({
        organization: "Delivery Corp",
        sources: [{ id: "aws-prod", type: "aws-kms", regions: [REGION] }],
        signing: { localKeyFile: "./signing.pem" },
        deliver: [webhook("first"), webhook("second")],
      }),
    );
    // The run delivered `first`; `second` was down (a permanent failure at the time).
    receiver.script("/hook/second", { status: 404 });
    await deliverSealedRun({
      sealed,
      targets: [webhook("first"), webhook("second")],
      scope: "s",
      ledger: ledger(),
      stores: [],
      env: env(),
      policy: fastPolicy,
    });
    expect([receiver.countFor("/hook/first"), receiver.countFor("/hook/second")]).toEqual([1, 1]);

    let stdout = "";
    let stderr = "";
    process.env[SECRET_ENV] = SECRET;
    const code = await main(
      [
        "node",
        "keyproof",
        "deliver",
        "--run",
        sealed.manifest.runId,
        "-c",
        configFile,
        "-o",
        join(workspace, "runs"),
        "--redis-url",
        REDIS_URL,
        "--prefix",
        PREFIX,
      ],
      { stdout: (text) => (stdout += text), stderr: (text) => (stderr += text), isTty: false },
    );
    delete process.env[SECRET_ENV];
    expect(stderr).toBe("");
    expect(code).toBe(0);
    expect(stdout).toContain("second (webhook): DELIVERED");
    expect([receiver.countFor("/hook/first"), receiver.countFor("/hook/second")]).toEqual([1, 2]);

    // The secret is nowhere: ledger, delivery.json, output.
    const ledgerText = JSON.stringify(
      await redis.hgetall(deliveryLedgerKey(PREFIX, sealed.manifest.runId, "second")),
    );
    const recordText = await readFile(deliveryRecordPath(sealed.bundleDirectory), "utf8");
    for (const text of [ledgerText, recordText, stdout, stderr]) expect(text).not.toContain(SECRET);
    const record = JSON.parse(recordText) as DeliveryRecord;
    expect(
      Object.fromEntries(Object.entries(record.targets).map(([name, target]) => [name, target.state])),
    ).toEqual({
      first: "delivered",
      second: "delivered",
    });
  });
});

describe("delivery.json beside the stored bundle", () => {
  it("is written next to the bundle's key in the Object-Locked bucket, a new version per write", async () => {
    const s3 = new S3Client({ ...aws, forcePathStyle: true });
    const bucket = uniqueName("kp-helper-delivery");
    await s3.send(
      new CreateBucketCommand({
        Bucket: bucket,
        CreateBucketConfiguration: { LocationConstraint: REGION },
        ObjectLockEnabledForBucket: true,
      }),
    );
    const store = new S3ObjectLockStore({
      config: {
        bucket,
        prefix: "evidence/",
        region: REGION,
        endpoint: aws.endpoint,
        retention: { mode: "COMPLIANCE", days: 1 },
      },
      client: createS3Client({ region: REGION, endpoint: aws.endpoint, credentials: aws.credentials }),
    });
    const unsealed = await sealRun();
    const prepared = await prepareBundleStorage([store], "delivery-corp");
    const bundleOnDisk = {
      directory: unsealed.bundleDirectory,
      archive: `${unsealed.bundleDirectory}.tar.gz`,
      manifestSha256: unsealed.manifestSha256,
      manifest: unsealed.manifest,
      signature: JSON.parse(
        await readFile(join(unsealed.bundleDirectory, "manifest.sig.json"), "utf8"),
      ) as never,
    };
    const storage = await storeSealedBundle({ prepared, bundle: bundleOnDisk });
    const sealed = await openSealedRun(unsealed.bundleDirectory);
    expect(sealed.storage?.objectName).toBe(storage.objectName);

    receiver.script("/hook/s3-hook", { status: 400 });
    const first = await deliverSealedRun({
      sealed,
      targets: [webhook("s3-hook")],
      scope: "delivery-corp",
      ledger: ledger(),
      stores: [store],
      env: env(),
      policy: fastPolicy,
    });
    expect(first.record.problems).toEqual([]);
    await deliverSealedRun({
      sealed,
      targets: [webhook("s3-hook")],
      scope: "delivery-corp",
      ledger: ledger(),
      stores: [store],
      env: env(),
      retryFailed: true,
      policy: fastPolicy,
    });
    const key = `evidence/${storage.objectName.replace(/\.tar\.gz$/, "")}.delivery.json`;
    const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const record = JSON.parse(await object.Body!.transformToString()) as DeliveryRecord;
    expect(record.runId).toBe(sealed.manifest.runId);
    expect(record.manifestSha256).toBe(sealed.manifestSha256);
    expect(record.targets["s3-hook"]?.state).toBe("delivered");
    // The summary the webhook got names the stored bundle and its version.
    const posted = receiver.requests.filter((request) => request.path === "/hook/s3-hook").at(-1);
    expect(JSON.parse(posted?.body ?? "{}")).toMatchObject({
      bundle: { location: expect.stringContaining(`s3://${bucket}/`), versionId: expect.any(String) },
    });
    const versions = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: key }));
    expect(versions.Versions?.length).toBe(2);
    s3.destroy();
  });
});
