/**
 * Extraction: the KMS events of a range from a generated CloudTrail archive, keyproof against the by-hand
 * alternative (`zcat | jq -c '.Records[] | select(...)'`) and the floor (`zcat > /dev/null`), interleaved,
 * medians of `--runs` (default 3). Figures only, no assertions (issue 16: ≥ 5x jq, ≤ 1.5x the floor, peak
 * RSS under 128 MiB and flat in the archive's size).
 *
 *   npx tsx bench/extract.bench.ts --records 1000000
 *   npx tsx bench/extract.bench.ts --records 250000 --runs 3 --s3     (also from moto's S3)
 *
 * The archive (real delivery layout, 30% KMS records, 2,000 records a file, assumed-role sessions that make
 * principals nearly unique, days before and after the range) is generated once into
 * `$TMPDIR/keyproof-bench-extract/<records>/` and reused; `--fresh` regenerates it. keyproof runs in a child
 * process of its own (`--child`): the S3 usage stream over the archive directory (a local stand-in for
 * ListObjectsV2/GetObject) into the usage and change extracts of a bundle directory, exactly the extract
 * step's work; its peak RSS is the child's `maxRSS`. The wall time includes the child's start (tsx);
 * the in-process time is the extraction alone. zcat and jq read the same files keyproof reads (the range
 * and the late-delivery day after it).
 */
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { cpus, loadavg, totalmem, tmpdir } from "node:os";
import { join } from "node:path";
import {
  CreateBucketCommand,
  DeleteObjectsCommand,
  DeleteBucketCommand,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { createLocalTrailBucket } from "../test/fakes/local-trail-bucket.fake.ts";
import { writeCloudTrailArchive } from "../test/fixtures/cloudtrail-archive.ts";
import type { CloudTrailArchive } from "../test/fixtures/cloudtrail-archive.ts";
import { BundleWriter } from "../src/evidence/bundle-writer.ts";
import { writeUsageAndChangeExtracts } from "../src/evidence/usage-extract.writer.ts";
import { dayFolder, streamCloudTrailS3Usage } from "../src/providers/aws-kms/cloudtrail-s3.usage.ts";
import { daysOf, parseRange } from "../src/time/date-range.ts";

const ACCOUNT = "111122223333";
const REGION = "us-east-1";
const RANGE = parseRange("2026-07-01", "2026-07-10");
/** Two days before the range, the range, the day after (read for late delivery), and one well after. */
const ARCHIVE_DAYS = ["2026-06-28", "2026-06-29", ...daysOf(RANGE, 1), "2026-07-20"];
const ENDPOINT = process.env.KEYPROOF_TEST_AWS_ENDPOINT ?? "http://127.0.0.1:5000";
const MIB = 1024 * 1024;

function argument(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  return index === -1 ? undefined : process.argv[index + 1];
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

function s3Client(): S3Client {
  return new S3Client({
    endpoint: ENDPOINT,
    region: REGION,
    forcePathStyle: true,
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
  });
}

interface ChildFigures {
  events: number;
  gaps: number;
  seconds: number;
  maxRssMib: number;
}

/** The child: one extraction, figures on stdout. */
async function child(): Promise<void> {
  const archive = argument("archive") as string;
  const bucket = argument("bucket");
  const s3 = bucket === undefined ? createLocalTrailBucket(archive) : s3Client();
  const output = await mkdtemp(join(tmpdir(), "keyproof-bench-extract-out-"));
  try {
    const writer = await BundleWriter.open(output);
    const started = performance.now();
    const { usage } = await writeUsageAndChangeExtracts(
      writer,
      streamCloudTrailS3Usage({
        sourceId: "aws-bench",
        location: REGION,
        range: RANGE,
        s3,
        bucket: bucket ?? "local",
        prefix: "",
        account: async () => ({
          ok: true,
          value: ACCOUNT,
          call: "sts:GetCallerIdentity",
          capturedAt: RANGE.from,
        }),
        clock: () => new Date("2026-08-01T00:00:00Z"),
      }),
      { source: "aws-bench", sourceType: "aws-kms", location: REGION, method: "cloudtrail-s3", range: RANGE },
    );
    const seconds = (performance.now() - started) / 1000;
    const figures: ChildFigures = {
      events: usage.eventCount,
      gaps: usage.gaps.length,
      seconds,
      maxRssMib: process.resourceUsage().maxRSS / 1024,
    };
    process.stdout.write(`${JSON.stringify(figures)}\n`);
  } finally {
    await rm(output, { recursive: true, force: true });
    s3.destroy();
  }
}

/** Runs a command; resolves with its wall time in seconds and its stdout. */
function timed(command: string, args: string[]): Promise<{ seconds: number; stdout: string }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const process_ = spawn(command, args, { stdio: ["ignore", "pipe", "inherit"] });
    let stdout = "";
    process_.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
    process_.on("error", reject);
    process_.on("close", (code) => {
      if (code !== 0) reject(new Error(`${command} exited with ${code}`));
      else resolve({ seconds: (performance.now() - started) / 1000, stdout });
    });
  });
}

async function runKeyproof(
  archive: string,
  bucket?: string,
): Promise<{ wall: number; figures: ChildFigures }> {
  const args = [...process.execArgv, import.meta.filename, "--child", "--archive", archive];
  if (bucket !== undefined) args.push("--bucket", bucket);
  const { seconds, stdout } = await timed(process.execPath, args);
  return { wall: seconds, figures: JSON.parse(stdout.trim().split("\n").at(-1) ?? "{}") as ChildFigures };
}

async function prepareArchive(records: number): Promise<{ directory: string; archive: CloudTrailArchive }> {
  const directory = join(tmpdir(), "keyproof-bench-extract", String(records));
  const description = join(directory, "archive.json");
  if (!process.argv.includes("--fresh") && existsSync(description))
    return { directory, archive: JSON.parse(await readFile(description, "utf8")) as CloudTrailArchive };
  await rm(directory, { recursive: true, force: true });
  await mkdir(directory, { recursive: true });
  const started = performance.now();
  const archive = await writeCloudTrailArchive({
    directory,
    account: ACCOUNT,
    region: REGION,
    days: ARCHIVE_DAYS,
    records,
  });
  await writeFile(description, JSON.stringify(archive));
  console.log(`generated in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return { directory, archive };
}

async function main(): Promise<void> {
  if (process.argv.includes("--child")) return child();
  const records = Number(argument("records") ?? "1000000");
  const runs = Number(argument("runs") ?? "3");
  const { directory, archive } = await prepareArchive(records);
  const readDays = new Set(daysOf(RANGE, 1).map((day) => dayFolder("", ACCOUNT, REGION, day)));
  const readFiles = archive.keys
    .filter((key) => readDays.has(key.slice(0, key.lastIndexOf("/") + 1)))
    .map((key) => join(directory, key));
  const jq = existsSync("/usr/bin/jq") || existsSync("/usr/local/bin/jq");
  const filter = `.Records[] | select(.eventSource == "kms.amazonaws.com" and .eventTime >= "${RANGE.from.slice(0, 10)}" and .eventTime < "${RANGE.toExclusive.slice(0, 10)}")`;

  console.log(
    `machine: ${cpus()[0]?.model ?? "?"}, ${cpus().length} cores, ${(totalmem() / 1024 ** 3).toFixed(1)} GiB, node ${process.version}, load ${loadavg()
      .map((load) => load.toFixed(1))
      .join(" ")}`,
  );
  console.log(
    `archive: ${archive.records} records (${archive.kmsRecords} KMS), ${archive.keys.length} files over ${ARCHIVE_DAYS.length} days, ${(archive.bytes / MIB).toFixed(0)} MiB decompressed; range ${RANGE.label} reads ${readFiles.length} files`,
  );

  let bucket: string | undefined;
  if (process.argv.includes("--s3")) {
    bucket = `keyproof-bench-extract-${randomUUID().slice(0, 8)}`;
    const s3 = s3Client();
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    for (const key of archive.keys)
      await s3.send(
        new PutObjectCommand({ Bucket: bucket, Key: key, Body: await readFile(join(directory, key)) }),
      );
    s3.destroy();
  }

  const keyproofWall: number[] = [];
  const keyproofInside: number[] = [];
  const keyproofRss: number[] = [];
  const s3Wall: number[] = [];
  const s3Rss: number[] = [];
  const jqWall: number[] = [];
  const floorWall: number[] = [];
  let events = 0;
  let jqEvents = 0;
  try {
    for (let run = 0; run < runs; run++) {
      const local = await runKeyproof(directory);
      keyproofWall.push(local.wall);
      keyproofInside.push(local.figures.seconds);
      keyproofRss.push(local.figures.maxRssMib);
      events = local.figures.events;
      if (bucket !== undefined) {
        const remote = await runKeyproof(directory, bucket);
        s3Wall.push(remote.wall);
        s3Rss.push(remote.figures.maxRssMib);
      }
      if (jq) {
        const result = await timed("sh", ["-c", `zcat "$@" | jq -c '${filter}' | wc -l`, "sh", ...readFiles]);
        jqWall.push(result.seconds);
        jqEvents = Number(result.stdout.trim());
      }
      floorWall.push((await timed("sh", ["-c", 'zcat "$@" > /dev/null', "sh", ...readFiles])).seconds);
      console.log(
        `run ${run + 1}: keyproof ${local.wall.toFixed(2)} s (${local.figures.seconds.toFixed(2)} s extracting, ${local.figures.maxRssMib.toFixed(0)} MiB)` +
          (bucket === undefined ? "" : `, from S3 ${s3Wall.at(-1)?.toFixed(2)} s`) +
          (jq ? `, zcat|jq ${jqWall.at(-1)?.toFixed(2)} s` : "") +
          `, zcat ${floorWall.at(-1)?.toFixed(2)} s`,
      );
    }
  } finally {
    if (bucket !== undefined) {
      const s3 = s3Client();
      for (let first = 0; first < archive.keys.length; first += 1000)
        await s3
          .send(
            new DeleteObjectsCommand({
              Bucket: bucket,
              Delete: { Objects: archive.keys.slice(first, first + 1000).map((Key) => ({ Key })) },
            }),
          )
          .catch(() => undefined);
      await s3.send(new DeleteBucketCommand({ Bucket: bucket })).catch(() => undefined);
      s3.destroy();
    }
  }

  const wall = median(keyproofWall);
  const inside = median(keyproofInside);
  const floor = median(floorWall);
  console.log(`\nmedians of ${runs}, ${archive.records} records:`);
  console.log(
    `keyproof: ${wall.toFixed(2)} s wall (${inside.toFixed(2)} s extracting), ${events} events, ${Math.round(events / wall)} events/s, peak RSS ${Math.max(...keyproofRss).toFixed(0)} MiB`,
  );
  if (bucket !== undefined)
    console.log(
      `keyproof from S3 (moto): ${median(s3Wall).toFixed(2)} s wall, ${(median(s3Wall) / wall).toFixed(2)}x local, peak RSS ${Math.max(...s3Rss).toFixed(0)} MiB`,
    );
  if (jq)
    console.log(
      `zcat | jq: ${median(jqWall).toFixed(2)} s, ${jqEvents} events; keyproof is ${(median(jqWall) / wall).toFixed(2)}x faster (wall), ${(median(jqWall) / inside).toFixed(2)}x (extracting)`,
    );
  else console.log("zcat | jq: jq is not installed");
  console.log(
    `zcat > /dev/null (floor): ${floor.toFixed(2)} s; keyproof is ${(wall / floor).toFixed(2)}x the floor (wall), ${(inside / floor).toFixed(2)}x (extracting)`,
  );
}

await main();
