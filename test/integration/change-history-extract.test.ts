/**
 * The history extract over a generated CloudTrail archive (issue 13: "tested for range edges and bounded
 * memory with a generated archive"): gzipped log files written to a moto S3 bucket, read by the same S3
 * reader and extract writer a run uses (`streamCloudTrailS3Usage` → `writeUsageAndChangeExtracts`).
 *
 * Range edges follow the usage extract (`isInRange`): the first instant of the range is in, the exclusive
 * end (midnight after the last day) is out, and so is anything a millisecond outside.
 *
 * Memory: 200,000 administrative events over 200 keys stream through while live heap (after a forced
 * collection) is sampled; the extract keeps only the capped summary, so live heap must stay far below what
 * holding the events would take. Figures, not timings, are asserted.
 */
import { randomUUID } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { runInNewContext } from "node:vm";
import { setFlagsFromString } from "node:v8";
import { gzipSync } from "node:zlib";
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BundleWriter } from "../../src/evidence/bundle-writer.ts";
import { changesExtractPath } from "../../src/evidence/paths.ts";
import { writeUsageAndChangeExtracts, type EventExtracts } from "../../src/evidence/usage-extract.writer.ts";
import { CHANGES_KEPT_PER_KEY } from "../../src/model/changes.ts";
import type { DateRange } from "../../src/model/snapshot.ts";
import type { UsageEvent, UsageItem } from "../../src/model/usage.ts";
import { streamCloudTrailS3Usage } from "../../src/providers/aws-kms/cloudtrail-s3.usage.ts";
import { parseRange } from "../../src/time/date-range.ts";
import { AWS_ENDPOINT } from "./queue-harness.ts";

const REGION = "eu-west-1";
const ACCOUNT = "123456789012";
const bucket = `helper-history-${randomUUID().slice(0, 8)}`;
const s3 = new S3Client({
  endpoint: AWS_ENDPOINT,
  region: REGION,
  forcePathStyle: true,
  credentials: { accessKeyId: "test", secretAccessKey: "test" },
});
let directory: string;

beforeAll(async () => {
  directory = await mkdtemp(path.join(os.tmpdir(), "keyproof-history-extract-"));
  await s3.send(
    new CreateBucketCommand({ Bucket: bucket, CreateBucketConfiguration: { LocationConstraint: REGION } }),
  );
});

afterAll(async () => {
  for (let token: string | undefined, first = true; first || token !== undefined; first = false) {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
    const objects = (page.Contents ?? []).map((object) => ({ Key: object.Key }));
    if (objects.length > 0)
      await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: objects } }));
    token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
  }
  await s3.send(new DeleteBucketCommand({ Bucket: bucket })).catch(() => undefined);
  s3.destroy();
  if (directory !== undefined) await rm(directory, { recursive: true, force: true });
});

/** A key id as KMS writes it (the mapper recognizes UUIDs), numbered for the test. */
function keyIdOf(index: number): string {
  return `0000${String(index).padStart(4, "0")}-1111-4222-8333-444455556666`;
}

/** A minimal CloudTrail KMS record, the fields the mapper reads. */
function kmsRecord(input: { time: string; eventName: string; keyId: string; eventId: string }): object {
  return {
    eventVersion: "1.10",
    userIdentity: { type: "IAMUser", arn: `arn:aws:iam::${ACCOUNT}:user/ops`, accountId: ACCOUNT },
    eventTime: input.time,
    eventSource: "kms.amazonaws.com",
    eventName: input.eventName,
    awsRegion: REGION,
    sourceIPAddress: "198.51.100.7",
    requestParameters: { keyId: input.keyId },
    eventID: input.eventId,
    resources: [{ type: "AWS::KMS::Key", ARN: `arn:aws:kms:${REGION}:${ACCOUNT}:key/${input.keyId}` }],
  };
}

/** Writes one log file into CloudTrail's delivery folder of `day` under `prefix`. */
async function putLogFile(prefix: string, day: string, unique: string, records: object[]): Promise<void> {
  const [year, month, date] = day.split("-");
  const key = `${prefix}AWSLogs/${ACCOUNT}/CloudTrail/${REGION}/${year}/${month}/${date}/${ACCOUNT}_CloudTrail_${REGION}_${day.replace(/-/g, "")}T2355Z_${unique}.json.gz`;
  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: key,
      Body: gzipSync(JSON.stringify({ Records: records })),
    }),
  );
}

async function extract(
  prefix: string,
  range: DateRange,
  observe: (item: UsageItem) => void = () => undefined,
): Promise<{ extracts: EventExtracts; bundle: string }> {
  const bundle = path.join(directory, randomUUID());
  const writer = await BundleWriter.open(bundle);
  const items = streamCloudTrailS3Usage({
    sourceId: "aws-history",
    location: REGION,
    range,
    s3,
    bucket,
    prefix,
    account: () =>
      Promise.resolve({ ok: true, value: ACCOUNT, call: "sts:GetCallerIdentity", capturedAt: range.from }),
    expectObjects: false,
  });
  async function* observed(): AsyncGenerator<UsageItem> {
    for await (const item of items) {
      observe(item);
      yield item;
    }
  }
  const extracts = await writeUsageAndChangeExtracts(writer, observed(), {
    source: "aws-history",
    sourceType: "aws-kms",
    location: REGION,
    method: "cloudtrail-s3",
    range,
  });
  return { extracts, bundle };
}

/** Streams an NDJSON file line by line (it may be large), handing each parsed event to `visit`. */
async function eachLine(file: string, visit: (event: UsageEvent) => void): Promise<number> {
  let lines = 0;
  for await (const line of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) {
    if (line.length === 0) continue;
    lines++;
    visit(JSON.parse(line) as UsageEvent);
  }
  return lines;
}

describe("history extract: range edges", () => {
  const range = parseRange("2026-07-01", "2026-07-31");
  let result: { extracts: EventExtracts; bundle: string };

  beforeAll(async () => {
    const key = keyIdOf(1);
    const at = (time: string, eventId: string, eventName = "DisableKeyRotation") =>
      kmsRecord({ time, eventName, keyId: key, eventId });
    // CloudTrail delivers late: the first range day's folder can hold the day before's last events, and the
    // day after the range (read for late delivery) the range's last ones and the next day's first.
    await putLogFile("edges/", "2026-07-01", "EDGESTART0000001", [
      at("2026-06-30T23:59:59.999Z", "one-ms-before-start"),
      at("2026-07-01T00:00:00.000Z", "exactly-start"),
      at("2026-07-01T00:00:00.001Z", "one-ms-after-start", "PutKeyPolicy"),
    ]);
    await putLogFile("edges/", "2026-08-01", "EDGEEND000000001", [
      at("2026-07-31T23:59:59.999Z", "one-ms-before-end", "CreateGrant"),
      at("2026-08-01T00:00:00.000Z", "exactly-end"),
      at("2026-08-01T00:00:00.001Z", "one-ms-after-end"),
    ]);
    result = await extract("edges/", range);
  });

  it("keeps the first instant of the range and the last millisecond before its exclusive end, nothing outside", async () => {
    expect(range.from).toBe("2026-07-01T00:00:00.000Z");
    expect(range.toExclusive).toBe("2026-08-01T00:00:00.000Z");
    const ids: string[] = [];
    await eachLine(path.join(result.bundle, changesExtractPath("aws-history", REGION, "ndjson")), (event) =>
      ids.push(event.eventId),
    );
    expect(ids).toEqual(["exactly-start", "one-ms-after-start", "one-ms-before-end"]);
    // The usage extract draws the same line: both come from one pass.
    expect(result.extracts.usage.eventCount).toBe(3);
    expect(result.extracts.usage.firstEventAt).toBe("2026-07-01T00:00:00.000Z");
    expect(result.extracts.usage.lastEventAt).toBe("2026-07-31T23:59:59.999Z");
    expect(result.extracts.changes.keys[0]).toMatchObject({
      rotationDisabledCount: 1,
      rotationToggles: [expect.objectContaining({ eventId: "exactly-start", rotationState: "disabled" })],
      accessChanges: [
        expect.objectContaining({ eventId: "one-ms-after-start" }),
        expect.objectContaining({ eventId: "one-ms-before-end" }),
      ],
    });
  });
});

describe("history extract: bounded memory over a generated archive", () => {
  const KEYS = 200;
  const EVENTS_PER_KEY = 1000;
  const FILES = 100;
  const TOTAL = KEYS * EVENTS_PER_KEY;
  /** Each key sees these in turn, so each action is exactly a fifth of its events. */
  const CYCLE = ["DisableKeyRotation", "EnableKeyRotation", "PutKeyPolicy", "CreateGrant", "TagResource"];
  const range = parseRange("2026-07-01", "2026-07-10");
  const MB = 1024 * 1024;

  it("streams 200,000 administrative events with live heap far below the events' size, the summary capped per key and changes.ndjson complete", async () => {
    // One file per (day, slice): events in time order within a file, every key in every file.
    const perFile = TOTAL / FILES;
    const files = FILES / 10;
    for (let day = 0; day < 10; day++) {
      const date = `2026-07-${String(day + 1).padStart(2, "0")}`;
      const uploads: Array<Promise<void>> = [];
      for (let slice = 0; slice < files; slice++) {
        const records: object[] = [];
        for (let index = 0; index < perFile; index++) {
          const sequence = (day * files + slice) * perFile + index;
          const keyIndex = sequence % KEYS;
          const turn = Math.floor(sequence / KEYS);
          const seconds = slice * 8000 + Math.floor(index / 4);
          records.push(
            kmsRecord({
              time: new Date(Date.parse(`${date}T00:00:00.000Z`) + seconds * 1000).toISOString(),
              eventName: CYCLE[turn % CYCLE.length] ?? "TagResource",
              keyId: keyIdOf(keyIndex),
              eventId: `gen-${sequence}`,
            }),
          );
        }
        uploads.push(
          putLogFile("bulk/", date, `BULK${String(day * files + slice).padStart(12, "0")}`, records),
        );
      }
      await Promise.all(uploads);
    }

    // A collection on demand, so samples measure what is live, not garbage waiting for the collector.
    setFlagsFromString("--expose-gc");
    const collect = runInNewContext("gc") as () => void;
    collect();
    const baseline = process.memoryUsage().heapUsed;
    let peak = 0;
    let seen = 0;
    const { extracts, bundle } = await extract("bulk/", range, () => {
      seen++;
      if (seen % 20_000 === 0) {
        collect();
        peak = Math.max(peak, process.memoryUsage().heapUsed - baseline);
      }
    });
    console.log(`history extract: ${TOTAL} events, live heap growth peak ${(peak / MB).toFixed(1)} MB`);

    expect(extracts.usage.gaps).toEqual([]);
    expect(extracts.usage.eventCount).toBe(TOTAL);
    const { changes } = extracts;
    expect(changes.changeCount).toBe(TOTAL);
    expect(changes.byAction).toEqual(
      Object.fromEntries([...CYCLE].sort().map((action) => [action, TOTAL / 5])),
    );
    expect(changes.keys).toHaveLength(KEYS);
    for (const history of changes.keys) {
      // 400 rotation switches and 400 access changes per key: the earliest 100 of each kept, the rest counted.
      expect(history.rotationToggles).toHaveLength(CHANGES_KEPT_PER_KEY);
      expect(history.rotationTogglesOmitted).toBe(400 - CHANGES_KEPT_PER_KEY);
      expect(history.rotationDisabledCount).toBe(200);
      expect(history.accessChanges).toHaveLength(CHANGES_KEPT_PER_KEY);
      expect(history.accessChangesOmitted).toBe(400 - CHANGES_KEPT_PER_KEY);
      const times = history.rotationToggles.map((change) => change.time);
      expect(times).toEqual([...times].sort());
    }

    const perAction = new Map<string, number>();
    const lines = await eachLine(
      path.join(bundle, changesExtractPath("aws-history", REGION, "ndjson")),
      (event) => perAction.set(event.action, (perAction.get(event.action) ?? 0) + 1),
    );
    expect(lines).toBe(TOTAL);
    expect(Object.fromEntries(perAction)).toEqual(changes.byAction);

    // Holding the events would take well over 100 MB of heap (they are ~80 MB as NDJSON text alone);
    // the summary of 200 keys × 200 records is a few MB. The bound leaves room for stream buffers.
    expect(peak).toBeLessThan(64 * MB);
  }, 600_000);
});
