import { constants } from "node:fs";
import { access, chmod, copyFile, mkdir, readdir, rename, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { KeyproofError, describeError, nodeErrorCode } from "../errors/errors.ts";
import { hashFile } from "../evidence/bundle-tree.ts";
import { readArchiveManifest } from "./archive-manifest.ts";
import { receiptObjectName, type BundleStore, type PreviousBundle } from "./bundle-store.ts";
import { isBundleObjectName } from "./chain-scope.ts";
import type { StoredObject } from "./object-store.ts";

/**
 * A directory that keeps a copy of every sealed archive, laid out and chained like the S3 store
 * (`<directory>/<scope>/<stored-at>-<runId>.tar.gz`). It is not immutable: copies are made read-only and
 * never replaced, but whoever owns the directory can still change them. The chain and the signatures are
 * what make tampering visible here; use S3 Object Lock for retention an administrator cannot undo.
 */
export class LocalDirectoryStore implements BundleStore {
  readonly kind = "local" as const;
  readonly description: string;
  readonly directory: string;
  #ready: Promise<void> | undefined;

  constructor(directory: string) {
    this.directory = resolve(directory);
    this.description = `local directory ${this.directory}`;
  }

  checkReady(): Promise<void> {
    this.#ready ??= (async () => {
      try {
        await mkdir(this.directory, { recursive: true });
        await access(this.directory, constants.W_OK);
      } catch (error) {
        throw new KeyproofError(
          "STORAGE_REFUSED",
          `${this.description} cannot be written: ${describeError(error)}`,
          {
            cause: error,
            remediation: `create ${this.directory} and make it writable for the user keyproof runs as, or change storage.local`,
          },
        );
      }
    })();
    return this.#ready;
  }

  async putBundle(archivePath: string, objectName: string): Promise<StoredObject> {
    await this.checkReady();
    const target = join(this.directory, objectName);
    try {
      await mkdir(dirname(target), { recursive: true });
      // COPYFILE_EXCL: a stored bundle is never replaced, not even by a retry of the same run.
      await copyFile(archivePath, target, constants.COPYFILE_EXCL);
      await chmod(target, 0o444);
    } catch (error) {
      throw new KeyproofError(
        "STORAGE_REFUSED",
        `could not copy the bundle to ${target}: ${describeError(error)}`,
        {
          cause: error,
          remediation: `check free space and permissions of ${this.directory}`,
        },
      );
    }
    // Read back what landed, as for S3: the record states what is there, not what was meant to be.
    const { sha256, bytes } = await hashFile(target);
    const original = await hashFile(archivePath);
    if (sha256 !== original.sha256) {
      throw new KeyproofError("STORAGE_REFUSED", `the copy at ${target} differs from the sealed archive`);
    }
    return { location: target, checksumSha256: Buffer.from(sha256, "hex").toString("base64"), bytes };
  }

  async findPreviousBundle(
    scope: string,
    accept: (fileName: string) => boolean = () => true,
  ): Promise<PreviousBundle | undefined> {
    const folder = join(this.directory, scope);
    let names: string[];
    try {
      names = await readdir(folder);
    } catch (error) {
      if (nodeErrorCode(error) === "ENOENT") return undefined;
      throw new KeyproofError(
        "STORAGE_REFUSED",
        `cannot list ${folder} to chain the bundle: ${describeError(error)}`,
        {
          cause: error,
        },
      );
    }
    const latest = names
      .filter((name) => isBundleObjectName(name) && accept(name))
      .sort()
      .pop();
    if (latest === undefined) return undefined;
    const location = join(folder, latest);
    return {
      objectName: `${scope}/${latest}`,
      manifestSha256: (await readArchiveManifest(location)).sha256,
      location,
    };
  }

  async putReceipt(bundleObjectName: string, suffix: string, body: string): Promise<{ location: string }> {
    await this.checkReady();
    const target = join(this.directory, receiptObjectName(bundleObjectName, suffix));
    // A receipt changes as deliveries complete: replaced by rename, so a reader never sees half a file.
    await mkdir(dirname(target), { recursive: true });
    await writeFile(`${target}.tmp`, body);
    await rename(`${target}.tmp`, target);
    return { location: target };
  }
}
