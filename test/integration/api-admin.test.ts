/**
 * The API's operator dashboard and S3 downloads, against real Redis, real workers and moto: bull-board at
 * /admin/queues answers only to operator tokens (pages, its JSON API and its static assets), and a run whose
 * bundle was stored in S3 answers /bundle with a presigned URL for the stored version that a plain HTTP
 * client, without any credentials, downloads byte for byte.
 */
import { createHash, randomBytes } from "node:crypto";
import { CreateBucketCommand, GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { readPublishedJson, remoteWorkOf } from "../../src/jobs/queue/run-workspace.ts";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AWS_ENDPOINT,
  prepareEstate,
  removeDirectory,
  startApiHarness,
  type ApiHarness,
  uniquePrefix,
  waitFor,
  type TestEstate,
} from "./queue-harness.ts";

const REGION = "eu-west-1";
const prefix = uniquePrefix("admin");
const bucket = `kp-api-admin-${randomBytes(4).toString("hex")}`;
let setup: TestEstate;
let api: ApiHarness | undefined;
let app: FastifyInstance;
let auditor: string;
let operator: string;

beforeAll(async () => {
  const s3 = new S3Client({
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
  s3.destroy();
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
  api = await startApiHarness(setup, prefix);
  ({ app, auditor, operator } = api);
});

afterAll(async () => {
  if (api !== undefined) await api.close();
  else await removeDirectory(setup?.directory);
});

/**
 * The run kept its files in S3 (storage.s3: the S3 work store), so storage.json and the sealed archive are
 * read from its work prefix, where the deliver job published them.
 */
async function publishedJson<T>(runId: string, relative: string): Promise<T> {
  const value = await readPublishedJson<T>({ config: setup.loaded.config, runId }, relative);
  if (value === undefined) throw new Error(`${relative} is not in the run's S3 work prefix`);
  return value;
}

async function publishedBytes(runId: string, relative: string): Promise<Buffer> {
  const target = remoteWorkOf({ config: setup.loaded.config, runId });
  if (target === undefined) throw new Error("the test config has no storage.s3");
  const response = await target.client.send(
    new GetObjectCommand({ Bucket: target.bucket, Key: `${target.prefix}files/${relative}` }),
  );
  return Buffer.from((await response.Body?.transformToByteArray()) ?? new Uint8Array());
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

function expectNoInternals(body: string): void {
  expect(body).not.toMatch(/\n\s+at |\.ts:\d+|\.js:\d+|node_modules|Error: /);
  expect(body).not.toContain(auditor);
  expect(body).not.toContain(operator);
}

describe("the queue dashboard at /admin/queues", () => {
  it("answers 401 without a token, 403 to an auditor and the HTML page to an operator", async () => {
    const none = await app.inject({ method: "GET", url: "/admin/queues" });
    expect(none.statusCode).toBe(401);
    expect(none.json()).toMatchObject({ error: "unauthorized" });
    const unknown = await app.inject({
      method: "GET",
      url: "/admin/queues",
      headers: bearer(`kpt_${"A".repeat(43)}`),
    });
    expect(unknown.statusCode).toBe(401);
    const asAuditor = await app.inject({ method: "GET", url: "/admin/queues", headers: bearer(auditor) });
    expect(asAuditor.statusCode).toBe(403);
    expect(asAuditor.json()).toMatchObject({ error: "forbidden" });

    for (const url of ["/admin/queues", "/admin/queues/", "/admin/queues/queue/collect"]) {
      const page = await app.inject({ method: "GET", url, headers: bearer(operator) });
      expect(page.statusCode, url).toBe(200);
      expect(page.headers["content-type"], url).toMatch(/^text\/html/);
      expect(page.body, url).toContain("keyproof queues");
    }
  });

  it("guards the dashboard's JSON API, which lists every keyproof queue", async () => {
    const url = "/admin/queues/api/queues?activeQueue=collect&page=1&jobsPerPage=10";
    expect((await app.inject({ method: "GET", url })).statusCode).toBe(401);
    expect((await app.inject({ method: "GET", url, headers: bearer(auditor) })).statusCode).toBe(403);
    const response = await app.inject({ method: "GET", url, headers: bearer(operator) });
    expect(response.statusCode).toBe(200);
    const names = response.json<{ queues: Array<{ name: string }> }>().queues.map((queue) => queue.name);
    expect(names.sort()).toEqual(["collect", "deliver", "render", "schedule", "seal"]);
  });

  it("serves its static assets to operators only, and a missing one as a plain 404", async () => {
    const page = await app.inject({ method: "GET", url: "/admin/queues", headers: bearer(operator) });
    const asset = /(?:src|href)="([^"]*static\/[^"]+\.(?:js|css))"/.exec(page.body)?.[1];
    expect(asset).toBeDefined();
    const assetUrl = new URL(asset ?? "", "http://localhost/admin/queues/").pathname;
    expect(assetUrl.startsWith("/admin/queues/static/")).toBe(true);
    expect((await app.inject({ method: "GET", url: assetUrl })).statusCode).toBe(401);
    expect((await app.inject({ method: "GET", url: assetUrl, headers: bearer(auditor) })).statusCode).toBe(
      403,
    );
    const served = await app.inject({ method: "GET", url: assetUrl, headers: bearer(operator) });
    expect(served.statusCode).toBe(200);
    expect(served.rawPayload.length).toBeGreaterThan(0);

    for (const url of [
      "/admin/queues/static/nothing-here.js",
      "/admin/queues/static/..%2F..%2Fpackage.json",
    ]) {
      const missing = await app.inject({ method: "GET", url, headers: bearer(operator) });
      expect(missing.statusCode, url).toBe(404);
      expect(missing.json(), url).toMatchObject({ error: "not_found" });
      expectNoInternals(missing.body);
    }
  });
});

describe("a bundle stored in S3", () => {
  let runId: string;

  it("is sealed and stored in S3 by the queued run", async () => {
    const accepted = await app.inject({
      method: "POST",
      url: "/v1/evidence-requests",
      headers: bearer(auditor),
      payload: { period: "2026-Q3", requester: "jane.doe@audit.example", reason: "S3 download" },
    });
    expect(accepted.statusCode).toBe(202);
    runId = accepted.json<{ runId: string }>().runId;
    await waitFor(
      "the run to complete",
      async () => {
        const response = await app.inject({
          method: "GET",
          url: `/v1/runs/${runId}`,
          headers: bearer(auditor),
        });
        const body = response.json<{ status: string }>();
        if (body.status === "failed") throw new Error(response.body);
        return body.status === "completed" ? body : undefined;
      },
      90_000,
      200,
    );
    const record = await publishedJson<{
      stores: Array<{ kind: string; stored: boolean; versionId?: string }>;
    }>(runId, `${runId}.storage.json`);
    expect(record.stores).toEqual([
      expect.objectContaining({ kind: "s3", stored: true, versionId: expect.any(String) }),
    ]);
  });

  it("answers redirect=false with a presigned URL that downloads the archive's exact bytes", async () => {
    const record = await publishedJson<{ stores: Array<{ versionId?: string }> }>(
      runId,
      `${runId}.storage.json`,
    );
    const before = Date.now();
    const response = await app.inject({
      method: "GET",
      url: `/v1/runs/${runId}/bundle?redirect=false`,
      headers: bearer(auditor),
    });
    expect(response.statusCode).toBe(200);
    expect(response.headers["cache-control"]).toBe("no-store");
    const body = response.json<{ url: string; expiresAt: string; versionId: string }>();
    expect(body.versionId).toBe(record.stores[0]?.versionId);
    const expiresIn = new Date(body.expiresAt).getTime() - before;
    expect(expiresIn).toBeGreaterThan(290_000);
    expect(expiresIn).toBeLessThanOrEqual(301_000);
    const url = new URL(body.url);
    expect(url.searchParams.get("versionId")).toBe(body.versionId);
    expect(url.searchParams.get("X-Amz-Expires")).toBe("300");
    expect(url.pathname).toContain(`/${bucket}/evidence/`);
    expect(body.url).not.toContain(auditor);

    // No credentials, no SDK: what an auditor's browser or curl does with the URL.
    const download = await fetch(body.url);
    expect(download.status).toBe(200);
    const bytes = Buffer.from(await download.arrayBuffer());
    const archive = await publishedBytes(runId, `${runId}.tar.gz`);
    const sha256 = (data: Buffer) => createHash("sha256").update(data).digest("hex");
    expect(sha256(bytes)).toBe(sha256(archive));
  });

  it("redirects (302) to the presigned URL by default, and refuses a bad redirect value", async () => {
    const response = await app.inject({
      method: "GET",
      url: `/v1/runs/${runId}/bundle`,
      headers: bearer(auditor),
    });
    expect(response.statusCode).toBe(302);
    const location = response.headers.location;
    expect(typeof location).toBe("string");
    const download = await fetch(String(location));
    expect(download.status).toBe(200);
    const archive = await publishedBytes(runId, `${runId}.tar.gz`);
    expect(Buffer.from(await download.arrayBuffer()).equals(archive)).toBe(true);

    const bad = await app.inject({
      method: "GET",
      url: `/v1/runs/${runId}/bundle?redirect=maybe`,
      headers: bearer(auditor),
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ error: "bad_request", field: "redirect" });
    expect((await app.inject({ method: "GET", url: `/v1/runs/${runId}/bundle` })).statusCode).toBe(401);
  });
});
