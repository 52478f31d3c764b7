/**
 * Trail object size: one CloudTrail log object of about 400 MB decompressed (default; `--mib N`) uploaded
 * to moto and read through the AWS provider's usage stream, printing the reader's peak resident memory and
 * its throughput. No assertions: figures only. The goal (issue 11) is a peak RSS under 256 MB whatever the
 * object's size, because each object is gunzipped and its `Records` array parsed as a stream.
 *
 *   npx tsx bench/trail-object-size.bench.ts            (moto at KEYPROOF_TEST_AWS_ENDPOINT)
 *   npx tsx bench/trail-object-size.bench.ts --mib 100
 *
 * The object is generated and uploaded by this process; the reading happens in a child process of its
 * own (`--read`), so its peak memory (VmHWM in /proc/<pid>/status, Linux) is the reader's alone. The
 * object lives in an emulator account of its own and is deleted afterwards (moto keeps it in memory).
 */
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { createGzip } from "node:zlib";
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { fromTemporaryCredentials } from "@aws-sdk/credential-providers";
import { kmsApiCallRecord, stableId } from "../scripts/demo/seed-aws-estate.ts";
import { createAwsKmsProvider } from "../src/providers/aws-kms/aws-kms.provider.ts";
import { parseRange } from "../src/time/date-range.ts";

const ENDPOINT = process.env.KEYPROOF_TEST_AWS_ENDPOINT ?? "http://127.0.0.1:5000";
const CREDENTIALS = { accessKeyId: "test", secretAccessKey: "test" };
const REGION = "us-east-1";
const DAY = "2026-07-01";
const MIB = 1024 * 1024;

function argument(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  return index === -1 ? undefined : process.argv[index + 1];
}

function peakRssMib(): number {
  const status = readFileSync("/proc/self/status", "utf8");
  const kib = Number(/VmHWM:\s+(\d+)\s+kB/.exec(status)?.[1] ?? Number.NaN);
  return kib / 1024;
}

function keyOf(account: string): string {
  return `AWSLogs/${account}/CloudTrail/${REGION}/${DAY.replace(/-/g, "/")}/${account}_CloudTrail_${REGION}_20260701T1205Z_bench.json.gz`;
}

/** The child: reads the object through the provider and prints one JSON line of figures. */
async function read(account: string, bucket: string, bytes: number): Promise<void> {
  const provider = createAwsKmsProvider(
    {
      id: "aws-bench",
      type: "aws-kms",
      regions: [REGION],
      endpoint: ENDPOINT,
      roleArn: `arn:aws:iam::${account}:role/keyproof-audit`,
      cloudtrail: { bucket, prefix: "", region: REGION },
    },
    { credentials: CREDENTIALS, clock: () => new Date("2026-11-28T12:00:00.000Z") },
  );
  const started = performance.now();
  let events = 0;
  const gaps: string[] = [];
  for await (const item of provider.streamUsage(REGION, parseRange(DAY, DAY)).items) {
    if (item.kind === "event") events += 1;
    else gaps.push(`${item.gap.code}: ${item.gap.object}`);
  }
  const seconds = (performance.now() - started) / 1000;
  provider.close();
  process.stdout.write(
    `${JSON.stringify({ events, gaps, seconds, peakRssMib: peakRssMib(), mibPerSecond: bytes / MIB / seconds })}\n`,
  );
}

/** Gzips about `targetBytes` of log document (KMS Decrypt records) in memory; returns it and its size. */
async function generate(
  account: string,
  targetBytes: number,
): Promise<{ body: Buffer; bytes: number; records: number }> {
  const gzip = createGzip({ level: 6 });
  const chunks: Buffer[] = [];
  gzip.on("data", (chunk: Buffer) => chunks.push(chunk));
  const ended = new Promise<void>((resolve, reject) => {
    gzip.on("end", resolve);
    gzip.on("error", reject);
  });
  let bytes = 0;
  let records = 0;
  const write = async (text: string) => {
    bytes += Buffer.byteLength(text);
    if (!gzip.write(text)) await new Promise((resolve) => gzip.once("drain", resolve));
  };
  await write('{"Records":[');
  while (bytes < targetBytes) {
    const second = records % 86_400;
    const time = `${DAY}T${String(Math.floor(second / 3600)).padStart(2, "0")}:${String(Math.floor((second % 3600) / 60)).padStart(2, "0")}:${String(second % 60).padStart(2, "0")}Z`;
    const record = kmsApiCallRecord({
      account,
      region: REGION,
      time,
      eventName: records % 3 === 0 ? "GenerateDataKey" : "Decrypt",
      identity: {
        type: "role",
        role: "payments-app",
        session: `i-${(records % 997).toString(16).padStart(8, "0")}`,
      },
      keyArn: `arn:aws:kms:${REGION}:${account}:key/1234abcd-12ab-34cd-56ef-${String(records % 1000).padStart(12, "0")}`,
      readOnly: true,
      eventId: stableId(`bench:${records}`),
    });
    await write(`${records === 0 ? "" : ","}${JSON.stringify(record)}`);
    records += 1;
  }
  await write("]}");
  gzip.end();
  await ended;
  return { body: Buffer.concat(chunks), bytes, records };
}

async function main(): Promise<void> {
  if (process.argv.includes("--read")) {
    await read(argument("account") as string, argument("bucket") as string, Number(argument("bytes")));
    return;
  }
  const mib = Number(argument("mib") ?? "400");
  const account = `5${String(Math.floor(Math.random() * 1e11)).padStart(11, "0")}`;
  const bucket = `keyproof-bench-trail-${randomUUID().slice(0, 8)}`;
  const s3 = new S3Client({
    endpoint: ENDPOINT,
    region: REGION,
    forcePathStyle: true,
    credentials: fromTemporaryCredentials({
      masterCredentials: CREDENTIALS,
      params: { RoleArn: `arn:aws:iam::${account}:role/keyproof-audit`, RoleSessionName: "keyproof-bench" },
      clientConfig: { endpoint: ENDPOINT, region: REGION },
    }),
  });
  const key = keyOf(account);
  try {
    const generated = await generate(account, mib * MIB);
    console.log(
      `generated ${generated.records} records: ${(generated.bytes / MIB).toFixed(1)} MiB decompressed, ${(generated.body.length / MIB).toFixed(1)} MiB gzip`,
    );
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: generated.body }));
    const child = spawn(
      process.execPath,
      [
        ...process.execArgv,
        import.meta.filename,
        "--read",
        "--account",
        account,
        "--bucket",
        bucket,
        "--bytes",
        String(generated.bytes),
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    if (code !== 0) throw new Error(`reader exited with ${code}`);
    const figures = JSON.parse(output.trim().split("\n").at(-1) ?? "{}") as {
      events: number;
      gaps: string[];
      seconds: number;
      peakRssMib: number;
      mibPerSecond: number;
    };
    console.log(
      `events read: ${figures.events} of ${generated.records}; gaps: ${figures.gaps.length === 0 ? "none" : figures.gaps.join("; ")}`,
    );
    console.log(
      `reader: ${figures.seconds.toFixed(1)} s, ${figures.mibPerSecond.toFixed(1)} MiB/s decompressed, peak RSS ${figures.peakRssMib.toFixed(0)} MiB`,
    );
  } finally {
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key })).catch(() => undefined);
    await s3.send(new DeleteBucketCommand({ Bucket: bucket })).catch(() => undefined);
    s3.destroy();
  }
}

await main();
