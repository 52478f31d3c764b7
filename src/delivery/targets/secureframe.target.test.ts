/**
 * Secureframe through the real adapter against the FAKE Secureframe (test/fakes/secureframe.fake.ts): the
 * `KEY SECRET` header, `activity_completion` = period end, the multipart upload for small files, the
 * direct upload (stage with MD5, PUT to storage without our credentials, attach by `upload_id`) for large
 * ones, and the documented 32 MB limit as a skip with its reason.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeArtifactDirectory, makeDeliveryRun } from "../../../test/factories/delivery.factory.ts";
import { startSecureframeFake, type SecureframeFake } from "../../../test/fakes/secureframe.fake.ts";
import type { SecureframeTargetConfig } from "../../config/deliver.schema.ts";
import {
  SECUREFRAME_MAX_FILE_BYTES,
  SECUREFRAME_MULTIPART_MAX_BYTES,
  createSecureframeTarget,
  secureframeFileName,
} from "./secureframe.target.ts";

const API_KEY = `sfkey-grc-${randomUUID().slice(0, 8)}`;
const API_SECRET = `sfsecret-grc-${randomUUID()}`;
const ENV = { GRC_SF_KEY: API_KEY, GRC_SF_SECRET: API_SECRET };
const TEST_ID = randomUUID();

let fake: SecureframeFake;
let files: Awaited<ReturnType<typeof makeArtifactDirectory>>;

beforeAll(async () => {
  fake = await startSecureframeFake();
  fake.addCredentials(API_KEY, API_SECRET);
  fake.addTest(TEST_ID);
  files = await makeArtifactDirectory();
});
afterAll(async () => {
  await fake.close();
  await files.cleanup();
});

const config: () => SecureframeTargetConfig = () => ({
  name: "sf",
  type: "secureframe",
  testId: TEST_ID,
  artifacts: ["reports/*.pdf"],
  apiKeyEnv: "GRC_SF_KEY",
  apiSecretEnv: "GRC_SF_SECRET",
  baseUrl: fake.url,
});

describe("Secureframe target", () => {
  it("uploads a small file as multipart with KEY SECRET auth and activity_completion = period end", async () => {
    const run = makeDeliveryRun();
    const artifact = await files.write("reports/findings-report.pdf", `%PDF-1.7 ${randomUUID()}`);
    const from = fake.server.received.length;
    const sent = await createSecureframeTarget(config(), ENV).sendArtifact(artifact, run);
    const [request] = fake.server.received.slice(from);
    expect(request).toMatchObject({
      method: "POST",
      path: `/tests/${TEST_ID}/evidences`,
      status: 201,
      multipart: true,
    });
    expect(request?.headers.authorization).toBe(`${API_KEY} ${API_SECRET}`);
    expect(request?.query.activity_completion).toEqual(["2026-06-30"]);
    const fileName = secureframeFileName(artifact, run);
    expect(fileName).toBe(`findings-report.keyproof-${run.runId}-${artifact.sha256.slice(0, 16)}.pdf`);
    expect(request?.files.file).toMatchObject({
      name: fileName,
      type: "application/pdf",
      sha256: artifact.sha256,
    });
    const evidence = fake.evidence.find((item) => item.sha256 === artifact.sha256);
    expect(sent).toEqual({ remoteId: evidence?.id, httpStatus: 201 });
  });

  it("sends a large file through the direct upload: staged with its MD5, PUT without our credentials, attached by upload_id", async () => {
    const run = makeDeliveryRun();
    const artifact = await files.writeSized("reports/big.pdf", SECUREFRAME_MULTIPART_MAX_BYTES + 1);
    const from = fake.server.received.length;
    const sent = await createSecureframeTarget(config(), ENV).sendArtifact(artifact, run);
    const requests = fake.server.received.slice(from);
    expect(requests.map((request) => `${request.method} ${request.path} ${request.status}`)).toEqual([
      "POST /file_uploads 201",
      expect.stringMatching(/^PUT \/storage\/[^/]+ 200$/),
      `POST /tests/${TEST_ID}/evidences 201`,
    ]);
    expect(requests[0]?.query).toMatchObject({
      filename: [secureframeFileName(artifact, run)],
      byte_size: [String(artifact.sizeBytes)],
      content_type: ["application/pdf"],
    });
    expect(requests[1]?.headers.authorization).toBeUndefined();
    expect(requests[2]?.query.upload_id).toHaveLength(1);
    const evidence = fake.evidence.find((item) => item.sha256 === artifact.sha256);
    expect(evidence).toMatchObject({
      via: "upload_id",
      activityCompletion: "2026-06-30",
      sizeBytes: artifact.sizeBytes,
    });
    expect(sent).toEqual({ remoteId: evidence?.id, httpStatus: 201 });
  });

  it("skips a file above the documented 32 MB limit with the reason, sending nothing", async () => {
    const artifact = await files.writeSized("reports/huge.pdf", SECUREFRAME_MAX_FILE_BYTES + 1);
    const from = fake.server.received.length;
    const outcome = await createSecureframeTarget(config(), ENV).sendArtifact(artifact, makeDeliveryRun());
    expect(outcome).toEqual({
      skipped: true,
      reason: expect.stringMatching(/above Secureframe's documented 32 MB upload limit/),
    });
    expect(fake.server.received.length).toBe(from);
  });

  it("reads the JSON:API error body into the message", async () => {
    const artifact = await files.write("reports/unknown.pdf", `%PDF ${randomUUID()}`);
    const error = await createSecureframeTarget({ ...config(), testId: randomUUID() }, ENV)
      .sendArtifact(artifact, makeDeliveryRun())
      .catch((reason: unknown) => reason);
    expect((error as Error).message).toMatch(/HTTP 404: Not Found: Resource not found/);
  });

  it("the fake rejects what the real API rejects: wrong auth 401, neither file nor upload_id 400, non-multipart 415", async () => {
    const url = `${fake.url}/tests/${TEST_ID}/evidences`;
    expect(
      (await fetch(url, { method: "POST", headers: { authorization: `Bearer ${API_KEY}` } })).status,
    ).toBe(401);
    const authorization = `${API_KEY} ${API_SECRET}`;
    expect((await fetch(url, { method: "POST", headers: { authorization } })).status).toBe(400);
    const json = await fetch(url, {
      method: "POST",
      headers: { authorization, "content-type": "application/json" },
      body: "{}",
    });
    expect(json.status).toBe(415);
  });

  it("findSent cannot tell when evidence carries no file name (the published schema): 'unknown', never 'not there'", async () => {
    const published = await startSecureframeFake({ publishedSchema: true });
    try {
      published.addCredentials(API_KEY, API_SECRET);
      published.addTest(TEST_ID);
      const target = createSecureframeTarget({ ...config(), baseUrl: published.url }, ENV);
      const run = makeDeliveryRun();
      const artifact = await files.write("reports/published-schema.pdf", `%PDF ${randomUUID()}`);
      // No evidence at all: absence is proven.
      expect(await target.findSent?.(artifact, run)).toBeUndefined();
      await target.sendArtifact(artifact, run);
      // Now the search matches nothing, but only because the field is missing: cannot tell.
      expect(await target.findSent?.(artifact, run)).toBe("unknown");
      expect(published.evidence).toHaveLength(1);
    } finally {
      await published.close();
    }
  });
});
