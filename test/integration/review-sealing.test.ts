/**
 * A signed annual review sealed as evidence: its own bundle, signed by the keyproof signer, stored in S3
 * Object Lock on moto and chained to the bundle stored before it in the scope; and the local-only path.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateBucketCommand, HeadObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigSchema, type Config } from "../../src/config/config.schema.ts";
import { BundleWriter, type SealedBundle } from "../../src/evidence/bundle-writer.ts";
import { FINDINGS_FILE, annualReviewJsonPath, annualReviewPdfPath } from "../../src/evidence/paths.ts";
import { verifyBundle } from "../../src/evidence/verify-bundle.ts";
import { pinsFromExpectations } from "../../src/evidence/verify-signature-file.ts";
import type { ReviewRecord } from "../../src/model/review.ts";
import { BrowserPool } from "../../src/render/browser-pool.ts";
import { decisionsSha256 } from "../../src/review/canonical-decisions.ts";
import { reviewRunId, sealReviewEvidence } from "../../src/review/seal-review.ts";
import { generateSigningKey } from "../../src/signing/keygen.ts";
import { createLocalEd25519Signer, type LocalEd25519Signer } from "../../src/signing/local-ed25519.signer.ts";
import type { TrustPolicy } from "../../src/signing/trust.ts";
import { chainScope } from "../../src/storage/chain-scope.ts";
import { createBundleStores } from "../../src/storage/create-store.ts";
import { parseS3Url } from "../../src/storage/s3-location.ts";
import { prepareBundleStorage, storeSealedBundle } from "../../src/storage/store-sealed-bundle.ts";
import { verifyTarget } from "../../src/storage/verify-stored.ts";
import { parsePeriod } from "../../src/time/date-range.ts";
import { makeReviewRecord } from "../factories/review-record.factory.ts";
import { awsTestClientConfig, uniqueName } from "../support/test-env.ts";

const REGION = "eu-west-1";
const aws = awsTestClientConfig(REGION);
const s3 = new S3Client({ ...aws, forcePathStyle: true });
const HOUR = 3_600_000;

let workspace: string;
let keyFile: string;
let signer: LocalEd25519Signer;
let pool: BrowserPool;
const trust: TrustPolicy = { pins: [] };

function configWith(storage: Config["storage"]): Config {
  return ConfigSchema.parse({
    organization: "Example Corp",
    sources: [{ id: "aws-prod", type: "aws-kms", regions: [REGION] }],
    signing: { localKeyFile: keyFile },
    ...(storage === undefined ? {} : { storage }),
  });
}

/** Signed an hour ago, prepared a day before: what the review store hands over for sealing. */
function signedRecord(id: string): ReviewRecord {
  const record = makeReviewRecord({
    itemCount: 12,
    signed: true,
    signedAt: new Date(Date.now() - HOUR).toISOString(),
  });
  record.id = id;
  record.createdAt = new Date(Date.now() - 25 * HOUR).toISOString();
  record.signOff!.decisionsSha256 = decisionsSha256(record);
  return record;
}

/** An ordinary evidence bundle of the scope, stored first: the review must chain to it. */
async function sealAndStoreRunBundle(config: Config): Promise<SealedBundle> {
  const stores = createBundleStores(config.storage, workspace, { awsCredentials: aws.credentials });
  const prepared = await prepareBundleStorage(stores, chainScope(config));
  const writer = await BundleWriter.open(join(workspace, "runs", `kp-run-${randomBytes(3).toString("hex")}`));
  await writer.writeJson(FINDINGS_FILE, [{ checkId: "key-rotation-enabled", status: "pass" }]);
  const range = parsePeriod("2026-Q3");
  const bundle = await writer.seal({
    manifestFields: {
      runId: "kp-run-1",
      organization: config.organization,
      period: { label: range.label, from: range.from, to: range.to, toExclusive: range.toExclusive },
      capturedAt: new Date().toISOString(),
      keyproofVersion: "0.1.0",
      sources: [{ id: "aws-prod", type: "aws-kms", locations: [REGION] }],
      ...(prepared.previousBundle === undefined ? {} : { previousBundle: prepared.previousBundle }),
    },
    signer,
  });
  await storeSealedBundle({ prepared, bundle });
  return bundle;
}

beforeAll(async () => {
  workspace = await mkdtemp(join(tmpdir(), "keyproof-review-sealing-"));
  keyFile = (await generateSigningKey(join(workspace, "keys", "signing.pem"))).path;
  signer = await createLocalEd25519Signer(keyFile);
  trust.pins.push(...pinsFromExpectations({ expectedPublicKey: signer.publicKeyPem }));
  pool = new BrowserPool({ size: 1 });
});

afterAll(async () => {
  await pool.close();
  s3.destroy();
  await rm(workspace, { recursive: true, force: true });
});

describe("a signed review sealed into S3 Object Lock", () => {
  let config: Config;
  let previous: SealedBundle;
  let record: ReviewRecord;
  let result: Awaited<ReturnType<typeof sealReviewEvidence>>;

  beforeAll(async () => {
    const bucket = uniqueName("kp-review");
    await s3.send(
      new CreateBucketCommand({
        Bucket: bucket,
        CreateBucketConfiguration: { LocationConstraint: REGION },
        ObjectLockEnabledForBucket: true,
      }),
    );
    config = configWith({
      scope: uniqueName("review-scope"),
      s3: {
        bucket,
        prefix: "evidence/",
        region: REGION,
        endpoint: aws.endpoint,
        retention: { mode: "COMPLIANCE", days: 2555 },
      },
    });
    previous = await sealAndStoreRunBundle(config);
    record = signedRecord("rv-2026-0001");
    result = await sealReviewEvidence({
      record,
      config,
      configDirectory: workspace,
      outDirectory: join(workspace, "reviews"),
      pool,
      // The config's signer is the same key file; a vault-main source is no longer configured.
      sourceTypes: { "vault-main": "hashicorp-vault" },
      storeOptions: { awsCredentials: aws.credentials },
    });
  });

  it("chains to the bundle stored before it in the scope and names the review year as its period", () => {
    const { manifest } = result.bundle;
    expect(result.runId).toBe(reviewRunId(record));
    expect(manifest.runId).toBe("kp-review-2026-rv-2026-0001");
    expect(manifest.previousBundle?.manifestSha256).toBe(previous.manifestSha256);
    expect(result.storage?.previousBundle?.manifestSha256).toBe(previous.manifestSha256);
    expect(manifest.period).toEqual({
      label: "2026",
      from: "2026-01-01T00:00:00.000Z",
      to: "2026-12-31",
      toExclusive: "2027-01-01T00:00:00.000Z",
    });
    expect(manifest.capturedAt).toBe(record.signOff!.signedAt);
    expect(manifest.captureWindow?.first).toBe(record.createdAt);
    expect(Date.parse(manifest.captureWindow!.last)).toBeGreaterThanOrEqual(
      Date.parse(record.signOff!.signedAt),
    );
    expect(manifest.sources).toEqual([
      { id: "aws-prod", type: "aws-kms", locations: ["eu-west-1"] },
      { id: "vault-main", type: "hashicorp-vault", locations: ["transit"] },
    ]);
    expect(manifest.signer.keyId).toBe(signer.keyId);
  });

  it("holds the record as JSON and the PDF", async () => {
    const paths = result.bundle.manifest.files.map((file) => file.path);
    expect(paths).toContain(annualReviewJsonPath(2026));
    expect(paths).toContain(annualReviewPdfPath(2026));
    const json = JSON.parse(
      await readFile(join(result.bundle.directory, "review", "annual-review-2026.json"), "utf8"),
    );
    expect(json).toEqual(record);
    const pdf = await readFile(join(result.bundle.directory, "review", "annual-review-2026.pdf"));
    expect(pdf.subarray(0, 5).toString()).toBe("%PDF-");
  });

  it("is stored under COMPLIANCE retention and verifies from its s3:// URL with the signer pinned", async () => {
    const stored = result.storage?.stores[0];
    if (stored === undefined || !stored.stored) throw new Error(`not stored: ${JSON.stringify(stored)}`);
    expect(stored.retention?.mode).toBe("COMPLIANCE");
    const location = parseS3Url(stored.location);
    const head = await s3.send(
      new HeadObjectCommand({ Bucket: location?.bucket, Key: location?.key, VersionId: stored.versionId }),
    );
    expect(head.ObjectLockMode).toBe("COMPLIANCE");

    const s3Options = { s3: { region: REGION, endpoint: aws.endpoint, credentials: aws.credentials }, trust };
    const verified = await verifyTarget(stored.location, { ...s3Options, expectedKeyId: signer.keyId });
    expect(verified).toMatchObject({
      ok: true,
      runId: "kp-review-2026-rv-2026-0001",
      manifestSha256: result.bundle.manifestSha256,
      signature: { ok: true, keyId: signer.keyId },
      files: { missing: [], extra: [], altered: [] },
      storage: { ok: true, lockMode: "COMPLIANCE" },
    });
    expect((await verifyBundle(result.bundle.archive, { trust })).ok).toBe(true);
    // Without a pin nothing verifies: the pin, not the key inside the bundle, is what is trusted.
    expect((await verifyBundle(result.bundle.archive, { trust: { pins: [] } })).ok).toBe(false);
  });
});

describe("sealing a review without storage, and what is refused", () => {
  it("seals and verifies locally, with no previous bundle and no storage record", async () => {
    const record = signedRecord("rv-2026-local");
    record.sources = ["aws-prod"];
    record.items = record.items.filter((item) => item.source === "aws-prod");
    record.signOff!.decisionsSha256 = decisionsSha256(record);
    const result = await sealReviewEvidence({
      record,
      config: configWith(undefined),
      configDirectory: workspace,
      outDirectory: join(workspace, "local"),
      signer,
      pool,
    });
    expect(result.storage).toBeUndefined();
    expect(result.bundle.manifest.previousBundle).toBeUndefined();
    expect(result.bundle.archive).toBe(join(workspace, "local", "kp-review-2026-rv-2026-local.tar.gz"));
    const verified = await verifyBundle(result.bundle.archive, { trust });
    expect(verified.ok).toBe(true);
    expect(verified.files).toMatchObject({ missing: [], extra: [], altered: [] });
  });

  it("refuses an unsigned review, decisions changed after sign-off, and an unknown source", async () => {
    const base = { config: configWith(undefined), configDirectory: workspace, signer, pool };
    const unsigned = makeReviewRecord({ itemCount: 4 });
    await expect(
      sealReviewEvidence({ ...base, record: unsigned, outDirectory: join(workspace, "refused-1") }),
    ).rejects.toMatchObject({
      name: "KeyproofError",
      code: "ARGUMENT_INVALID",
      message: expect.stringContaining("not signed"),
    });

    const changed = signedRecord("rv-2026-changed");
    changed.items[0]!.decision!.note = "edited after sign-off";
    await expect(
      sealReviewEvidence({ ...base, record: changed, outDirectory: join(workspace, "refused-2") }),
    ).rejects.toMatchObject({
      code: "ARGUMENT_INVALID",
      message: expect.stringContaining("decisions SHA-256"),
    });

    const unknownSource = signedRecord("rv-2026-unknown");
    await expect(
      sealReviewEvidence({ ...base, record: unknownSource, outDirectory: join(workspace, "refused-3") }),
    ).rejects.toMatchObject({ code: "ARGUMENT_INVALID", message: expect.stringContaining('"vault-main"') });
  });
});
