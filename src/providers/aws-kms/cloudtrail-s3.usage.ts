import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGunzip } from "node:zlib";
import { GetObjectCommand, paginateListObjectsV2 } from "@aws-sdk/client-s3";
import type { S3Client } from "@aws-sdk/client-s3";
import type { Collected } from "../../model/key.ts";
import type { DateRange } from "../../model/snapshot.ts";
import type { UsageGap, UsageItem } from "../../model/usage.ts";
import { daysOf, isInRange } from "../../time/date-range.ts";
import { toCollectionError } from "./aws-error.ts";
import { mapCloudTrailRecord } from "./cloudtrail-record.mapper.ts";

/**
 * Streams one region's KMS events for a range from the CloudTrail log files in S3
 * (`<prefix>AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/*.json.gz`). Each file is read whole and
 * parsed on its own, so memory is bounded by log files, never by the range. CloudTrail files by delivery day,
 * typically within 15 minutes of the event, so the day after the range is read too and every record is
 * filtered on its own eventTime. An unreadable file becomes a gap and the stream goes on.
 * Files are fetched a few at a time ahead of the consumer; memory holds at most that many files.
 */

export interface S3UsageContext {
  sourceId: string;
  location: string;
  range: DateRange;
  s3: S3Client;
  bucket: string;
  /** Key prefix before `AWSLogs/`, as the trail's S3KeyPrefix; "" for none. */
  prefix: string;
  /** The account whose folder holds the files (STS GetCallerIdentity). */
  account: () => Promise<Collected<string>>;
  /** Refuse files that inflate beyond this (a gzip bomb, or not a log file); default 512 MiB. */
  maxDecompressedBytes?: number;
  /** Day folders listed and log files fetched ahead of the one being mapped; default 4. */
  fetchConcurrency?: number;
}

const DEFAULT_MAX_DECOMPRESSED_BYTES = 512 * 1024 * 1024;
const DEFAULT_FETCH_CONCURRENCY = 4;

/** `""` → `""`, `logs` → `logs/`, `logs/` → `logs/`. */
export function normalizePrefix(prefix: string): string {
  return prefix === "" || prefix.endsWith("/") ? prefix : `${prefix}/`;
}

/** The folder of one region and UTC day, e.g. `AWSLogs/123456789012/CloudTrail/us-east-1/2026/07/01/`. */
export function dayFolder(prefix: string, account: string, region: string, day: string): string {
  return `${normalizePrefix(prefix)}AWSLogs/${account}/CloudTrail/${region}/${day.replace(/-/g, "/")}/`;
}

class LogFileError extends Error {
  override readonly name = "LogFileError";
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Gunzips a stream into one string, bounded in size. zlib's errors (Z_DATA_ERROR...) mean a corrupt file. */
async function gunzipToString(body: Readable, maxBytes: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  const gunzip = createGunzip();
  try {
    await pipeline(body, gunzip, async (source: AsyncIterable<Buffer>) => {
      for await (const chunk of source) {
        size += chunk.length;
        if (size > maxBytes)
          throw new LogFileError("LogFileTooLarge", `decompresses to more than ${maxBytes} bytes`);
        chunks.push(chunk);
      }
    });
  } catch (error) {
    if (error instanceof LogFileError) throw error;
    const code = (error as { code?: unknown }).code;
    if (typeof code === "string" && code.startsWith("Z_")) {
      throw new LogFileError(
        "InvalidGzip",
        `not a readable gzip file (${code}): ${(error as Error).message}`,
      );
    }
    throw error;
  }
  return Buffer.concat(chunks).toString("utf8");
}

function parseRecords(text: string): unknown[] {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw new LogFileError("InvalidJson", `not a JSON document: ${(error as Error).message}`);
  }
  const records = (document as { Records?: unknown } | null)?.Records;
  if (!Array.isArray(records))
    throw new LogFileError("NoRecordsArray", 'the document has no "Records" array');
  return records;
}

/** One listed log file, or a day whose listing failed. */
type ListedEntry = { kind: "object"; key: string } | { kind: "gap"; item: UsageItem };
/** One log file read (its records kept until mapped), or the gap it became. */
type LoadedEntry = { kind: "records"; key: string; records: unknown[] } | { kind: "gap"; item: UsageItem };

export async function* streamCloudTrailS3Usage(context: S3UsageContext): AsyncGenerator<UsageItem> {
  const { sourceId, location, bucket, s3 } = context;
  const gap = (object: string, code: string, message: string): UsageItem => {
    const value: UsageGap = { source: sourceId, location, object, code, message };
    return { kind: "gap", gap: value };
  };
  const account = await context.account();
  if (!account.ok) {
    yield gap(
      `s3://${bucket}/${normalizePrefix(context.prefix)}AWSLogs/`,
      account.error.code,
      `the account id that names the log folder is unknown: ${account.error.call} failed: ${account.error.message}`,
    );
    return;
  }
  const accountId = account.value;
  const maxBytes = context.maxDecompressedBytes ?? DEFAULT_MAX_DECOMPRESSED_BYTES;
  const concurrency = Math.max(1, context.fetchConcurrency ?? DEFAULT_FETCH_CONCURRENCY);

  /** Never rejects: a day whose listing fails becomes its gap. */
  async function listDay(day: string): Promise<ListedEntry[]> {
    const folder = dayFolder(context.prefix, accountId, location, day);
    const keys: string[] = [];
    try {
      for await (const page of paginateListObjectsV2({ client: s3 }, { Bucket: bucket, Prefix: folder })) {
        for (const object of page.Contents ?? []) {
          // Digest files live in CloudTrail-Digest/; anything else that is not a log file is skipped.
          if (object.Key !== undefined && object.Key.endsWith(".json.gz")) keys.push(object.Key);
        }
      }
    } catch (error) {
      const failure = toCollectionError("s3:ListObjectsV2", error);
      return [
        {
          kind: "gap",
          item: gap(`s3://${bucket}/${folder}`, failure.code, `${failure.call} failed: ${failure.message}`),
        },
      ];
    }
    return keys.sort().map((key) => ({ kind: "object", key }));
  }

  async function* listed(): AsyncGenerator<ListedEntry> {
    for await (const entries of inOrder(daysOf(context.range, 1), concurrency, listDay)) yield* entries;
  }

  /** Never rejects: a file that cannot be read becomes its gap. */
  async function load(entry: ListedEntry): Promise<LoadedEntry> {
    if (entry.kind === "gap") return entry;
    const { key } = entry;
    try {
      const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      if (!(response.Body instanceof Readable)) {
        throw new LogFileError("UnreadableBody", "GetObject returned no readable body");
      }
      return { kind: "records", key, records: parseRecords(await gunzipToString(response.Body, maxBytes)) };
    } catch (error) {
      if (error instanceof LogFileError)
        return { kind: "gap", item: gap(`s3://${bucket}/${key}`, error.code, error.message) };
      const failure = toCollectionError("s3:GetObject", error);
      return {
        kind: "gap",
        item: gap(`s3://${bucket}/${key}`, failure.code, `${failure.call} failed: ${failure.message}`),
      };
    }
  }

  function* itemsOf(loaded: LoadedEntry): Generator<UsageItem> {
    if (loaded.kind === "gap") {
      yield loaded.item;
      return;
    }
    for (const [index, record] of loaded.records.entries()) {
      const mapped = mapCloudTrailRecord(record, { source: sourceId, location, origin: loaded.key });
      if (mapped.kind === "other-service") continue;
      if (mapped.kind === "invalid") {
        yield gap(`s3://${bucket}/${loaded.key}#Records[${index}]`, "InvalidRecord", mapped.reason);
        continue;
      }
      if (isInRange(mapped.event.time, context.range)) yield { kind: "event", event: mapped.event };
    }
  }

  // A few days listed and a few files fetched ahead hide S3 latency; output keeps listing order, and
  // memory stays bounded by `fetchConcurrency` log files whatever the range.
  for await (const loaded of inOrder(listed(), concurrency, load)) yield* itemsOf(loaded);
}

/**
 * Runs `run` over the inputs with up to `size` calls in flight and yields the results in input order.
 * `run` must not reject (a rejection would surface only when its turn comes).
 */
async function* inOrder<Input, Output>(
  inputs: AsyncIterable<Input> | Iterable<Input>,
  size: number,
  run: (input: Input) => Promise<Output>,
): AsyncGenerator<Output> {
  const window: Array<Promise<Output>> = [];
  for await (const input of inputs) {
    window.push(run(input));
    if (window.length >= size) yield await (window.shift() as Promise<Output>);
  }
  while (window.length > 0) yield await (window.shift() as Promise<Output>);
}
