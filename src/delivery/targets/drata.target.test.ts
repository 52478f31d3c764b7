/**
 * Drata through the real adapter against the FAKE Drata (test/fakes/drata.fake.ts): the exact v1 multipart
 * fields, the renewal derived from the schedule, the documented 25 MB limit (skipped with a reason, never
 * truncated), 413 from the platform, 412 before the API terms are accepted, and Drata's error body.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeArtifactDirectory, makeDeliveryRun } from "../../../test/factories/delivery.factory.ts";
import { startDrataFake, type DrataFake } from "../../../test/fakes/drata.fake.ts";
import type { DrataTargetConfig } from "../../config/deliver.schema.ts";
import { DeliveryError } from "../delivery-target.ts";
import { DRATA_MAX_FILE_BYTES, addMonths, createDrataTarget, drataRenewal } from "./drata.target.ts";

const API_KEY = `drata-grc-${randomUUID()}`;
const ENV = { GRC_DRATA_KEY: API_KEY };

let fake: DrataFake;
let files: Awaited<ReturnType<typeof makeArtifactDirectory>>;

beforeAll(async () => {
  fake = await startDrataFake({ maxFileBytes: 4096 });
  fake.addApiKey(API_KEY);
  fake.addWorkspace(1);
  files = await makeArtifactDirectory();
});
afterAll(async () => {
  await fake.close();
  await files.cleanup();
});

function config(overrides: Partial<DrataTargetConfig> = {}): DrataTargetConfig {
  return {
    name: "drata",
    type: "drata",
    workspaceId: 1,
    controlIds: [42, 43],
    ownerId: 7,
    artifacts: ["reports/*.pdf"],
    apiKeyEnv: "GRC_DRATA_KEY",
    baseUrl: fake.url,
    ...overrides,
  };
}

describe("Drata target", () => {
  it("creates one evidence-library item with every required v1 field", async () => {
    const run = makeDeliveryRun();
    const artifact = await files.write("reports/findings-report.pdf", `%PDF-1.7 ${randomUUID()}`);
    const from = fake.server.received.length;
    const sent = await createDrataTarget(config(), ENV).sendArtifact(artifact, run);

    const [request] = fake.server.received.slice(from);
    expect(request).toMatchObject({
      method: "POST",
      path: "/public/workspaces/1/evidence-library",
      status: 201,
    });
    expect(request?.headers.authorization).toBe(`Bearer ${API_KEY}`);
    expect(request?.fields).toMatchObject({
      name: [`keyproof 2026-Q2 reports/findings-report.pdf`],
      renewalDate: ["2026-09-30"],
      renewalScheduleType: ["THREE_MONTHS"],
      source: ["S3_FILE"],
      filedAt: ["2026-06-30T00:00:00.000Z"],
      ownerId: ["7"],
      controlIds: ["42", "43"],
    });
    expect(request?.fields.description?.[0]).toContain(run.runId);
    expect(request?.fields.description?.[0]).toContain(run.bundle.manifestSha256);
    expect(request?.fields.description?.[0]).toContain(artifact.sha256);
    expect(request?.files.file).toMatchObject({
      name: "findings-report.pdf",
      type: "application/pdf",
      sha256: artifact.sha256,
    });
    const item = fake.evidence.find((evidence) => evidence.file?.sha256 === artifact.sha256);
    expect(sent).toEqual({ remoteId: String(item?.id), httpStatus: 201 });
  });

  it("derives the renewal from the schedule that produced the run; on-demand runs renew on no cadence", () => {
    const base = makeDeliveryRun();
    const withPeriod = (period: string) =>
      makeDeliveryRun({ schedule: { name: "s", cron: "0 6 1 * *", period } });
    expect(drataRenewal(withPeriod("previous-month"))).toEqual({
      renewalScheduleType: "ONE_MONTH",
      renewalDate: "2026-07-30",
    });
    expect(drataRenewal(withPeriod("previous-quarter"))).toEqual({
      renewalScheduleType: "THREE_MONTHS",
      renewalDate: "2026-09-30",
    });
    expect(drataRenewal(withPeriod("previous-year"))).toEqual({
      renewalScheduleType: "ONE_YEAR",
      renewalDate: "2027-06-30",
    });
    const { schedule: _schedule, ...onDemand } = base;
    expect(drataRenewal(onDemand)).toEqual({ renewalScheduleType: "NONE", renewalDate: "2026-09-30" });
    expect(addMonths("2026-01-31", 1)).toBe("2026-02-28");
    expect(addMonths("2027-12-31", 2)).toBe("2028-02-29");
  });

  it("skips a file above Drata's documented 25 MB limit with the reason, sending nothing", async () => {
    const artifact = await files.writeSized("screenshots/huge.png", DRATA_MAX_FILE_BYTES + 1, "image/png");
    const from = fake.server.received.length;
    const outcome = await createDrataTarget(config(), ENV).sendArtifact(artifact, makeDeliveryRun());
    expect(outcome).toEqual({
      skipped: true,
      reason: expect.stringMatching(/above Drata's documented 25 MB per-file limit/),
    });
    expect(fake.server.received.length).toBe(from);
  });

  it("records a 413 from the platform as a skip with the reason, not a failure", async () => {
    const artifact = await files.write("reports/large.pdf", Buffer.alloc(8192, 1));
    const outcome = await createDrataTarget(config(), ENV).sendArtifact(artifact, makeDeliveryRun());
    expect(outcome).toMatchObject({ skipped: true });
    expect((outcome as { reason: string }).reason).toMatch(
      /refused as too large: .*HTTP 413: File too large \(code 41300\)/,
    );
  });

  it("412 (API terms not accepted) is permanent and says what to do", async () => {
    fake.setTermsAccepted(false);
    try {
      const artifact = await files.write("reports/terms.pdf", `%PDF ${randomUUID()}`);
      const error = await createDrataTarget(config(), ENV)
        .sendArtifact(artifact, makeDeliveryRun())
        .catch((reason: unknown) => reason);
      expect(error).toBeInstanceOf(DeliveryError);
      expect(error).toMatchObject({ status: 412, retryable: false });
      expect((error as Error).message).toMatch(/accept Drata's API terms/);
    } finally {
      fake.setTermsAccepted(true);
    }
  });

  it("reads Drata's error body {statusCode, message, code} into the message", async () => {
    const artifact = await files.write("reports/ws.pdf", `%PDF ${randomUUID()}`);
    const error = await createDrataTarget(config({ workspaceId: 404 }), ENV)
      .sendArtifact(artifact, makeDeliveryRun())
      .catch((reason: unknown) => reason);
    expect((error as Error).message).toMatch(/HTTP 404: Workspace not found \(code 40401\)/);
  });

  it("the fake rejects what the real API rejects: non-multipart 415, a missing required field 400", async () => {
    const headers = { authorization: `Bearer ${API_KEY}` };
    const url = `${fake.url}/public/workspaces/1/evidence-library`;
    const json = await fetch(url, {
      method: "POST",
      headers: { ...headers, "content-type": "application/json" },
      body: "{}",
    });
    expect(json.status).toBe(415);
    const form = new FormData();
    form.append("name", "only a name");
    const missing = await fetch(url, { method: "POST", headers, body: form });
    expect(missing.status).toBe(400);
    expect(await missing.json()).toMatchObject({
      statusCode: 400,
      message: expect.stringMatching(/renewalDate/),
    });
  });
});
