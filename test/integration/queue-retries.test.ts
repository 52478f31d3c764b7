/**
 * Retries on real Redis with a real emulator behind a throttling proxy: KMS answering ThrottlingException
 * (what AWS sends when an account exceeds its request quota) more often than the SDK's own retries absorb
 * is retried by the queue with backoff and the run ends with complete evidence; a non-retryable failure
 * fails the run at once with its cause.
 */
import { rm } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { locationJobId, jobIdFor } from "../../src/jobs/queue/job-ids.ts";
import { QueueClient } from "../../src/jobs/queue/queue-client.ts";
import { startWorkerRuntime, type WorkerRuntime } from "../../src/jobs/queue/worker-runtime.ts";
import { followRun, runQueued } from "../../src/jobs/run-queued.ts";
import { startRelay } from "../support/relay.ts";
import {
  AWS_ENDPOINT,
  REDIS_URL,
  TEST_RANGE,
  cleanupPrefix,
  prepareEstate,
  readJson,
  removeDirectory,
  uniquePrefix,
  type TestEstate,
} from "./queue-harness.ts";

/** Answers the first `throttleCount` ListKeys calls of each region with ThrottlingException, forwards everything else to moto. */
async function startThrottlingProxy(
  throttleCount: number,
): Promise<{ endpoint: string; throttled: () => number; close: () => Promise<void> }> {
  const seen = new Map<string, number>();
  let throttled = 0;
  const relay = await startRelay(AWS_ENDPOINT, {
    intercept: (request, _body, response) => {
      if (String(request.headers["x-amz-target"] ?? "") !== "TrentService.ListKeys") return false;
      // The SigV4 credential scope names the region: Credential=<key>/<date>/<region>/kms/aws4_request.
      const region =
        /Credential=[^/]+\/\d{8}\/([^/]+)\//.exec(String(request.headers.authorization ?? ""))?.[1] ?? "?";
      const count = (seen.get(region) ?? 0) + 1;
      seen.set(region, count);
      if (count > throttleCount) return false;
      throttled += 1;
      const text = JSON.stringify({ __type: "ThrottlingException", message: "Rate exceeded" });
      response.writeHead(400, {
        "content-type": "application/x-amz-json-1.1",
        "content-length": Buffer.byteLength(text),
      });
      response.end(text);
      return true;
    },
  });
  return { endpoint: relay.endpoint, throttled: () => throttled, close: () => relay.close() };
}

const prefix = uniquePrefix("retry");
/** More than the SDK's three attempts, so the SDK gives up and the queue has to retry. */
const THROTTLES_PER_REGION = 3;
let proxy: Awaited<ReturnType<typeof startThrottlingProxy>>;
let setup: TestEstate;
let client: QueueClient;
let runtime: WorkerRuntime;

beforeAll(async () => {
  proxy = await startThrottlingProxy(THROTTLES_PER_REGION);
  // The config points KMS (only) at the proxy; STS, IAM, CloudTrail and S3 go to moto directly.
  setup = await prepareEstate({ sourceOverrides: { endpoints: { kms: proxy.endpoint } } });
  client = QueueClient.connect(REDIS_URL, prefix);
  runtime = await startWorkerRuntime({ redisUrl: REDIS_URL, prefix, queues: ["collect", "seal", "deliver"] });
});

afterAll(async () => {
  await runtime?.close();
  await client?.close();
  await proxy?.close();
  await cleanupPrefix(REDIS_URL, prefix);
  await removeDirectory(setup?.directory);
});

describe("retries", () => {
  it("retries a location whose KMS calls were throttled, and the run completes without gaps", async () => {
    const result = await runQueued({
      client,
      loaded: setup.loaded,
      range: TEST_RANGE,
      outDirectory: path.join(setup.directory, "throttled"),
      render: false,
      pollIntervalMs: 200,
    });
    expect(result.record.status).toBe("completed");
    // Every throttled answer was given: the SDK tried three times per region, then the queue retried.
    expect(proxy.throttled()).toBe(2 * THROTTLES_PER_REGION);
    for (const region of ["us-east-1", "eu-west-1"]) {
      const job = await client
        .queue("collect")
        .getJob(locationJobId(result.runId, "collect-location", "aws-demo", region));
      // Two attempts: the throttled one (retried by the queue) and the one that completed.
      expect(job?.attemptsMade, region).toBe(2);
      expect(job?.returnvalue).toEqual({ keys: region === "us-east-1" ? 8 : 6, gaps: 0, batches: 1 });
      expect(await job?.getState()).toBe("completed");
    }
    const gaps = await readJson<Array<{ error?: { call?: string } }>>(
      path.join(result.bundle.directory, "gaps.json"),
    );
    expect(gaps.filter((gap) => gap.error?.call === "kms:ListKeys")).toEqual([]);
    expect(result.summary.sources[0]?.keys).toBe(14);
  });

  it("fails the run at once, with the cause, on a non-retryable error", async () => {
    const started = await client.startRun({
      config: setup.loaded.config,
      configDirectory: setup.loaded.directory,
      outDirectory: path.join(setup.directory, "unsigned"),
      render: false,
      range: TEST_RANGE,
      request: { origin: "cli" },
    });
    // The signing key disappears after the run was accepted: sealing cannot succeed on any attempt.
    await rm(path.join(setup.directory, "signing.pem"));
    const record = await followRun(client, started.runId, { pollIntervalMs: 200, timeoutMs: 60_000 });
    expect(record.status).toBe("failed");
    expect(record.error).toMatch(/seal-bundle .*SIGNING_KEY_UNAVAILABLE: signing key .*signing\.pem/);
    const seal = await client.queue("seal").getJob(jobIdFor(started.runId, "seal-bundle"));
    expect(await seal?.getState()).toBe("failed");
    // One attempt of the three allowed: an UnrecoverableError is not retried.
    expect(seal?.attemptsMade).toBe(1);
    expect(seal?.failedReason).not.toMatch(/\n\s+at /);
    // The scope is free again: the same request starts a new run instead of returning the failed one.
    const again = await client
      .startRun({
        config: { ...setup.loaded.config, signing: { localKeyFile: "./missing.pem" } },
        configDirectory: setup.loaded.directory,
        outDirectory: path.join(setup.directory, "unsigned"),
        render: false,
        range: TEST_RANGE,
        request: { origin: "cli" },
      })
      .catch((error: unknown) => error);
    // …and a request whose key is missing up front is refused before anything is queued.
    expect(again).toMatchObject({ code: "SIGNING_KEY_UNAVAILABLE" });
  });
});
