/**
 * Bundles sealed by the real BundleWriter with AWS KMS keys on moto (ECC_NIST_P256 / ECDSA_SHA_256 and
 * RSA_2048 / RSASSA_PSS_SHA_256), then verified offline: in a child process whose AWS endpoint and proxies
 * point at a closed port. Then every kind of tampering an auditor worries about, each with its reason.
 */
import { spawn } from "node:child_process";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { basename, join, resolve } from "node:path";
import { CreateKeyCommand, KMSClient } from "@aws-sdk/client-kms";
import type { KeySpec } from "@aws-sdk/client-kms";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readBundleTree } from "../../src/evidence/bundle-tree.ts";
import { BundleWriter } from "../../src/evidence/bundle-writer.ts";
import type { SealedBundle } from "../../src/evidence/bundle-writer.ts";
import type { ManifestFields } from "../../src/evidence/manifest.ts";
import {
  FINDINGS_FILE,
  INVENTORY_FILE,
  MANIFEST_FILE,
  SIGNATURE_FILE,
  keyConfigurationPath,
} from "../../src/evidence/paths.ts";
import { formatVerifyResult, verifyBundle } from "../../src/evidence/verify-bundle.ts";
import type { VerifyResult } from "../../src/evidence/verify-bundle.ts";
import { createAwsKmsSigner } from "../../src/signing/aws-kms.signer.ts";
import type { AwsKmsSigner } from "../../src/signing/aws-kms.signer.ts";
import { createSigner } from "../../src/signing/create-signer.ts";
import { publicKeyFingerprint } from "../../src/signing/fingerprint.ts";
import { SignatureRecordSchema, signatureFileText } from "../../src/signing/verify-signature.ts";
import { parseRange } from "../../src/time/date-range.ts";
import { awsTestClientConfig } from "../support/test-env.ts";

const REGION = "ap-southeast-2";
const aws = awsTestClientConfig(REGION);
const kms = new KMSClient(aws);
const range = parseRange("2026-07-01", "2026-09-30");
const REPOSITORY = resolve(import.meta.dirname, "../..");

let workspace: string;
let ecSigner: AwsKmsSigner;
let rsaSigner: AwsKmsSigner;
let otherSigner: AwsKmsSigner;
let ecBundle: SealedBundle;
let rsaBundle: SealedBundle;
let counter = 0;

/** Pins the key that sealed `bundle` (what an auditor does with the published key). */
function pinned(bundle: SealedBundle): { expectedPublicKey: string } {
  return { expectedPublicKey: bundle.signature.statement.publicKey };
}

async function createSigningKey(spec: KeySpec): Promise<string> {
  const created = await kms.send(new CreateKeyCommand({ KeySpec: spec, KeyUsage: "SIGN_VERIFY" }));
  const arn = created.KeyMetadata?.Arn;
  if (arn === undefined) throw new Error("CreateKey returned no ARN");
  return arn;
}

function fields(runId: string): ManifestFields {
  return {
    runId,
    organization: "Example Corp",
    period: { label: "2026-Q3", from: range.from, to: range.to, toExclusive: range.toExclusive },
    capturedAt: "2026-10-01T06:00:00.000Z",
    keyproofVersion: "0.1.0",
    sources: [{ id: "aws-prod", type: "aws-kms", account: "111122223333", locations: [REGION] }],
  };
}

async function sealBundle(runId: string, signer: AwsKmsSigner, extraFiles = 0): Promise<SealedBundle> {
  const writer = await BundleWriter.open(join(workspace, "runs", runId));
  await writer.writeJson(FINDINGS_FILE, [{ checkId: "key-rotation-enabled", status: "pass", keyId: "k-1" }]);
  await writer.writeJson(INVENTORY_FILE, [
    { source: "aws-prod", match: "alias/payments", owner: "Jane Doe" },
  ]);
  await writer.writeJson(keyConfigurationPath("aws-prod", REGION, "k-1"), {
    KeyId: "k-1",
    KeyRotationEnabled: true,
  });
  for (let index = 0; index < extraFiles; index++) {
    await writer.writeJson(
      keyConfigurationPath("aws-prod", REGION, `key-${String(index).padStart(4, "0")}`),
      { index },
    );
  }
  return writer.seal({ manifestFields: fields(runId), signer });
}

async function copyOf(bundle: SealedBundle): Promise<string> {
  const target = join(workspace, "tamper", `case-${++counter}`, basename(bundle.directory));
  await cp(bundle.directory, target, { recursive: true });
  return target;
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((listening) => server.listen(0, "127.0.0.1", listening));
  const address = server.address();
  await new Promise<void>((closed) => server.close(() => closed()));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

/** `keyproof verify` in a child process, with only the environment given (no AWS credentials at all). */
async function runCli(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [join(REPOSITORY, "bin", "keyproof.js"), ...args], {
    cwd: workspace,
    env: { PATH: process.env["PATH"] ?? "", HOME: workspace, ...env },
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
  const code = await new Promise<number | null>((exited) => child.on("close", exited));
  return { code, stdout, stderr };
}

beforeAll(async () => {
  workspace = await mkdtemp(join(tmpdir(), "keyproof-sealing-kms-"));
  const options = {
    region: REGION,
    endpoint: aws.endpoint,
    credentials: aws.credentials,
    now: () => new Date("2026-10-01T06:05:00.000Z"),
  };
  ecSigner = await createAwsKmsSigner({ kmsKeyId: await createSigningKey("ECC_NIST_P256"), ...options });
  rsaSigner = await createAwsKmsSigner({ kmsKeyId: await createSigningKey("RSA_2048"), ...options });
  otherSigner = await createAwsKmsSigner({ kmsKeyId: await createSigningKey("ECC_NIST_P256"), ...options });
  ecBundle = await sealBundle("kp-kms-ecdsa", ecSigner);
  rsaBundle = await sealBundle("kp-kms-rsa", rsaSigner);
});

afterAll(async () => {
  for (const signer of [ecSigner, rsaSigner, otherSigner]) signer?.close();
  kms.destroy();
  await rm(workspace, { recursive: true, force: true });
});

describe("a bundle sealed with an AWS KMS key", () => {
  it("names the key ARN as signer and carries the KMS public key", async () => {
    expect(ecBundle.manifest.signer).toEqual({
      description: ecSigner.description,
      keyId: ecSigner.keyId,
      fingerprint: publicKeyFingerprint(ecSigner.publicKeyPem),
    });
    expect(ecBundle.signature.statement).toMatchObject({
      algorithm: "ECDSA_SHA_256",
      keyId: ecSigner.keyId,
      publicKey: ecSigner.publicKeyPem,
      manifestSha256: ecBundle.manifestSha256,
      signedAt: "2026-10-01T06:05:00.000Z",
    });
    expect(rsaBundle.signature.statement).toMatchObject({
      algorithm: "RSASSA_PSS_SHA_256",
      keyId: rsaSigner.keyId,
    });
  });

  it("is created through the config path too (signing.kmsKeyId)", async () => {
    const signer = await createSigner(
      { kmsKeyId: ecSigner.keyId, region: REGION, endpoint: aws.endpoint },
      workspace,
      { awsCredentials: aws.credentials },
    );
    expect(signer.keyId).toBe(ecSigner.keyId);
  });

  it("verifies offline, with no AWS endpoint reachable and no credentials", async () => {
    const port = await closedPort();
    const closed = `http://127.0.0.1:${port}`;
    const env = {
      AWS_ENDPOINT_URL: closed,
      AWS_REGION: REGION,
      HTTP_PROXY: closed,
      HTTPS_PROXY: closed,
      AWS_EC2_METADATA_DISABLED: "true",
    };
    for (const [bundle, signer] of [
      [ecBundle, ecSigner],
      [rsaBundle, rsaSigner],
    ] as const) {
      // Offline, a KMS key id is bound to its key by the public key pinned next to it (no GetPublicKey).
      const pem = join(workspace, `${basename(bundle.directory)}.pub.pem`);
      await writeFile(pem, signer.publicKeyPem);
      const run = await runCli(
        ["verify", bundle.archive, "--json", "--expect-key", signer.keyId, "--expect-public-key", pem],
        env,
      );
      expect(run.stderr.replace(/\(node:\d+\) Warning: NodeVersionSupportWarning[\s\S]*$/, "").trim()).toBe(
        "",
      );
      expect(run.code).toBe(0);
      const result = JSON.parse(run.stdout) as VerifyResult;
      expect(result).toMatchObject({
        ok: true,
        signature: { ok: true, keyId: signer.keyId, algorithm: signer.algorithm, trust: { trusted: true } },
        files: { missing: [], extra: [], altered: [] },
      });
    }
    // The closed port really answers nothing: an AWS call through it fails. So the runs above needed
    // nothing but the bundle.
    await expect(
      createAwsKmsSigner({ kmsKeyId: ecSigner.keyId, endpoint: closed, credentials: aws.credentials }),
    ).rejects.toMatchObject({
      code: "SIGNING_KEY_UNAVAILABLE",
      message: expect.stringMatching(/ECONNREFUSED/),
    });
  });
});

describe("tampering with a KMS-signed bundle fails with the reason named", () => {
  it("one byte of any data file, for both key types", async () => {
    for (const bundle of [ecBundle, rsaBundle]) {
      const tree = await readBundleTree(bundle.directory);
      const dataFiles = tree.files.filter((path) => path !== MANIFEST_FILE && path !== SIGNATURE_FILE);
      // 3 evidence files + SHA256SUMS, VERIFY.md and signer-public-key.pem.
      expect(dataFiles.length).toBe(6);
      for (const path of dataFiles) {
        const directory = await copyOf(bundle);
        const bytes = await readFile(join(directory, path));
        const middle = Math.floor(bytes.length / 2);
        bytes[middle] = (bytes[middle] ?? 0) ^ 0x01;
        await writeFile(join(directory, path), bytes);
        const result = await verifyBundle(directory, pinned(bundle));
        expect(result.ok).toBe(false);
        expect(result.files.altered.map((file) => file.path)).toEqual([path]);
        expect(result.signature.ok).toBe(true);
        expect(formatVerifyResult(result)).toContain(`altered: ${path}`);
      }
    }
  });

  it("one byte of the manifest", async () => {
    for (const bundle of [ecBundle, rsaBundle]) {
      const directory = await copyOf(bundle);
      const text = await readFile(join(directory, MANIFEST_FILE), "utf8");
      const digest = bundle.manifest.files[0]?.sha256 ?? "";
      const changed = `${digest[0] === "0" ? "1" : "0"}${digest.slice(1)}`;
      await writeFile(join(directory, MANIFEST_FILE), text.replace(digest, changed));
      const result = await verifyBundle(directory, pinned(bundle));
      expect(result.ok).toBe(false);
      expect(result.signature.reason).toMatch(/the signature is over a different manifest/);
      // The edited digest no longer matches its file either.
      expect(result.files.altered.map((file) => file.path)).toEqual([bundle.manifest.files[0]?.path]);
    }
  });

  it("one byte of the signature", async () => {
    for (const bundle of [ecBundle, rsaBundle]) {
      const directory = await copyOf(bundle);
      const record = SignatureRecordSchema.parse(
        JSON.parse(await readFile(join(directory, SIGNATURE_FILE), "utf8")),
      );
      const signature = Buffer.from(record.signature, "base64");
      const at = signature.length - 5;
      signature[at] = (signature[at] ?? 0) ^ 0x01;
      record.signature = signature.toString("base64");
      await writeFile(join(directory, SIGNATURE_FILE), signatureFileText(record));
      const result = await verifyBundle(directory, pinned(bundle));
      expect(result.ok).toBe(false);
      expect(result.signature.reason).toMatch(
        /signature does not match the signed statement and public key|could not be checked/,
      );
      expect(result.files.altered).toEqual([]);
    }
  });

  it("a bundle substituted by one signed with another key", async () => {
    // Same content, sealed by another KMS key: valid on its own, rejected when the expected signer is pinned.
    const impostor = await sealBundle("kp-kms-ecdsa-impostor", otherSigner);
    const unpinned = await verifyBundle(impostor.archive);
    expect(unpinned).toMatchObject({ ok: false, signature: { ok: true, trust: { trusted: false } } });
    const byKeyId = await verifyBundle(impostor.archive, { expectedKeyId: ecSigner.keyId });
    expect(byKeyId.ok).toBe(false);
    expect(byKeyId.signature.trust?.reasons).toEqual([
      `expected key ${ecSigner.keyId}: signed by key id ${otherSigner.keyId}, not ${ecSigner.keyId}`,
    ]);
    const byPublicKey = await verifyBundle(impostor.archive, { expectedPublicKey: ecSigner.publicKeyPem });
    expect(byPublicKey.signature.trust?.reasons).toEqual([expect.stringMatching(/is not among its 1 key/)]);

    // Only the signature file swapped for the other key's: it names another manifest.
    const directory = await copyOf(ecBundle);
    await cp(join(impostor.directory, SIGNATURE_FILE), join(directory, SIGNATURE_FILE));
    const swapped = await verifyBundle(directory, pinned(ecBundle));
    expect(swapped.ok).toBe(false);
    expect(swapped.signature.reason).toMatch(/the signature is over a different manifest/);

    // The statement edited to claim the original key id: the key id is signed, so the signature breaks.
    const forged = await copyOf(impostor);
    const record = SignatureRecordSchema.parse(
      JSON.parse(await readFile(join(forged, SIGNATURE_FILE), "utf8")),
    );
    record.statement.keyId = ecSigner.keyId;
    await writeFile(join(forged, SIGNATURE_FILE), signatureFileText(record));
    const forgedResult = await verifyBundle(forged, { expectedPublicKey: ecSigner.publicKeyPem });
    expect(forgedResult.ok).toBe(false);
    expect(forgedResult.signature.reason).toMatch(/signature does not match the signed statement/);
  });
});

describe("a manifest over KMS's 4096-byte RAW limit", () => {
  it("seals and verifies: KMS signs the small signed statement RAW, never the manifest", async () => {
    // 40 extra files push the canonical manifest well past 4096 bytes; moto implements no DIGEST mode, and
    // none is needed.
    const large = await sealBundle("kp-kms-large", ecSigner, 40);
    expect((await readFile(join(large.directory, MANIFEST_FILE))).byteLength).toBeGreaterThan(4096);
    const result = await verifyBundle(large.archive, pinned(large));
    expect(result).toMatchObject({ ok: true, signature: { ok: true, algorithm: "ECDSA_SHA_256" } });
  });
});
