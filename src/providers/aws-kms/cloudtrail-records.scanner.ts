import { KMS_EVENT_SOURCE } from "./cloudtrail-coverage.ts";

/**
 * Pure, incremental scanner of a CloudTrail log document (`{"Records":[{...},{...}]}`) fed as decompressed
 * byte chunks. It finds the boundaries of each `Records[]` element with a small JSON tokenizer (strings,
 * escapes, nesting) and hands over the text of only the elements that can be KMS events; the others (70%
 * of a typical trail) are skipped without being parsed, which is where a full parse spent most of its time
 * and garbage (issue 16's profile: JSON.parse 16%, GC 19.5%).
 *
 * An element is handed over when its bytes contain `kms.amazonaws.com` (the caller's full parse and
 * mapping then decide on the real `eventSource`, so a record that only mentions KMS in its parameters is
 * still excluded), or contain `\u` (JSON may spell any letter of the event source as a `\uXXXX` escape;
 * `kms.amazonaws.com` has no character with a short escape), or is not an object (the mapper reports it).
 *
 * What is not checked in skipped elements: the grammar inside them (a misplaced comma, a bad literal).
 * Nesting, strings and the characters allowed outside strings are checked everywhere, so a truncated or
 * non-JSON file still fails as `InvalidJson`. Memory: the bytes of the element being read, never more.
 */

export type TrailScanErrorCode = "InvalidJson" | "NoRecordsArray";

export class TrailScanError extends Error {
  override readonly name = "TrailScanError";
  constructor(
    readonly code: TrailScanErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** One `Records[]` element that may be a KMS event (or is not an object): its JSON text and index. */
export interface CandidateRecord {
  index: number;
  text: string;
}

const MARKER = Buffer.from(KMS_EVENT_SOURCE, "latin1");
const UNICODE_ESCAPE = Buffer.from("\\u", "latin1");

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;

/** Bytes that may appear outside strings besides structure: whitespace, numbers, true/false/null. */
const WHITESPACE = new Uint8Array(256);
const SCALAR = new Uint8Array(256);
for (const character of " \t\r\n") WHITESPACE[character.charCodeAt(0)] = 1;
for (const character of "0123456789-+.eEtruefalsn") SCALAR[character.charCodeAt(0)] = 1;

/** Byte classes inside a record, where only nesting and strings matter (the hot loop: one lookup a byte). */
const INVALID = 0;
const IGNORED = 1;
const STRING_START = 2;
const OPENS = 3;
const CLOSES = 4;
const INTERIOR = new Uint8Array(256);
for (let byte = 0; byte < 256; byte++)
  INTERIOR[byte] = WHITESPACE[byte] === 1 || SCALAR[byte] === 1 ? IGNORED : INVALID;
INTERIOR[COMMA] = IGNORED;
INTERIOR[COLON] = IGNORED;
INTERIOR[QUOTE] = STRING_START;
INTERIOR[OPEN_OBJECT] = OPENS;
INTERIOR[OPEN_ARRAY] = OPENS;
INTERIOR[CLOSE_OBJECT] = CLOSES;
INTERIOR[CLOSE_ARRAY] = CLOSES;

/** Where the next occurrence of `needle` at or after `from` starts in `chunk`; Infinity if none. */
function nextIndex(chunk: Buffer, needle: Buffer, from: number): number {
  const found = chunk.indexOf(needle, from);
  return found === -1 ? Number.POSITIVE_INFINITY : found;
}

export class CloudTrailRecordScanner {
  /** Open containers, innermost last: `{` or `[`. */
  readonly #stack: number[] = [];
  #inString = false;
  /** The previous chunk ended inside a string on an unpaired backslash: the next byte is escaped. */
  #escapePending = false;
  /** A top-level value has been read completely; anything after it but whitespace is an error. */
  #documentDone = false;
  #documentStarted = false;
  #scalarDocument = false;

  // Top-level keys: the scanner looks for `"Records": [` directly inside the top-level object.
  #expectKey = false;
  #readingKey = false;
  #keyPieces: Buffer[] = [];
  #keyStart = 0;
  #lastKey: string | undefined;
  #valueIsRecords = false;
  #sawRecords = false;
  /** Stack depth inside the Records array (its elements start at this depth); 0 when not inside it. */
  #recordsDepth = 0;

  // The element being read.
  #inElement = false;
  #elementIsString = false;
  #elementIsScalar = false;
  #elementPieces: Buffer[] = [];
  #elementStart = 0;
  #elementIndex = 0;
  /** Every `Records[]` element seen so far, skipped or handed over. */
  recordCount = 0;

  // Per chunk: next positions of the marker and of `\u`, advanced lazily (elements come in order).
  #markerAt = Number.POSITIVE_INFINITY;
  #escapeAt = Number.POSITIVE_INFINITY;

  /**
   * Scans one chunk and appends the candidate elements that ended in it to `out`, in order. When the chunk
   * holds an error, `out` keeps the candidates before it (as a streaming parse would have yielded them)
   * and the TrailScanError is thrown.
   */
  push(chunk: Buffer, out: CandidateRecord[] = []): CandidateRecord[] {
    const length = chunk.length;
    if (length === 0) return out;
    this.#markerAt = nextIndex(chunk, MARKER, 0);
    this.#escapeAt = nextIndex(chunk, UNICODE_ESCAPE, 0);
    let index = 0;
    if (this.#inElement) this.#elementStart = 0;
    if (this.#escapePending) {
      this.#escapePending = false;
      index = 1;
    }
    while (index < length) {
      if (this.#inElement && this.#stack.length > this.#recordsDepth) {
        index = this.#skipInterior(chunk, index, out);
        continue;
      }
      if (this.#inString) {
        index = this.#skipString(chunk, index, out);
        continue;
      }
      const byte = chunk[index] as number;
      if (WHITESPACE[byte] === 1) {
        if (this.#elementIsScalar) this.#endElement(chunk, index, out);
        index++;
        continue;
      }
      if (this.#documentDone) throw this.#invalid("data after the end of the JSON document");
      if (!this.#documentStarted) this.#documentStarted = true;
      const depth = this.#stack.length;
      if (this.#recordsDepth !== 0 && depth === this.#recordsDepth && !this.#inElement) {
        if (byte !== COMMA && byte !== CLOSE_ARRAY) this.#startElement(index, byte);
      } else if (this.#elementIsScalar && (byte === COMMA || byte === CLOSE_ARRAY)) {
        this.#endElement(chunk, index, out);
      }
      switch (byte) {
        case QUOTE:
          this.#inString = true;
          if (depth === 1 && this.#expectKey && this.#stack[0] === OPEN_OBJECT) {
            this.#readingKey = true;
            this.#keyPieces = [];
            this.#keyStart = index + 1;
          } else {
            this.#valueStarts(byte);
          }
          index++;
          break;
        case OPEN_OBJECT:
        case OPEN_ARRAY:
          this.#valueStarts(byte);
          this.#stack.push(byte);
          if (byte === OPEN_OBJECT && this.#stack.length === 1) this.#expectKey = true;
          index++;
          break;
        case CLOSE_OBJECT:
        case CLOSE_ARRAY: {
          const open = this.#stack.pop();
          if (open === undefined || (open === OPEN_OBJECT) !== (byte === CLOSE_OBJECT))
            throw this.#invalid(`unexpected '${String.fromCharCode(byte)}'`);
          const after = this.#stack.length;
          if (this.#recordsDepth !== 0 && after === this.#recordsDepth - 1) this.#recordsDepth = 0;
          if (this.#inElement && after === this.#recordsDepth) this.#endElement(chunk, index + 1, out);
          if (after === 0) this.#documentDone = true;
          index++;
          break;
        }
        case COMMA:
          if (depth === 1 && this.#stack[0] === OPEN_OBJECT) this.#expectKey = true;
          index++;
          break;
        case COLON:
          if (depth === 1 && this.#lastKey !== undefined) {
            this.#valueIsRecords = this.#lastKey === "Records";
            this.#lastKey = undefined;
          }
          index++;
          break;
        default:
          if (SCALAR[byte] !== 1)
            throw this.#invalid(`unexpected character '${String.fromCharCode(byte)}' outside a string`);
          this.#valueStarts(byte);
          // A bare scalar document (`true`, `5`) has no Records array; its end is not tracked.
          if (depth === 0) this.#scalarDocument = true;
          index++;
      }
    }
    if (this.#inElement) this.#elementPieces.push(chunk.subarray(this.#elementStart));
    if (this.#readingKey) this.#keyPieces.push(chunk.subarray(this.#keyStart));
    this.#keyStart = 0;
    return out;
  }

  /** Called once the document has been fed entirely; throws when it did not end or had no Records array. */
  end(): void {
    const ended = this.#documentDone || this.#scalarDocument;
    if (!this.#documentStarted || !ended || this.#inString || this.#stack.length > 0)
      throw this.#invalid("the document ends before its JSON value does");
    if (!this.#sawRecords) throw new TrailScanError("NoRecordsArray", 'the document has no "Records" array');
  }

  /** A value (not a key) begins at depth 1: is it the Records array? */
  #valueStarts(byte: number): void {
    if (this.#stack.length !== 1 || !this.#valueIsRecords) return;
    this.#valueIsRecords = false;
    if (byte !== OPEN_ARRAY)
      throw new TrailScanError("NoRecordsArray", 'the document\'s "Records" is not an array');
    this.#sawRecords = true;
    this.#recordsDepth = 2;
  }

  /**
   * Inside an object or array element of Records, at `from`: runs to the element's end (or the chunk's)
   * tracking only strings and nesting, with the state in locals; returns where to go on. This loop sees
   * almost every byte of the document, so it does one table lookup a byte outside strings and a tight
   * scan for the closing quote inside them.
   */
  #skipInterior(chunk: Buffer, from: number, out: CandidateRecord[]): number {
    const stack = this.#stack;
    const base = this.#recordsDepth;
    const length = chunk.length;
    let index = from;
    let inString = this.#inString;
    while (index < length) {
      if (inString) {
        let byte = chunk[index] as number;
        while (byte !== QUOTE) {
          index += byte === BACKSLASH ? 2 : 1;
          if (index >= length) break;
          byte = chunk[index] as number;
        }
        if (index >= length) {
          // A backslash that was the chunk's last byte escapes the next chunk's first.
          this.#escapePending = index > length;
          this.#inString = true;
          return length;
        }
        inString = false;
        index++;
        continue;
      }
      const byte = chunk[index++] as number;
      const kind = INTERIOR[byte];
      if (kind === IGNORED) continue;
      if (kind === STRING_START) {
        inString = true;
      } else if (kind === OPENS) {
        stack.push(byte);
      } else if (kind === CLOSES) {
        // `}` and `]` are their opener plus 2 in ASCII.
        if (stack.pop() !== byte - 2) throw this.#invalid(`unexpected '${String.fromCharCode(byte)}'`);
        if (stack.length === base) {
          this.#inString = false;
          this.#endElement(chunk, index, out);
          return index;
        }
      } else {
        throw this.#invalid(`unexpected character '${String.fromCharCode(byte)}' outside a string`);
      }
    }
    this.#inString = inString;
    return length;
  }

  /**
   * Inside a string at `from`: runs to its closing quote (or the chunk's end) and returns where to go on.
   * A byte loop rather than `indexOf('"')`: strings in records are short (keys, ids), where a native call
   * per string costs more than the bytes it would skip.
   */
  #skipString(chunk: Buffer, from: number, out: CandidateRecord[]): number {
    const length = chunk.length;
    let index = from;
    for (;;) {
      if (index >= length) {
        // The string goes on in the next chunk; a backslash that was the chunk's last byte escapes the
        // next chunk's first.
        this.#escapePending = index > length;
        return length;
      }
      const byte = chunk[index] as number;
      if (byte === BACKSLASH) {
        index += 2;
        continue;
      }
      if (byte !== QUOTE) {
        index++;
        continue;
      }
      this.#inString = false;
      if (this.#readingKey) {
        this.#readingKey = false;
        this.#keyPieces.push(chunk.subarray(this.#keyStart, index));
        const raw = Buffer.concat(this.#keyPieces).toString("utf8");
        this.#keyPieces = [];
        this.#expectKey = false;
        this.#lastKey = raw.includes("\\") ? (JSON.parse(`"${raw}"`) as string) : raw;
      } else if (this.#elementIsString && this.#stack.length === this.#recordsDepth) {
        this.#endElement(chunk, index + 1, out);
      } else if (this.#stack.length === 0) {
        this.#documentDone = true;
      }
      return index + 1;
    }
  }

  #startElement(index: number, byte: number): void {
    this.#inElement = true;
    this.#elementStart = index;
    this.#elementPieces = [];
    this.#elementIndex = this.recordCount;
    this.recordCount++;
    this.#elementIsString = byte === QUOTE;
    this.#elementIsScalar = byte !== QUOTE && byte !== OPEN_OBJECT && byte !== OPEN_ARRAY;
  }

  /** The element being read ends before `end` in `chunk`: hand it over if it may be a KMS event. */
  #endElement(chunk: Buffer, end: number, out: CandidateRecord[]): void {
    const start = this.#elementStart;
    const isObject = !this.#elementIsString && !this.#elementIsScalar && chunk[start] !== OPEN_ARRAY;
    this.#inElement = false;
    this.#elementIsString = false;
    this.#elementIsScalar = false;
    if (this.#elementPieces.length === 0) {
      if (this.#markerAt < start) this.#markerAt = nextIndex(chunk, MARKER, start);
      if (this.#escapeAt < start) this.#escapeAt = nextIndex(chunk, UNICODE_ESCAPE, start);
      const candidate =
        !isObject || this.#markerAt + MARKER.length <= end || this.#escapeAt + UNICODE_ESCAPE.length <= end;
      if (candidate) out.push({ index: this.#elementIndex, text: chunk.toString("utf8", start, end) });
      return;
    }
    this.#elementPieces.push(chunk.subarray(0, end));
    const whole = Buffer.concat(this.#elementPieces);
    this.#elementPieces = [];
    const startsAsObject = whole[0] === OPEN_OBJECT;
    if (!startsAsObject || whole.includes(MARKER) || whole.includes(UNICODE_ESCAPE))
      out.push({ index: this.#elementIndex, text: whole.toString("utf8") });
  }

  #invalid(message: string): TrailScanError {
    return new TrailScanError("InvalidJson", `not a JSON document: ${message}`);
  }
}
