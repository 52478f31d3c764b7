import { GetObjectCommand, PutObjectCommand, paginateListObjectsV2 } from "@aws-sdk/client-s3";
import type { S3Client } from "@aws-sdk/client-s3";
import { assertWorkItemName, type WorkStore } from "../jobs/work-store.ts";

/** One run's place in the work bucket: `s3://<bucket>/<prefix>` (prefix ends with `/`). */
export interface S3WorkTarget {
  client: S3Client;
  bucket: string;
  prefix: string;
}

/** S3's answer for a key that is not there (GetObject without ListBucket permission says AccessDenied). */
export function isMissingObject(error: unknown): boolean {
  const name = (error as { name?: string } | undefined)?.name;
  return name === "NoSuchKey" || name === "NotFound";
}

/**
 * Work items as JSON objects under `<prefix>work/`, so workers that share nothing but Redis and S3 see one
 * store. A put replaces the object whole (S3 puts are atomic per object), so a retried step overwrites.
 *
 * `beforePut` runs before every put: the run workspace publishes the bundle files the step wrote so far,
 * so a work item never becomes visible before the evidence it stands for (a step that stored its result
 * and was then killed must not leave a later attempt trusting files that only existed on the dead worker).
 */
export class S3WorkStore implements WorkStore {
  readonly #target: S3WorkTarget;
  readonly #beforePut: (() => Promise<void>) | undefined;

  constructor(target: S3WorkTarget, options: { beforePut?: () => Promise<void> } = {}) {
    this.#target = target;
    this.#beforePut = options.beforePut;
  }

  get location(): string {
    return `s3://${this.#target.bucket}/${this.#target.prefix}work/`;
  }

  async put(name: string, value: unknown): Promise<void> {
    await this.#beforePut?.();
    await this.#target.client.send(
      new PutObjectCommand({
        Bucket: this.#target.bucket,
        Key: this.#key(name),
        Body: `${JSON.stringify(value)}\n`,
        ContentType: "application/json",
        // An Object Lock bucket refuses a put without an integrity checksum.
        ChecksumAlgorithm: "SHA256",
      }),
    );
  }

  async get<T>(name: string): Promise<T | undefined> {
    try {
      const response = await this.#target.client.send(
        new GetObjectCommand({ Bucket: this.#target.bucket, Key: this.#key(name) }),
      );
      const text = (await response.Body?.transformToString("utf8")) ?? "";
      return JSON.parse(text) as T;
    } catch (error) {
      if (isMissingObject(error)) return undefined;
      throw error;
    }
  }

  async list(prefix: string): Promise<string[]> {
    assertWorkItemName(prefix);
    const folder = `${this.#target.prefix}work/${prefix}/`;
    const names: string[] = [];
    const pages = paginateListObjectsV2(
      { client: this.#target.client },
      // Direct children only, as a directory listing gives.
      { Bucket: this.#target.bucket, Prefix: folder, Delimiter: "/" },
    );
    for await (const page of pages) {
      for (const object of page.Contents ?? []) {
        const key = object.Key ?? "";
        if (key.endsWith(".json")) names.push(`${prefix}/${key.slice(folder.length, -5)}`);
      }
    }
    return names.sort();
  }

  #key(name: string): string {
    assertWorkItemName(name);
    return `${this.#target.prefix}work/${name}.json`;
  }
}
