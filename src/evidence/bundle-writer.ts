import { randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import type { WriteStream } from "node:fs";
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import type { Writable } from "node:stream";
import { create as createTar } from "tar";
import { KeyproofError, describeError, nodeErrorCode } from "../errors/errors.ts";
import { publicKeyFingerprint } from "../signing/fingerprint.ts";
import { signManifest } from "../signing/sign-manifest.ts";
import type { Signer } from "../signing/signer.ts";
import type { SignatureRecord } from "../signing/verify-signature.ts";
import { assertBundlePath } from "./bundle-path.ts";
import { byCodeUnits, hashFile, readBundleTree } from "./bundle-tree.ts";
import { BUNDLE_FORMAT, ManifestSchema, canonicalManifestBytes, sha256Hex } from "./manifest.ts";
import type { Manifest, ManifestFields } from "./manifest.ts";
import {
  CHECKSUMS_FILE,
  MANIFEST_FILE,
  SIGNATURE_FILE,
  SIGNER_PUBLIC_KEY_FILE,
  VERIFY_INSTRUCTIONS_FILE,
} from "./paths.ts";
import { checksumsText, verifyInstructionsText } from "./verify-instructions.ts";
import { signedAtProblem } from "./signed-at.ts";

/** Files `seal` writes itself; callers may not, and a re-seal replaces them. */
const SEAL_FILES = new Set([
  MANIFEST_FILE,
  SIGNATURE_FILE,
  CHECKSUMS_FILE,
  SIGNER_PUBLIC_KEY_FILE,
  VERIFY_INSTRUCTIONS_FILE,
]);

/** Whether `seal` writes this path itself (a file no caller may write, and not yet there before sealing). */
export function isSealFile(path: string): boolean {
  return SEAL_FILES.has(path);
}

/** Kept as a name for callers; the Signer port itself now carries `keyId`. */
export type IdentifiedSigner = Signer;

export interface SealedBundle {
  /** Absolute path of the run directory. */
  directory: string;
  /** Absolute path of `<directory>.tar.gz`. */
  archive: string;
  /** SHA-256 hex of manifest.json: what the next bundle chains to. */
  manifestSha256: string;
  manifest: Manifest;
  signature: SignatureRecord;
}

export interface WriteOptions {
  /**
   * Replace an existing file. Off by default: two artifacts landing on one path (two keys whose ids slugify
   * alike) would otherwise silently lose evidence. A retried step that rewrites its own file passes true.
   */
  overwrite?: boolean;
}

/** Fixed modes in the archive: the writer's umask must not change the archive bytes. */
const ARCHIVE_FILE_MODE = 0o100644;
const ARCHIVE_DIRECTORY_MODE = 0o040755;

/**
 * Places artifacts in one run directory, then seals it: manifest of SHA-256 per file, signature over the
 * canonical manifest, and a deterministic `.tar.gz` beside the directory. After `seal` nothing more can be
 * written through this writer.
 */
export class BundleWriter {
  readonly directory: string;
  readonly #streams = new Map<string, { stream: WriteStream; failure?: Error }>();
  #sealed = false;

  private constructor(directory: string) {
    this.directory = directory;
  }

  /** Creates the run directory (and its parents) if needed. */
  static async open(directory: string): Promise<BundleWriter> {
    const absolute = resolve(directory);
    await mkdir(absolute, { recursive: true });
    return new BundleWriter(absolute);
  }

  /** Pretty JSON (2 spaces, trailing newline): evidence is read by people as much as by tools. */
  async writeJson(path: string, value: unknown, options: WriteOptions = {}): Promise<void> {
    const text = JSON.stringify(value, null, 2);
    if (text === undefined) {
      throw new KeyproofError("INTERNAL", `bundle file ${path}: value is not representable as JSON`);
    }
    await this.writeText(path, `${text}\n`, options);
  }

  async writeText(path: string, text: string | Uint8Array, options: WriteOptions = {}): Promise<void> {
    const absolute = await this.#prepare(path);
    try {
      await writeFile(absolute, text, { flag: options.overwrite === true ? "w" : "wx" });
    } catch (error) {
      throw this.#writeError(path, error);
    }
  }

  /**
   * A file stream for large artifacts (usage extracts). The caller writes, honours backpressure, and ends
   * it; `seal` refuses while any stream opened here has not finished or has failed, so no half-flushed
   * file is hashed. The writer keeps an 'error' listener on the stream, so an unobserved failure cannot
   * crash the process; callers still see errors through write callbacks and their own listeners.
   */
  async openStream(path: string, options: WriteOptions = {}): Promise<Writable> {
    const absolute = await this.#prepare(path);
    const stream = createWriteStream(absolute, { flags: options.overwrite === true ? "w" : "wx" });
    await new Promise<void>((resolveOpen, rejectOpen) => {
      const onError = (error: Error): void => rejectOpen(this.#writeError(path, error));
      stream.once("error", onError);
      stream.once("open", () => {
        stream.off("error", onError);
        resolveOpen();
      });
    });
    const tracked: { stream: WriteStream; failure?: Error } = { stream };
    // Recorded so a write failure nobody listened for fails the seal instead of crashing the process.
    stream.on("error", (error: Error) => {
      tracked.failure ??= error;
    });
    this.#streams.set(path, tracked);
    return stream;
  }

  /**
   * Writes the signer's public key, VERIFY.md and SHA256SUMS, hashes every file, writes manifest.json as its
   * canonical bytes, writes manifest.sig.json (signManifest) and packs the directory. Re-running after a crash is safe: the manifest, signature and
   * archive are replaced, every other file is read as is.
   */
  async seal(request: { manifestFields: ManifestFields; signer: IdentifiedSigner }): Promise<SealedBundle> {
    this.#assertWritable();
    for (const [path, { failure }] of this.#streams) {
      if (failure !== undefined) {
        throw new KeyproofError(
          "INTERNAL",
          `cannot seal ${this.directory}: writing ${path} failed: ${failure.message}`,
          {
            cause: failure,
          },
        );
      }
    }
    const unfinished = [...this.#streams]
      .filter(([, { stream }]) => !stream.writableFinished)
      .map(([path]) => path);
    if (unfinished.length > 0) {
      throw new KeyproofError(
        "INTERNAL",
        `cannot seal ${this.directory}: streams still open: ${unfinished.join(", ")}`,
        {
          remediation: "end each stream from openStream() and await its 'finish' before sealing",
        },
      );
    }

    const tree = await readBundleTree(this.directory);
    const other = tree.others[0];
    if (other !== undefined) {
      throw new KeyproofError(
        "BUNDLE_INVALID",
        `cannot seal ${this.directory}: ${other.path} is a ${other.kind}`,
        {
          remediation: "a bundle holds regular files only; remove it and seal again",
        },
      );
    }

    // Order matters: the key file and VERIFY.md are hashed into SHA256SUMS, which is listed in the manifest,
    // whose digest the signed statement names (see verify-instructions.ts).
    const { signer } = request;
    const fingerprint = publicKeyFingerprint(signer.publicKeyPem);
    await writeFile(join(this.directory, SIGNER_PUBLIC_KEY_FILE), signer.publicKeyPem);
    await writeFile(
      join(this.directory, VERIFY_INSTRUCTIONS_FILE),
      verifyInstructionsText({
        algorithm: signer.algorithm,
        keyId: signer.keyId,
        fingerprint,
        description: signer.description,
      }),
    );
    const dataPaths = [
      ...tree.files.filter((path) => !SEAL_FILES.has(path)),
      SIGNER_PUBLIC_KEY_FILE,
      VERIFY_INSTRUCTIONS_FILE,
    ].sort(byCodeUnits);
    const listed: Manifest["files"] = [];
    for (const path of dataPaths) listed.push({ path, ...(await hashFile(join(this.directory, path))) });
    await writeFile(join(this.directory, CHECKSUMS_FILE), checksumsText(listed));
    const files = [
      ...listed,
      { path: CHECKSUMS_FILE, ...(await hashFile(join(this.directory, CHECKSUMS_FILE))) },
    ].sort((left, right) => byCodeUnits(left.path, right.path));

    const nextSigner =
      signer.nextSigner !== undefined && signer.nextSigner.fingerprint !== fingerprint
        ? signer.nextSigner
        : undefined;
    const candidate: Manifest = {
      ...request.manifestFields,
      format: BUNDLE_FORMAT,
      signer: { description: signer.description, keyId: signer.keyId, fingerprint },
      ...(nextSigner === undefined ? {} : { nextSigner }),
      files,
    };
    const parsed = ManifestSchema.safeParse(candidate);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new KeyproofError(
        "INTERNAL",
        `manifest for ${this.directory} is invalid at ${issue?.path.join(".") ?? "?"}: ${issue?.message ?? "unknown"}`,
      );
    }
    const manifest = parsed.data;
    // verify rejects a signature made too long after the evidence was read; refuse it here rather than
    // store a bundle (under Object Lock, for years) that can never verify.
    const now = signer.now?.() ?? new Date();
    const late = signedAtProblem(now.toISOString(), manifest);
    if (late !== undefined) {
      throw new KeyproofError("SEAL_TOO_LATE", `cannot seal ${this.directory}: ${late}`, {
        remediation:
          "the evidence is too old to be signed now (a seal job that waited for a worker, or a wrong clock): start a new run",
      });
    }
    const bytes = canonicalManifestBytes(manifest);
    const manifestSha256 = sha256Hex(bytes);
    await writeFile(join(this.directory, MANIFEST_FILE), bytes);
    const signature = await signManifest(this.directory, signer, { now });

    const archive = `${this.directory}.tar.gz`;
    await this.#pack(
      archive,
      tree.directories,
      [...files.map((file) => file.path), MANIFEST_FILE, SIGNATURE_FILE],
      manifest.capturedAt,
    );

    this.#sealed = true;
    return { directory: this.directory, archive, manifestSha256, manifest, signature };
  }

  /**
   * Deterministic archive: entries sorted, one fixed mtime (capturedAt), fixed modes, no owner names or ids,
   * gzip header without a timestamp and with OS byte 255 (`portable`). Same contents → same archive bytes.
   */
  async #pack(archive: string, directories: string[], files: string[], capturedAt: string): Promise<void> {
    const root = basename(this.directory);
    const entries = [root, ...[...directories, ...files].map((path) => `${root}/${path}`)].sort(byCodeUnits);
    const temporary = `${archive}.${randomBytes(6).toString("hex")}.tmp`;
    try {
      await createTar(
        {
          file: temporary,
          cwd: dirname(this.directory),
          gzip: true,
          portable: true,
          noDirRecurse: true,
          strict: true,
          mtime: new Date(capturedAt),
          onWriteEntry: (entry) => {
            if (entry.stat !== undefined) {
              entry.stat.mode = entry.type === "Directory" ? ARCHIVE_DIRECTORY_MODE : ARCHIVE_FILE_MODE;
            }
          },
        },
        entries,
      );
      await rename(temporary, archive);
    } catch (error) {
      throw new KeyproofError("INTERNAL", `could not create ${archive}: ${describeError(error)}`, {
        cause: error,
      });
    } finally {
      await rm(temporary, { force: true });
    }
  }

  async #prepare(path: string): Promise<string> {
    this.#assertWritable();
    assertBundlePath(path);
    if (SEAL_FILES.has(path)) {
      throw new KeyproofError("INTERNAL", `${path} is written by seal(), not by callers`);
    }
    // A finished or abandoned stream may be reopened (a retried extract); a live one may not.
    const open = this.#streams.get(path)?.stream;
    if (open !== undefined && !open.writableFinished && !open.destroyed) {
      throw new KeyproofError("INTERNAL", `bundle file ${path} is already open as a stream`);
    }
    const absolute = join(this.directory, path);
    await mkdir(dirname(absolute), { recursive: true });
    return absolute;
  }

  #assertWritable(): void {
    if (this.#sealed)
      throw new KeyproofError("INTERNAL", `bundle ${this.directory} is sealed; nothing more can be written`);
  }

  #writeError(path: string, error: unknown): KeyproofError {
    if (nodeErrorCode(error) === "EEXIST") {
      return new KeyproofError("INTERNAL", `bundle file ${path} already exists in ${this.directory}`, {
        cause: error,
        remediation:
          "two artifacts map to one path (check slugs), or pass { overwrite: true } for a deliberate rewrite",
      });
    }
    return new KeyproofError("INTERNAL", `could not write bundle file ${path}: ${describeError(error)}`, {
      cause: error,
    });
  }
}
