/**
 * Extraction: the KMS events of a range from a generated CloudTrail archive, keyproof against the by-hand
 * alternative (`zcat | jq -c '.Records[] | select(...)'`) and the floor (`zcat > /dev/null`), interleaved,
 * medians of `--runs` (default 3). Figures only, no assertions (issue 16: ≥ 5x jq, ≤ 1.5x the floor, peak
 * RSS under 128 MiB and flat in the archive's size).
 *
 *   npx tsx bench/extract.bench.ts --records 1000000
 *   npx tsx bench/extract.bench.ts --records 250000 --runs 3 --s3     (also from moto's S3)
 *   npx tsx bench/extract.bench.ts --records 5000000 --runs 1
 *   npx tsx bench/extract.bench.ts --single-object-mb 400            (one object of 400 MiB decompressed)
 *   npx tsx bench/extract.bench.ts --records 1000000 --heap "--max-semi-space-size=2 --max-old-space-size=64"
 *   npx tsx bench/extract.bench.ts --records 1000000 --tsx           (the child through tsx, as before)
 *
 * The archive (real delivery layout, 30% KMS records, 2,000 records a file, assumed-role sessions that make
 * principals nearly unique, days before and after the range) is generated once into
 * `$TMPDIR/keyproof-bench-extract/<records>/` and reused; `--fresh` regenerates it. keyproof runs in a child
 * process of its own (`--child`): the S3 usage stream over the archive directory (a local stand-in for
 * ListObjectsV2/GetObject) into the usage and change extracts of a bundle directory, exactly the extract
 * step's work; its peak RSS is the child's `maxRSS`. The child is this file compiled to JavaScript (what
 * users run), unless `--tsx`; `--heap` passes V8 heap flags to it. The wall time includes the child's
 * start; the in-process time is the extraction alone. zcat and jq read the same files keyproof reads
 * (the range and the late-delivery day after it).
 */
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { createWriteStream, existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { cpus, loadavg, totalmem, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";
import {
  CreateBucketCommand,
  DeleteObjectsCommand,
  DeleteBucketCommand,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { createLocalTrailBucket } from "../test/fakes/local-trail-bucket.fake.ts";
import { generatedRecord, writeCloudTrailArchive } from "../test/fixtures/cloudtrail-archive.ts";
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

/**
 * How the child runs: compiled JavaScript by default (what users run: `npm run build` puts it in dist/),
 * through tsx with `--tsx` (the figures before; tsx adds about 1 s and 70 MiB of its own).
 */
interface ChildCommand {
  args: string[];
  cleanup: () => Promise<void>;
}

/**
 * Compiles this file and what it imports (src/, the local bucket fake, the archive fixture) with the
 * build's compiler options into a scratch directory whose node_modules links to the checkout's, as
 * test/integration/package-install.test.ts does for the package: the checkout gets no dist/.
 */
async function compiledChild(heap: string[]): Promise<ChildCommand> {
  const root = dirname(dirname(import.meta.filename));
  const directory = await mkdtemp(join(tmpdir(), "keyproof-bench-extract-build-"));
  const out = join(directory, "out");
  await writeFile(
    join(directory, "tsconfig.json"),
    JSON.stringify({
      extends: join(root, "tsconfig.build.json"),
      compilerOptions: { rootDir: root, outDir: out, sourceMap: false, inlineSources: false },
      files: [join(root, "bench", "extract.bench.ts")],
      include: [],
    }),
  );
  // Linked before compiling too: the compiler finds @types/node through it.
  await symlink(join(root, "node_modules"), join(directory, "node_modules"));
  const started = performance.now();
  await timed(process.execPath, [
    join(root, "node_modules", "typescript", "bin", "tsc"),
    "-p",
    join(directory, "tsconfig.json"),
  ]);
  await writeFile(join(out, "package.json"), '{ "type": "module" }\n');
  console.log(`child compiled in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return {
    args: [...heap, join(out, "bench", "extract.bench.js")],
    cleanup: () => rm(directory, { recursive: true, force: true }),
  };
}

async function runKeyproof(
  command: ChildCommand,
  archive: string,
  bucket?: string,
): Promise<{ wall: number; figures: ChildFigures }> {
  const args = [...command.args, "--child", "--archive", archive];
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

/**
 * One log object of about `mib` MiB decompressed (`--single-object-mb`), in the range's first day, its
 * records generated as the archive's are; gzipped as it is written, so generating it takes no memory.
 */
async function prepareSingleObject(mib: number): Promise<{ directory: string; archive: CloudTrailArchive }> {
  const directory = join(tmpdir(), "keyproof-bench-extract", `single-${mib}mib`);
  const description = join(directory, "archive.json");
  if (!process.argv.includes("--fresh") && existsSync(description))
    return { directory, archive: JSON.parse(await readFile(description, "utf8")) as CloudTrailArchive };
  await rm(directory, { recursive: true, force: true });
  const day = RANGE.from.slice(0, 10);
  const key = `${dayFolder("", ACCOUNT, REGION, day)}${ACCOUNT}_CloudTrail_${REGION}_${day.replace(/-/g, "")}T1205Z_single.json.gz`;
  const path = join(directory, key);
  await mkdir(dirname(path), { recursive: true });
  const started = performance.now();
  let records = 0;
  let kmsRecords = 0;
  let bytes = 0;
  const target = mib * MIB;
  async function* document(): AsyncGenerator<string> {
    let batch = '{"Records":[';
    while (bytes + batch.length < target) {
      const kms = Math.floor((records + 1) * 0.3) > Math.floor(records * 0.3);
      if (kms) kmsRecords++;
      batch +=
        (records === 0 ? "" : ",") +
        JSON.stringify(generatedRecord({ account: ACCOUNT, region: REGION }, day, records, kms));
      records++;
      if (batch.length >= MIB) {
        bytes += Buffer.byteLength(batch);
        yield batch;
        batch = "";
      }
    }
    batch += "]}";
    bytes += Buffer.byteLength(batch);
    yield batch;
  }
  await pipeline(document(), createGzip(), createWriteStream(path));
  const archive: CloudTrailArchive = { keys: [key], records, kmsRecords, bytes };
  await writeFile(description, JSON.stringify(archive));
  console.log(`generated in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return { directory, archive };
}

async function main(): Promise<void> {
  if (process.argv.includes("--child")) return child();
  const records = Number(argument("records") ?? "1000000");
  const singleObjectMib = argument("single-object-mb");
  const runs = Number(argument("runs") ?? "3");
  const { directory, archive } =
    singleObjectMib === undefined
      ? await prepareArchive(records)
      : await prepareSingleObject(Number(singleObjectMib));
  // A V8 heap bound for the child (`--heap "--max-semi-space-size=2 --max-old-space-size=64"`), to see
  // how much of the peak is heap slack.
  const heap = (argument("heap") ?? "").split(" ").filter((flag) => flag !== "");
  const command: ChildCommand = process.argv.includes("--tsx")
    ? {
        args: [...process.execArgv, ...heap, import.meta.filename],
        cleanup: () => Promise.resolve(),
      }
    : await compiledChild(heap);
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
    `archive: ${archive.records} records (${archive.kmsRecords} KMS), ${singleObjectMib === undefined ? `${archive.keys.length} files over ${ARCHIVE_DAYS.length} days` : "one object in the range's first day (the other days are NoLogObjects gaps)"}, ${(archive.bytes / MIB).toFixed(0)} MiB decompressed; range ${RANGE.label} reads ${readFiles.length} files`,
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
      const local = await runKeyproof(command, directory);
      keyproofWall.push(local.wall);
      keyproofInside.push(local.figures.seconds);
      keyproofRss.push(local.figures.maxRssMib);
      events = local.figures.events;
      if (bucket !== undefined) {
        const remote = await runKeyproof(command, directory, bucket);
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
    await command.cleanup();
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
  const jqMedian = median(jqWall);
  // The line for bench/RESULTS.md (goals: ≥ 5x jq, ≤ 1.5x the floor, peak RSS < 128 MiB).
  console.log(
    `| ${readFiles.length} of ${archive.keys.length} files, ${archive.records} records | ${wall.toFixed(2)} s / ${inside.toFixed(2)} s | ${Math.round(events / wall)} / ${Math.round(events / inside)} | ${jq ? `${jqMedian.toFixed(2)} s` : "-"} | ${floor.toFixed(2)} s | ${jq ? `${(jqMedian / wall).toFixed(1)}x / ${(jqMedian / inside).toFixed(1)}x` : "-"} | ${(wall / floor).toFixed(2)}x / ${(inside / floor).toFixed(2)}x | ${Math.max(...keyproofRss).toFixed(0)} MiB | ${loadavg()[0]?.toFixed(1)} |`,
  );
}

await main();
