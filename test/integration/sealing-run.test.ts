/**
 * Whole runs (`runInline`) with `storage:` and a KMS signer on moto: a small AWS KMS estate in an account
 * of its own (reached by assuming a role, as a customer account is), an AWS KMS signing key and S3 buckets
 * in the emulator's default account. The run seals its bundle with the KMS key, stores it under
 * COMPLIANCE retention, records where, and the next run links to it. A bucket without Object Lock is
 * refused and the sealed bundle stays local.
 *
 * The estate is kept to one key so the manifest stays under KMS's 4096-byte RAW limit: moto signs larger
 * manifests wrongly (see sealing-kms.test.ts), which AWS does not.
 */
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  CreateAliasCommand,
  CreateKeyCommand,
  EnableKeyRotationCommand,
  KMSClient,
} from "@aws-sdk/client-kms";
import { CreateBucketCommand, ListObjectVersionsCommand, S3Client } from "@aws-sdk/client-s3";
import { fromTemporaryCredentials } from "@aws-sdk/credential-providers";
import { stringify } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load-config.ts";
import type { LoadedConfig } from "../../src/config/load-config.ts";
import { verifyBundle } from "../../src/evidence/verify-bundle.ts";
import { runInline } from "../../src/jobs/run-inline.ts";
import type { RunResult } from "../../src/jobs/run-inline.ts";
import { canonicalManifestBytes } from "../../src/evidence/manifest.ts";
import { chainScope } from "../../src/storage/chain-scope.ts";
import { storageRecordPath } from "../../src/storage/store-sealed-bundle.ts";
import type { StorageRecord } from "../../src/storage/store-sealed-bundle.ts";
import { verifyChainAt, verifyTarget } from "../../src/storage/verify-stored.ts";
import { fetchKmsPublicKey } from "../../src/signing/kms-public-key.ts";
import { parseRange } from "../../src/time/date-range.ts";
import { awsTestClientConfig, uniqueName } from "../support/test-env.ts";

const REGION = "eu-north-1";
const aws = awsTestClientConfig(REGION);
const s3 = new S3Client({ ...aws, forcePathStyle: true });
const RANGE = parseRange("2026-07-01", "2026-07-03");
const EXTERNAL_ID = "keyproof-sealing-test";
const ACCOUNT = `5${String(Math.floor(Math.random() * 1e11)).padStart(11, "0")}`;
const ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/keyproof-audit`;

let workspace: string;
let signingKeyArn: string;
/** From GetPublicKey: what the organization publishes for the KMS key, pinned next to its ARN. */
let signingPublicKey: string;
let signingAlias: string;
let source: Record<string, unknown>;

async function createBucket(objectLock: boolean, client: S3Client = s3): Promise<string> {
  const bucket = uniqueName(objectLock ? "kp-run-locked" : "kp-run-plain");
  await client.send(
    new CreateBucketCommand({
      Bucket: bucket,
      CreateBucketConfiguration: { LocationConstraint: REGION },
      ...(objectLock ? { ObjectLockEnabledForBucket: true } : {}),
    }),
  );
  return bucket;
}

/** One rotating key and an (empty) trail bucket in a fresh account, reached through an assumed role. */
async function seedTinyEstate(): Promise<Record<string, unknown>> {
  const credentials = fromTemporaryCredentials({
    masterCredentials: aws.credentials,
    params: { RoleArn: ROLE_ARN, ExternalId: EXTERNAL_ID, RoleSessionName: "keyproof-sealing-seed" },
    clientConfig: { endpoint: aws.endpoint, region: REGION },
  });
  const kms = new KMSClient({ endpoint: aws.endpoint, region: REGION, credentials });
  const accountS3 = new S3Client({
    endpoint: aws.endpoint,
    region: REGION,
    credentials,
    forcePathStyle: true,
  });
  try {
    const keyId = (
      await kms.send(new CreateKeyCommand({ KeyUsage: "ENCRYPT_DECRYPT", KeySpec: "SYMMETRIC_DEFAULT" }))
    ).KeyMetadata?.KeyId;
    if (keyId === undefined) throw new Error("CreateKey returned no key id");
    await kms.send(new EnableKeyRotationCommand({ KeyId: keyId }));
    await kms.send(new CreateAliasCommand({ AliasName: "alias/tiny-app", TargetKeyId: keyId }));
    const trailBucket = await createBucket(false, accountS3);
    return {
      id: "aws-tiny",
      type: "aws-kms",
      regions: [REGION],
      endpoint: aws.endpoint,
      roleArn: ROLE_ARN,
      externalId: EXTERNAL_ID,
      cloudtrail: { bucket: trailBucket, prefix: "" },
    };
  } finally {
    kms.destroy();
    accountS3.destroy();
  }
}

async function writeConfig(name: string, storage: Record<string, unknown>): Promise<LoadedConfig> {
  const file = join(workspace, `${name}.yaml`);
  await writeFile(
    file,
    stringify({
      organization: "Run Test Corp",
      sources: [source],
      signing: { kmsKeyId: signingAlias, region: REGION, endpoint: aws.endpoint },
      storage,
    }),
  );
  return loadConfig(file);
}

function s3Location(result: RunResult): string {
  const outcome = result.storage?.stores[0];
  if (outcome === undefined || !outcome.stored)
    throw new Error(`not stored: ${JSON.stringify(result.storage)}`);
  return outcome.location;
}

beforeAll(async () => {
  // The provider, the signer and the stores take the SDK's provider chain: moto accepts any credentials.
  process.env["AWS_ACCESS_KEY_ID"] ??= "test";
  process.env["AWS_SECRET_ACCESS_KEY"] ??= "test";
  workspace = await mkdtemp(join(tmpdir(), "keyproof-sealing-run-"));
  source = await seedTinyEstate();
  const kms = new KMSClient(aws);
  signingKeyArn =
    (await kms.send(new CreateKeyCommand({ KeySpec: "ECC_NIST_P256", KeyUsage: "SIGN_VERIFY" }))).KeyMetadata
      ?.Arn ?? "";
  signingAlias = `alias/${uniqueName("keyproof-signing")}`;
  await kms.send(new CreateAliasCommand({ AliasName: signingAlias, TargetKeyId: signingKeyArn }));
  signingPublicKey = (
    await fetchKmsPublicKey(signingKeyArn, { endpoint: aws.endpoint, credentials: aws.credentials })
  ).publicKeyPem;
  kms.destroy();
});

afterAll(async () => {
  s3.destroy();
  await rm(workspace, { recursive: true, force: true });
});

describe("a run with storage", () => {
  it("seals with the KMS key, stores the bundle under COMPLIANCE retention, and the next run links to it", async () => {
    const bucket = await createBucket(true);
    const loaded = await writeConfig("stored", {
      s3: { bucket, prefix: "keyproof/", region: REGION, endpoint: aws.endpoint },
      local: "./bundle-copies",
    });
    const first = await runInline({
      loaded,
      range: RANGE,
      outDirectory: join(workspace, "out"),
      runId: "kp-run-first",
      // No reports: with them and changes-since-previous.json the manifest outgrows the 4096 bytes above.
      render: false,
    });

    expect(canonicalManifestBytes(first.bundle.manifest).byteLength).toBeLessThanOrEqual(4096);
    // The manifest records when the facts were read; the signature was made after the last read.
    const window = first.bundle.manifest.captureWindow;
    expect(window).toBeDefined();
    const firstRead = Date.parse(window?.first ?? "");
    const lastRead = Date.parse(window?.last ?? "");
    expect(firstRead).toBeLessThanOrEqual(lastRead);
    expect(lastRead).toBeLessThanOrEqual(Date.parse(first.bundle.signature.statement.signedAt));
    expect(first.bundle.signature.statement).toMatchObject({
      algorithm: "ECDSA_SHA_256",
      keyId: signingKeyArn,
    });
    const location = s3Location(first);
    const scope = chainScope(loaded.config);
    expect(scope).toBe("run_test_corp__aws-tiny");
    expect(location).toMatch(
      new RegExp(
        `^s3://${bucket}/keyproof/${scope}/\\d{8}T\\d{6}\\.\\d{3}Z-kp-run-first\\.tar\\.gz\\?versionId=`,
      ),
    );
    expect(first.storage?.stores).toEqual([
      expect.objectContaining({
        kind: "s3",
        stored: true,
        retention: { mode: "COMPLIANCE", retainUntil: expect.any(String) },
      }),
      expect.objectContaining({
        kind: "local",
        stored: true,
        location: join(workspace, "bundle-copies", first.storage?.objectName ?? ""),
      }),
    ]);
    // The receipt is beside the bundle, not in it.
    const receipt = JSON.parse(await readFile(storageRecordPath(first.bundle), "utf8")) as StorageRecord;
    expect(receipt).toEqual(first.storage);
    expect(
      (await verifyBundle(first.bundle.archive, { expectedPublicKey: signingPublicKey })).files.extra,
    ).toEqual([]);
    expect((await stat(join(workspace, "bundle-copies", first.storage?.objectName ?? ""))).mode & 0o777).toBe(
      0o444,
    );

    const fromS3 = await verifyTarget(location, {
      expectedKeyId: signingKeyArn,
      expectedPublicKey: signingPublicKey,
      s3: { region: REGION, endpoint: aws.endpoint, credentials: aws.credentials },
    });
    expect(fromS3.ok).toBe(true);
    expect(fromS3.storage).toMatchObject({ ok: true, lockMode: "COMPLIANCE" });

    const second = await runInline({
      loaded,
      range: RANGE,
      outDirectory: join(workspace, "out"),
      runId: "kp-run-second",
      render: false,
    });
    // The second run read the first from S3 (that exact version), verified it against its KMS signer, and
    // compared: the same estate, so nothing changed.
    const changes = JSON.parse(
      await readFile(join(second.bundle.directory, "changes-since-previous.json"), "utf8"),
    ) as { previous: { runId: string; manifestSha256: string } | null; unchanged?: boolean };
    expect(changes.previous).toMatchObject({
      runId: "kp-run-first",
      manifestSha256: first.bundle.manifestSha256,
    });
    expect(changes.unchanged).toBe(true);
    expect(second.bundle.manifest.previousBundle).toEqual({
      manifestSha256: first.bundle.manifestSha256,
      location,
    });
    expect(second.storage?.previousBundle).toEqual({ manifestSha256: first.bundle.manifestSha256, location });

    const chain = await verifyChainAt(`s3://${bucket}/keyproof/${scope}/`, {
      expectedKeyId: signingKeyArn,
      expectedPublicKey: signingPublicKey,
      s3: { region: REGION, endpoint: aws.endpoint, credentials: aws.credentials },
    });
    expect(chain.problems).toEqual([]);
    expect(chain.entries.map((entry) => entry.bundle.runId)).toEqual(["kp-run-first", "kp-run-second"]);
  });

  it("refuses a bucket without Object Lock before any upload, and leaves the sealed bundle verifiable on disk", async () => {
    const bucket = await createBucket(false);
    const loaded = await writeConfig("refused", {
      s3: { bucket, prefix: "keyproof/", region: REGION, endpoint: aws.endpoint },
    });
    const outDirectory = join(workspace, "refused-out");
    const attempt = runInline({ loaded, range: RANGE, outDirectory, runId: "kp-run-refused" });
    await expect(attempt).rejects.toMatchObject({
      code: "STORAGE_REFUSED",
      message: expect.stringContaining(
        `the bundle is sealed at ${join(outDirectory, "kp-run-refused.tar.gz")} but was not stored`,
      ),
      remediation: expect.stringContaining(`aws s3api put-object-lock-configuration --bucket ${bucket}`),
    });
    const listed = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket }));
    expect(listed.Versions ?? []).toEqual([]);
    const local = await verifyBundle(join(outDirectory, "kp-run-refused.tar.gz"), {
      expectedKeyId: signingKeyArn,
      expectedPublicKey: signingPublicKey,
    });
    expect(local.ok).toBe(true);
    const receipt = JSON.parse(
      await readFile(join(outDirectory, "kp-run-refused.storage.json"), "utf8"),
    ) as StorageRecord;
    expect(receipt.stores).toEqual([expect.objectContaining({ stored: false, code: "STORAGE_REFUSED" })]);
  });
});
