import { createReadStream, createWriteStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { describeError } from "../errors/errors.ts";
import type { SourceType } from "../model/key.ts";
import type { DateRange } from "../model/snapshot.ts";
import type { UsageEvent, UsageGap, UsageItem, UsageSummary } from "../model/usage.ts";
import type { ChangeSummary } from "../model/changes.ts";
import { classifyAdministrativeAction, rotationStateAfter } from "../model/changes.ts";
import type { BundleWriter } from "./bundle-writer.ts";
import { ChangeSummaryBuilder } from "./change-summary.ts";
import { PrincipalCounter } from "./principal-counter.ts";
import { changesExtractPath, usageExtractPath } from "./paths.ts";

/**
 * Streams one location's key-usage events into two bundle files at once: NDJSON (one UsageEvent per line,
 * for tools) and CSV (for an auditor's spreadsheet). Memory stays flat in the number of events: only the
 * counters of the summary grow, with the number of distinct keys, actions and days; principals are counted
 * in bounded memory (PrincipalCounter: exact up to a number of distinct principals, then the top ones).
 *
 * The same pass tees administrative events (classifyAdministrativeAction) into `changes.ndjson` and
 * `changes.csv`, the configuration history of the period, with the request parameters as logged.
 */

export interface UsageExtractTarget {
  source: string;
  sourceType: SourceType;
  location: string;
  /** `cloudtrail-s3`, `cloudtrail-lookup-events`, `log-analytics`, `vault-audit-file`, `none`. */
  method: string;
  range: DateRange;
  /** UTC ISO-8601 written in the CSV preamble; defaults to now. */
  generatedAt?: string;
}

export const USAGE_CSV_COLUMNS = [
  "time",
  "key_id",
  "key_reference",
  "action",
  "principal",
  "source_address",
  "outcome",
  "error_code",
  "event_id",
  "origin",
] as const;

/** Key under which events that name no key are counted in `byKey`. */
export const NO_KEY = "(no key)";

/**
 * One CSV cell, RFC 4180 quoted. A cell a spreadsheet would run as a formula (OWASP "CSV injection":
 * leading = + - @, tab or carriage return) gets a leading apostrophe; the NDJSON file keeps the raw value.
 */
export function csvCell(value: string | undefined): string {
  if (value === undefined) return "";
  const guarded = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(guarded) ? `"${guarded.replaceAll('"', '""')}"` : guarded;
}

/** The change extract's columns: the usage columns plus the request parameters as logged (JSON). */
export const CHANGES_CSV_COLUMNS = [...USAGE_CSV_COLUMNS, "request_parameters"] as const;

function usageCells(event: UsageEvent): Array<string | undefined> {
  return [
    event.time,
    event.keyId,
    event.keyReference,
    event.action,
    event.principal,
    event.sourceAddress,
    event.outcome,
    event.errorCode,
    event.eventId,
    event.origin,
  ];
}

export function csvRow(event: UsageEvent): string {
  return usageCells(event).map(csvCell).join(",") + "\r\n";
}

export function changesCsvRow(event: UsageEvent): string {
  const parameters =
    event.requestParameters === undefined ? undefined : JSON.stringify(event.requestParameters);
  return [...usageCells(event), parameters].map(csvCell).join(",") + "\r\n";
}

/** What differs between the two extracts' CSV preambles. */
export interface CsvKind {
  title: string;
  columns: readonly string[];
}

export const USAGE_CSV_KIND: CsvKind = { title: "keyproof key-usage extract", columns: USAGE_CSV_COLUMNS };
export const CHANGES_CSV_KIND: CsvKind = {
  title: "keyproof key-configuration history (administrative events)",
  columns: CHANGES_CSV_COLUMNS,
};

/**
 * A `# ...` preamble line, left unquoted so CSV readers with a comment prefix (pandas `comment="#"`) skip it.
 * Line breaks are flattened and double quotes replaced, so no value can open a quoted field that swallows
 * the header row.
 */
function commentLine(text: string): string {
  return `# ${text.replace(/[\r\n]+/g, " ").replaceAll('"', "'")}\r\n`;
}

/** At most this many gaps are named in the CSV preamble; usage-summary.json and gaps.json have every one. */
export const CSV_GAPS_NAMED = 50;

/**
 * The `# ...` lines above the column header. `complete:` says whether the rows cover the whole range; an
 * incomplete extract names its gaps (`# gap: <object>: <code>: <message>`), so a spreadsheet opened on its
 * own cannot pass for the full period.
 */
export function csvPreamble(
  target: UsageExtractTarget,
  generatedAt: string,
  gaps: readonly UsageGap[] = [],
  kind: CsvKind = USAGE_CSV_KIND,
): string {
  const completeness =
    gaps.length > 0
      ? commentLine(
          `complete: NO, ${gaps.length} gap(s): events in the parts named below are missing from this file`,
        )
      : target.method === "none"
        ? commentLine("complete: NO, usage events are not collected for this source (method none)")
        : commentLine("complete: yes (no part of the range failed to read)");
  const named = gaps
    .slice(0, CSV_GAPS_NAMED)
    .map((gap) => commentLine(`gap: ${gap.object}: ${gap.code}: ${gap.message}`));
  const more =
    gaps.length > CSV_GAPS_NAMED
      ? [commentLine(`gap: … ${gaps.length - CSV_GAPS_NAMED} more in usage-summary.json`)]
      : [];
  return [
    commentLine(kind.title),
    commentLine(`source: ${target.source} (${target.sourceType})`),
    commentLine(`location: ${target.location}`),
    commentLine(`range: ${target.range.from.slice(0, 10)} .. ${target.range.to} (UTC, inclusive)`),
    commentLine(`method: ${target.method}`),
    commentLine(`generated: ${generatedAt}`),
    completeness,
    ...named,
    ...more,
    kind.columns.join(",") + "\r\n",
  ].join("");
}

/**
 * Batches small writes into ~64 KiB chunks and waits for 'drain' when the stream asks for it. A permanent
 * 'error' listener keeps a failed write (full disk) from crashing the process as an unhandled event; the
 * error is rethrown at the next write, flush or end instead.
 */
class BufferedSink {
  readonly #stream: Writable;
  #chunks: string[] = [];
  #size = 0;
  #failure: Error | undefined;
  static readonly FLUSH_AT = 64 * 1024;

  constructor(stream: Writable) {
    this.#stream = stream;
    stream.on("error", (error: Error) => {
      this.#failure ??= error;
    });
  }

  /**
   * Buffers `text`; returns a promise only when the buffer was flushed (the caller awaits it then). Not
   * async: an await for every line was a measurable share of the writer's time (issue 16's profile).
   */
  write(text: string): Promise<void> | undefined {
    this.#chunks.push(text);
    this.#size += text.length;
    return this.#size >= BufferedSink.FLUSH_AT ? this.flush() : undefined;
  }

  async flush(): Promise<void> {
    this.#throwIfFailed();
    if (this.#size === 0) return;
    const data = this.#chunks.join("");
    this.#chunks = [];
    this.#size = 0;
    if (!this.#stream.write(data)) await this.#waitFor("drain");
  }

  async end(): Promise<void> {
    await this.flush();
    const finished = this.#waitFor("finish");
    this.#stream.end();
    await finished;
  }

  /** Abandons the file after a failure; the bundle writer then refuses to seal a half-written extract. */
  destroy(): void {
    this.#stream.destroy();
  }

  #waitFor(event: "drain" | "finish"): Promise<void> {
    return new Promise((resolveWait, rejectWait) => {
      const onEvent = (): void => {
        this.#stream.off("error", onError);
        this.#stream.off("close", onClose);
        resolveWait();
      };
      const onError = (error: Error): void => {
        this.#stream.off(event, onEvent);
        this.#stream.off("close", onClose);
        rejectWait(error);
      };
      // A stream destroyed without an error never emits drain/finish: do not wait forever.
      const onClose = (): void => {
        this.#stream.off(event, onEvent);
        this.#stream.off("error", onError);
        rejectWait(this.#failure ?? new Error(`stream closed before '${event}'`));
      };
      this.#stream.once(event, onEvent);
      this.#stream.once("error", onError);
      this.#stream.once("close", onClose);
    });
  }

  #throwIfFailed(): void {
    if (this.#failure !== undefined) throw this.#failure;
  }
}

function isoOrUndefined(time: string): number | undefined {
  const value = Date.parse(time);
  return Number.isNaN(value) ? undefined : value;
}

function sortedRecord(counts: Map<string, number>): Record<string, number> {
  const record: Record<string, number> = {};
  for (const key of [...counts.keys()].sort()) record[key] = counts.get(key) ?? 0;
  return record;
}

function failureCode(error: unknown): string {
  if (typeof error === "object" && error !== null) {
    if ("code" in error && typeof error.code === "string") return error.code;
    if ("name" in error && typeof error.name === "string") return error.name;
  }
  return "Error";
}

/**
 * One extract's pair of files: NDJSON written straight into the bundle, CSV rows into a scratch file,
 * because the CSV preamble says whether the range is complete, which is known only at the end; the rows
 * are copied behind the preamble then (memory stays flat). Shared by the usage and the change extracts.
 */
class ExtractFiles {
  readonly #writer: BundleWriter;
  readonly #csvPath: string;
  readonly #scratch: string;
  readonly #rowsFile: string;
  readonly #ndjson: BufferedSink;
  readonly #csv: BufferedSink;

  private constructor(
    writer: BundleWriter,
    csvPath: string,
    scratch: string,
    ndjson: BufferedSink,
    csv: BufferedSink,
  ) {
    this.#writer = writer;
    this.#csvPath = csvPath;
    this.#scratch = scratch;
    this.#rowsFile = join(scratch, "rows.csv");
    this.#ndjson = ndjson;
    this.#csv = csv;
  }

  static async open(writer: BundleWriter, paths: { ndjson: string; csv: string }): Promise<ExtractFiles> {
    const ndjson = new BufferedSink(await writer.openStream(paths.ndjson));
    const scratch = await mkdtemp(join(tmpdir(), "keyproof-csv-"));
    const csv = new BufferedSink(createWriteStream(join(scratch, "rows.csv"), { flags: "wx" }));
    return new ExtractFiles(writer, paths.csv, scratch, ndjson, csv);
  }

  /** Like BufferedSink.write: a promise to await only when a file's buffer was flushed. */
  write(event: UsageEvent, row: string): Promise<void> | undefined {
    const ndjson = this.#ndjson.write(`${JSON.stringify(event)}\n`);
    const csv = this.#csv.write(row);
    if (ndjson === undefined) return csv;
    return csv === undefined ? ndjson : Promise.all([ndjson, csv]).then(() => undefined);
  }

  async finish(preamble: string): Promise<void> {
    await this.#ndjson.end();
    await this.#csv.end();
    const rowsFile = this.#rowsFile;
    await pipeline(
      async function* () {
        yield preamble;
        yield* createReadStream(rowsFile);
      },
      await this.#writer.openStream(this.#csvPath),
    );
  }

  /** Abandons both files after a failure; the bundle writer then refuses to seal a half-written extract. */
  abandon(): void {
    this.#ndjson.destroy();
    this.#csv.destroy();
  }

  async removeScratch(): Promise<void> {
    await rm(this.#scratch, { recursive: true, force: true });
  }
}

/** Both extracts of one location: what the extract step stores for the judge step. */
export interface EventExtracts {
  usage: UsageSummary;
  changes: ChangeSummary;
}

/**
 * Writes `usage-events.ndjson` and `usage-events.csv` for one location and returns its summary.
 *
 * Gap items are not written to the event files; they go to `summary.gaps`. If the event source itself
 * throws part-way, the files keep what was read and the failure becomes a gap too, so the bundle states
 * exactly how far the extract goes instead of losing it. Write failures (disk) are thrown.
 */
export async function writeUsageExtract(
  writer: BundleWriter,
  items: AsyncIterable<UsageItem> | Iterable<UsageItem>,
  target: UsageExtractTarget,
): Promise<UsageSummary> {
  return (await writeExtracts(writer, items, target, false)).usage;
}

/**
 * Writes the usage extract and, in the same pass, the change extract (`changes.ndjson`, `changes.csv`):
 * every administrative event, failed attempts included, with its request parameters. The change files
 * share the usage extract's gaps: both come from the same log, so both are exactly as complete.
 */
export async function writeUsageAndChangeExtracts(
  writer: BundleWriter,
  items: AsyncIterable<UsageItem> | Iterable<UsageItem>,
  target: UsageExtractTarget,
): Promise<EventExtracts> {
  return writeExtracts(writer, items, target, true);
}

async function writeExtracts(
  writer: BundleWriter,
  items: AsyncIterable<UsageItem> | Iterable<UsageItem>,
  target: UsageExtractTarget,
  withChanges: boolean,
): Promise<EventExtracts> {
  const generatedAt = target.generatedAt ?? new Date().toISOString();
  const opened: ExtractFiles[] = [];
  const byKey = new Map<string, number>();
  const byAction = new Map<string, number>();
  const principals = new PrincipalCounter();
  const byDay = new Map<string, number>();
  const gaps: UsageGap[] = [];
  const changeSummary = new ChangeSummaryBuilder(target.source, target.location);
  let eventCount = 0;
  let first: number | undefined;
  let last: number | undefined;

  const iterator = (
    Symbol.asyncIterator in items ? items[Symbol.asyncIterator]() : items[Symbol.iterator]()
  ) as AsyncIterator<UsageItem> | Iterator<UsageItem>;
  try {
    const usage = await ExtractFiles.open(writer, {
      ndjson: usageExtractPath(target.source, target.location, "ndjson"),
      csv: usageExtractPath(target.source, target.location, "csv"),
    });
    opened.push(usage);
    let changes: ExtractFiles | undefined;
    if (withChanges) {
      changes = await ExtractFiles.open(writer, {
        ndjson: changesExtractPath(target.source, target.location, "ndjson"),
        csv: changesExtractPath(target.source, target.location, "csv"),
      });
      opened.push(changes);
    }
    for (;;) {
      let next: IteratorResult<UsageItem>;
      try {
        next = await iterator.next();
      } catch (error) {
        gaps.push({
          source: target.source,
          location: target.location,
          object: "usage event stream",
          code: failureCode(error),
          message: `reading stopped after ${eventCount} events: ${describeError(error)}`,
        });
        break;
      }
      if (next.done === true) break;
      const item = next.value;
      if (item.kind === "gap") {
        gaps.push(item.gap);
        continue;
      }
      const event = item.event;
      eventCount++;
      const key = event.keyId ?? event.keyReference ?? NO_KEY;
      byKey.set(key, (byKey.get(key) ?? 0) + 1);
      byAction.set(event.action, (byAction.get(event.action) ?? 0) + 1);
      principals.add(event.principal);
      const day = event.time.slice(0, 10);
      byDay.set(day, (byDay.get(day) ?? 0) + 1);
      const time = isoOrUndefined(event.time);
      if (time !== undefined) {
        if (first === undefined || time < first) first = time;
        if (last === undefined || time > last) last = time;
      }
      // Awaited only when a buffer was flushed: `await undefined` would still cost a turn per event.
      const written = usage.write(event, csvRow(event));
      if (written !== undefined) await written;
      const change =
        changes === undefined ? undefined : classifyAdministrativeAction(target.sourceType, event);
      if (changes !== undefined && change !== undefined) {
        changeSummary.add(
          event,
          change.kind === "rotation"
            ? { ...change, rotationState: rotationStateAfter(target.sourceType, event) }
            : change,
        );
        const changed = changes.write(event, changesCsvRow(event));
        if (changed !== undefined) await changed;
      }
    }

    await usage.finish(csvPreamble(target, generatedAt, gaps));
    await changes?.finish(csvPreamble(target, generatedAt, gaps, CHANGES_CSV_KIND));
  } catch (error) {
    for (const files of opened) files.abandon();
    // Let the producer release what it holds (S3 streams, file handles); its own failure must not mask ours.
    await Promise.resolve(iterator.return?.()).catch(() => undefined);
    throw error;
  } finally {
    for (const files of opened) await files.removeScratch();
  }

  const { byPrincipal, principalCounting } = principals.build();
  return {
    usage: {
      source: target.source,
      location: target.location,
      method: target.method,
      eventCount,
      byKey: sortedRecord(byKey),
      byAction: sortedRecord(byAction),
      byPrincipal,
      principalCounting,
      byDay: sortedRecord(byDay),
      ...(first === undefined ? {} : { firstEventAt: new Date(first).toISOString() }),
      ...(last === undefined ? {} : { lastEventAt: new Date(last).toISOString() }),
      gaps,
    },
    changes: changeSummary.build(),
  };
}
