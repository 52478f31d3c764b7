import { createReadStream } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import { mkdir, open, readdir, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { createInflateRaw } from "node:zlib";
import { Header, Pax } from "tar";
import type { HeaderData } from "tar";
import { KeyproofError, describeError } from "../errors/errors.ts";
import { bundlePathProblem } from "./bundle-path.ts";
import { hashFile, readBundleTree } from "./bundle-tree.ts";
import type { Manifest } from "./manifest.ts";
import { MANIFEST_FILE, SIGNATURE_FILE } from "./paths.ts";

/**
 * The byte-level half of `keyproof verify`: reading a bundle archive entry by entry and listing what a bundle
 * directory holds against its manifest. Kept apart from the signature checks in verify-bundle.ts.
 */

export interface AlteredFile {
  path: string;
  /** SHA-256 hex from the manifest. */
  expected: string;
  /** SHA-256 hex of the file found, or what was found instead of a regular file. */
  actual: string;
}

export interface FilesCheck {
  checked: number;
  missing: string[];
  extra: string[];
  altered: AlteredFile[];
}

export async function checkFiles(directory: string, manifest: Manifest | undefined): Promise<FilesCheck> {
  const tree = await readBundleTree(directory);
  const present = new Set(tree.files.filter((path) => path !== MANIFEST_FILE && path !== SIGNATURE_FILE));
  const special = new Map(tree.others.map((other) => [other.path, other.kind]));
  const result: FilesCheck = { checked: 0, missing: [], extra: [], altered: [] };
  if (manifest === undefined) return result;

  const listed = new Set<string>();
  for (const entry of manifest.files) {
    listed.add(entry.path);
    result.checked++;
    const kind = special.get(entry.path);
    if (kind !== undefined) {
      result.altered.push({
        path: entry.path,
        expected: entry.sha256,
        actual: `(${kind}, not a regular file)`,
      });
      continue;
    }
    if (!present.has(entry.path)) {
      result.missing.push(entry.path);
      continue;
    }
    const actual = await hashFile(join(directory, entry.path));
    if (actual.sha256 !== entry.sha256 || actual.bytes !== entry.bytes) {
      result.altered.push({ path: entry.path, expected: entry.sha256, actual: actual.sha256 });
    }
  }
  for (const path of present) if (!listed.has(path)) result.extra.push(path);
  // A directory no listed file lives in is extra too, empty or not (`.git/`, `sources/x/zz/`): a manifest
  // lists files only, so every directory it implies is an ancestor of one of them.
  const implied = new Set<string>();
  for (const path of listed) {
    for (let slash = path.indexOf("/"); slash >= 0; slash = path.indexOf("/", slash + 1)) {
      implied.add(path.slice(0, slash));
    }
  }
  for (const path of tree.directories) if (!implied.has(path)) result.extra.push(`${path}/`);
  for (const path of special.keys()) {
    // A link in place of manifest.json or manifest.sig.json is already reported by those checks.
    if (!listed.has(path) && path !== MANIFEST_FILE && path !== SIGNATURE_FILE) result.extra.push(path);
  }
  result.extra.sort();
  return result;
}

/** Entry path as tar reports it, without a leading `./` or a trailing `/`. */
function normalizeEntryPath(path: string): string {
  return path.replace(/^(\.\/)+/, "").replace(/\/+$/, "");
}

const BLOCK = 512;
/** GNU tar writes records of 20 blocks and pads the archive with zeros to a whole record. */
const RECORD = 10_240;
/** pax and GNU long-name bodies are metadata; no honest one is larger. */
const MAX_METADATA_BYTES = 1024 * 1024;

/** What reading an archive found wrong, each item naming its entry or its byte offset. */
export interface ArchiveReading {
  /** Entries not extracted, each as `<path as in the archive> (<why>)`. */
  rejected: string[];
  /** Problems of the archive as a whole: a second gzip member, trailing bytes, a lone zero block. */
  problems: string[];
}

/** The archive part of a verify result. */
export interface ArchiveCheck {
  ok: boolean;
  reason?: string;
  rejectedEntries: string[];
}

export function archiveCheck(reading: ArchiveReading): ArchiveCheck {
  if (reading.problems.length === 0 && reading.rejected.length === 0)
    return { ok: true, rejectedEntries: [] };
  const count = reading.rejected.length;
  const parts = [...reading.problems];
  if (count > 0) parts.push(`${count} archive ${count === 1 ? "entry was" : "entries were"} refused`);
  return { ok: false, reason: parts.join("; "), rejectedEntries: reading.rejected };
}

function damaged(message: string, cause?: unknown): KeyproofError {
  return new KeyproofError("BUNDLE_INVALID", message, {
    ...(cause === undefined ? {} : { cause }),
    remediation: "download the bundle again from the evidence store; a damaged archive proves nothing",
  });
}

// CRC-32 (IEEE, as in the gzip trailer). zlib.crc32 only exists from Node 20.15; the engine floor is 20.11.
const CRC_TABLE = Int32Array.from({ length: 256 }, (_, index) => {
  let value = index;
  for (let bit = 0; bit < 8; bit++) value = value & 1 ? 0xedb88320 ^ (value >>> 1) : value >>> 1;
  return value;
});

function updateCrc32(state: number, bytes: Uint8Array): number {
  let value = state;
  for (const byte of bytes) value = (CRC_TABLE[(value ^ byte) & 0xff] ?? 0) ^ (value >>> 8);
  return value;
}

async function readAt(handle: FileHandle, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  const { bytesRead } = await handle.read(buffer, 0, length, position);
  return buffer.subarray(0, bytesRead);
}

/** Skips a zero-terminated gzip header field (FNAME, FCOMMENT); returns the offset after its terminator. */
async function skipZeroTerminated(handle: FileHandle, position: number): Promise<number> {
  for (let scanned = 0; scanned < 65_536;) {
    const chunk = await readAt(handle, position + scanned, 4096);
    if (chunk.length === 0) throw damaged("the archive is truncated inside its gzip header");
    const zero = chunk.indexOf(0);
    if (zero >= 0) return position + scanned + zero + 1;
    scanned += chunk.length;
  }
  throw damaged(`the gzip header at byte ${position} has a name or comment longer than 64 KiB`);
}

/** Parses an RFC 1952 member header starting at `start`; returns where its deflate data begins. */
async function gzipDataStart(handle: FileHandle, start: number): Promise<number> {
  const fixed = await readAt(handle, start, 10);
  if (fixed.length < 10) throw damaged(`the archive is truncated inside the gzip header at byte ${start}`);
  if (fixed[0] !== 0x1f || fixed[1] !== 0x8b) throw damaged(`no gzip header at byte ${start}`);
  if (fixed[2] !== 8) throw damaged(`the gzip member at byte ${start} is not deflate-compressed`);
  const flags = fixed[3] ?? 0;
  if ((flags & 0xe0) !== 0) throw damaged(`the gzip header at byte ${start} sets reserved flags`);
  let position = start + 10;
  if ((flags & 0x04) !== 0) {
    const length = await readAt(handle, position, 2);
    if (length.length < 2) throw damaged("the archive is truncated inside its gzip header");
    position += 2 + length.readUInt16LE(0);
  }
  if ((flags & 0x08) !== 0) position = await skipZeroTerminated(handle, position);
  if ((flags & 0x10) !== 0) position = await skipZeroTerminated(handle, position);
  if ((flags & 0x02) !== 0) position += 2;
  return position;
}

/**
 * The uncompressed bytes of every gzip member in the file, in order, as `gzip -d` (and so GNU tar) reads them.
 * zlib's own gunzip joins members silently, so the member boundary is found here: each member's deflate
 * stream is inflated raw, its end located with `bytesWritten`, and its CRC-32 and length trailer checked.
 * Anything after the first member is a problem named with its byte offset; further members are still read so
 * the entries they smuggle in can be named.
 */
async function* gunzipMembers(path: string, problems: string[]): AsyncGenerator<Buffer> {
  const handle = await open(path, "r");
  try {
    const fileSize = (await handle.stat()).size;
    let start = 0;
    for (let member = 1; ; member++) {
      const which = member === 1 ? "the gzip stream" : `gzip member ${member} (at byte ${start})`;
      const dataStart = await gzipDataStart(handle, start);
      const source = createReadStream(path, { start: dataStart });
      const inflater = createInflateRaw();
      source.on("error", (error) => inflater.destroy(error));
      source.pipe(inflater);
      let crc = 0xffffffff;
      let size = 0;
      try {
        for await (const chunk of inflater) {
          const bytes = chunk as Buffer;
          crc = updateCrc32(crc, bytes);
          size += bytes.length;
          yield bytes;
        }
      } catch (error) {
        throw damaged(`${which} is damaged or truncated: ${describeError(error)}`, error);
      } finally {
        source.unpipe(inflater);
        source.destroy();
      }
      const trailerStart = dataStart + inflater.bytesWritten;
      const trailer = await readAt(handle, trailerStart, 8);
      if (trailer.length < 8)
        throw damaged(`${which} is truncated: its CRC-32 and length trailer is missing`);
      if (
        trailer.readUInt32LE(0) !== (crc ^ 0xffffffff) >>> 0 ||
        trailer.readUInt32LE(4) !== size % 2 ** 32
      ) {
        throw damaged(`${which} is damaged: its CRC-32 or length does not match the data`);
      }
      start = trailerStart + 8;
      if (start >= fileSize) return;
      const next = await readAt(handle, start, 2);
      if (next[0] !== 0x1f || next[1] !== 0x8b) {
        problems.push(
          `${fileSize - start} trailing bytes after the end of the gzip stream (from byte ${start})`,
        );
        return;
      }
      problems.push(
        `${member === 1 ? "a second gzip member" : `gzip member ${member + 1}`} starts at byte ${start}, after the archive's gzip stream ends (gzip -d joins it to the archive; tar --ignore-zeros extracts what it holds)`,
      );
    }
  } finally {
    await handle.close();
  }
}

/** Exact reads from a stream of chunks, counting the offset consumed. */
class ByteReader {
  readonly #chunks: AsyncIterator<Buffer>;
  #buffered: Buffer[] = [];
  #length = 0;
  #done = false;
  offset = 0;

  constructor(chunks: AsyncIterable<Buffer>) {
    this.#chunks = chunks[Symbol.asyncIterator]();
  }

  async #pull(): Promise<boolean> {
    if (this.#done) return false;
    const next = await this.#chunks.next();
    if (next.done === true) {
      this.#done = true;
      return false;
    }
    if (next.value.length > 0) {
      this.#buffered.push(next.value);
      this.#length += next.value.length;
    }
    return true;
  }

  #take(wanted: number): Buffer {
    const head = this.#buffered[0];
    if (head === undefined) return Buffer.alloc(0);
    const piece = head.length <= wanted ? head : head.subarray(0, wanted);
    if (head.length <= wanted) this.#buffered.shift();
    else this.#buffered[0] = head.subarray(wanted);
    this.#length -= piece.length;
    this.offset += piece.length;
    return piece;
  }

  /** Exactly `length` bytes, or fewer at the end of the stream. */
  async read(length: number): Promise<Buffer> {
    while (this.#length < length && (await this.#pull()));
    const pieces: Buffer[] = [];
    for (let wanted = length; wanted > 0 && this.#length > 0;) {
      const piece = this.#take(wanted);
      pieces.push(piece);
      wanted -= piece.length;
    }
    return pieces.length === 1 ? (pieces[0] ?? Buffer.alloc(0)) : Buffer.concat(pieces);
  }

  /** Up to `length` bytes as they arrive, without holding them all in memory. */
  async *pieces(length: number): AsyncGenerator<Buffer> {
    for (let remaining = length; remaining > 0;) {
      if (this.#length === 0 && !(await this.#pull())) return;
      const piece = this.#take(remaining);
      remaining -= piece.length;
      yield piece;
    }
  }

  /** Stops the source early (its generator's `finally` closes the archive file). */
  async close(): Promise<void> {
    await this.#chunks.return?.();
  }

  /** Skips up to `length` bytes; returns how many were there. */
  async skip(length: number): Promise<number> {
    let skipped = 0;
    for await (const piece of this.pieces(length)) skipped += piece.length;
    return skipped;
  }
}

/**
 * The size an entry declares, before tar's Header sets it to 0 for directories (and for files whose name ends
 * in `/`, which it reads as directories): a reader that honours the field would take the next blocks as
 * that entry's body, one that does not as the next header.
 */
function declaredSize(block: Buffer, pending: HeaderData | undefined): number {
  if (pending?.size !== undefined) return pending.size;
  const field = block.subarray(124, 136);
  if (((field[0] ?? 0) & 0x80) !== 0) return Number.NaN;
  const digits = field.toString("latin1").replace(/[\0 ]/g, "");
  return digits === "" ? 0 : Number.parseInt(digits, 8);
}

function isZero(bytes: Buffer): boolean {
  for (const byte of bytes) if (byte !== 0) return false;
  return true;
}

function blocksFor(size: number): number {
  return Math.ceil(size / BLOCK) * BLOCK;
}

/** What an entry is, in the words an auditor reads; `to` is the link target where there is one. */
function describeEntryType(header: Header): string {
  const to = header.linkpath === undefined || header.linkpath === "" ? "" : ` to ${header.linkpath}`;
  const names: Record<string, string> = {
    Link: `hard link${to}`,
    SymbolicLink: `symlink${to}`,
    CharacterDevice: "character device",
    BlockDevice: "block device",
    FIFO: "FIFO (named pipe)",
    ContiguousFile: "contiguous file (type 7)",
    GlobalExtendedHeader: "pax global header (type g, applies to every later entry)",
    GNUDumpDir: "GNU dump directory (type D)",
    SparseFile: "GNU sparse file (type S)",
  };
  return names[header.type] ?? `${header.type} entry (type ${JSON.stringify(header.typeKey)})`;
}

/**
 * Reads a `.tar.gz` exactly and extracts it into `into`. Accepted are regular files and directories with
 * bundle paths (src/evidence/bundle-path.ts), each once, followed by the two zero end blocks and at most zero
 * padding to GNU tar's record size. Everything else is not written and is named in the result: links,
 * devices, FIFOs, pax global headers, absolute or `..` paths, duplicates, entries after the end marker,
 * trailing bytes, further gzip members. Throws BUNDLE_INVALID when the archive cannot be read to its end
 * (truncated, corrupt gzip, a damaged tar header): then nothing in it is trusted.
 */
export async function extractArchive(archive: string, into: string): Promise<ArchiveReading> {
  const reading: ArchiveReading = { rejected: [], problems: [] };
  const reader = new ByteReader(gunzipMembers(archive, reading.problems));
  try {
    await readTarEntries(reader, into, reading);
  } finally {
    await reader.close();
  }
  return reading;
}

/** The tar walk of `extractArchive`, block by block over the uncompressed stream. */
async function readTarEntries(reader: ByteReader, into: string, reading: ArchiveReading): Promise<void> {
  const seen = new Map<string, "file" | "directory">();
  let extended: HeaderData | undefined;
  let zeroBlocks = 0;
  let endAt: number | undefined;
  let afterEnd = false;

  for (;;) {
    const at = reader.offset;
    const block = await reader.read(BLOCK);
    if (block.length === 0) break;
    if (isZero(block)) {
      if (endAt === undefined && !afterEnd && ++zeroBlocks === 2) endAt = at + block.length;
      continue;
    }
    if (endAt !== undefined && !afterEnd) {
      afterEnd = true;
      reading.problems.push(
        `trailing bytes after the tar end-of-archive marker (at byte ${at} of the uncompressed tar)`,
      );
    } else if (zeroBlocks === 1 && !afterEnd) {
      reading.problems.push(
        `a lone zero block at byte ${at - BLOCK} of the uncompressed tar is followed by more entries (tar readers disagree on where such an archive ends)`,
      );
    }
    zeroBlocks = 0;
    if (block.length < BLOCK) {
      if (afterEnd) break;
      throw damaged(`the archive is truncated: the tar stream ends inside a header at byte ${at}`);
    }

    const pending = extended;
    const header = new Header(block, 0, pending);
    extended = undefined;
    if (!header.cksumValid) {
      if (afterEnd) break;
      throw damaged(`the tar header at byte ${at} of the uncompressed tar is damaged (checksum mismatch)`);
    }
    if (header.type === "Directory" && declaredSize(block, pending) !== 0 && !afterEnd) {
      throw damaged(
        `the tar entry ${header.path ?? ""} at byte ${at} is a directory with a nonzero size field (tar readers disagree on what follows it)`,
      );
    }
    const size = header.size ?? 0;
    const type = header.type;
    if (type === "ExtendedHeader" || type === "NextFileHasLongPath" || type === "NextFileHasLongLinkpath") {
      if (size > MAX_METADATA_BYTES) throw damaged(`the ${type} header at byte ${at} is ${size} bytes long`);
      const body = await reader.read(blocksFor(size));
      if (body.length < blocksFor(size))
        throw damaged(`the archive is truncated inside the header at byte ${at}`);
      const text = body.subarray(0, size).toString("utf8");
      extended =
        type === "ExtendedHeader"
          ? Pax.parse(text, undefined, false)
          : { [type === "NextFileHasLongPath" ? "path" : "linkpath"]: text.replace(/\0[\s\S]*$/, "") };
      continue;
    }

    const shown = header.path ?? "";
    const normalized = normalizeEntryPath(shown);
    const refusal = afterEnd
      ? "after the tar end-of-archive marker, so not part of the bundle; tar --ignore-zeros would still extract it"
      : entryRefusal(type, normalized, seen, describeEntryType(header));
    if (refusal !== undefined) {
      reading.rejected.push(`${shown} (${refusal})`);
      const skipped = await reader.skip(blocksFor(size));
      if (skipped < blocksFor(size) && !afterEnd)
        throw damaged(`the archive is truncated inside entry ${shown}`);
      continue;
    }
    if (normalized === "" || normalized === ".") continue;
    seen.set(normalized, type === "Directory" ? "directory" : "file");
    const target = join(into, normalized);
    if (type === "Directory") {
      await mkdir(target, { recursive: true });
      continue;
    }
    await mkdir(dirname(target), { recursive: true });
    // "wx": the paths were checked above; a file that already exists here would mean a check was missed.
    const file = await open(target, "wx");
    let written = 0;
    try {
      for await (const piece of reader.pieces(size)) {
        await file.write(piece);
        written += piece.length;
      }
    } finally {
      await file.close();
    }
    const padding = blocksFor(size) - size;
    if (written < size || (await reader.skip(padding)) < padding) {
      throw damaged(`the archive is truncated inside entry ${shown}`);
    }
  }

  if (endAt === undefined) {
    throw damaged(
      `the archive is truncated: the tar stream has ${zeroBlocks === 1 ? "only one of its two" : "no"} end-of-archive blocks`,
    );
  }
  const padded = Math.ceil(endAt / RECORD) * RECORD;
  if (!afterEnd && reader.offset > padded) {
    reading.problems.push(
      `${reader.offset - padded} trailing zero bytes after the tar end-of-archive marker, beyond the ${RECORD}-byte record padding`,
    );
  }
  await refuseOutsideBundleFolder(seen, into, reading);
}

/** Why an entry is refused, or undefined to extract it. */
function entryRefusal(
  type: string,
  normalized: string,
  seen: ReadonlyMap<string, "file" | "directory">,
  typeDescription: string,
): string | undefined {
  const isFile = type === "File" || type === "OldFile";
  if (!isFile && type !== "Directory") return `${typeDescription}: only files and directories are allowed`;
  if (normalized === "" || normalized === ".") return isFile ? "a file without a name" : undefined;
  const problem = bundlePathProblem(normalized);
  if (problem !== undefined) return problem;
  if (seen.has(normalized)) return "duplicate entry: appears twice in the archive";
  const segments = normalized.split("/");
  for (let depth = 1; depth < segments.length; depth++) {
    const parent = segments.slice(0, depth).join("/");
    if (seen.get(parent) === "file") return `inside ${parent}, which is a file`;
  }
  return undefined;
}

/**
 * A bundle archive holds one folder (or the bundle at its top level). Entries beside that folder would be
 * extracted by tar but are invisible to a check of the folder, so they are refused by name and removed.
 */
async function refuseOutsideBundleFolder(
  seen: ReadonlyMap<string, "file" | "directory">,
  into: string,
  reading: ArchiveReading,
): Promise<void> {
  if (seen.has(MANIFEST_FILE)) return;
  const tops = new Set([...seen.keys()].map((path) => path.split("/")[0] ?? path));
  const folders = [...tops].filter((top) => seen.has(`${top}/${MANIFEST_FILE}`));
  const folder = folders[0];
  if (folders.length !== 1 || folder === undefined || tops.size === 1) return;
  for (const top of [...tops].sort()) {
    if (top === folder) continue;
    reading.rejected.push(
      `${top}${seen.get(top) === "directory" ? "/" : ""} (outside the bundle folder ${folder}/)`,
    );
    await rm(join(into, top), { recursive: true, force: true });
  }
}

/** The bundle root inside an extracted archive: its single top-level folder, or the top level itself. */
export async function findBundleRoot(extracted: string): Promise<string | undefined> {
  const top = await readdir(extracted, { withFileTypes: true });
  if (top.some((entry) => entry.name === MANIFEST_FILE)) return extracted;
  const only = top[0];
  if (top.length === 1 && only !== undefined && only.isDirectory()) return join(extracted, only.name);
  return undefined;
}

export async function isGzip(path: string): Promise<boolean> {
  const handle = await open(path, "r");
  try {
    const header = Buffer.alloc(2);
    const { bytesRead } = await handle.read(header, 0, 2, 0);
    return bytesRead === 2 && header[0] === 0x1f && header[1] === 0x8b;
  } finally {
    await handle.close();
  }
}
