import { Readable, Transform, pipeline } from "node:stream";
import type { TransformCallback } from "node:stream";
import { createGunzip } from "node:zlib";
import { GetObjectCommand, paginateListObjectsV2 } from "@aws-sdk/client-s3";
import type { S3Client } from "@aws-sdk/client-s3";
import type { Collected } from "../../model/key.ts";
import type { DateRange } from "../../model/snapshot.ts";
import type { UsageGap, UsageItem } from "../../model/usage.ts";
import { daysOf, isInRange } from "../../time/date-range.ts";
import type { Clock } from "../key-provider.ts";
import { systemClock } from "../key-provider.ts";
import { toCollectionError } from "./aws-error.ts";
import { mapCloudTrailRecord } from "./cloudtrail-record.mapper.ts";
import { CloudTrailRecordScanner, TrailScanError } from "./cloudtrail-records.scanner.ts";
import type { CandidateRecord } from "./cloudtrail-records.scanner.ts";

/**
 * Streams one region's KMS events for a range from the CloudTrail log files in S3
 * (`<prefix>AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/*.json.gz`). Each object is gunzipped and its
 * `Records` array scanned as it streams: entries that cannot be KMS events are skipped unparsed, the others
 * parsed one at a time (cloudtrail-records.scanner.ts), so memory depends neither on the range nor on the
 * size of an object. Only the day folders of the range (and the day after) are listed, by key prefix. CloudTrail files by delivery day, typically within 15 minutes of the
 * event, so the day after the range is read too and every record is filtered on its own eventTime.
 * An unreadable object, an object over `maxObjectBytes`, and (while a trail logs the region) a day of the
 * range whose folder holds no log object each become a gap naming the object or the exact prefix listed,
 * and the stream goes on.
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
  /**
   * An organization trail's files sit one folder deeper, `AWSLogs/<org-id>/<account>/CloudTrail/...`:
   * set to read that layout (issue 15). Unset: the account layout `AWSLogs/<account>/CloudTrail/...`.
   */
  organizationId?: string | undefined;
  /**
   * Bound on each object's size, compressed (as stored) and decompressed, in bytes, counted while
   * streaming; an object over it is abandoned as a `LogObjectTooLarge` gap. Default 1 GiB.
   */
  maxObjectBytes?: number;
  /** Day folders listed and small log objects fetched ahead of the one being mapped; default 4. */
  fetchConcurrency?: number;
  /**
   * A trail logs the region's KMS events (or whether one does is unknown), so every day of the range
   * that has begun should hold log objects: an empty day folder is then a `NoLogObjects` gap. Without a
   * logging trail, empty folders are what is expected and stay silent. Default true.
   */
  expectObjects?: boolean;
  /** Days that have not begun by now are not expected to hold objects yet; default the system clock. */
  clock?: Clock;
}

export const DEFAULT_MAX_OBJECT_BYTES = 1024 * 1024 * 1024;
const DEFAULT_FETCH_CONCURRENCY = 4;
/**
 * Objects up to this compressed size are downloaded ahead while earlier ones are parsed (hides S3
 * latency for the many small files CloudTrail writes); larger ones are streamed from S3 when their turn
 * comes, so read-ahead memory stays under `fetchConcurrency` times this.
 */
const PREFETCH_MAX_BYTES = 8 * 1024 * 1024;

/** `""` → `""`, `logs` → `logs/`, `logs/` → `logs/`. */
export function normalizePrefix(prefix: string): string {
  return prefix === "" || prefix.endsWith("/") ? prefix : `${prefix}/`;
}

/**
 * A configured `cloudtrail.prefix` as the key prefix before `AWSLogs/`. Trail documentation and the S3
 * console show the delivery path, so users copy `AWSLogs/` or `audit/AWSLogs/`: that form means the part
 * before `AWSLogs/` (`""`, `audit/`), never a folder `AWSLogs/AWSLogs/...`. Leading slashes are dropped (S3
 * keys of CloudTrail never start with one).
 */
export function normalizeConfiguredPrefix(prefix: string): string {
  const trimmed = prefix.replace(/^\/+/, "");
  const beforeLogs = CONFIGURED_LOGS_PATH.exec(trimmed);
  if (beforeLogs !== null) return normalizePrefix((beforeLogs[1] ?? "").replace(/\/+$/, ""));
  return normalizePrefix(trimmed);
}

/**
 * The path form of a configured prefix: `[<prefix>/]AWSLogs[/<org-id>][/]`. An organization trail's delivery
 * path shows its organization id after `AWSLogs/`, so `AWSLogs/o-xxxx/` is accepted as well.
 */
const CONFIGURED_LOGS_PATH = /^(.*?)(?:^|\/)AWSLogs(?:\/(o-[a-z0-9]{10,32}))?\/?$/;

/** The organization id a configured prefix ends in (`audit/AWSLogs/o-xxxx/` → `o-xxxx`), if any. */
export function organizationIdOfConfiguredPrefix(prefix: string): string | undefined {
  return CONFIGURED_LOGS_PATH.exec(prefix.replace(/^\/+/, ""))?.[2];
}

/**
 * The folder of one region and UTC day, e.g. `AWSLogs/123456789012/CloudTrail/us-east-1/2026/07/01/`, or
 * with an organization id `AWSLogs/o-xxxx/123456789012/CloudTrail/us-east-1/2026/07/01/`.
 */
export function dayFolder(
  prefix: string,
  account: string,
  region: string,
  day: string,
  organizationId?: string,
): string {
  const owner = organizationId === undefined ? account : `${organizationId}/${account}`;
  return `${normalizePrefix(prefix)}AWSLogs/${owner}/CloudTrail/${region}/${day.replace(/-/g, "/")}/`;
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

function tooLarge(what: "compressed" | "decompressed", maxBytes: number): LogFileError {
  return new LogFileError(
    "LogObjectTooLarge",
    `the object's ${what} size passed cloudtrail.maxObjectBytes (${maxBytes} bytes); reading it stopped there`,
  );
}

/** Counts the bytes flowing through and fails the pipeline once they pass `maxBytes`. */
function byteLimit(maxBytes: number, what: "compressed" | "decompressed"): Transform {
  let size = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
      size += chunk.length;
      if (size > maxBytes) callback(tooLarge(what, maxBytes));
      else callback(null, chunk);
    },
  });
}

/** Counts what one object's scan has read, for the message of a gap that cuts it off. */
interface ScanProgress {
  records: number;
}

/**
 * The `Records[]` entries of one gzipped CloudTrail file that may be KMS events, parsed, streamed in
 * batches (those of one decompressed chunk): the scanner skips the others without parsing them (see
 * cloudtrail-records.scanner.ts). Throws
 * `LogFileError` for a file that is too large, not gzip, not JSON or has no Records array; a failing body
 * read throws the S3 error. Stopping the iteration early destroys every stream of the pipeline, the S3
 * body included. `progress.records` counts every entry read, skipped or not.
 */
async function* streamRecords(
  body: Readable,
  maxBytes: number,
  progress: ScanProgress,
): AsyncGenerator<Array<{ index: number; record: unknown }>> {
  const stages = new Map<unknown, "body" | "inflate">();
  const markFirst = (stage: "body" | "inflate") => (error: unknown) => {
    if (!stages.has(error)) stages.set(error, stage);
  };
  // 64 KiB output chunks instead of zlib's 16 KiB: a quarter of the callbacks for the same bytes.
  const inflate = createGunzip({ chunkSize: 64 * 1024 });
  body.on("error", markFirst("body"));
  inflate.on("error", markFirst("inflate"));
  const decompressed = byteLimit(maxBytes, "decompressed");
  pipeline(
    body,
    byteLimit(maxBytes, "compressed"),
    inflate,
    decompressed,
    // Errors reach the iteration below through the destroyed last stream.
    () => undefined,
  );
  const scanner = new CloudTrailRecordScanner();
  try {
    for await (const chunk of decompressed) {
      const candidates: CandidateRecord[] = [];
      let failure: unknown;
      try {
        scanner.push(chunk as Buffer, candidates);
      } catch (error) {
        failure = error;
      }
      progress.records = scanner.recordCount;
      // One batch a chunk, not one yield a record: each yield is a turn through the async generators.
      // Records before a syntax error are kept, as a streaming parse would have yielded them.
      const parsed: Array<{ index: number; record: unknown }> = [];
      for (const candidate of candidates) {
        try {
          parsed.push({ index: candidate.index, record: JSON.parse(candidate.text) as unknown });
        } catch (error) {
          if (parsed.length > 0) yield parsed;
          progress.records = candidate.index;
          throw new LogFileError("InvalidJson", `not a JSON document: ${(error as Error).message}`);
        }
      }
      if (parsed.length > 0) yield parsed;
      if (failure !== undefined) throw failure;
    }
    scanner.end();
  } catch (error) {
    if (error instanceof LogFileError) throw error;
    if (error instanceof TrailScanError) throw new LogFileError(error.code, error.message);
    const code = (error as { code?: unknown }).code;
    if (stages.get(error) !== "body" && typeof code === "string" && code.startsWith("Z_")) {
      throw new LogFileError(
        "InvalidGzip",
        `not a readable gzip file (${code}): ${(error as Error).message}`,
      );
    }
    throw error;
  }
}

/** One listed log object, an empty day folder, or a day whose listing failed. */
type ListedEntry =
  { kind: "object"; key: string; size: number | undefined } | { kind: "gap"; item: UsageItem };
/** A listed object, its compressed bytes read ahead when small; or the gap it became. */
type LoadedEntry =
  { kind: "object"; key: string; compressed: Buffer | undefined } | { kind: "gap"; item: UsageItem };

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
  const maxBytes = context.maxObjectBytes ?? DEFAULT_MAX_OBJECT_BYTES;
  const concurrency = Math.max(1, context.fetchConcurrency ?? DEFAULT_FETCH_CONCURRENCY);
  const now = (context.clock ?? systemClock)().getTime();
  const rangeDays = new Set(context.expectObjects === false ? [] : daysOf(context.range));

  const failed = (call: string, object: string, error: unknown): UsageItem => {
    const failure = toCollectionError(call, error);
    return gap(object, failure.code, `${failure.call} failed: ${failure.message}`);
  };

  /** Never rejects: a day whose listing fails becomes its gap. */
  async function listDay(day: string): Promise<ListedEntry[]> {
    const folder = dayFolder(context.prefix, accountId, location, day, context.organizationId);
    const objects: Array<{ key: string; size: number | undefined }> = [];
    try {
      for await (const page of paginateListObjectsV2({ client: s3 }, { Bucket: bucket, Prefix: folder })) {
        for (const object of page.Contents ?? []) {
          // Digest files live in CloudTrail-Digest/; anything else that is not a log file is skipped.
          if (object.Key !== undefined && object.Key.endsWith(".json.gz"))
            objects.push({ key: object.Key, size: object.Size });
        }
      }
    } catch (error) {
      return [{ kind: "gap", item: failed("s3:ListObjectsV2", `s3://${bucket}/${folder}`, error) }];
    }
    // A day of the range (not the late-delivery day after it) that has begun yet holds nothing while a
    // trail logs the region: either the trail did not deliver or the prefix is wrong. Never silent: the gap names the exact prefix listed.
    if (objects.length === 0 && rangeDays.has(day) && Date.parse(`${day}T00:00:00Z`) <= now) {
      return [
        {
          kind: "gap",
          item: gap(
            `s3://${bucket}/${folder}`,
            "NoLogObjects",
            `no CloudTrail log object (*.json.gz) under this prefix for ${day}; if the trail was logging that day, its files are elsewhere: check cloudtrail.bucket and cloudtrail.prefix (the key prefix before AWSLogs/)`,
          ),
        },
      ];
    }
    objects.sort((left, right) => left.key.localeCompare(right.key));
    return objects.map((object) => ({ kind: "object", ...object }));
  }

  async function* listed(): AsyncGenerator<ListedEntry> {
    for await (const entries of inOrder(daysOf(context.range, 1), concurrency, listDay)) yield* entries;
  }

  async function getBody(key: string): Promise<Readable> {
    const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    if (!(response.Body instanceof Readable)) {
      throw new LogFileError("UnreadableBody", "GetObject returned no readable body");
    }
    return response.Body;
  }

  /** Never rejects: reads a small object's compressed bytes ahead; a failed read becomes its gap. */
  async function load(entry: ListedEntry): Promise<LoadedEntry> {
    if (entry.kind === "gap") return entry;
    const { key, size } = entry;
    const object = `s3://${bucket}/${key}`;
    // The listing already tells the stored size: an object over the bound is not downloaded at all.
    if (size !== undefined && size > maxBytes)
      return {
        kind: "gap",
        item: gap(
          object,
          "LogObjectTooLarge",
          `${tooLarge("compressed", maxBytes).message} (listed size ${size} bytes)`,
        ),
      };
    if (size === undefined || size > PREFETCH_MAX_BYTES)
      return { kind: "object", key, compressed: undefined };
    try {
      const chunks: Buffer[] = [];
      let read = 0;
      for await (const chunk of await getBody(key)) {
        read += (chunk as Buffer).length;
        if (read > maxBytes) throw tooLarge("compressed", maxBytes);
        chunks.push(chunk as Buffer);
      }
      return { kind: "object", key, compressed: Buffer.concat(chunks) };
    } catch (error) {
      if (error instanceof LogFileError) return { kind: "gap", item: gap(object, error.code, error.message) };
      return { kind: "gap", item: failed("s3:GetObject", object, error) };
    }
  }

  async function* itemsOf(loaded: LoadedEntry): AsyncGenerator<UsageItem> {
    if (loaded.kind === "gap") {
      yield loaded.item;
      return;
    }
    const { key } = loaded;
    const object = `s3://${bucket}/${key}`;
    const progress: ScanProgress = { records: 0 };
    try {
      const body = loaded.compressed === undefined ? await getBody(key) : Readable.from([loaded.compressed]);
      for await (const batch of streamRecords(body, maxBytes, progress)) {
        for (const { index, record } of batch) {
          const mapped = mapCloudTrailRecord(record, { source: sourceId, location, origin: key });
          if (mapped.kind === "other-service") continue;
          if (mapped.kind === "invalid") {
            yield gap(`${object}#Records[${index}]`, "InvalidRecord", mapped.reason);
            continue;
          }
          if (isInRange(mapped.event.time, context.range)) yield { kind: "event", event: mapped.event };
        }
      }
    } catch (error) {
      const mappedRecords = progress.records;
      const read =
        mappedRecords === 0
          ? ""
          : ` (the ${mappedRecords} record${mappedRecords === 1 ? "" : "s"} before the failure were read)`;
      if (error instanceof LogFileError) {
        yield gap(object, error.code, `${error.message}${read}`);
        return;
      }
      const failure = toCollectionError("s3:GetObject", error);
      yield gap(object, failure.code, `${failure.call} failed: ${failure.message}${read}`);
    }
  }

  // A few days listed and a few small objects fetched ahead hide S3 latency; output keeps listing order.
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
