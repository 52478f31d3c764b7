/**
 * Sealed bundles in S3 Object Lock on moto: the bucket check that refuses before any upload, the upload
 * with COMPLIANCE retention read back and recorded, what S3 then refuses (deleting the version, replacing
 * it), verification from s3:// URLs, retried and failed uploads, and the hash chain across stored bundles
 * (linked, broken, forked, reordered, substituted). Every bucket has a unique name; moto is never reset.
 *
 * What moto enforces, and so what these tests can show (research/emulators.md A.3, checked in moto 5.2.5):
 * DeleteObject(s) with the VersionId of a version under COMPLIANCE → AccessDenied, with or without the
 * governance bypass; PutObject to the same key → a new version, the locked one untouched (S3 has no way to
 * overwrite a version in place). moto does not refuse PutObjectRetention shortening COMPLIANCE retention
 * (AWS does), so that is not tested here. moto drops the lock headers of multipart uploads; the store's
 * read-back catches that and applies the retention explicitly (tested below).
 */
import { createHash, randomBytes } from "node:crypto";
import { cp, mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer, request as httpRequest } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateKeyCommand, KMSClient } from "@aws-sdk/client-kms";
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { S3StorageConfig } from "../../src/config/config.schema.ts";
import { BundleWriter } from "../../src/evidence/bundle-writer.ts";
import type { SealedBundle } from "../../src/evidence/bundle-writer.ts";
import type { ManifestFields } from "../../src/evidence/manifest.ts";
import { FINDINGS_FILE, keyConfigurationPath, usageExtractPath } from "../../src/evidence/paths.ts";
import { verifyBundle } from "../../src/evidence/verify-bundle.ts";
import type { VerifyResult } from "../../src/evidence/verify-bundle.ts";
import type { ChainVerifyResult } from "../../src/evidence/verify-chain.ts";
import { runVerifyCommand } from "../../src/cli/commands/verify.command.ts";
import { pinsFromExpectations } from "../../src/evidence/verify-signature-file.ts";
import type { TrustPolicy } from "../../src/signing/trust.ts";
import type { VerifyCliOptions } from "../../src/cli/commands/verify.command.ts";
import { generateSigningKey } from "../../src/signing/keygen.ts";
import { createLocalEd25519Signer } from "../../src/signing/local-ed25519.signer.ts";
import type { LocalEd25519Signer } from "../../src/signing/local-ed25519.signer.ts";
import type { BundleStore } from "../../src/storage/bundle-store.ts";
import { chainScope } from "../../src/storage/chain-scope.ts";
import { createBundleStores } from "../../src/storage/create-store.ts";
import { LocalDirectoryStore } from "../../src/storage/local-directory.store.ts";
import { createS3Client } from "../../src/storage/s3-client.ts";
import { parseS3Url } from "../../src/storage/s3-location.ts";
import { METADATA, S3ObjectLockStore } from "../../src/storage/s3-object-lock.store.ts";
import {
  prepareBundleStorage,
  storageRecordPath,
  storeSealedBundle,
} from "../../src/storage/store-sealed-bundle.ts";
import type { PreparedStorage, StorageRecord } from "../../src/storage/store-sealed-bundle.ts";
import { verifyChainAt, verifyTarget } from "../../src/storage/verify-stored.ts";
import { parseRange } from "../../src/time/date-range.ts";
import { awsTestClientConfig, uniqueName } from "../support/test-env.ts";

const REGION = "eu-west-1";
const aws = awsTestClientConfig(REGION);
const s3 = new S3Client({ ...aws, forcePathStyle: true });
const range = parseRange("2026-07-01", "2026-09-30");
const DAY_MS = 86_400_000;

let workspace: string;
let signer: LocalEd25519Signer;
let otherSigner: LocalEd25519Signer;
let runCounter = 0;

async function createBucket(options: { objectLock: boolean }): Promise<string> {
  const bucket = uniqueName(options.objectLock ? "kp-locked" : "kp-plain");
  await s3.send(
    new CreateBucketCommand({
      Bucket: bucket,
      CreateBucketConfiguration: { LocationConstraint: REGION },
      ...(options.objectLock ? { ObjectLockEnabledForBucket: true } : {}),
    }),
  );
  return bucket;
}

function s3Config(bucket: string, overrides: Partial<S3StorageConfig> = {}): S3StorageConfig {
  return {
    bucket,
    prefix: "evidence/",
    region: REGION,
    endpoint: aws.endpoint,
    retention: { mode: "COMPLIANCE", days: 2555 },
    ...overrides,
  };
}

function s3Store(
  config: S3StorageConfig,
  options: { endpoint?: string; partSize?: number } = {},
): S3ObjectLockStore {
  return new S3ObjectLockStore({
    config,
    client: createS3Client({
      region: REGION,
      endpoint: options.endpoint ?? aws.endpoint,
      credentials: aws.credentials,
    }),
    retryDelayMs: 10,
    ...(options.partSize === undefined ? {} : { partSize: options.partSize }),
  });
}

function fields(runId: string, capturedAt: string): ManifestFields {
  return {
    runId,
    organization: "Example Corp",
    period: { label: "2026-Q3", from: range.from, to: range.to, toExclusive: range.toExclusive },
    capturedAt,
    keyproofVersion: "0.1.0",
    sources: [{ id: "aws-prod", type: "aws-kms", account: "111122223333", locations: [REGION] }],
  };
}

/** A small real bundle; `largeFileBytes` adds incompressible bytes so the archive needs a multipart upload. */
async function sealBundle(
  options: {
    previous?: PreparedStorage["previousBundle"];
    bundleSigner?: LocalEd25519Signer;
    largeFileBytes?: number;
    runId?: string;
  } = {},
): Promise<SealedBundle> {
  runCounter += 1;
  const runId = options.runId ?? `kp-storage-${String(runCounter).padStart(3, "0")}`;
  const writer = await BundleWriter.open(
    join(workspace, "runs", `${runId}-${randomBytes(3).toString("hex")}`),
  );
  await writer.writeJson(FINDINGS_FILE, [
    { checkId: "key-rotation-enabled", status: "pass", run: runCounter },
  ]);
  await writer.writeJson(keyConfigurationPath("aws-prod", REGION, "k-1"), { KeyId: "k-1", run: runCounter });
  if (options.largeFileBytes !== undefined) {
    await writer.writeText(
      usageExtractPath("aws-prod", REGION, "ndjson"),
      randomBytes(options.largeFileBytes),
    );
  }
  const capturedAt = new Date(Date.UTC(2026, 9, 1, 6, 0, runCounter)).toISOString();
  return writer.seal({
    manifestFields: {
      ...fields(runId, capturedAt),
      ...(options.previous === undefined ? {} : { previousBundle: options.previous }),
    },
    signer: options.bundleSigner ?? signer,
  });
}

/** prepare → seal (with the link) → store: what a run does. */
async function sealAndStore(
  stores: BundleStore[],
  scope: string,
  options: { bundleSigner?: LocalEd25519Signer; largeFileBytes?: number } = {},
): Promise<{ bundle: SealedBundle; record: StorageRecord; prepared: PreparedStorage }> {
  const prepared = await prepareBundleStorage(stores, scope);
  const bundle = await sealBundle({
    ...options,
    ...(prepared.previousBundle === undefined ? {} : { previous: prepared.previousBundle }),
  });
  const record = await storeSealedBundle({ prepared, bundle });
  return { bundle, record, prepared };
}

function storedOutcome(
  record: StorageRecord,
  index = 0,
): Extract<StorageRecord["stores"][number], { stored: true }> {
  const outcome = record.stores[index];
  if (outcome === undefined || !outcome.stored)
    throw new Error(`store ${index} did not store: ${JSON.stringify(outcome)}`);
  return outcome;
}

async function objectVersions(bucket: string): Promise<number> {
  const listed = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket }));
  return (listed.Versions?.length ?? 0) + (listed.DeleteMarkers?.length ?? 0);
}

async function verifyCli(
  target: string | undefined,
  options: VerifyCliOptions,
): Promise<{ code: number; output: string }> {
  let output = "";
  const code = await runVerifyCommand(
    target,
    { region: REGION, endpoint: aws.endpoint, expectKey: signer.keyId, ...options },
    { stdout: (text) => (output += text), stderr: (text) => (output += text), isTty: false },
  );
  return { code, output };
}

/** Pins the test signer (filled in once it exists): without a pin nothing verifies. */
const trust: TrustPolicy = { pins: [] };
const s3Options = { s3: { region: REGION, endpoint: aws.endpoint, credentials: aws.credentials }, trust };

beforeAll(async () => {
  // verify.command builds its own S3 client from the provider chain: moto takes any credentials.
  process.env["AWS_ACCESS_KEY_ID"] ??= "test";
  process.env["AWS_SECRET_ACCESS_KEY"] ??= "test";
  workspace = await mkdtemp(join(tmpdir(), "keyproof-sealing-storage-"));
  signer = await createLocalEd25519Signer(
    (await generateSigningKey(join(workspace, "keys", "signing.pem"))).path,
    { now: () => new Date("2026-10-01T07:00:00.000Z") },
  );
  otherSigner = await createLocalEd25519Signer(
    (await generateSigningKey(join(workspace, "keys", "other.pem"))).path,
    { now: () => new Date("2026-10-01T07:00:00.000Z") },
  );
  trust.pins.push(...pinsFromExpectations({ expectedPublicKey: signer.publicKeyPem }));
});

afterAll(async () => {
  s3.destroy();
  await rm(workspace, { recursive: true, force: true });
});

describe("the bucket check before the first upload", () => {
  it("refuses a bucket without Object Lock, says how to fix it, uploads nothing, and keeps the bundle locally", async () => {
    const bucket = await createBucket({ objectLock: false });
    const store = s3Store(s3Config(bucket));
    const prepared = await prepareBundleStorage([store], "refused-scope");
    expect(prepared.ready).toEqual([]);
    const refusal = prepared.refused[0]?.error;
    expect(refusal).toMatchObject({ code: "STORAGE_REFUSED" });
    expect(refusal?.message).toBe(
      `bucket ${bucket} cannot keep bundles immutable: Object Lock is not enabled on the bucket; nothing was uploaded`,
    );
    expect(refusal?.remediation).toContain(
      `aws s3api create-bucket --bucket ${bucket} --region ${REGION} --object-lock-enabled-for-bucket`,
    );
    expect(refusal?.remediation).toContain(
      `aws s3api put-bucket-versioning --bucket ${bucket} --versioning-configuration Status=Enabled`,
    );
    expect(refusal?.remediation).toContain(
      `aws s3api put-object-lock-configuration --bucket ${bucket} --object-lock-configuration '{"ObjectLockEnabled":"Enabled","Rule":{"DefaultRetention":{"Mode":"COMPLIANCE","Days":2555}}}'`,
    );

    const bundle = await sealBundle();
    await expect(storeSealedBundle({ prepared, bundle })).rejects.toMatchObject({
      code: "STORAGE_REFUSED",
      message: expect.stringContaining(`the bundle is sealed at ${bundle.archive} but was not stored`),
      remediation: refusal?.remediation,
    });
    expect(await objectVersions(bucket)).toBe(0);
    expect((await verifyBundle(bundle.archive, { trust })).ok).toBe(true);
    const record = JSON.parse(await readFile(storageRecordPath(bundle), "utf8")) as StorageRecord;
    expect(record.stores).toEqual([
      expect.objectContaining({
        kind: "s3",
        stored: false,
        code: "STORAGE_REFUSED",
        reason: refusal?.message,
      }),
    ]);

    // Even putBundle called directly (skipping prepare) checks first.
    await expect(store.putBundle(bundle.archive, "refused-scope/direct.tar.gz")).rejects.toMatchObject({
      code: "STORAGE_REFUSED",
    });
    expect(await objectVersions(bucket)).toBe(0);
  });

  it("refuses a missing bucket and a lock bucket whose versioning was suspended", async () => {
    const missing = s3Store(s3Config(uniqueName("kp-missing")));
    await expect(missing.checkReady()).rejects.toMatchObject({
      code: "STORAGE_REFUSED",
      message: expect.stringContaining("the bucket does not exist"),
      remediation: expect.stringContaining("--object-lock-enabled-for-bucket"),
    });
    // AWS never lets a lock-enabled bucket suspend versioning; moto does, which lets the check be shown.
    const bucket = await createBucket({ objectLock: true });
    await s3.send(
      new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: "Suspended" } }),
    );
    await expect(s3Store(s3Config(bucket)).checkReady()).rejects.toMatchObject({
      code: "STORAGE_REFUSED",
      message: expect.stringContaining("versioning is Suspended"),
    });
  });
});

describe("a bundle stored in S3 Object Lock", () => {
  let bucket: string;
  let bundle: SealedBundle;
  let record: StorageRecord;
  let stored: ReturnType<typeof storedOutcome>;
  let key: string;

  beforeAll(async () => {
    bucket = await createBucket({ objectLock: true });
    ({ bundle, record } = await sealAndStore([s3Store(s3Config(bucket))], "stored-scope"));
    stored = storedOutcome(record);
    key = parseS3Url(stored.location)?.key ?? "";
  });

  it("is under COMPLIANCE retention for the configured days, read back with HeadObject and recorded", async () => {
    const archiveSha256 = createHash("sha256")
      .update(await readFile(bundle.archive))
      .digest();
    expect(key).toMatch(/^evidence\/stored-scope\/\d{8}T\d{6}\.\d{3}Z-kp-storage-\d{3}\.tar\.gz$/);
    expect(stored.location).toBe(
      `s3://${bucket}/${key}?versionId=${encodeURIComponent(stored.versionId ?? "")}`,
    );
    expect(stored.retention?.mode).toBe("COMPLIANCE");
    const retainUntil = Date.parse(stored.retention?.retainUntil ?? "");
    expect(Math.abs(retainUntil - (Date.now() + 2555 * DAY_MS))).toBeLessThan(10 * 60_000);
    expect(stored.checksumSha256).toBe(archiveSha256.toString("base64"));
    expect(record).toMatchObject({
      manifestSha256: bundle.manifestSha256,
      archiveSha256: archiveSha256.toString("hex"),
      scope: "stored-scope",
    });
    expect(record).not.toHaveProperty("previousBundle");

    // Independently of the store's own read-back.
    const head = await s3.send(
      new HeadObjectCommand({
        Bucket: bucket,
        Key: key,
        VersionId: stored.versionId,
        ChecksumMode: "ENABLED",
      }),
    );
    expect(head.ObjectLockMode).toBe("COMPLIANCE");
    expect(head.ObjectLockRetainUntilDate?.toISOString()).toBe(stored.retention?.retainUntil);
    expect(head.ChecksumSHA256).toBe(stored.checksumSha256);
    expect(head.Metadata?.[METADATA.manifestSha256]).toBe(bundle.manifestSha256);

    // storage.json beside the bundle (not inside it: the bundle is sealed) holds the same record.
    expect(JSON.parse(await readFile(storageRecordPath(bundle), "utf8"))).toEqual(record);
    expect((await verifyBundle(bundle.directory, { trust })).files.extra).toEqual([]);
  });

  it("cannot be deleted by version id, not even with the governance bypass", async () => {
    await expect(
      s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key, VersionId: stored.versionId })),
    ).rejects.toMatchObject({
      name: "AccessDenied",
    });
    await expect(
      s3.send(
        new DeleteObjectCommand({
          Bucket: bucket,
          Key: key,
          VersionId: stored.versionId,
          BypassGovernanceRetention: true,
        }),
      ),
    ).rejects.toMatchObject({ name: "AccessDenied" });
    const batch = await s3.send(
      new DeleteObjectsCommand({
        Bucket: bucket,
        Delete: { Objects: [{ Key: key, VersionId: stored.versionId }] },
      }),
    );
    expect(batch.Deleted ?? []).toEqual([]);
    expect(batch.Errors?.[0]).toMatchObject({ Key: key, Code: "AccessDenied" });
    const head = await s3.send(
      new HeadObjectCommand({ Bucket: bucket, Key: key, VersionId: stored.versionId }),
    );
    expect(head.ObjectLockMode).toBe("COMPLIANCE");
  });

  it("cannot be overwritten: a PUT to the key adds a version and the stored one stays byte for byte", async () => {
    const forged = Buffer.from("not the sealed bundle");
    const put = await s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: key, Body: forged, ChecksumAlgorithm: "SHA256" }),
    );
    expect(put.VersionId).toBeDefined();
    expect(put.VersionId).not.toBe(stored.versionId);
    const original = await s3.send(
      new GetObjectCommand({ Bucket: bucket, Key: key, VersionId: stored.versionId }),
    );
    expect(
      Buffer.from((await original.Body?.transformToByteArray()) ?? new Uint8Array()).equals(
        await readFile(bundle.archive),
      ),
    ).toBe(true);

    // The pinned version still verifies, retention included; the key's newest version does not.
    const pinned = await verifyTarget(stored.location, s3Options);
    expect(pinned.ok).toBe(true);
    const latest = await verifyTarget(`s3://${bucket}/${key}`, s3Options);
    expect(latest.ok).toBe(false);
    expect(latest.archive?.reason).toBe("the object is not a .tar.gz bundle archive");
    expect(latest.storage?.reason).toBe(
      "the object version is not under COMPLIANCE retention (lock mode none)",
    );

    // A delete without version id only adds a delete marker; the locked version is still there.
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    expect((await verifyTarget(stored.location, s3Options)).ok).toBe(true);
  });

  it("verifies from its s3:// URL: digests, signature and retention", async () => {
    const result = await verifyTarget(stored.location, { ...s3Options, expectedKeyId: signer.keyId });
    expect(result).toMatchObject({
      ok: true,
      bundle: stored.location,
      runId: bundle.manifest.runId,
      manifestSha256: bundle.manifestSha256,
      signature: { ok: true, keyId: signer.keyId },
      files: { missing: [], extra: [], altered: [] },
      storage: {
        ok: true,
        location: stored.location,
        versionId: stored.versionId,
        lockMode: "COMPLIANCE",
        retainUntil: stored.retention?.retainUntil,
        recordedRetainUntil: stored.retention?.retainUntil,
        checksumSha256: stored.checksumSha256,
      },
    });
    const cli = await verifyCli(stored.location, { json: true });
    expect(cli.code).toBe(0);
    expect((JSON.parse(cli.output) as VerifyResult).storage?.lockMode).toBe("COMPLIANCE");
    const text = await verifyCli(stored.location, {});
    expect(text.output).toMatch(/^VERIFIED {2}s3:\/\//);
    expect(text.output).toContain("storage: ok");
  });

  it("fails verification when the version is not retained (and names why)", async () => {
    const unlockedKey = `evidence/stored-scope/unlocked-${randomBytes(3).toString("hex")}.tar.gz`;
    const put = await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: unlockedKey,
        Body: await readFile(bundle.archive),
        ChecksumAlgorithm: "SHA256",
      }),
    );
    const result = await verifyTarget(
      `s3://${bucket}/${unlockedKey}?versionId=${put.VersionId ?? ""}`,
      s3Options,
    );
    expect(result.signature.ok).toBe(true);
    expect(result.ok).toBe(false);
    expect(result.storage?.reason).toBe(
      "the object version is not under COMPLIANCE retention (lock mode none)",
    );
  });
});

describe("uploads", () => {
  it("go multipart for large archives and still end under COMPLIANCE (moto drops multipart lock headers; the read-back re-applies them)", async () => {
    const bucket = await createBucket({ objectLock: true });
    const { bundle, record } = await sealAndStore(
      [s3Store(s3Config(bucket), { partSize: 5 * 1024 * 1024 })],
      "large",
      {
        largeFileBytes: 6 * 1024 * 1024,
      },
    );
    const stored = storedOutcome(record);
    expect(stored.bytes).toBeGreaterThan(5 * 1024 * 1024);
    // Why the store re-applies retention: the same multipart upload made directly keeps no lock in moto
    // 5.2.5 (CompleteMultipartUpload ignores the lock headers given at CreateMultipartUpload; AWS applies them).
    const direct = `evidence/large/direct-${randomBytes(3).toString("hex")}.tar.gz`;
    const upload = new Upload({
      client: s3,
      partSize: 5 * 1024 * 1024,
      params: {
        Bucket: bucket,
        Key: direct,
        Body: await readFile(bundle.archive),
        ObjectLockMode: "COMPLIANCE",
        ObjectLockRetainUntilDate: new Date(Date.now() + DAY_MS),
        ChecksumAlgorithm: "SHA256",
      },
    });
    const directVersion = (await upload.done()).VersionId;
    const directHead = await s3.send(
      new HeadObjectCommand({ Bucket: bucket, Key: direct, VersionId: directVersion }),
    );
    expect(directHead.ObjectLockMode).toBeUndefined();
    expect(stored.retention?.mode).toBe("COMPLIANCE");
    const result = await verifyTarget(stored.location, s3Options);
    expect(result.ok).toBe(true);
    expect(result.storage?.archiveSha256).toBe(record.archiveSha256);
    expect(bundle.manifestSha256).toBe(result.manifestSha256);
  });

  it("use SSE-KMS with the configured key", async () => {
    const kms = new KMSClient(aws);
    const keyArn = (
      await kms.send(new CreateKeyCommand({ KeyUsage: "ENCRYPT_DECRYPT", KeySpec: "SYMMETRIC_DEFAULT" }))
    ).KeyMetadata?.Arn;
    kms.destroy();
    const bucket = await createBucket({ objectLock: true });
    const { record } = await sealAndStore(
      [s3Store(s3Config(bucket, { kmsKeyId: keyArn ?? "" }))],
      "encrypted",
    );
    const stored = storedOutcome(record);
    const key = parseS3Url(stored.location)?.key ?? "";
    const head = await s3.send(
      new HeadObjectCommand({ Bucket: bucket, Key: key, VersionId: stored.versionId }),
    );
    expect(head.ServerSideEncryption).toBe("aws:kms");
    expect(head.SSEKMSKeyId).toBe(keyArn);
  });

  it("are retried (SDK retries, then one more attempt) and a bundle that never arrives is never reported as stored", async () => {
    const bucket = await createBucket({ objectLock: true });
    const flaky = await startFailingProxy(aws.endpoint, 3);
    try {
      // The SDK's three attempts all get HTTP 500; the store's second attempt gets through.
      const { record } = await sealAndStore(
        [s3Store(s3Config(bucket), { endpoint: flaky.endpoint })],
        "flaky",
      );
      expect(flaky.failedPuts).toBe(3);
      expect(storedOutcome(record).retention?.mode).toBe("COMPLIANCE");
    } finally {
      await flaky.close();
    }

    const broken = await startFailingProxy(aws.endpoint, Number.POSITIVE_INFINITY);
    try {
      const prepared = await prepareBundleStorage(
        [s3Store(s3Config(bucket), { endpoint: broken.endpoint })],
        "broken",
      );
      const bundle = await sealBundle();
      await expect(storeSealedBundle({ prepared, bundle })).rejects.toMatchObject({
        code: "STORAGE_REFUSED",
        message: expect.stringMatching(/upload failed after 2 attempts: .*the bundle was not stored/),
      });
      expect(broken.failedPuts).toBe(6);
      const record = JSON.parse(await readFile(storageRecordPath(bundle), "utf8")) as StorageRecord;
      expect(record.stores).toEqual([expect.objectContaining({ stored: false, code: "STORAGE_REFUSED" })]);
      const listed = await s3.send(
        new ListObjectVersionsCommand({ Bucket: bucket, Prefix: "evidence/broken/" }),
      );
      expect(listed.Versions ?? []).toEqual([]);

      // Storing the same archive again (a retried job) keeps the object name of the first attempt, and
      // skips a store that already holds it.
      const local = new LocalDirectoryStore(join(workspace, "retry-copies"));
      const retried = await prepareBundleStorage([s3Store(s3Config(bucket)), local], "broken");
      await storeSealedBundle({ prepared: { ...retried, ready: [local], refused: [] }, bundle });
      const again = await storeSealedBundle({ prepared: retried, bundle });
      expect(again.objectName).toBe(record.objectName);
      expect(again.stores.map((outcome) => [outcome.kind, outcome.stored])).toEqual([
        ["s3", true],
        ["local", true],
      ]);
    } finally {
      await broken.close();
    }
  });

  it("to a local directory keep a read-only copy, chained like S3", async () => {
    const directory = join(workspace, "local-store");
    const store = new LocalDirectoryStore(directory);
    const first = await sealAndStore([store], "local-scope");
    const second = await sealAndStore([store], "local-scope");
    expect(second.bundle.manifest.previousBundle).toEqual({
      manifestSha256: first.bundle.manifestSha256,
      location: storedOutcome(first.record).location,
    });
    const chain = await verifyChainAt(join(directory, "local-scope"), { trust });
    expect(chain.ok).toBe(true);
    expect(chain.entries.map((entry) => entry.bundle.runId)).toEqual([
      first.bundle.manifest.runId,
      second.bundle.manifest.runId,
    ]);
  });
});

describe("the hash chain", () => {
  let bucket: string;
  const chain: Array<{ bundle: SealedBundle; record: StorageRecord }> = [];

  beforeAll(async () => {
    bucket = await createBucket({ objectLock: true });
    const stores = createBundleStores(
      { s3: s3Config(bucket), local: join(workspace, "chain-copy") },
      workspace,
      { awsCredentials: aws.credentials },
    );
    for (let index = 0; index < 3; index++) chain.push(await sealAndStore(stores, "chained"));
  });

  it("links each manifest to the bundle stored before it, by manifest digest and pinned version", () => {
    const [first, second, third] = chain;
    expect(first?.bundle.manifest.previousBundle).toBeUndefined();
    expect(second?.bundle.manifest.previousBundle).toEqual({
      manifestSha256: first?.bundle.manifestSha256,
      location: first === undefined ? "" : storedOutcome(first.record).location,
    });
    expect(third?.bundle.manifest.previousBundle?.manifestSha256).toBe(second?.bundle.manifestSha256);
    // Both stores received every bundle under the same name.
    expect(third?.record.stores.map((outcome) => [outcome.kind, outcome.stored])).toEqual([
      ["s3", true],
      ["local", true],
    ]);
  });

  it("verifies as a whole from S3, and link by link with --previous", async () => {
    const result = await verifyChainAt(`s3://${bucket}/evidence/chained/`, {
      ...s3Options,
      expectedKeyId: signer.keyId,
    });
    expect(result.problems).toEqual([]);
    expect(result.ok).toBe(true);
    expect(result.entries.map((entry) => entry.bundle.manifestSha256)).toEqual(
      chain.map((link) => link.bundle.manifestSha256),
    );
    expect(result.entries.every((entry) => entry.bundle.storage?.lockMode === "COMPLIANCE")).toBe(true);

    const [first, second, third] = [0, 1, 2].map((index) => {
      const link = chain[index];
      if (link === undefined) throw new Error(`chain link ${index} missing`);
      return storedOutcome(link.record).location;
    }) as [string, string, string];
    const good = await verifyCli(third, { previous: second, json: true });
    expect(good.code).toBe(0);
    expect((JSON.parse(good.output) as VerifyResult).chain).toMatchObject({ ok: true, previous: second });

    const skipped = await verifyCli(third, { previous: first, json: true });
    expect(skipped.code).toBe(1);
    const skippedResult = JSON.parse(skipped.output) as VerifyResult;
    expect(skippedResult.chain?.reason).toBe(
      `broken chain: this bundle links to manifest sha256 ${chain[1]?.bundle.manifestSha256} (${second}), but ${first} has manifest sha256 ${chain[0]?.bundle.manifestSha256}`,
    );
    const genesis = await verifyCli(first, { previous: second });
    expect(genesis.code).toBe(1);
    expect(genesis.output).toContain(
      "broken chain: this bundle records no previous bundle (it starts a chain)",
    );

    const whole = await verifyCli(undefined, { chain: `s3://${bucket}/evidence/chained/` });
    expect(whole.code).toBe(0);
    expect(whole.output).toMatch(/^CHAIN VERIFIED {2}s3:\/\/.* \(3 bundles\)/);
  });

  it("reports a reordered chain", async () => {
    // Copies named so that their order differs from the order they were stored and linked in.
    const directory = join(workspace, "reordered");
    await mkdir(directory, { recursive: true });
    const [first, second, third] = chain;
    await cp(first?.bundle.archive ?? "", join(directory, "1.tar.gz"));
    await cp(third?.bundle.archive ?? "", join(directory, "2.tar.gz"));
    await cp(second?.bundle.archive ?? "", join(directory, "3.tar.gz"));
    const result = (await verifyCli(undefined, { chain: directory, json: true })) as {
      code: number;
      output: string;
    };
    expect(result.code).toBe(1);
    const parsed = JSON.parse(result.output) as ChainVerifyResult;
    expect(parsed.problems).toEqual([
      `${join(directory, "2.tar.gz")}: out of order: it links to ${join(directory, "3.tar.gz")} (position 3), not to ${join(directory, "1.tar.gz")} (position 1), the bundle stored just before it`,
      `${join(directory, "3.tar.gz")}: out of order: it links to ${join(directory, "1.tar.gz")} (position 1), not to ${join(directory, "2.tar.gz")} (position 2), the bundle stored just before it`,
    ]);
  });

  it("reports a bundle substituted by one signed with another key", async () => {
    const directory = join(workspace, "substituted");
    await mkdir(directory, { recursive: true });
    const [first, second, third] = chain;
    // Same runId, same link to the first bundle, but sealed by another key.
    const impostor = await sealBundle({
      runId: second?.bundle.manifest.runId ?? "",
      bundleSigner: otherSigner,
      ...(second?.bundle.manifest.previousBundle === undefined
        ? {}
        : { previous: second.bundle.manifest.previousBundle }),
    });
    await cp(first?.bundle.archive ?? "", join(directory, "1.tar.gz"));
    await cp(impostor.archive, join(directory, "2.tar.gz"));
    await cp(third?.bundle.archive ?? "", join(directory, "3.tar.gz"));

    const pinned = await verifyChainAt(directory, { expectedKeyId: signer.keyId });
    expect(pinned.ok).toBe(false);
    expect(pinned.problems[0]).toMatch(
      new RegExp(
        `^${join(directory, "2.tar.gz").replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: its signer \\(fingerprint ${otherSigner.keyId.slice(6)}, key id ${otherSigner.keyId}\\) is not trusted`,
      ),
    );
    expect(pinned.entries[1]?.bundle.signature).toMatchObject({ ok: true, trust: { trusted: false } });
    // Every change of signer is reported; neither was announced.
    expect(pinned.signerChanges.map((change) => [change.position, change.announced])).toEqual([
      [1, false],
      [2, false],
    ]);
    expect(pinned.warnings).toHaveLength(2);

    // Trusting embedded keys, the impostor verifies on its own, and the next bundle's link exposes it.
    const unpinned = await verifyChainAt(directory, { trust: { pins: [], trustEmbedded: true } });
    expect(unpinned.ok).toBe(false);
    expect(unpinned.problems).toEqual([
      expect.stringMatching(
        new RegExp(
          `^${join(directory, "3.tar.gz").replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: broken chain: it links to manifest sha256 ${second?.bundle.manifestSha256.slice(0, 16)}…`,
        ),
      ),
    ]);
  });

  it("reports a fork: two runs that both chained to the same previous bundle", async () => {
    const forkBucket = await createBucket({ objectLock: true });
    const stores = [s3Store(s3Config(forkBucket))];
    await sealAndStore(stores, "forked");
    // Two runs prepare (look up the previous bundle) before either stores: both link to the same one.
    const left = await prepareBundleStorage(stores, "forked");
    const right = await prepareBundleStorage(stores, "forked");
    const leftBundle = await sealBundle(
      left.previousBundle === undefined ? {} : { previous: left.previousBundle },
    );
    const rightBundle = await sealBundle(
      right.previousBundle === undefined ? {} : { previous: right.previousBundle },
    );
    await storeSealedBundle({ prepared: left, bundle: leftBundle });
    await storeSealedBundle({ prepared: right, bundle: rightBundle });

    const result = await verifyChainAt(`s3://${forkBucket}/evidence/forked/`, s3Options);
    expect(result.ok).toBe(false);
    expect(
      result.problems.some((problem) => problem.startsWith("fork: ") && problem.includes(" all link to ")),
    ).toBe(true);
    expect(result.entries[2]?.link.reason).toMatch(
      /^out of order: it links to s3:\/\/.* \(position 1\), not to s3:\/\/.* \(position 2\)/,
    );
  });
});

describe("chain scope", () => {
  it("defaults to organization + sorted source ids, or the configured name", () => {
    const sources = [
      { id: "vault-main", type: "aws-kms" as const, regions: ["eu-west-1"] },
      { id: "aws-prod", type: "aws-kms" as const, regions: ["eu-west-1"] },
    ];
    expect(chainScope({ organization: "Example Corp", sources, storage: undefined })).toBe(
      "example_corp__aws-prod+vault-main",
    );
    expect(
      chainScope({ organization: "Example Corp", sources, storage: { scope: "soc2-main", local: "x" } }),
    ).toBe("soc2-main");
  });
});

/**
 * An HTTP proxy to moto that answers the first `failures` object PUTs (single-part uploads) with HTTP 500
 * InternalError instead of forwarding them; everything else is forwarded unchanged.
 */
async function startFailingProxy(
  upstream: string,
  failures: number,
): Promise<{ endpoint: string; readonly failedPuts: number; close(): Promise<void> }> {
  const target = new URL(upstream);
  let failedPuts = 0;
  const server = createServer((request, response) => {
    const isObjectPut =
      request.method === "PUT" &&
      /^\/[^/?]+\/[^?]+/.test(request.url ?? "") &&
      !(request.url ?? "").includes("retention");
    if (isObjectPut && failedPuts < failures) {
      failedPuts += 1;
      request.resume();
      request.on("end", () => {
        response.writeHead(500, { "content-type": "application/xml" });
        response.end(
          "<Error><Code>InternalError</Code><Message>injected by the test proxy</Message></Error>",
        );
      });
      return;
    }
    const forwarded = httpRequest(
      {
        host: target.hostname,
        port: target.port,
        method: request.method,
        path: request.url,
        headers: request.headers,
      },
      (upstreamResponse) => {
        response.writeHead(upstreamResponse.statusCode ?? 502, upstreamResponse.headers);
        upstreamResponse.pipe(response);
      },
    );
    forwarded.on("error", (error) => {
      response.writeHead(502);
      response.end(error.message);
    });
    request.pipe(forwarded);
  });
  await new Promise<void>((listening) => server.listen(0, "127.0.0.1", listening));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    get failedPuts() {
      return failedPuts;
    },
    close: () => new Promise<void>((closed) => server.close(() => closed())),
  };
}
