/**
 * Shared setup of the queue and API integration tests: a unique BullMQ prefix on the real Redis, a small
 * real AWS estate seeded into moto in an account of its own (the demo seed, assumed through a role, so
 * nothing is shared with other tests), a keyproof.yaml with a fresh signing key in a temp directory, and
 * cleanup of every Redis key under the prefix.
 */
import { createHash, randomUUID } from "node:crypto";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Redis } from "ioredis";
import type { FastifyInstance } from "fastify";
import { stringify } from "yaml";
import { seedAwsDemoEstate, type SeededAwsDemoEstate } from "../../scripts/demo/seed-aws-estate.ts";
import { loadConfig, type LoadedConfig } from "../../src/config/load-config.ts";
import { byCodeUnits, hashFile, readBundleTree } from "../../src/evidence/bundle-tree.ts";
import {
  CHECKSUMS_FILE,
  MANIFEST_FILE,
  OSCAL_ASSESSMENT_RESULTS_FILE,
  SIGNATURE_FILE,
} from "../../src/evidence/paths.ts";
import { buildApiServer } from "../../src/api/api-server.ts";
import { ApiTokenStore } from "../../src/auth/api-tokens.ts";
import { API_ACCESS_LOG_FILE } from "../../src/jobs/queue/access-log.ts";
import { QueueClient } from "../../src/jobs/queue/queue-client.ts";
import { runJobsOf } from "../../src/jobs/queue/run-flow.ts";
import { startWorkerRuntime, type WorkerRuntime } from "../../src/jobs/queue/worker-runtime.ts";
import type { DateRange } from "../../src/model/snapshot.ts";
import { generateSigningKey } from "../../src/signing/keygen.ts";
import { parseRange } from "../../src/time/date-range.ts";
import { startRelay, type Relay } from "../support/relay.ts";

export const AWS_ENDPOINT = process.env.KEYPROOF_TEST_AWS_ENDPOINT ?? "http://127.0.0.1:5000";
export const REDIS_URL = process.env.KEYPROOF_TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
/** A short range keeps the seeded CloudTrail log files few. */
export const TEST_RANGE: DateRange = parseRange("2026-07-01", "2026-07-06");
/**
 * The pinned capture time of the test runs: the start of the current UTC hour, fixed for the whole test
 * file (so inline and queued runs agree), and recent, because `verify` rejects a signature whose signedAt
 * (the real signing time) lies more than 24 hours outside the capture window.
 */
export const CAPTURED_AT = new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000);
export const fixedClock = (): Date => CAPTURED_AT;

/** The provider chain the workers use reads these; moto accepts any credentials. */
export function useEmulatorCredentials(): void {
  process.env.AWS_ACCESS_KEY_ID ??= "test";
  process.env.AWS_SECRET_ACCESS_KEY ??= "test";
  process.env.AWS_REGION ??= "us-east-1";
}

export function uniquePrefix(label: string): string {
  return `kpt-${label}-${randomUUID().slice(0, 8)}`;
}

export function freshAccountRoleArn(): string {
  const account = `6${String(Math.floor(Math.random() * 1e11)).padStart(11, "0")}`;
  return `arn:aws:iam::${account}:role/keyproof-audit`;
}

export interface TestEstate {
  estate: SeededAwsDemoEstate;
  directory: string;
  loaded: LoadedConfig;
  configFile: string;
}

/** Seeds the demo estate in a fresh account and writes a config + signing key for it. */
export async function prepareEstate(
  options: { sourceOverrides?: Record<string, unknown>; configExtra?: Record<string, unknown> } = {},
): Promise<TestEstate> {
  useEmulatorCredentials();
  const suffix = `q${randomUUID().slice(0, 8)}`;
  const estate = await seedAwsDemoEstate({
    endpoint: AWS_ENDPOINT,
    suffix,
    quarter: TEST_RANGE,
    roleArn: freshAccountRoleArn(),
  });
  const directory = await mkdtemp(path.join(tmpdir(), "keyproof-queue-"));
  await generateSigningKey(path.join(directory, "signing.pem"));
  const configFile = path.join(directory, "keyproof.yaml");
  await writeFile(
    configFile,
    stringify({
      organization: "Queue Test Corp",
      sources: [{ ...estate.source, ...(options.sourceOverrides ?? {}) }],
      keys: estate.inventory,
      signing: { localKeyFile: "./signing.pem" },
      ...(options.configExtra ?? {}),
    }),
  );
  return { estate, directory, loaded: await loadConfig(configFile), configFile };
}

export async function removeDirectory(directory: string | undefined): Promise<void> {
  if (directory !== undefined) await rm(directory, { recursive: true, force: true });
}

/** The API server over real Redis with in-process collect/seal/deliver workers and two tokens. */
export interface ApiHarness {
  client: QueueClient;
  runtime: WorkerRuntime;
  app: FastifyInstance;
  tokens: ApiTokenStore;
  auditor: string;
  operator: string;
  /** Closes server, workers and connections, deletes the prefix's keys and the estate's directory. */
  close(): Promise<void>;
}

export async function startApiHarness(setup: TestEstate, prefix: string): Promise<ApiHarness> {
  const client = QueueClient.connect(REDIS_URL, prefix);
  const runtime = await startWorkerRuntime({
    redisUrl: REDIS_URL,
    prefix,
    queues: ["collect", "seal", "deliver"],
  });
  const tokens = new ApiTokenStore(client.redis, prefix);
  const auditor = (await tokens.create({ name: "jane-auditor", role: "auditor" })).token;
  const operator = (await tokens.create({ name: "ops", role: "operator" })).token;
  const app = await buildApiServer({
    client,
    service: {
      config: setup.loaded.config,
      configDirectory: setup.loaded.directory,
      dataDirectory: path.join(setup.directory, "data"),
      render: false,
    },
  });
  return {
    client,
    runtime,
    app,
    tokens,
    auditor,
    operator,
    async close() {
      await app.close();
      await runtime.close();
      await client.close();
      await cleanupPrefix(REDIS_URL, prefix);
      await removeDirectory(setup.directory);
    },
  };
}

/** Deletes every key under the prefix (BullMQ's and keyproof's). */
export async function cleanupPrefix(redisUrl: string, prefix: string): Promise<void> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 3 });
  try {
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== "0");
  } finally {
    await redis.quit().catch(() => undefined);
  }
}

/**
 * moto's GetTrailStatus answers the wall-clock time of the call as the trail's latest delivery, so two runs
 * a second apart (even two inline runs) differ there and nowhere else. Only these fields are blanked.
 */
const EMULATOR_CLOCK_FIELDS = new Set([
  "LatestDeliveryTime",
  "LatestDeliveryAttemptTime",
  "latestDeliveryTime",
]);

function withoutEmulatorClock(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutEmulatorClock);
  if (typeof value !== "object" || value === null) return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, inner]) => [
      key,
      EMULATOR_CLOCK_FIELDS.has(key) ? "(emulator clock)" : withoutEmulatorClock(inner),
    ]),
  );
}

/**
 * SHA-256 of every data file of a bundle directory, by path. Manifest and signature are left out (they
 * name the signer, which differs between runs), and so is the API access log only the queued path writes,
 * and SHA256SUMS, which lists that log (and the raw logging.json).
 * `logging.json` files are hashed after blanking the emulator's wall-clock fields (see above). Rendered
 * views (screenshots/, reports/) are not data files: they cite the digests of the exports they show,
 * logging.json's included, so they differ wherever the emulator clock does; `renderedFiles` lists them.
 */
export async function dataFileDigests(bundleDirectory: string): Promise<Map<string, string>> {
  const tree = await readBundleTree(bundleDirectory);
  const digests = new Map<string, string>();
  for (const file of [...tree.files].sort(byCodeUnits)) {
    if (file === MANIFEST_FILE || file === SIGNATURE_FILE || file === API_ACCESS_LOG_FILE) continue;
    if (file === CHECKSUMS_FILE) continue;
    // The OSCAL document lists every file's digest, rendered views and the queued run's access log
    // included, so it differs wherever they do; its own content is asserted in the tests that read it.
    if (file === OSCAL_ASSESSMENT_RESULTS_FILE) continue;
    if (isRendered(file)) continue;
    const absolute = path.join(bundleDirectory, file);
    if (file.endsWith("/logging.json")) {
      const normalized = JSON.stringify(withoutEmulatorClock(await readJson<unknown>(absolute)));
      digests.set(file, `normalized:${createHash("sha256").update(normalized).digest("hex")}`);
    } else {
      digests.set(file, (await hashFile(absolute)).sha256);
    }
  }
  return digests;
}

function isRendered(file: string): boolean {
  return file.startsWith("screenshots/") || file.startsWith("reports/");
}

/** Paths of the rendered screenshots and reports of a bundle directory, sorted. */
export async function renderedFiles(bundleDirectory: string): Promise<string[]> {
  return (await readBundleTree(bundleDirectory)).files.filter(isRendered).sort(byCodeUnits);
}

export async function readJson<T>(file: string): Promise<T> {
  return JSON.parse(await readFile(file, "utf8")) as T;
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 30_000,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/**
 * Starts an unrendered run of the test estate into `outDirectory`, as `keyproof run` does, and returns its
 * id with the ids of its collect-step jobs (known before any worker runs).
 */
export async function startEstateRun(
  client: QueueClient,
  setup: TestEstate,
  outDirectory: string,
): Promise<{ runId: string; collectIds: string[] }> {
  const started = await client.startRun({
    config: setup.loaded.config,
    configDirectory: setup.loaded.directory,
    outDirectory,
    range: TEST_RANGE,
    render: false,
    request: { origin: "cli" },
  });
  const record = await client.runs.get(started.runId);
  if (record === undefined) throw new Error("no run record");
  const collectIds = runJobsOf(record.plan)
    .filter((job) => job.step === "collect")
    .map((job) => job.jobId);
  return { runId: started.runId, collectIds };
}

/** Resolves once one of these collect-queue jobs is active: a worker is in the middle of collecting. */
export async function waitForActiveCollectJob(client: QueueClient, jobIds: readonly string[]): Promise<void> {
  await waitFor("a collect job in flight", async () => {
    const states = await Promise.all(jobIds.map((id) => client.queue("collect").getJobState(id)));
    return states.includes("active") ? true : undefined;
  });
}

/** Forwards every request to `upstream` after `delayMs`: makes collection slow enough to interrupt it mid-run. */
export async function startDelayProxy(upstream: string, delayMs: number): Promise<Relay> {
  return startRelay(upstream, { delayMs });
}

export interface WorkerProcess {
  child: ChildProcess;
  output: () => string;
  /** Resolves with the exit code (or signal name) when the process group has exited. */
  exited: Promise<number | string>;
}

/**
 * A worker as its own process: `npx tsx workers/<kind>.worker.ts`, in its own process group so a kill
 * reaches the node process npx starts (killing only npx would orphan it).
 */
export function spawnWorker(kind: string, env: Record<string, string>): WorkerProcess {
  const child = spawn("npx", ["tsx", `workers/${kind}.worker.ts`], {
    cwd: REPOSITORY_ROOT,
    // Its own data directory unless the test gives one: a worker's scratch (S3 work store) and scheduled
    // runs default to ./evidence, which must never appear in the checkout.
    env: {
      KEYPROOF_DATA_DIR: path.join(tmpdir(), `keyproof-worker-${randomUUID()}`),
      ...process.env,
      ...env,
    },
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
  const exited = new Promise<number | string>((resolve) =>
    child.once("exit", (code, signal) => resolve(code ?? signal ?? "unknown")),
  );
  return { child, output: () => output, exited };
}

/** Signals the worker's whole process group (npx and the node process it started). */
export function signalWorker(worker: WorkerProcess, signal: NodeJS.Signals): void {
  if (worker.child.pid !== undefined && worker.child.exitCode === null) {
    try {
      process.kill(-worker.child.pid, signal);
    } catch {
      // Already gone.
    }
  }
}

export async function waitForWorkerReady(worker: WorkerProcess, timeoutMs = 30_000): Promise<void> {
  await waitFor(
    `worker ready (output so far: ${worker.output().slice(-500)})`,
    async () => (worker.output().includes('"msg":"ready"') ? true : undefined),
    timeoutMs,
    100,
  );
}

export const REPOSITORY_ROOT = path.resolve(import.meta.dirname, "../..");
