import { randomUUID } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { DeleteObjectCommand, GetObjectCommand, paginateListObjectsV2 } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { downloadS3Object } from "../../storage/s3-download.ts";
import { createS3Client } from "../../storage/s3-client.ts";
import { isMissingObject, type S3WorkTarget } from "../../storage/s3-work-store.ts";
import type { RunPlan } from "./run-plan.ts";

/**
 * A queued run's files when workers share nothing but Redis and S3 (`storage.s3` configured).
 *
 * Each job gets a scratch folder of its own under its worker's data directory, laid out as the shared data
 * directory would be: `<scratch>/<runId>/` is the bundle, `<scratch>/<runId>.tar.gz` and the
 * `<runId>.*.json` records sit beside it. The run's remote side is `s3://<bucket>/<workPrefix><runId>/files/`
 * holding the same relative paths. A job hydrates only what it reads, writes locally with the usual
 * BundleWriter, and publishes what it wrote (new or changed files, removed files deleted) before it ends
 * and before every work item it stores, so a worker killed mid-job loses only that job's unpublished
 * files, which its retry on another worker writes again.
 */

/** Multipart part size for published files: extracts and archives go up in parts, never whole in memory. */
const PART_SIZE = 8 * 1024 * 1024;

export const DEFAULT_WORK_PREFIX = "keyproof-work/";

/** The run's remote place, or undefined when the run keeps its files on the (shared) data directory. */
export function remoteWorkOf(plan: Pick<RunPlan, "config" | "runId">): S3WorkTarget | undefined {
  const s3 = plan.config.storage?.s3;
  if (s3 === undefined) return undefined;
  return {
    client: createS3Client({
      region: s3.region,
      ...(s3.endpoint === undefined ? {} : { endpoint: s3.endpoint }),
    }),
    bucket: s3.workBucket ?? s3.bucket,
    prefix: `${s3.workPrefix ?? DEFAULT_WORK_PREFIX}${plan.runId}/`,
  };
}

/** `s3://bucket/prefix` of a run's remote side: what the run record names as the bundle's home. */
export function remoteUrlOf(target: Pick<S3WorkTarget, "bucket" | "prefix">): string {
  return `s3://${target.bucket}/${target.prefix}`;
}

export function parseRemoteUrl(url: string): { bucket: string; prefix: string } {
  const match = /^s3:\/\/([^/]+)\/(.*)$/.exec(url);
  if (match === null) throw new Error(`${url} is not an s3:// work location`);
  return { bucket: match[1] ?? "", prefix: match[2] ?? "" };
}

/** Which relative paths (`<runId>/…`, `<runId>.tar.gz`, …) a job downloads before it starts. */
export type HydrateSelection = "none" | "all" | ((relative: string) => boolean);

export class RunWorkspace {
  /** The scratch folder; the bundle is `<root>/<runId>`. */
  readonly root: string;
  readonly bundleDirectory: string;
  readonly #target: S3WorkTarget;
  /** Relative path → `size:mtime` as last downloaded or uploaded: what publish compares against. */
  readonly #known = new Map<string, string>();
  #publishing: Promise<void> = Promise.resolve();

  private constructor(target: S3WorkTarget, root: string, runId: string) {
    this.#target = target;
    this.root = root;
    this.bundleDirectory = path.join(root, runId);
  }

  /** A fresh scratch folder under `scratchDirectory` (this worker's own data directory). */
  static async open(input: {
    target: S3WorkTarget;
    runId: string;
    scratchDirectory?: string;
  }): Promise<RunWorkspace> {
    const base = input.scratchDirectory ?? path.join(tmpdir(), "keyproof");
    const root = path.join(base, ".scratch", input.runId, randomUUID());
    await mkdir(path.join(root, input.runId), { recursive: true });
    return new RunWorkspace(input.target, root, input.runId);
  }

  get remoteUrl(): string {
    return remoteUrlOf(this.#target);
  }

  /** Downloads the selected published files (streamed to disk, never whole in memory). */
  async hydrate(selection: HydrateSelection): Promise<void> {
    if (selection === "none") return;
    const select = selection === "all" ? () => true : selection;
    for (const relative of await this.remoteFiles()) {
      if (!select(relative)) continue;
      const file = this.#local(relative);
      await mkdir(path.dirname(file), { recursive: true });
      await rm(file, { force: true });
      await downloadS3Object(
        this.#target.client,
        { bucket: this.#target.bucket, key: this.#key(relative) },
        file,
      );
      this.#known.set(relative, await this.#fingerprint(file));
    }
  }

  /** Every published relative path of the run. */
  async remoteFiles(): Promise<string[]> {
    const folder = `${this.#target.prefix}files/`;
    const files: string[] = [];
    const pages = paginateListObjectsV2(
      { client: this.#target.client },
      { Bucket: this.#target.bucket, Prefix: folder },
    );
    for await (const page of pages) {
      for (const object of page.Contents ?? []) files.push((object.Key ?? "").slice(folder.length));
    }
    return files.filter((file) => file !== "").sort();
  }

  /**
   * Uploads every file new or changed since hydration or the last publish, and deletes the remote copy of
   * a hydrated file removed here. Calls are serialized: concurrent puts of one job publish one after another.
   */
  publish(): Promise<void> {
    const next = this.#publishing.then(() => this.#publishNow());
    this.#publishing = next.catch(() => undefined);
    return next;
  }

  /** Removes the scratch folder (the remote side stays for the next job). */
  async close(): Promise<void> {
    await rm(this.root, { recursive: true, force: true });
  }

  async #publishNow(): Promise<void> {
    const present = new Set<string>();
    for (const relative of await this.#localFiles()) {
      present.add(relative);
      const fingerprint = await this.#fingerprint(this.#local(relative));
      if (this.#known.get(relative) === fingerprint) continue;
      await new Upload({
        client: this.#target.client,
        params: {
          Bucket: this.#target.bucket,
          Key: this.#key(relative),
          Body: createReadStream(this.#local(relative)),
          // An Object Lock bucket refuses parts without an integrity checksum.
          ChecksumAlgorithm: "SHA256",
        },
        partSize: PART_SIZE,
        queueSize: 2,
      }).done();
      this.#known.set(relative, fingerprint);
    }
    for (const relative of [...this.#known.keys()]) {
      if (present.has(relative)) continue;
      await this.#target.client.send(
        new DeleteObjectCommand({ Bucket: this.#target.bucket, Key: this.#key(relative) }),
      );
      this.#known.delete(relative);
    }
  }

  async #localFiles(): Promise<string[]> {
    const entries = await readdir(this.root, { recursive: true, withFileTypes: true });
    return entries
      .filter((entry) => entry.isFile())
      .map((entry) => path.relative(this.root, path.join(entry.parentPath, entry.name)))
      .map((relative) => relative.split(path.sep).join("/"))
      .sort();
  }

  async #fingerprint(file: string): Promise<string> {
    const info = await stat(file);
    return `${info.size}:${info.mtimeMs}`;
  }

  #local(relative: string): string {
    if (relative.split("/").includes("..")) throw new Error(`work file ${relative} must not contain ..`);
    return path.join(this.root, ...relative.split("/"));
  }

  #key(relative: string): string {
    return `${this.#target.prefix}files/${relative}`;
  }
}

/** Usage and change extracts: the large files, which only render (index digests) and seal read. */
const EXTRACT_FILE = /\/(usage-events|changes)\.(ndjson|csv)$/;

/** Every bundle file except the extracts: what judging and screenshot slices read. */
export function withoutExtracts(relative: string): boolean {
  return !EXTRACT_FILE.test(relative);
}

/**
 * Runs `work` in a workspace and publishes what it wrote when `work` ends, however it ends (a job parked
 * for its children or failed for a retry keeps its files, as on a shared directory); then removes the
 * scratch folder. A failure to publish fails a job that had succeeded (so it is retried), never hides
 * the error of one that had failed.
 */
export async function usingWorkspace<T>(workspace: RunWorkspace, work: () => Promise<T>): Promise<T> {
  let result: T;
  try {
    result = await work();
  } catch (error) {
    await workspace.publish().catch(() => undefined);
    await workspace.close().catch(() => undefined);
    throw error;
  }
  try {
    await workspace.publish();
  } finally {
    await workspace.close().catch(() => undefined);
  }
  return result;
}

/** The sealed bundle's files as a job reads them: `directory` is `<root>/<runId>`, `archive` beside it. */
export interface SealedFiles {
  directory: string;
  archive: string;
}

/**
 * Runs `work` on a sealed run's files: the recorded paths on a shared directory, or a scratch copy of the
 * selected published files when the run was kept in S3 (what `work` writes beside them, storage.json and
 * delivery.json, is published back).
 */
export async function withSealedFiles<T>(
  input: {
    plan: Pick<RunPlan, "config" | "runId">;
    bundle: SealedFiles & { remote?: string };
    scratchDirectory?: string;
    hydrate: HydrateSelection;
  },
  work: (files: SealedFiles) => Promise<T>,
): Promise<T> {
  const target = remoteWorkOf(input.plan);
  if (input.bundle.remote === undefined || target === undefined) return work(input.bundle);
  const workspace = await RunWorkspace.open({
    target,
    runId: input.plan.runId,
    ...(input.scratchDirectory === undefined ? {} : { scratchDirectory: input.scratchDirectory }),
  });
  return usingWorkspace(workspace, async () => {
    await workspace.hydrate(input.hydrate);
    return work({ directory: workspace.bundleDirectory, archive: `${workspace.bundleDirectory}.tar.gz` });
  });
}

/** One published file of a run kept in S3, parsed as JSON; undefined when it is not there. */
export async function readPublishedJson<T>(
  plan: Pick<RunPlan, "config" | "runId">,
  relative: string,
): Promise<T | undefined> {
  const target = remoteWorkOf(plan);
  if (target === undefined) return undefined;
  try {
    const response = await target.client.send(
      new GetObjectCommand({ Bucket: target.bucket, Key: `${target.prefix}files/${relative}` }),
    );
    return JSON.parse((await response.Body?.transformToString("utf8")) ?? "") as T;
  } catch (error) {
    if (isMissingObject(error)) return undefined;
    throw error;
  }
}
