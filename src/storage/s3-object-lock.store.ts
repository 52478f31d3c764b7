import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import {
  GetBucketVersioningCommand,
  GetObjectLockConfigurationCommand,
  HeadObjectCommand,
  PutObjectCommand,
  PutObjectRetentionCommand,
  paginateListObjectsV2,
} from "@aws-sdk/client-s3";
import type { HeadObjectCommandOutput, S3Client } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import type { S3StorageConfig } from "../config/config.schema.ts";
import { KeyproofError, describeError, isKeyproofError } from "../errors/errors.ts";
import { hashFile } from "../evidence/bundle-tree.ts";
import { readArchiveManifest } from "./archive-manifest.ts";
import { receiptObjectName, type BundleStore, type PreviousBundle } from "./bundle-store.ts";
import { isBundleObjectName } from "./chain-scope.ts";
import type { StoredObject } from "./object-store.ts";
import { downloadS3Object } from "./s3-download.ts";
import { formatS3Url } from "./s3-location.ts";

/**
 * Keeps bundles in an S3 bucket with Object Lock, each version under COMPLIANCE retention: until the date
 * passes nobody, the account root included, can delete or change that version. Before the first upload
 * the bucket is checked (Object Lock on, versioning on) and refused otherwise with the commands that fix
 * it; every upload sets its retention explicitly and is read back with HeadObject, and a version whose
 * lock, size or checksum does not read back as asked is never reported as stored.
 */

/** Object metadata (x-amz-meta-*): immutable per version, read by the chain lookup and by verify. */
export const METADATA = {
  manifestSha256: "keyproof-manifest-sha256",
  archiveSha256: "keyproof-archive-sha256",
  runId: "keyproof-run-id",
  retainUntil: "keyproof-retain-until",
} as const;

export interface S3ObjectLockStoreOptions {
  config: S3StorageConfig;
  client: S3Client;
  now?: () => Date;
  /** Upload attempts around the SDK's own retries (which cover single requests). Default 2. */
  uploadAttempts?: number;
  /** Pause between upload attempts, in milliseconds. Default 1000. */
  retryDelayMs?: number;
  /** Multipart part size in bytes (minimum and default 5 MiB); archives up to this size go in one PUT. */
  partSize?: number;
}

const MIB = 1024 * 1024;
const DAY_MS = 86_400_000;

function awsErrorName(error: unknown): string {
  return error instanceof Error ? error.name : "Error";
}

/** RetainUntilDate to the second: S3 keeps seconds, so the read-back compares like with like. */
function retainUntilFor(now: Date, days: number): Date {
  return new Date(Math.ceil((now.getTime() + days * DAY_MS) / 1000) * 1000);
}

/**
 * A multipart upload's SHA-256 is a checksum of part checksums (`<base64>-<parts>`, ChecksumType
 * COMPOSITE). moto reports the value without the suffix or the type, so the multipart ETag (`"…-<parts>"`)
 * is taken as a sign too.
 */
export function isCompositeChecksum(
  head: Pick<HeadObjectCommandOutput, "ChecksumType" | "ChecksumSHA256" | "ETag">,
): boolean {
  return (
    head.ChecksumType === "COMPOSITE" ||
    (head.ChecksumSHA256?.includes("-") ?? false) ||
    /-\d+"?$/.test(head.ETag ?? "")
  );
}

/** Base64 SHA-256 over the concatenated SHA-256 digests of each `partSize` part: S3's composite checksum. */
async function compositeSha256(path: string, partSize: number): Promise<{ checksum: string; parts: number }> {
  const digests: Buffer[] = [];
  let part = createHash("sha256");
  let filled = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) {
    let buffer = chunk as Buffer;
    while (buffer.length > 0) {
      const take = Math.min(partSize - filled, buffer.length);
      part.update(buffer.subarray(0, take));
      filled += take;
      buffer = buffer.subarray(take);
      if (filled === partSize) {
        digests.push(part.digest());
        part = createHash("sha256");
        filled = 0;
      }
    }
  }
  if (filled > 0) digests.push(part.digest());
  return {
    checksum: createHash("sha256").update(Buffer.concat(digests)).digest("base64"),
    parts: digests.length,
  };
}

function runIdOf(manifestBytes: Buffer): string | undefined {
  try {
    const parsed: unknown = JSON.parse(manifestBytes.toString("utf8"));
    if (
      typeof parsed === "object" &&
      parsed !== null &&
      "runId" in parsed &&
      typeof parsed.runId === "string"
    ) {
      // Metadata values travel as HTTP headers: keep them printable ASCII.
      return parsed.runId.replace(/[^\x20-\x7e]/g, "_");
    }
  } catch {
    // The archive was sealed by BundleWriter, so this does not happen; the run id is informative only.
  }
  return undefined;
}

export class S3ObjectLockStore implements BundleStore {
  readonly kind = "s3" as const;
  readonly description: string;
  readonly #config: S3StorageConfig;
  readonly #client: S3Client;
  readonly #now: () => Date;
  readonly #uploadAttempts: number;
  readonly #retryDelayMs: number;
  readonly #partSize: number;
  #ready: Promise<void> | undefined;

  constructor(options: S3ObjectLockStoreOptions) {
    this.#config = options.config;
    this.#client = options.client;
    this.#now = options.now ?? (() => new Date());
    this.#uploadAttempts = Math.max(1, options.uploadAttempts ?? 2);
    this.#retryDelayMs = options.retryDelayMs ?? 1000;
    this.#partSize = Math.max(5 * MIB, options.partSize ?? 5 * MIB);
    this.description = `s3://${this.#config.bucket}/${this.#config.prefix} (Object Lock ${this.#config.retention.mode}, ${this.#config.retention.days} days)`;
  }

  get bucket(): string {
    return this.#config.bucket;
  }

  /** Bucket key of an object name (`<scope>/<file>`). */
  keyOf(objectName: string): string {
    return `${this.#config.prefix}${objectName}`;
  }

  /** Checked once per store; a refusal is remembered, so a second call refuses the same way without asking S3. */
  checkReady(): Promise<void> {
    this.#ready ??= this.#checkBucket();
    return this.#ready;
  }

  #fixCommands(): string {
    const { bucket, region, retention } = this.#config;
    const location =
      region === "us-east-1" ? "" : ` --create-bucket-configuration LocationConstraint=${region}`;
    const lockConfiguration = JSON.stringify({
      ObjectLockEnabled: "Enabled",
      Rule: { DefaultRetention: { Mode: retention.mode, Days: retention.days } },
    });
    return [
      `a new bucket: aws s3api create-bucket --bucket ${bucket} --region ${region} --object-lock-enabled-for-bucket${location}`,
      `or an existing one: aws s3api put-bucket-versioning --bucket ${bucket} --versioning-configuration Status=Enabled`,
      `then: aws s3api put-object-lock-configuration --bucket ${bucket} --object-lock-configuration '${lockConfiguration}'`,
    ].join("; ");
  }

  #refuse(problem: string, remediation: string, cause?: unknown): KeyproofError {
    return new KeyproofError(
      "STORAGE_REFUSED",
      `bucket ${this.#config.bucket} cannot keep bundles immutable: ${problem}; nothing was uploaded`,
      { remediation, ...(cause === undefined ? {} : { cause }) },
    );
  }

  #permissionHint(): string {
    return (
      `allow the identity keyproof runs as s3:GetBucketObjectLockConfiguration, s3:GetBucketVersioning, s3:ListBucket, ` +
      `s3:PutObject, s3:PutObjectRetention, s3:GetObject, s3:GetObjectVersion and s3:GetObjectRetention on ${this.#config.bucket}`
    );
  }

  async #checkBucket(): Promise<void> {
    const { bucket } = this.#config;
    let lockEnabled: string | undefined;
    try {
      const response = await this.#client.send(new GetObjectLockConfigurationCommand({ Bucket: bucket }));
      lockEnabled = response.ObjectLockConfiguration?.ObjectLockEnabled;
    } catch (error) {
      const name = awsErrorName(error);
      if (name === "ObjectLockConfigurationNotFoundError") {
        throw this.#refuse(
          "Object Lock is not enabled on the bucket",
          `enable Object Lock: ${this.#fixCommands()}`,
          error,
        );
      }
      if (name === "NoSuchBucket") {
        throw this.#refuse(
          "the bucket does not exist",
          `create it with Object Lock: ${this.#fixCommands()}`,
          error,
        );
      }
      if (name === "AccessDenied" || name === "AccessDeniedException" || name === "Forbidden") {
        throw this.#refuse(
          `its Object Lock configuration cannot be read (${name})`,
          this.#permissionHint(),
          error,
        );
      }
      throw this.#refuse(
        `its Object Lock configuration could not be read: ${describeError(error)}`,
        `check storage.s3.region and storage.s3.endpoint, the network and the credentials, then run again`,
        error,
      );
    }
    if (lockEnabled !== "Enabled") {
      throw this.#refuse(
        "Object Lock is not enabled on the bucket",
        `enable Object Lock: ${this.#fixCommands()}`,
      );
    }

    let versioning: string | undefined;
    try {
      versioning = (await this.#client.send(new GetBucketVersioningCommand({ Bucket: bucket }))).Status;
    } catch (error) {
      throw this.#refuse(
        `its versioning state cannot be read: ${describeError(error)}`,
        this.#permissionHint(),
        error,
      );
    }
    // AWS keeps versioning Enabled on a lock-enabled bucket; moto lets it be suspended. Either way a
    // suspended bucket would overwrite the "null" version, so it is refused.
    if (versioning !== "Enabled") {
      throw this.#refuse(
        `versioning is ${versioning ?? "not enabled"}`,
        `aws s3api put-bucket-versioning --bucket ${bucket} --versioning-configuration Status=Enabled`,
      );
    }
    // A default retention rule is not required: every upload sets COMPLIANCE retention explicitly, and the
    // read-back after upload refuses a version that did not get it.
  }

  async putBundle(archivePath: string, objectName: string): Promise<StoredObject> {
    await this.checkReady();
    const key = this.keyOf(objectName);
    const target = `s3://${this.#config.bucket}/${key}`;
    const { sha256: archiveSha256, bytes } = await hashFile(archivePath);
    const expectedChecksum = Buffer.from(archiveSha256, "hex").toString("base64");
    const manifest = await readArchiveManifest(archivePath);
    const runId = runIdOf(manifest.bytes);
    const retainUntil = retainUntilFor(this.#now(), this.#config.retention.days);

    let lastError: unknown;
    for (let attempt = 1; attempt <= this.#uploadAttempts; attempt++) {
      if (attempt > 1) await delay(this.#retryDelayMs);
      let versionId: string | undefined;
      try {
        const upload = new Upload({
          client: this.#client,
          partSize: this.#partSize,
          queueSize: 4,
          leavePartsOnError: false,
          params: {
            Bucket: this.#config.bucket,
            Key: key,
            // A fresh stream per attempt: a consumed stream cannot be sent again.
            Body: createReadStream(archivePath),
            ContentType: "application/gzip",
            ObjectLockMode: this.#config.retention.mode,
            ObjectLockRetainUntilDate: retainUntil,
            // S3 verifies the checksum on receipt and keeps it; moto also requires it on Object Lock puts.
            ChecksumAlgorithm: "SHA256",
            ...(this.#config.kmsKeyId === undefined
              ? {}
              : { ServerSideEncryption: "aws:kms" as const, SSEKMSKeyId: this.#config.kmsKeyId }),
            Metadata: {
              [METADATA.manifestSha256]: manifest.sha256,
              [METADATA.archiveSha256]: archiveSha256,
              [METADATA.retainUntil]: retainUntil.toISOString(),
              ...(runId === undefined ? {} : { [METADATA.runId]: runId }),
            },
          },
        });
        versionId = (await upload.done()).VersionId;
      } catch (error) {
        lastError = error;
        continue;
      }
      if (versionId === undefined) {
        // Without a version id the object is not pinned: on a versioned bucket this cannot happen.
        throw new KeyproofError(
          "STORAGE_REFUSED",
          `${target}: the upload returned no version id; the bucket is not versioned`,
          {
            remediation: `aws s3api put-bucket-versioning --bucket ${this.#config.bucket} --versioning-configuration Status=Enabled`,
          },
        );
      }
      return this.#confirm(key, versionId, { archivePath, bytes, expectedChecksum, retainUntil });
    }
    throw new KeyproofError(
      "STORAGE_REFUSED",
      `${target}: upload failed after ${this.#uploadAttempts} attempts: ${describeError(lastError)}; the bundle was not stored`,
      {
        cause: lastError,
        remediation: `check the network and s3:PutObject / s3:PutObjectRetention permissions on ${this.#config.bucket}, then upload the archive again`,
      },
    );
  }

  /**
   * A receipt beside the bundle's key: every write is a new version of the Object-Locked bucket (the
   * bucket's default retention, if any, applies). With a SHA-256 checksum like the bundle: moto, like S3
   * with Object Lock, refuses a PUT without one.
   */
  async putReceipt(
    bundleObjectName: string,
    suffix: string,
    body: string,
  ): Promise<{ location: string; versionId?: string }> {
    const key = this.keyOf(receiptObjectName(bundleObjectName, suffix));
    const response = await this.#client.send(
      new PutObjectCommand({
        Bucket: this.#config.bucket,
        Key: key,
        Body: body,
        ContentType: "application/json",
        ChecksumAlgorithm: "SHA256",
        ...(this.#config.kmsKeyId === undefined
          ? {}
          : { ServerSideEncryption: "aws:kms" as const, SSEKMSKeyId: this.#config.kmsKeyId }),
      }),
    );
    return {
      location: formatS3Url({
        bucket: this.#config.bucket,
        key,
        ...(response.VersionId === undefined ? {} : { versionId: response.VersionId }),
      }),
      ...(response.VersionId === undefined ? {} : { versionId: response.VersionId }),
    };
  }

  async #head(key: string, versionId: string): Promise<HeadObjectCommandOutput> {
    return this.#client.send(
      new HeadObjectCommand({
        Bucket: this.#config.bucket,
        Key: key,
        VersionId: versionId,
        ChecksumMode: "ENABLED",
      }),
    );
  }

  /**
   * Reads the stored version back and insists on what was asked: size, COMPLIANCE until at least the
   * requested date, and (for single-part uploads) the SHA-256 checksum. A version that came back without
   * its lock gets the retention applied explicitly (PutObjectRetention) and is read again: moto drops the
   * lock headers of multipart uploads, and a bucket policy or proxy could strip them too.
   */
  async #confirm(
    key: string,
    versionId: string,
    expected: { archivePath: string; bytes: number; expectedChecksum: string; retainUntil: Date },
  ): Promise<StoredObject> {
    const location = formatS3Url({ bucket: this.#config.bucket, key, versionId });
    const notStored = (problem: string, cause?: unknown): KeyproofError =>
      new KeyproofError("STORAGE_REFUSED", `${location}: ${problem}; the bundle is not reported as stored`, {
        ...(cause === undefined ? {} : { cause }),
        remediation: `inspect the version with: aws s3api head-object --bucket ${this.#config.bucket} --key ${key} --version-id ${versionId}`,
      });
    const lockHolds = (head: HeadObjectCommandOutput): boolean =>
      head.ObjectLockMode === this.#config.retention.mode &&
      head.ObjectLockRetainUntilDate !== undefined &&
      head.ObjectLockRetainUntilDate.getTime() >= expected.retainUntil.getTime() - 1000;

    let head: HeadObjectCommandOutput;
    try {
      head = await this.#head(key, versionId);
      if (!lockHolds(head)) {
        await this.#client.send(
          new PutObjectRetentionCommand({
            Bucket: this.#config.bucket,
            Key: key,
            VersionId: versionId,
            Retention: { Mode: this.#config.retention.mode, RetainUntilDate: expected.retainUntil },
            ChecksumAlgorithm: "SHA256",
          }),
        );
        head = await this.#head(key, versionId);
      }
    } catch (error) {
      throw notStored(`the stored version could not be read back or locked: ${describeError(error)}`, error);
    }
    if (!lockHolds(head)) {
      throw notStored(
        `it reads back with lock ${head.ObjectLockMode ?? "none"} until ${head.ObjectLockRetainUntilDate?.toISOString() ?? "never"}, not ${this.#config.retention.mode} until ${expected.retainUntil.toISOString()}`,
      );
    }
    if (head.ContentLength !== expected.bytes) {
      throw notStored(`it holds ${head.ContentLength ?? "?"} bytes, the archive has ${expected.bytes}`);
    }
    if (head.ChecksumSHA256 === undefined) {
      throw notStored("S3 reports no SHA-256 checksum for it");
    }
    if (isCompositeChecksum(head)) {
      // Multipart: recompute the checksum of part checksums from the archive with the same part size.
      const composite = await compositeSha256(expected.archivePath, this.#partSize);
      const [value, parts] = head.ChecksumSHA256.split("-");
      if (value !== composite.checksum || (parts !== undefined && Number(parts) !== composite.parts)) {
        throw notStored(
          `its composite SHA-256 is ${head.ChecksumSHA256}, the archive's ${composite.parts} parts give ${composite.checksum}-${composite.parts}`,
        );
      }
    } else if (head.ChecksumSHA256 !== expected.expectedChecksum) {
      throw notStored(`its SHA-256 is ${head.ChecksumSHA256}, the archive's is ${expected.expectedChecksum}`);
    }
    const retainUntil = head.ObjectLockRetainUntilDate;
    return {
      location,
      versionId,
      ...(head.ObjectLockMode === undefined || retainUntil === undefined
        ? {}
        : { retention: { mode: head.ObjectLockMode, retainUntil: retainUntil.toISOString() } }),
      checksumSha256: head.ChecksumSHA256,
      bytes: expected.bytes,
    };
  }

  /**
   * The last bundle stored under the scope, by key (keys start with the storage time). Its manifest digest
   * comes from the object's metadata, or from the archive itself when the object was put there by hand.
   */
  async findPreviousBundle(
    scope: string,
    accept: (fileName: string) => boolean = () => true,
  ): Promise<PreviousBundle | undefined> {
    const prefix = this.keyOf(`${scope}/`);
    let latest: string | undefined;
    try {
      const pages = paginateListObjectsV2(
        { client: this.#client },
        { Bucket: this.#config.bucket, Prefix: prefix, Delimiter: "/" },
      );
      for await (const page of pages) {
        for (const object of page.Contents ?? []) {
          const name = object.Key?.slice(prefix.length);
          if (object.Key === undefined || name === undefined || !isBundleObjectName(name) || !accept(name))
            continue;
          if (latest === undefined || object.Key > latest) latest = object.Key;
        }
      }
    } catch (error) {
      throw new KeyproofError(
        "STORAGE_REFUSED",
        `cannot list s3://${this.#config.bucket}/${prefix} to chain the bundle: ${describeError(error)}`,
        { cause: error, remediation: this.#permissionHint() },
      );
    }
    if (latest === undefined) return undefined;

    const objectName = latest.slice(this.#config.prefix.length);
    try {
      const head = await this.#client.send(
        new HeadObjectCommand({ Bucket: this.#config.bucket, Key: latest }),
      );
      const versionId = head.VersionId;
      const location = formatS3Url({
        bucket: this.#config.bucket,
        key: latest,
        ...(versionId === undefined ? {} : { versionId }),
      });
      const recorded = head.Metadata?.[METADATA.manifestSha256];
      if (recorded !== undefined && /^[0-9a-f]{64}$/.test(recorded)) {
        return { objectName, manifestSha256: recorded, location };
      }
      const scratch = await mkdtemp(join(tmpdir(), "keyproof-chain-"));
      try {
        const archive = join(scratch, "previous.tar.gz");
        await downloadS3Object(
          this.#client,
          { bucket: this.#config.bucket, key: latest, ...(versionId === undefined ? {} : { versionId }) },
          archive,
        );
        return { objectName, manifestSha256: (await readArchiveManifest(archive)).sha256, location };
      } finally {
        await rm(scratch, { recursive: true, force: true });
      }
    } catch (error) {
      if (isKeyproofError(error)) throw error;
      throw new KeyproofError(
        "STORAGE_REFUSED",
        `cannot read the previous bundle s3://${this.#config.bucket}/${latest}: ${describeError(error)}`,
        { cause: error, remediation: this.#permissionHint() },
      );
    }
  }
}
