import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeCloudTrailArchive } from "../../../test/fixtures/cloudtrail-archive.ts";
import { createLocalTrailBucket } from "../../../test/fakes/local-trail-bucket.fake.ts";
import { BundleWriter } from "../../evidence/bundle-writer.ts";
import { writeUsageAndChangeExtracts } from "../../evidence/usage-extract.writer.ts";
import type { UsageItem } from "../../model/usage.ts";
import { daysOf, isInRange, parseRange } from "../../time/date-range.ts";
import { mapCloudTrailRecord } from "./cloudtrail-record.mapper.ts";
import { dayFolder, streamCloudTrailS3Usage } from "./cloudtrail-s3.usage.ts";

/**
 * The extraction of a local archive through the S3 usage stream gives exactly what a whole-document
 * `JSON.parse` of every file and the record mapper give (the reader before the pre-filter), down to the
 * bytes of the extract files, on generated files and on a file of tricky records.
 */

const ACCOUNT = "111122223333";
const REGION = "eu-west-1";
const RANGE = parseRange("2026-07-02", "2026-07-04");
const TRICKY_DAY = "2026-07-03";

let directory: string;

/** Tricky records, with the reason each one is there. */
function trickyRecords(): unknown[] {
  const kms = (eventID: string, extra: Record<string, unknown> = {}) => ({
    eventVersion: "1.10",
    userIdentity: { type: "AssumedRole", arn: `arn:aws:sts::${ACCOUNT}:assumed-role/app/${eventID}` },
    eventTime: `${TRICKY_DAY}T10:00:00Z`,
    eventSource: "kms.amazonaws.com",
    eventName: "Decrypt",
    eventID,
    resources: [
      {
        type: "AWS::KMS::Key",
        ARN: `arn:aws:kms:${REGION}:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-000000000001`,
      },
    ],
    ...extra,
  });
  return [
    kms("escaped-quotes", { userAgent: 'agent "with" quotes \\ and } braces {' }),
    // Names KMS in its parameters but is an S3 event: must stay out of the extract.
    {
      eventTime: `${TRICKY_DAY}T10:00:01Z`,
      eventSource: "s3.amazonaws.com",
      eventName: "PutObject",
      eventID: "s3-mentions-kms",
      requestParameters: { service: "kms.amazonaws.com", "x-amz-server-side-encryption": "aws:kms" },
    },
    // Larger than a decompressed chunk (64 KiB): crosses chunk boundaries.
    kms("spans-chunks", {
      requestParameters: { encryptionContext: { blob: "kms.amazonaws.com ".repeat(12_000) } },
    }),
    kms("administrative", {
      eventName: "PutKeyPolicy",
      requestParameters: { policyName: "default", policy: "{}" },
    }),
    kms("no-time", { eventTime: "not a time" }),
    kms("outside-range", { eventTime: "2026-07-05T00:00:00Z" }),
    "not an object",
  ];
}

/** The same document with whitespace variants and an escaped event source, as raw JSON text. */
function trickyDocument(): string {
  const records = trickyRecords().map((record) => JSON.stringify(record));
  records.push(
    '{ "eventSource" : "kms.amazonaws.com" , "eventName" : "Encrypt", "eventTime" : "2026-07-03T11:00:00Z", "eventID" : "whitespace" }',
    '{"eventSource":"kms\\u002eamazonaws.com","eventName":"Encrypt","eventTime":"2026-07-03T12:00:00Z","eventID":"escaped-source"}',
  );
  return `{\n  "Records" : [\n${records.join(",\n")}\n]\n}`;
}

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), "keyproof-extract-"));
  // Days before and well after the range are in the archive but must not be read.
  await writeCloudTrailArchive({
    directory,
    account: ACCOUNT,
    region: REGION,
    days: ["2026-06-30", "2026-07-01", "2026-07-02", "2026-07-03", "2026-07-04", "2026-07-05", "2026-07-09"],
    records: 2800,
    recordsPerFile: 150,
  });
  const tricky = join(directory, dayFolder("", ACCOUNT, REGION, TRICKY_DAY), "tricky.json.gz");
  await mkdir(dirname(tricky), { recursive: true });
  await writeFile(tricky, gzipSync(trickyDocument()));
}, 120_000);

afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

function localStream(): AsyncGenerator<UsageItem> {
  return streamCloudTrailS3Usage({
    sourceId: "aws-prod",
    location: REGION,
    range: RANGE,
    s3: createLocalTrailBucket(directory),
    bucket: "local",
    prefix: "",
    account: async () => ({
      ok: true,
      value: ACCOUNT,
      call: "sts:GetCallerIdentity",
      capturedAt: RANGE.from,
    }),
    clock: () => new Date("2026-08-01T00:00:00Z"),
  });
}

/** The reference: every listed file parsed whole, every record mapped, in listing order. */
async function* referenceStream(): AsyncGenerator<UsageItem> {
  for (const day of daysOf(RANGE, 1)) {
    const folder = dayFolder("", ACCOUNT, REGION, day);
    const names = (await readdir(join(directory, folder))).map((name) => `${folder}${name}`);
    names.sort((left, right) => left.localeCompare(right));
    for (const key of names) {
      const document = JSON.parse(gunzipSync(await readFile(join(directory, key))).toString("utf8")) as {
        Records: unknown[];
      };
      for (const [index, record] of document.Records.entries()) {
        const mapped = mapCloudTrailRecord(record, { source: "aws-prod", location: REGION, origin: key });
        if (mapped.kind === "other-service") continue;
        if (mapped.kind === "invalid") {
          const gap = { source: "aws-prod", location: REGION, object: `s3://local/${key}#Records[${index}]` };
          yield { kind: "gap", gap: { ...gap, code: "InvalidRecord", message: mapped.reason } };
        } else if (isInRange(mapped.event.time, RANGE)) yield { kind: "event", event: mapped.event };
      }
    }
  }
}

async function drain(items: AsyncIterable<UsageItem>): Promise<UsageItem[]> {
  const all: UsageItem[] = [];
  for await (const item of items) all.push(item);
  return all;
}

async function extractFiles(items: AsyncIterable<UsageItem>, name: string): Promise<Map<string, string>> {
  const writer = await BundleWriter.open(join(directory, "..", `${name}-${process.pid}-${Date.now()}`));
  try {
    const summaries = await writeUsageAndChangeExtracts(writer, items, {
      source: "aws-prod",
      sourceType: "aws-kms",
      location: REGION,
      method: "cloudtrail-s3",
      range: RANGE,
      generatedAt: "2026-08-01T00:00:00.000Z",
    });
    const files = new Map<string, string>([["summary", JSON.stringify(summaries)]]);
    for (const file of await readdir(writer.directory, { recursive: true })) {
      if (/\.(ndjson|csv)$/.test(file)) files.set(file, await readFile(join(writer.directory, file), "utf8"));
    }
    return files;
  } finally {
    await rm(writer.directory, { recursive: true, force: true });
  }
}

describe("extracting KMS events from a local CloudTrail archive", () => {
  it("yields exactly the items a whole-document parse yields", async () => {
    const [actual, expected] = await Promise.all([drain(localStream()), drain(referenceStream())]);
    expect(actual).toEqual(expected);
    const ids = actual.flatMap((item) => (item.kind === "event" ? [item.event.eventId] : []));
    expect(ids).toEqual(
      expect.arrayContaining([
        "escaped-quotes",
        "spans-chunks",
        "administrative",
        "whitespace",
        "escaped-source",
      ]),
    );
    expect(ids).not.toContain("s3-mentions-kms");
    expect(ids).not.toContain("outside-range");
    const gaps = actual.flatMap((item) => (item.kind === "gap" ? [item.gap] : []));
    expect(gaps.map((gap) => gap.object.replace(/^.*\//, ""))).toEqual([
      "tricky.json.gz#Records[4]",
      "tricky.json.gz#Records[6]",
    ]);
    // Only the range and the late-delivery day after it are read (folders listed by prefix).
    const origins = actual.flatMap((item) => (item.kind === "event" ? [item.event.origin] : []));
    expect(origins.every((origin) => /\/2026\/07\/0[2-5]\//.test(origin))).toBe(true);
  }, 120_000);

  it("writes extract files byte-identical to the reference's", async () => {
    const actual = await extractFiles(localStream(), "actual");
    const expected = await extractFiles(referenceStream(), "expected");
    expect([...actual.keys()].sort()).toEqual([...expected.keys()].sort());
    expect(actual.size).toBe(5);
    for (const [file, text] of expected) expect(actual.get(file), file).toBe(text);
    expect(actual.get("summary")).toContain('"changeCount"');
  }, 120_000);
});
