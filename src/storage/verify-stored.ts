import { mkdtemp, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { HeadObjectCommand, paginateListObjectsV2 } from "@aws-sdk/client-s3";
import type { HeadObjectCommandOutput, S3Client } from "@aws-sdk/client-s3";
import { KeyproofError, describeError, isKeyproofError } from "../errors/errors.ts";
import { unreadableArchiveResult, verifyBundle, withChecks } from "../evidence/verify-bundle.ts";
import type { StorageCheck, VerifyOptions, VerifyResult } from "../evidence/verify-bundle.ts";
import { checkChain } from "../evidence/verify-chain.ts";
import type { ChainVerifyResult } from "../evidence/verify-chain.ts";
import { createS3Client } from "./s3-client.ts";
import type { S3ClientOptions } from "./s3-client.ts";
import { downloadS3Object } from "./s3-download.ts";
import { formatS3Url, isS3Url, parseS3Url } from "./s3-location.ts";
import type { S3Location } from "./s3-location.ts";
import { METADATA, isCompositeChecksum } from "./s3-object-lock.store.ts";

/**
 * `keyproof verify` for any target: a bundle directory or archive on disk, or an `s3://bucket/key[?versionId=]`
 * object, which is downloaded (that exact version), verified offline like a local archive, and checked to
 * be still under COMPLIANCE retention until at least the date asked for at upload. Chains are verified
 * from a directory of archives or an S3 prefix, in storage (name) order.
 */

export interface VerifyTargetOptions extends VerifyOptions {
  /** Region, endpoint and credentials for s3:// targets; the SDK's defaults otherwise. */
  s3?: S3ClientOptions;
  /** Clock for "retention still running"; injectable for tests. */
  now?: () => Date;
}

function clientFor(options: VerifyTargetOptions): S3Client {
  return createS3Client(options.s3 ?? {});
}

function cannotRead(location: string, error: unknown): KeyproofError {
  const name = error instanceof Error ? error.name : "";
  if (name === "NotFound" || name === "NoSuchKey" || name === "NoSuchVersion" || name === "NoSuchBucket") {
    return new KeyproofError("ARGUMENT_INVALID", `no bundle at ${location} (${name})`, { cause: error });
  }
  return new KeyproofError("STORAGE_REFUSED", `cannot read ${location}: ${describeError(error)}`, {
    cause: error,
    remediation:
      "check --region / --endpoint (or AWS_REGION / AWS_ENDPOINT_URL), the credentials, and s3:GetObject, s3:GetObjectVersion permissions",
  });
}

/** Pure: what HeadObject and the downloaded bytes say about retention and integrity. */
export function judgeStoredObject(input: {
  location: string;
  head: HeadObjectCommandOutput;
  downloaded: { sha256: string; versionId?: string };
  manifestSha256?: string;
  now: Date;
}): StorageCheck {
  const { head, downloaded } = input;
  const recordedRetainUntil = head.Metadata?.[METADATA.retainUntil];
  const retainUntil = head.ObjectLockRetainUntilDate;
  const check: StorageCheck = {
    ok: true,
    location: input.location,
    ...(head.VersionId === undefined ? {} : { versionId: head.VersionId }),
    ...(head.ObjectLockMode === undefined ? {} : { lockMode: head.ObjectLockMode }),
    ...(retainUntil === undefined ? {} : { retainUntil: retainUntil.toISOString() }),
    ...(recordedRetainUntil === undefined ? {} : { recordedRetainUntil }),
    ...(head.ObjectLockLegalHoldStatus === undefined ? {} : { legalHold: head.ObjectLockLegalHoldStatus }),
    ...(head.ChecksumSHA256 === undefined ? {} : { checksumSha256: head.ChecksumSHA256 }),
    archiveSha256: downloaded.sha256,
  };
  const fail = (reason: string): StorageCheck => ({ ...check, ok: false, reason });

  if (head.ObjectLockMode !== "COMPLIANCE") {
    return fail(
      `the object version is not under COMPLIANCE retention (lock mode ${head.ObjectLockMode ?? "none"})`,
    );
  }
  if (retainUntil === undefined || retainUntil.getTime() <= input.now.getTime()) {
    return fail(
      `COMPLIANCE retention ${retainUntil === undefined ? "has no end date" : `ended at ${retainUntil.toISOString()}`}`,
    );
  }
  if (recordedRetainUntil !== undefined) {
    const recorded = Date.parse(recordedRetainUntil);
    if (Number.isNaN(recorded) || retainUntil.getTime() < recorded - 1000) {
      return fail(
        `retention runs until ${retainUntil.toISOString()}, earlier than the ${recordedRetainUntil} recorded at upload`,
      );
    }
  }
  if (
    downloaded.versionId !== undefined &&
    head.VersionId !== undefined &&
    downloaded.versionId !== head.VersionId
  ) {
    return fail(`downloaded version ${downloaded.versionId}, but the checked version is ${head.VersionId}`);
  }
  const expectedChecksum = Buffer.from(downloaded.sha256, "hex").toString("base64");
  if (
    head.ChecksumSHA256 !== undefined &&
    !isCompositeChecksum(head) &&
    head.ChecksumSHA256 !== expectedChecksum
  ) {
    return fail(
      `S3's SHA-256 checksum ${head.ChecksumSHA256} does not match the downloaded bytes (${expectedChecksum})`,
    );
  }
  const recordedArchive = head.Metadata?.[METADATA.archiveSha256];
  if (recordedArchive !== undefined && recordedArchive !== downloaded.sha256) {
    return fail(
      `the archive's SHA-256 recorded at upload (${recordedArchive}) does not match the downloaded bytes (${downloaded.sha256})`,
    );
  }
  const recordedManifest = head.Metadata?.[METADATA.manifestSha256];
  if (
    recordedManifest !== undefined &&
    input.manifestSha256 !== undefined &&
    recordedManifest !== input.manifestSha256
  ) {
    return fail(
      `the manifest SHA-256 recorded at upload (${recordedManifest}) is not the manifest found (${input.manifestSha256})`,
    );
  }
  return check;
}

async function verifyS3Object(
  client: S3Client,
  location: S3Location,
  options: VerifyTargetOptions,
): Promise<VerifyResult> {
  const given = formatS3Url(location);
  if (location.key === "" || location.key.endsWith("/")) {
    throw new KeyproofError(
      "ARGUMENT_INVALID",
      `${given} names a prefix, not a bundle object; use --chain to verify every bundle under it`,
    );
  }
  let head: HeadObjectCommandOutput;
  try {
    head = await client.send(
      new HeadObjectCommand({
        Bucket: location.bucket,
        Key: location.key,
        ...(location.versionId === undefined ? {} : { VersionId: location.versionId }),
        ChecksumMode: "ENABLED",
      }),
    );
  } catch (error) {
    throw cannotRead(given, error);
  }
  // Pin the version HeadObject described, so the bytes checked are the bytes whose retention was read.
  const pinned: S3Location = {
    bucket: location.bucket,
    key: location.key,
    ...(head.VersionId === undefined ? {} : { versionId: head.VersionId }),
  };
  const url = formatS3Url(pinned);
  const scratch = await mkdtemp(join(tmpdir(), "keyproof-s3-verify-"));
  try {
    const archive = join(scratch, "bundle.tar.gz");
    let downloaded;
    try {
      downloaded = await downloadS3Object(client, pinned, archive);
    } catch (error) {
      throw cannotRead(url, error);
    }
    const result = await verifyDownloaded(archive, url, options);
    const storage = judgeStoredObject({
      location: url,
      head,
      downloaded,
      ...(result.manifestSha256 === undefined ? {} : { manifestSha256: result.manifestSha256 }),
      now: (options.now ?? (() => new Date()))(),
    });
    return withChecks({ ...result, bundle: url }, { storage });
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** A downloaded object that is not even a gzip archive fails verification; it is not a usage error. */
async function verifyDownloaded(archive: string, url: string, options: VerifyOptions): Promise<VerifyResult> {
  try {
    return await verifyBundle(archive, options);
  } catch (error) {
    if (isKeyproofError(error) && error.code === "ARGUMENT_INVALID") {
      return unreadableArchiveResult(url, "the object is not a .tar.gz bundle archive");
    }
    throw error;
  }
}

/** Verifies one bundle wherever it is. Throws only when the target cannot be read at all. */
export async function verifyTarget(target: string, options: VerifyTargetOptions = {}): Promise<VerifyResult> {
  if (!isS3Url(target)) return verifyBundle(target, options);
  const location = parseS3Url(target);
  if (location === undefined)
    throw new KeyproofError("ARGUMENT_INVALID", `${target} is not an s3://bucket/key URL`);
  const client = clientFor(options);
  try {
    return await verifyS3Object(client, location, options);
  } finally {
    client.destroy();
  }
}

async function listLocalChain(directory: string): Promise<string[]> {
  const absolute = resolve(directory);
  let names: string[];
  try {
    if (!(await stat(absolute)).isDirectory()) throw new Error("not a directory");
    names = await readdir(absolute);
  } catch (error) {
    throw new KeyproofError(
      "ARGUMENT_INVALID",
      `${absolute} is not a directory of bundle archives: ${describeError(error)}`,
      {
        cause: error,
      },
    );
  }
  return names
    .filter((name) => name.endsWith(".tar.gz"))
    .sort()
    .map((name) => join(absolute, name));
}

async function listS3Chain(client: S3Client, location: S3Location): Promise<S3Location[]> {
  const prefix = location.key === "" || location.key.endsWith("/") ? location.key : `${location.key}/`;
  const keys: string[] = [];
  try {
    for await (const page of paginateListObjectsV2(
      { client },
      { Bucket: location.bucket, Prefix: prefix, Delimiter: "/" },
    )) {
      for (const object of page.Contents ?? []) {
        if (object.Key !== undefined && object.Key.endsWith(".tar.gz")) keys.push(object.Key);
      }
    }
  } catch (error) {
    throw cannotRead(`s3://${location.bucket}/${prefix}`, error);
  }
  return keys.sort().map((key) => ({ bucket: location.bucket, key }));
}

/**
 * Verifies every bundle under a scope (oldest first by name, which starts with the storage time) and the
 * links between them. Each S3 bundle is verified at its current version, retention included.
 */
export async function verifyChainAt(
  location: string,
  options: VerifyTargetOptions = {},
): Promise<ChainVerifyResult> {
  if (!isS3Url(location)) {
    const results: VerifyResult[] = [];
    for (const archive of await listLocalChain(location)) results.push(await verifyBundle(archive, options));
    return checkChain(resolve(location), results);
  }
  const parsed = parseS3Url(location);
  if (parsed === undefined)
    throw new KeyproofError("ARGUMENT_INVALID", `${location} is not an s3://bucket/prefix/ URL`);
  const client = clientFor(options);
  try {
    const results: VerifyResult[] = [];
    for (const object of await listS3Chain(client, parsed))
      results.push(await verifyS3Object(client, object, options));
    return checkChain(location, results);
  } finally {
    client.destroy();
  }
}
