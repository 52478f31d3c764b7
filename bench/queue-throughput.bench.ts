/**
 * Queue throughput: 1,000 KMS keys collected through the BullMQ pipeline by 1, 2 and 4 collect-worker
 * processes, printing keys per second and each worker's peak memory. No assertions: figures only.
 *
 *   npx tsx bench/queue-throughput.bench.ts            (moto at KEYPROOF_TEST_AWS_ENDPOINT, Redis at KEYPROOF_TEST_REDIS_URL)
 *   npx tsx bench/queue-throughput.bench.ts --keys 200 --workers 1,4 --layout spread --batch-size 50 \
 *     --location-concurrency 4 --worker-concurrency 1
 *
 * moto answers from one Python process, so with it the emulator, not keyproof, sets the ceiling; the
 * whole default bench takes about 15 minutes against a moto shared with other tests.
 *
 * Two estates, each in an emulator account of its own (moto keeps state per account; nothing shared):
 * - "1 region":  1,000 keys in one dedicated region. The region is listed once and described in batches of
 *   `--batch-size` keys (queue.keyBatchSize, default here 100), at most `--location-concurrency`
 *   (queue.locationConcurrency, default 4) at once: what more workers buy within one large location.
 * - "4 regions": the same 1,000 keys spread over four regions (250 each): locations and batches to spread.
 * Workers are separate processes (`npx tsx workers/collect.worker.ts`); one more process serves the seal
 * and deliver queues and is not counted. Peak memory is the kernel's high-water mark of resident memory
 * (VmHWM in /proc/<pid>/status, Linux) of each worker's node process, read just before it is stopped.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { CreateKeyCommand, KMSClient } from "@aws-sdk/client-kms";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { fromTemporaryCredentials } from "@aws-sdk/credential-providers";
import { Redis } from "ioredis";
import { stringify } from "yaml";
import { loadConfig } from "../src/config/load-config.ts";
import { QueueClient } from "../src/jobs/queue/queue-client.ts";
import { followRun } from "../src/jobs/run-queued.ts";
import { generateSigningKey } from "../src/signing/keygen.ts";
import { parseRange } from "../src/time/date-range.ts";

const ENDPOINT = process.env.KEYPROOF_TEST_AWS_ENDPOINT ?? "http://127.0.0.1:5000";
const REDIS_URL = process.env.KEYPROOF_TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
const ROOT = path.resolve(import.meta.dirname, "..");
function argument(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  return index === -1 ? undefined : process.argv[index + 1];
}
const KEY_COUNT = Number(argument("keys") ?? 1000);
const WORKER_COUNTS = (argument("workers") ?? "1,2,4").split(",").map(Number);
/** `single` (one region), `spread` (four regions) or `both`. */
const LAYOUT = argument("layout") ?? "both";
const BATCH_SIZE = Number(argument("batch-size") ?? 100);
const LOCATION_CONCURRENCY = Number(argument("location-concurrency") ?? 4);
/** Collect jobs at once per worker process (KEYPROOF_WORKER_CONCURRENCY); unset = the worker's default, 4. */
const WORKER_CONCURRENCY = argument("worker-concurrency");
const EMULATOR_CREDENTIALS = { accessKeyId: "test", secretAccessKey: "test" };

interface Estate {
  label: string;
  roleArn: string;
  regions: string[];
  bucket: string;
}

function freshRoleArn(): string {
  return `arn:aws:iam::5${String(Math.floor(Math.random() * 1e11)).padStart(11, "0")}:role/keyproof-bench`;
}

function credentialsFor(roleArn: string, region: string) {
  return fromTemporaryCredentials({
    masterCredentials: EMULATOR_CREDENTIALS,
    params: { RoleArn: roleArn, RoleSessionName: "keyproof-bench-seed" },
    clientConfig: { endpoint: ENDPOINT, region },
  });
}

async function inBatches<T>(items: T[], size: number, run: (item: T) => Promise<unknown>): Promise<void> {
  for (let index = 0; index < items.length; index += size)
    await Promise.all(items.slice(index, index + size).map(run));
}

async function seedEstate(label: string, regions: string[]): Promise<Estate> {
  const roleArn = freshRoleArn();
  const bucket = `keyproof-bench-${randomUUID().slice(0, 8)}`;
  const first = regions[0] ?? "us-east-1";
  const s3 = new S3Client({
    endpoint: ENDPOINT,
    region: first,
    credentials: credentialsFor(roleArn, first),
    forcePathStyle: true,
  });
  // An empty trail bucket: usage extraction reads it (no events) instead of LookupEvents, which moto lacks.
  await s3.send(
    new CreateBucketCommand({
      Bucket: bucket,
      ...(first === "us-east-1" ? {} : { CreateBucketConfiguration: { LocationConstraint: first as never } }),
    }),
  );
  s3.destroy();
  const perRegion = Math.ceil(KEY_COUNT / regions.length);
  for (const region of regions) {
    const kms = new KMSClient({ endpoint: ENDPOINT, region, credentials: credentialsFor(roleArn, region) });
    const count = Math.min(perRegion, KEY_COUNT - regions.indexOf(region) * perRegion);
    await inBatches(
      Array.from({ length: count }, (_, index) => index),
      25,
      (index) =>
        kms.send(
          new CreateKeyCommand({
            KeyUsage: "ENCRYPT_DECRYPT",
            KeySpec: "SYMMETRIC_DEFAULT",
            Description: `bench key ${index}`,
          }),
        ),
    );
    kms.destroy();
  }
  return { label, roleArn, regions, bucket };
}

interface WorkerHandle {
  child: ChildProcess;
  output: string;
  exited: Promise<unknown>;
}

/** Workers still running, so an interrupted bench (Ctrl-C, timeout) does not leave them behind. */
const liveWorkers = new Set<WorkerHandle>();
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    for (const handle of liveWorkers) {
      if (handle.child.pid !== undefined) {
        try {
          process.kill(-handle.child.pid, "SIGKILL");
        } catch {
          // Already gone.
        }
      }
    }
    process.exit(130);
  });
}

function startWorker(kind: string, prefix: string): WorkerHandle {
  const child = spawn("npx", ["tsx", `workers/${kind}.worker.ts`], {
    cwd: ROOT,
    env: {
      ...process.env,
      REDIS_URL,
      KEYPROOF_QUEUE_PREFIX: prefix,
      ...(WORKER_CONCURRENCY === undefined ? {} : { KEYPROOF_WORKER_CONCURRENCY: WORKER_CONCURRENCY }),
      AWS_ACCESS_KEY_ID: "test",
      AWS_SECRET_ACCESS_KEY: "test",
    },
    detached: true,
    stdio: ["ignore", "ignore", "pipe"],
  });
  const handle: WorkerHandle = {
    child,
    output: "",
    exited: new Promise((resolve) => child.once("exit", resolve)),
  };
  child.stderr?.on("data", (chunk: Buffer) => (handle.output += chunk.toString("utf8")));
  return handle;
}

async function until(what: string, probe: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The worker's own node process id, from its first log line. */
function workerPid(handle: WorkerHandle): number {
  return Number(/"pid":(\d+)/.exec(handle.output)?.[1] ?? 0);
}

async function peakResidentMegabytes(pid: number): Promise<number | undefined> {
  try {
    const status = await readFile(`/proc/${pid}/status`, "utf8");
    const kilobytes = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1]);
    return Number.isFinite(kilobytes) ? kilobytes / 1024 : undefined;
  } catch {
    return undefined;
  }
}

async function stop(handle: WorkerHandle): Promise<void> {
  const pid = workerPid(handle);
  if (pid > 0) process.kill(pid, "SIGTERM");
  await Promise.race([handle.exited, new Promise((resolve) => setTimeout(resolve, 15_000))]);
  if (handle.child.exitCode === null && handle.child.pid !== undefined)
    process.kill(-handle.child.pid, "SIGKILL");
}

async function cleanupPrefix(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL);
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== "0");
  await redis.quit();
}

async function measure(estate: Estate, workerCount: number, directory: string): Promise<void> {
  const prefix = `kpbench-${randomUUID().slice(0, 8)}`;
  const configFile = path.join(directory, `${estate.label.replace(/\s/g, "-")}-${workerCount}.yaml`);
  await writeFile(
    configFile,
    stringify({
      organization: "Bench Corp",
      sources: [
        {
          id: "aws-bench",
          type: "aws-kms",
          regions: estate.regions,
          endpoint: ENDPOINT,
          roleArn: estate.roleArn,
          cloudtrail: { bucket: estate.bucket, prefix: "" },
        },
      ],
      signing: { localKeyFile: "./signing.pem" },
      queue: { keyBatchSize: BATCH_SIZE, locationConcurrency: LOCATION_CONCURRENCY },
    }),
  );
  const loaded = await loadConfig(configFile);
  const collectors = Array.from({ length: workerCount }, () => startWorker("collect", prefix));
  const finisher = startWorker("seal", prefix);
  const deliverer = startWorker("deliver", prefix);
  const client = QueueClient.connect(REDIS_URL, prefix);
  try {
    for (const worker of [...collectors, finisher, deliverer])
      await until("worker ready", () => worker.output.includes('"msg":"ready"'));
    const started = Date.now();
    const run = await client.startRun({
      config: loaded.config,
      configDirectory: loaded.directory,
      outDirectory: path.join(directory, "data"),
      range: parseRange("2026-07-01", "2026-07-01"),
      render: false,
      request: { origin: "cli" },
    });
    const record = await followRun(client, run.runId, { pollIntervalMs: 100, timeoutMs: 600_000 });
    const seconds = (Date.now() - started) / 1000;
    const keys = record.summary?.sources[0]?.keys ?? 0;
    const memory = await Promise.all(collectors.map((worker) => peakResidentMegabytes(workerPid(worker))));
    const jobsPerWorker = collectors.map(
      (worker) => (worker.output.match(/"msg":"job completed"/g) ?? []).length,
    );
    process.stdout.write(
      `${estate.label.padEnd(10)} ${String(workerCount).padStart(2)} worker(s): ${record.status}, ${keys} keys in ${seconds.toFixed(1)} s = ${(keys / seconds).toFixed(1)} keys/s; ` +
        `peak RSS per worker ${memory.map((value) => (value === undefined ? "n/a" : `${value.toFixed(0)} MB`)).join(", ")}; ` +
        `jobs per worker ${jobsPerWorker.join(", ")}\n`,
    );
  } finally {
    await client.close();
    await Promise.all([...collectors, finisher, deliverer].map(stop));
    await cleanupPrefix(prefix);
  }
}

async function main(): Promise<void> {
  const directory = await mkdtemp(path.join(tmpdir(), "keyproof-bench-"));
  try {
    await generateSigningKey(path.join(directory, "signing.pem"));
    process.stdout.write(
      `Seeding ${KEY_COUNT} keys per estate into moto at ${ENDPOINT}; batches of ${BATCH_SIZE} keys, ` +
        `at most ${LOCATION_CONCURRENCY} per location at once, worker concurrency ${WORKER_CONCURRENCY ?? "default (4)"} ...\n`,
    );
    const estates: Estate[] = [];
    if (LAYOUT !== "spread") estates.push(await seedEstate("1 region", ["ca-central-1"]));
    if (LAYOUT !== "single")
      estates.push(await seedEstate("4 regions", ["ca-central-1", "sa-east-1", "ap-south-1", "eu-north-1"]));
    for (const estate of estates) {
      for (const workerCount of WORKER_COUNTS) await measure(estate, workerCount, directory);
    }
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

await main();
