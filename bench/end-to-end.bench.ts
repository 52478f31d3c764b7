/**
 * End to end (issue 16, benchmark 4): KMS keys with a quarter of CloudTrail logs, collected, extracted,
 * judged, rendered, sealed and stored in an Object-Locked S3 bucket, through the queue on 2 worker
 * processes serving every queue (`workers/all.worker.ts`). Prints the run's wall time and each job kind's
 * wall time (first start to last finish of its jobs, from BullMQ's own timestamps) with its job count.
 * Figures only, no assertions.
 *
 *   npx tsx bench/end-to-end.bench.ts --keys 1000 --records 100000     (the defaults)
 *   npx tsx bench/end-to-end.bench.ts --keys 100 --records 20000 --workers 2
 *
 * A private moto (free port, stopped at the end) holds the keys (one region, a policy, a grant and a tag
 * each, rotation on every other key), the trail bucket with the generated archive (91 days from
 * 2026-07-01, 30% KMS events, 2,000 records a file: test/fixtures/cloudtrail-archive.ts) and the evidence
 * bucket (Object Lock, COMPLIANCE 1 day). The Redis prefix is unique and removed afterwards.
 */
import { randomUUID } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  CreateGrantCommand,
  CreateKeyCommand,
  EnableKeyRotationCommand,
  KMSClient,
} from "@aws-sdk/client-kms";
import { CreateBucketCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { stringify } from "yaml";
import { loadConfig } from "../src/config/load-config.ts";
import { QUEUE_NAMES } from "../src/jobs/queue/job-names.ts";
import { QueueClient } from "../src/jobs/queue/queue-client.ts";
import { followRun } from "../src/jobs/run-queued.ts";
import { mapWithConcurrency } from "../src/providers/shared/concurrency.ts";
import { generateSigningKey } from "../src/signing/keygen.ts";
import { parseRange } from "../src/time/date-range.ts";
import { writeCloudTrailArchive } from "../test/fixtures/cloudtrail-archive.ts";
import {
  EMULATOR_CREDENTIALS,
  MOTO_ACCOUNT,
  REDIS_URL,
  argument,
  cleanupPrefix,
  killChildren,
  machineLine,
  startPrivateMoto,
  startWorker,
  stopWorker,
  waitUntilReady,
} from "./support/bench-processes.ts";

const KEY_COUNT = Number(argument("keys") ?? 1000);
const RECORDS = Number(argument("records") ?? 100_000);
const WORKERS = Number(argument("workers") ?? 2);
const REGION = "us-east-1";
const FIRST_DAY = "2026-07-01";
const DAYS = 91;

function quarterDays(): string[] {
  const start = Date.parse(`${FIRST_DAY}T00:00:00Z`);
  return Array.from({ length: DAYS }, (_, index) =>
    new Date(start + index * 86_400_000).toISOString().slice(0, 10),
  );
}

function seconds(since: number): string {
  return `${((performance.now() - since) / 1000).toFixed(1)} s`;
}

async function seedKeys(moto: string): Promise<void> {
  const kms = new KMSClient({ endpoint: moto, region: REGION, credentials: EMULATOR_CREDENTIALS });
  await mapWithConcurrency(
    Array.from({ length: KEY_COUNT }, (_, index) => index),
    16,
    async (index) => {
      const created = await kms.send(
        new CreateKeyCommand({
          Description: `e2e key ${index}`,
          Tags: [{ TagKey: "owner", TagValue: `team-${index % 7}` }],
        }),
      );
      const KeyId = created.KeyMetadata?.KeyId ?? "";
      await kms.send(
        new CreateGrantCommand({
          KeyId,
          GranteePrincipal: `arn:aws:iam::${MOTO_ACCOUNT}:role/worker`,
          Operations: ["Decrypt"],
        }),
      );
      if (index % 2 === 0) await kms.send(new EnableKeyRotationCommand({ KeyId }));
    },
  );
  kms.destroy();
}

/** The quarter's archive, generated locally and uploaded to the trail bucket. */
async function seedLogs(moto: string, bucket: string, directory: string): Promise<string> {
  const archiveDirectory = path.join(directory, "archive");
  const archive = await writeCloudTrailArchive({
    directory: archiveDirectory,
    account: MOTO_ACCOUNT,
    region: REGION,
    days: quarterDays(),
    records: RECORDS,
  });
  const s3 = new S3Client({
    endpoint: moto,
    region: REGION,
    credentials: EMULATOR_CREDENTIALS,
    forcePathStyle: true,
  });
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  await mapWithConcurrency(archive.keys, 8, async (key) =>
    s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: await readFile(path.join(archiveDirectory, key)),
      }),
    ),
  );
  s3.destroy();
  return `${archive.records} records (${archive.kmsRecords} KMS) in ${archive.keys.length} files`;
}

async function createEvidenceBucket(moto: string, bucket: string): Promise<void> {
  const s3 = new S3Client({
    endpoint: moto,
    region: REGION,
    credentials: EMULATOR_CREDENTIALS,
    forcePathStyle: true,
  });
  await s3.send(new CreateBucketCommand({ Bucket: bucket, ObjectLockEnabledForBucket: true }));
  s3.destroy();
}

/** Per job name: how many completed, and the span from the first start to the last finish. */
async function jobTimes(client: QueueClient, runStarted: number): Promise<string[]> {
  const spans = new Map<string, { count: number; first: number; last: number }>();
  for (const queueName of QUEUE_NAMES) {
    const jobs = await client.queue(queueName).getJobs(["completed"], 0, -1);
    for (const job of jobs) {
      if (job.processedOn === undefined || job.finishedOn === undefined) continue;
      const span = spans.get(job.name) ?? { count: 0, first: Number.POSITIVE_INFINITY, last: 0 };
      span.count += 1;
      span.first = Math.min(span.first, job.processedOn);
      span.last = Math.max(span.last, job.finishedOn);
      spans.set(job.name, span);
    }
  }
  return [...spans.entries()]
    .sort(([, left], [, right]) => left.first - right.first)
    .map(
      ([name, span]) =>
        `  ${name.padEnd(24)} ${String(span.count).padStart(5)} job(s), from +${((span.first - runStarted) / 1000).toFixed(1)} s to +${((span.last - runStarted) / 1000).toFixed(1)} s: ${((span.last - span.first) / 1000).toFixed(1)} s`,
    );
}

async function main(): Promise<void> {
  const directory = await mkdtemp(path.join(tmpdir(), "keyproof-bench-e2e-"));
  const prefix = `kpbench-e2e-${randomUUID().slice(0, 8)}`;
  const trailBucket = `keyproof-e2e-trail-${randomUUID().slice(0, 8)}`;
  const evidenceBucket = `keyproof-e2e-evidence-${randomUUID().slice(0, 8)}`;
  const workers: Array<ReturnType<typeof startWorker>> = [];
  let client: QueueClient | undefined;
  try {
    process.stdout.write(`${machineLine()}\n`);
    const moto = await startPrivateMoto();
    let started = performance.now();
    await seedKeys(moto);
    process.stdout.write(`seeded ${KEY_COUNT} keys in ${REGION} in ${seconds(started)}\n`);
    started = performance.now();
    const logs = await seedLogs(moto, trailBucket, directory);
    process.stdout.write(`generated and uploaded a quarter of logs: ${logs} in ${seconds(started)}\n`);
    await createEvidenceBucket(moto, evidenceBucket);
    await generateSigningKey(path.join(directory, "signing.pem"));
    const configFile = path.join(directory, "keyproof.yaml");
    await writeFile(
      configFile,
      stringify({
        organization: "Bench Corp",
        sources: [
          {
            id: "aws-e2e",
            type: "aws-kms",
            regions: [REGION],
            endpoint: moto,
            cloudtrail: { bucket: trailBucket, prefix: "", region: REGION },
          },
        ],
        signing: { localKeyFile: "./signing.pem" },
        storage: {
          s3: {
            bucket: evidenceBucket,
            prefix: "keyproof/",
            region: REGION,
            endpoint: moto,
            retention: { mode: "COMPLIANCE", days: 1 },
          },
        },
      }),
    );
    const loaded = await loadConfig(configFile);
    for (let index = 0; index < WORKERS; index += 1) workers.push(startWorker("all", prefix));
    for (const worker of workers) await waitUntilReady(worker);
    client = QueueClient.connect(REDIS_URL, prefix);
    const runStarted = Date.now();
    started = performance.now();
    const run = await client.startRun({
      config: loaded.config,
      configDirectory: loaded.directory,
      outDirectory: path.join(directory, "out"),
      range: parseRange(FIRST_DAY, quarterDays().at(-1) ?? FIRST_DAY),
      render: true,
      request: { origin: "cli" },
    });
    const record = await followRun(client, run.runId, { pollIntervalMs: 250, timeoutMs: 3_600_000 });
    process.stdout.write(
      `run ${record.status}: ${record.summary?.sources[0]?.keys ?? 0} keys, collected, extracted, judged, rendered, sealed and stored on ${WORKERS} worker(s) in ${seconds(started)}\n`,
    );
    process.stdout.write(`${(await jobTimes(client, runStarted)).join("\n")}\n`);
    if (record.status !== "completed")
      process.stdout.write(`run record: ${JSON.stringify(record.error ?? record)}\n`);
  } finally {
    await client?.close();
    await Promise.all(workers.map(stopWorker));
    await cleanupPrefix(prefix);
    killChildren();
    await rm(directory, { recursive: true, force: true });
  }
}

await main();
