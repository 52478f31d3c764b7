/**
 * Vanta through the real adapter against the FAKE Vanta (test/fakes/vanta.fake.ts): the exact requests, the
 * one-token-per-application rule (caching, single flight, one refresh on revocation, never a mint loop), the
 * token endpoint's rate limit, and submit. Each test uses its own OAuth client id, so the module-level token
 * cache starts empty for it.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeArtifactDirectory, makeDeliveryRun } from "../../../test/factories/delivery.factory.ts";
import { startVantaFake, type VantaFake } from "../../../test/fakes/vanta.fake.ts";
import type { VantaTargetConfig } from "../../config/deliver.schema.ts";
import { DeliveryError } from "../delivery-target.ts";
import { createVantaTarget } from "./vanta.target.ts";

const DOCUMENT = "encryption-key-management";

let fake: VantaFake;
let files: Awaited<ReturnType<typeof makeArtifactDirectory>>;

beforeAll(async () => {
  fake = await startVantaFake({ tokenMintsPerMinute: 100 });
  fake.addDocument(DOCUMENT);
  files = await makeArtifactDirectory();
});
afterAll(async () => {
  await fake.close();
  await files.cleanup();
});

function newClient(on: VantaFake = fake): { clientId: string; clientSecret: string; env: NodeJS.ProcessEnv } {
  const clientId = `vci_grc_${randomUUID().slice(0, 8)}`;
  const clientSecret = `vcs_grc_${randomUUID()}`;
  on.addClient(clientId, clientSecret);
  return { clientId, clientSecret, env: { GRC_VANTA_ID: clientId, GRC_VANTA_SECRET: clientSecret } };
}

function config(overrides: Partial<VantaTargetConfig> = {}, on: VantaFake = fake): VantaTargetConfig {
  return {
    name: "vanta",
    type: "vanta",
    documentId: DOCUMENT,
    artifacts: ["reports/*.pdf"],
    submit: false,
    clientIdEnv: "GRC_VANTA_ID",
    clientSecretEnv: "GRC_VANTA_SECRET",
    baseUrl: on.url,
    ...overrides,
  };
}

/** Another holder of the same application mints a token, which revokes ours. */
async function mintElsewhere(
  clientId: string,
  clientSecret: string,
  on: VantaFake = fake,
): Promise<Response> {
  return fetch(`${on.url}/oauth/token`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      client_id: clientId,
      client_secret: clientSecret,
      scope: "vanta-api.all:write",
      grant_type: "client_credentials",
    }),
  });
}

async function pdf(name: string) {
  return files.write(`reports/${name}`, `%PDF-1.7 ${randomUUID()}`);
}

describe("Vanta target", () => {
  it("mints with client credentials and uploads the file, effectiveAtDate = period end, and a matchable description", async () => {
    const { clientId, clientSecret, env } = newClient();
    const run = makeDeliveryRun();
    const artifact = await pdf("findings-report.pdf");
    const from = fake.server.received.length;
    const sent = await createVantaTarget(config(), env).sendArtifact(artifact, run);

    const requests = fake.server.received.slice(from);
    expect(requests.map((request) => `${request.method} ${request.path} ${request.status}`)).toEqual([
      "POST /oauth/token 200",
      `POST /v1/documents/${DOCUMENT}/uploads 201`,
    ]);
    const upload = fake.uploads.find((item) => item.sha256 === artifact.sha256);
    expect(sent).toEqual({ remoteId: upload?.id, httpStatus: 201 });
    expect(upload).toMatchObject({
      fileName: "findings-report.pdf",
      mimeType: "application/pdf",
      effectiveDate: "2026-06-30T00:00:00.000Z",
      clientId,
    });
    expect(upload?.description).toContain(run.runId);
    expect(upload?.description).toContain(run.period.label);
    expect(upload?.description).toContain(run.bundle.manifestSha256);
    expect(upload?.description).toContain(artifact.sha256);
    expect(requests[1]?.headers.authorization).toMatch(/^Bearer vat_/);
    expect(JSON.stringify(requests)).not.toContain(clientSecret);
  });

  it("mints one token for many uploads, and concurrent first callers share one mint", async () => {
    const { clientId, env } = newClient();
    const target = createVantaTarget(config(), env);
    const run = makeDeliveryRun();
    const artifacts = await Promise.all(["a.pdf", "b.pdf", "c.pdf", "d.pdf", "e.pdf"].map(pdf));
    await Promise.all(artifacts.map((artifact) => target.sendArtifact(artifact, run)));
    await target.sendArtifact(await pdf("f.pdf"), run);
    // A second target object in the same process (another job) reuses the same token.
    await createVantaTarget(config(), env).sendArtifact(await pdf("g.pdf"), run);
    expect(fake.mints(clientId)).toBe(1);
  });

  it("on a revoked token (another holder minted) refreshes exactly once and the retried upload succeeds", async () => {
    const { clientId, clientSecret, env } = newClient();
    const target = createVantaTarget(config(), env);
    const run = makeDeliveryRun();
    await target.sendArtifact(await pdf("before.pdf"), run);
    expect((await mintElsewhere(clientId, clientSecret)).status).toBe(200);

    const from = fake.server.received.length;
    const artifact = await pdf("after.pdf");
    const sent = await target.sendArtifact(artifact, run);
    expect(sent).toMatchObject({ httpStatus: 201 });
    expect(fake.server.received.slice(from).map((request) => `${request.path} ${request.status}`)).toEqual([
      `/v1/documents/${DOCUMENT}/uploads 401`,
      "/oauth/token 200",
      `/v1/documents/${DOCUMENT}/uploads 201`,
    ]);
    expect(fake.mints(clientId)).toBe(3);
    expect(fake.uploads.filter((item) => item.sha256 === artifact.sha256)).toHaveLength(1);
  });

  it("many calls refused with the same revoked token cause one refresh, not one each", async () => {
    const { clientId, clientSecret, env } = newClient();
    const target = createVantaTarget(config(), env);
    const run = makeDeliveryRun();
    await target.sendArtifact(await pdf("warm.pdf"), run);
    await mintElsewhere(clientId, clientSecret);
    const artifacts = await Promise.all(["p.pdf", "q.pdf", "r.pdf"].map(pdf));
    await Promise.all(artifacts.map((artifact) => target.sendArtifact(artifact, run)));
    expect(fake.mints(clientId)).toBe(3);
  });

  it("a second 401 after the refresh is a permanent error, with no further mint", async () => {
    const { clientId, env } = newClient();
    const target = createVantaTarget(config(), env);
    fake.server.failNext(2, { status: 401, body: { name: "unauthorized", message: "nope" } }, /uploads$/);
    const error = await target
      .sendArtifact(await pdf("twice.pdf"), makeDeliveryRun())
      .catch((reason: unknown) => reason);
    expect(error).toBeInstanceOf(DeliveryError);
    expect(error).toMatchObject({ status: 401, retryable: false });
    expect((error as Error).message).toMatch(/after one token refresh/);
    expect(fake.mints(clientId)).toBe(2);
  });

  it("the token endpoint's rate limit becomes a retryable error with Retry-After, not a mint loop", async () => {
    const limited = await startVantaFake({ tokenMintsPerMinute: 1 });
    try {
      limited.addDocument(DOCUMENT);
      const { clientId, clientSecret, env } = newClient(limited);
      await mintElsewhere(clientId, clientSecret, limited);
      const error = await createVantaTarget(config({}, limited), env)
        .sendArtifact(await pdf("limited.pdf"), makeDeliveryRun())
        .catch((reason: unknown) => reason);
      expect(error).toMatchObject({ status: 429, retryable: true });
      expect((error as DeliveryError).retryAfterMs).toBeGreaterThan(50_000);
      expect(limited.server.received.filter((request) => request.path === "/oauth/token")).toHaveLength(2);
    } finally {
      await limited.close();
    }
  });

  it("refused client credentials are a permanent error naming the variables, never their values", async () => {
    const { clientId } = newClient();
    const error = await createVantaTarget(config(), {
      GRC_VANTA_ID: clientId,
      GRC_VANTA_SECRET: "wrong-secret-value",
    })
      .sendArtifact(await pdf("refused.pdf"), makeDeliveryRun())
      .catch((reason: unknown) => reason);
    expect(error).toMatchObject({ status: 401, retryable: false });
    expect((error as Error).message).toContain("GRC_VANTA_SECRET");
    expect((error as Error).message).not.toContain("wrong-secret-value");
    expect((error as Error).message).not.toContain(clientId);
  });

  it("mints again after the token's lifetime instead of waiting for a 401", async () => {
    const shortLived = await startVantaFake({ tokenLifetimeSeconds: 1 });
    try {
      shortLived.addDocument(DOCUMENT);
      const { clientId, env } = newClient(shortLived);
      const target = createVantaTarget(config({}, shortLived), env);
      await target.sendArtifact(await pdf("early.pdf"), makeDeliveryRun());
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      await target.sendArtifact(await pdf("late.pdf"), makeDeliveryRun());
      expect(shortLived.mints(clientId)).toBe(2);
      expect(shortLived.server.received.filter((request) => request.status === 401)).toHaveLength(0);
    } finally {
      await shortLived.close();
    }
  });

  it("finish submits the document when submit is on, and a repeat after a crash counts as done", async () => {
    const { env } = newClient();
    const target = createVantaTarget(config({ submit: true }), env);
    const run = makeDeliveryRun();
    await target.sendArtifact(await pdf("submit.pdf"), run);
    const submitsBefore = fake.submits.length;
    expect(await target.finish?.(run, [])).toEqual({ remoteId: DOCUMENT, httpStatus: 200 });
    expect(fake.submits.length).toBe(submitsBefore + 1);
    expect(await target.finish?.(run, [])).toEqual({ remoteId: DOCUMENT, httpStatus: 422 });
    expect(fake.submits.length).toBe(submitsBefore + 1);
  });

  it("finish does nothing when submit is off", async () => {
    const { env } = newClient();
    const from = fake.server.received.length;
    expect(await createVantaTarget(config(), env).finish?.(makeDeliveryRun(), [])).toBeUndefined();
    expect(fake.server.received.length).toBe(from);
  });

  it("findSent pages through the document's uploads", async () => {
    const paged = await startVantaFake();
    try {
      paged.addDocument(DOCUMENT);
      const { env } = newClient(paged);
      const target = createVantaTarget(config({}, paged), env);
      const run = makeDeliveryRun();
      const artifacts = [];
      for (let index = 0; index < 102; index += 1)
        artifacts.push(await files.write(`reports/page-${index}.pdf`, `%PDF ${index} ${randomUUID()}`));
      for (const artifact of artifacts) await target.sendArtifact(artifact, run);
      const last = artifacts[101]!;
      const found = await target.findSent?.(last, run);
      expect(found !== "unknown" && found?.remoteId).toBe(
        paged.uploads.find((item) => item.sha256 === last.sha256)?.id,
      );
      const lists = paged.server.received.filter((request) => request.method === "GET");
      expect(lists.map((request) => request.query.pageCursor?.[0])).toEqual([undefined, "100"]);
    } finally {
      await paged.close();
    }
  });

  it("the fake rejects what the real API rejects: non-multipart 415, a file part without a type 400", async () => {
    const { clientId, clientSecret } = newClient();
    const token = (await (await mintElsewhere(clientId, clientSecret)).json()) as { access_token: string };
    const headers = { authorization: `Bearer ${token.access_token}` };
    const json = await fetch(`${fake.url}/v1/documents/${DOCUMENT}/uploads`, {
      method: "POST",
      headers: { ...headers, "content-type": "application/json" },
      body: "{}",
    });
    expect(json.status).toBe(415);
    const form = new FormData();
    form.append("description", "no file");
    const noFile = await fetch(`${fake.url}/v1/documents/${DOCUMENT}/uploads`, {
      method: "POST",
      headers,
      body: form,
    });
    expect(noFile.status).toBe(400);
  });
});
