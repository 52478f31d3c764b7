/**
 * One contract for every GRC DeliveryTarget (issue 14): the same behaviours run against Vanta, Drata and
 * Secureframe, each driven through its real adapter against its local FAKE (test/fakes/*.fake.ts); only the
 * factory differs. The orchestrator relies on exactly these: a sent artifact arrives byte for byte and comes
 * back with the platform's id; `findSent` recognises it later (and nothing else); 429 with Retry-After and
 * 5xx are retryable with the delay; other 4xx and a missing credential are permanent; a network failure is
 * retryable; no credential ever appears in an error.
 */
import { randomUUID } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { DeliveryTarget } from "../../src/delivery/delivery-target.ts";
import { DeliveryError } from "../../src/delivery/delivery-target.ts";
import { createDrataTarget } from "../../src/delivery/targets/drata.target.ts";
import { createSecureframeTarget } from "../../src/delivery/targets/secureframe.target.ts";
import { createVantaTarget } from "../../src/delivery/targets/vanta.target.ts";
import { makeArtifactDirectory, makeDeliveryRun } from "../factories/delivery.factory.ts";
import { startDrataFake } from "../fakes/drata.fake.ts";
import type { GrcFakeServer } from "../fakes/grc-fake-http.ts";
import { startSecureframeFake } from "../fakes/secureframe.fake.ts";
import { startVantaFake } from "../fakes/vanta.fake.ts";

const CLOSED_PORT_URL = "http://127.0.0.1:9";

interface TargetUnderContract {
  target: DeliveryTarget;
  server: GrcFakeServer;
  /** Matches `METHOD path` of the upload call, for injected failures. */
  uploadCall: RegExp;
  /** Every credential value the target was given. */
  secrets: string[];
  /** SHA-256 of every file the platform holds. */
  storedDigests(): string[];
  /** The same target without one of its credential variables, and that variable's name. */
  withoutCredential(): { target: DeliveryTarget; variable: string };
  /** A target whose destination (document, workspace, test) does not exist on the platform. */
  unknownDestination(): DeliveryTarget;
  /** A target of the same type whose host cannot be reached. */
  unreachable(): DeliveryTarget;
  close(): Promise<void>;
}

interface ContractFactory {
  name: string;
  create(): Promise<TargetUnderContract>;
}

const factories: ContractFactory[] = [
  {
    name: "vanta",
    async create() {
      const fake = await startVantaFake();
      const clientId = `vci_grc_${randomUUID().slice(0, 8)}`;
      const clientSecret = `vcs_grc_${randomUUID()}`;
      fake.addClient(clientId, clientSecret);
      fake.addDocument("encryption-key-management");
      const env = { GRC_VANTA_ID: clientId, GRC_VANTA_SECRET: clientSecret };
      const config = (documentId: string, baseUrl = fake.url) => ({
        name: "vanta",
        type: "vanta" as const,
        documentId,
        artifacts: ["reports/*.pdf"],
        submit: false,
        clientIdEnv: "GRC_VANTA_ID",
        clientSecretEnv: "GRC_VANTA_SECRET",
        baseUrl,
      });
      return {
        target: createVantaTarget(config("encryption-key-management"), env),
        server: fake.server,
        uploadCall: /^POST \/v1\/documents\/[^/]+\/uploads$/,
        secrets: [clientId, clientSecret],
        storedDigests: () => fake.uploads.map((upload) => upload.sha256),
        withoutCredential: () => ({
          target: createVantaTarget(config("encryption-key-management"), { GRC_VANTA_ID: clientId }),
          variable: "GRC_VANTA_SECRET",
        }),
        unknownDestination: () => createVantaTarget(config("no-such-document"), env),
        unreachable: () => createVantaTarget(config("encryption-key-management", CLOSED_PORT_URL), env),
        close: () => fake.close(),
      };
    },
  },
  {
    name: "drata",
    async create() {
      const fake = await startDrataFake();
      const apiKey = `drata-grc-${randomUUID()}`;
      fake.addApiKey(apiKey);
      fake.addWorkspace(1);
      const env = { GRC_DRATA_KEY: apiKey };
      const config = (workspaceId: number, baseUrl = fake.url) => ({
        name: "drata",
        type: "drata" as const,
        workspaceId,
        controlIds: [42],
        ownerId: 7,
        artifacts: ["reports/*.pdf"],
        apiKeyEnv: "GRC_DRATA_KEY",
        baseUrl,
      });
      return {
        target: createDrataTarget(config(1), env),
        server: fake.server,
        uploadCall: /^POST \/public\/workspaces\/[^/]+\/evidence-library$/,
        secrets: [apiKey],
        storedDigests: () =>
          fake.evidence.flatMap((item) => (item.file === undefined ? [] : [item.file.sha256])),
        withoutCredential: () => ({ target: createDrataTarget(config(1), {}), variable: "GRC_DRATA_KEY" }),
        unknownDestination: () => createDrataTarget(config(999), env),
        unreachable: () => createDrataTarget(config(1, CLOSED_PORT_URL), env),
        close: () => fake.close(),
      };
    },
  },
  {
    name: "secureframe",
    async create() {
      const fake = await startSecureframeFake();
      const apiKey = `sfkey-grc-${randomUUID().slice(0, 8)}`;
      const apiSecret = `sfsecret-grc-${randomUUID()}`;
      fake.addCredentials(apiKey, apiSecret);
      const testId = randomUUID();
      fake.addTest(testId);
      const env = { GRC_SF_KEY: apiKey, GRC_SF_SECRET: apiSecret };
      const config = (id: string, baseUrl = fake.url) => ({
        name: "sf",
        type: "secureframe" as const,
        testId: id,
        artifacts: ["reports/*.pdf"],
        apiKeyEnv: "GRC_SF_KEY",
        apiSecretEnv: "GRC_SF_SECRET",
        baseUrl,
      });
      return {
        target: createSecureframeTarget(config(testId), env),
        server: fake.server,
        uploadCall: /^POST \/tests\/[^/]+\/evidences$/,
        secrets: [apiKey, apiSecret],
        storedDigests: () => fake.evidence.map((item) => item.sha256),
        withoutCredential: () => ({
          target: createSecureframeTarget(config(testId), { GRC_SF_KEY: apiKey }),
          variable: "GRC_SF_SECRET",
        }),
        unknownDestination: () => createSecureframeTarget(config(randomUUID()), env),
        unreachable: () => createSecureframeTarget(config(testId, CLOSED_PORT_URL), env),
        close: () => fake.close(),
      };
    },
  },
];

async function caught(promise: Promise<unknown>): Promise<DeliveryError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(DeliveryError);
  return error as DeliveryError;
}

describe.each(factories)("DeliveryTarget contract: $name", (factory) => {
  let under: TargetUnderContract;
  let files: Awaited<ReturnType<typeof makeArtifactDirectory>>;

  beforeAll(async () => {
    under = await factory.create();
    files = await makeArtifactDirectory();
  });
  afterAll(async () => {
    await under.close();
    await files.cleanup();
  });
  afterEach(() => {
    // An injected failure a test did not use must not leak into the next one.
    under.server.clearFailures();
  });

  it("sends an artifact byte for byte and returns the platform's id and a 2xx status", async () => {
    const artifact = await files.write("reports/findings-report.pdf", `%PDF-1.7 ${randomUUID()}`);
    const sent = await under.target.sendArtifact(artifact, makeDeliveryRun());
    expect(sent).toMatchObject({ remoteId: expect.any(String) });
    expect("skipped" in sent).toBe(false);
    if (!("skipped" in sent)) expect(sent.httpStatus).toBeGreaterThanOrEqual(200);
    expect(under.storedDigests()).toContain(artifact.sha256);
  });

  it("findSent finds an upload made earlier for the same run and artifact, and nothing for another run", async () => {
    const run = makeDeliveryRun();
    const artifact = await files.write("reports/key-inventory.pdf", `%PDF-1.7 ${randomUUID()}`);
    expect(await under.target.findSent?.(artifact, run)).toBeUndefined();
    const sent = await under.target.sendArtifact(artifact, run);
    expect("remoteId" in sent).toBe(true);
    const found = await under.target.findSent?.(artifact, run);
    expect(found !== "unknown" && found?.remoteId).toBe((sent as { remoteId: string }).remoteId);
    expect(await under.target.findSent?.(artifact, makeDeliveryRun())).toBeUndefined();
  });

  it("turns 429 with Retry-After into a retryable error with the delay, and a later attempt succeeds", async () => {
    const artifact = await files.write("reports/rotation.pdf", `%PDF-1.7 ${randomUUID()}`);
    under.server.failNext(
      1,
      { status: 429, body: { message: "slow down" }, headers: { "retry-after": "7" } },
      under.uploadCall,
    );
    const error = await caught(under.target.sendArtifact(artifact, makeDeliveryRun()));
    expect(error).toMatchObject({ status: 429, retryable: true, retryAfterMs: 7000 });
    expect(under.storedDigests()).not.toContain(artifact.sha256);
    await under.target.sendArtifact(artifact, makeDeliveryRun());
    expect(under.storedDigests()).toContain(artifact.sha256);
  });

  it("turns 5xx into a retryable error", async () => {
    const artifact = await files.write("reports/logging.pdf", `%PDF-1.7 ${randomUUID()}`);
    under.server.failNext(1, { status: 503, body: { message: "unavailable" } }, under.uploadCall);
    const error = await caught(under.target.sendArtifact(artifact, makeDeliveryRun()));
    expect(error).toMatchObject({ status: 503, retryable: true });
  });

  it("turns other 4xx into a permanent error that says what was refused", async () => {
    const artifact = await files.write("reports/access.pdf", `%PDF-1.7 ${randomUUID()}`);
    const error = await caught(under.unknownDestination().sendArtifact(artifact, makeDeliveryRun()));
    expect(error).toMatchObject({ status: 404, retryable: false });
    expect(error.message).toMatch(/HTTP 404/);
  });

  it("refuses permanently, naming the variable, when a credential is missing, and sends nothing", async () => {
    const artifact = await files.write("reports/missing.pdf", `%PDF-1.7 ${randomUUID()}`);
    const before = under.server.received.length;
    const { target, variable } = under.withoutCredential();
    const error = await caught(target.sendArtifact(artifact, makeDeliveryRun()));
    expect(error.retryable).toBe(false);
    expect(error.message).toContain(variable);
    expect(under.server.received.length).toBe(before);
  });

  it("treats an unreachable host as retryable with no status", async () => {
    const artifact = await files.write("reports/unreachable.pdf", `%PDF-1.7 ${randomUUID()}`);
    const error = await caught(under.unreachable().sendArtifact(artifact, makeDeliveryRun()));
    expect(error).toMatchObject({ status: undefined, retryable: true });
  });

  it("never puts a credential in an error, even when the platform echoes it back", async () => {
    const artifact = await files.write("reports/echo.pdf", `%PDF-1.7 ${randomUUID()}`);
    const echo = `refused: ${under.secrets.join(" / ")}`;
    under.server.failNext(
      1,
      { status: 400, body: { message: echo, errors: [{ title: "Bad", detail: echo }] } },
      under.uploadCall,
    );
    const error = await caught(under.target.sendArtifact(artifact, makeDeliveryRun()));
    const text = `${error.message} ${String(error.cause ?? "")} ${JSON.stringify(error)}`;
    for (const secret of under.secrets) expect(text).not.toContain(secret);
    expect(text).not.toMatch(/vat_[0-9a-f]{32}/);
    expect(error.message).toContain("[redacted]");
  });
});
