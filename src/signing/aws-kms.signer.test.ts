/**
 * The KMS signer against moto (real KMS API calls, real signatures). Keys are created fresh per run under
 * unique aliases, so the shared emulator needs no reset.
 */
import { createHash, createPublicKey, generateKeyPairSync, sign, verify } from "node:crypto";
import {
  CreateAliasCommand,
  CreateKeyCommand,
  DisableKeyCommand,
  GetPublicKeyCommand,
  KMSClient,
} from "@aws-sdk/client-kms";
import type { KeySpec, KeyUsageType } from "@aws-sdk/client-kms";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { awsTestClientConfig, uniqueName } from "../../test/support/test-env.ts";
import { KMS_RAW_MESSAGE_LIMIT, createAwsKmsSigner } from "./aws-kms.signer.ts";
import type { SignatureRecord } from "./signer.ts";
import { verifySignatureRecord } from "./verify-signature.ts";

const REGION = "eu-west-3";
const client = new KMSClient(awsTestClientConfig(REGION));
const signerOptions = {
  region: REGION,
  endpoint: awsTestClientConfig(REGION).endpoint,
  credentials: awsTestClientConfig(REGION).credentials,
};

async function createKey(
  spec: KeySpec,
  usage: KeyUsageType,
): Promise<{ arn: string; keyId: string; alias: string }> {
  const created = await client.send(
    new CreateKeyCommand({ KeySpec: spec, KeyUsage: usage, Description: "keyproof signer test" }),
  );
  const arn = created.KeyMetadata?.Arn;
  const keyId = created.KeyMetadata?.KeyId;
  if (arn === undefined || keyId === undefined) throw new Error("CreateKey returned no key");
  const alias = `alias/${uniqueName("kp-signer")}`;
  await client.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: keyId }));
  return { arn, keyId, alias };
}

let ecKey: { arn: string; keyId: string; alias: string };
let rsaKey: { arn: string; keyId: string; alias: string };

beforeAll(async () => {
  ecKey = await createKey("ECC_NIST_P256", "SIGN_VERIFY");
  rsaKey = await createKey("RSA_2048", "SIGN_VERIFY");
});

afterAll(() => client.destroy());

const manifest = new TextEncoder().encode('{"format":"keyproof-bundle/1","runId":"kp-test"}');

describe("createAwsKmsSigner", () => {
  it("resolves an alias to the key ARN and records the public key from GetPublicKey", async () => {
    const signer = await createAwsKmsSigner({ kmsKeyId: ecKey.alias, ...signerOptions });
    try {
      expect(signer.keyId).toBe(ecKey.arn);
      expect(signer.algorithm).toBe("ECDSA_SHA_256");
      expect(signer.description).toBe(`AWS KMS key ${ecKey.alias} (${ecKey.arn})`);
      const published = await client.send(new GetPublicKeyCommand({ KeyId: ecKey.keyId }));
      const der = createPublicKey(signer.publicKeyPem).export({ type: "spki", format: "der" });
      expect(Buffer.compare(der, Buffer.from(published.PublicKey ?? new Uint8Array()))).toBe(0);
    } finally {
      signer.close();
    }
  });

  it("signs a manifest RAW with ECDSA_SHA_256 (DER), verifiable offline from the record alone", async () => {
    const signer = await createAwsKmsSigner({
      kmsKeyId: ecKey.arn,
      ...signerOptions,
      now: () => new Date("2026-10-01T06:00:00.000Z"),
    });
    const record = await signer.sign(manifest);
    signer.close();
    expect(record).toMatchObject({
      version: 1,
      algorithm: "ECDSA_SHA_256",
      keyId: ecKey.arn,
      messageType: "RAW",
      signedDigest: createHash("sha256").update(manifest).digest("hex"),
      signedAt: "2026-10-01T06:00:00.000Z",
    });
    // DER: SEQUENCE tag first.
    expect(Buffer.from(record.signature, "base64")[0]).toBe(0x30);
    expect(verifySignatureRecord(record, manifest)).toEqual({
      ok: true,
      algorithm: "ECDSA_SHA_256",
      keyId: ecKey.arn,
    });
    const tampered = Uint8Array.from(manifest);
    tampered[5] = (tampered[5] ?? 0) ^ 1;
    expect(verifySignatureRecord(record, tampered).ok).toBe(false);
  });

  it("signs with RSASSA_PSS_SHA_256 for an RSA key", async () => {
    const signer = await createAwsKmsSigner({ kmsKeyId: rsaKey.alias, ...signerOptions });
    const record = await signer.sign(manifest);
    signer.close();
    expect(record.algorithm).toBe("RSASSA_PSS_SHA_256");
    expect(record.keyId).toBe(rsaKey.arn);
    expect(verifySignatureRecord(record, manifest).ok).toBe(true);
  });

  it("takes the region from a key ARN when none is configured", async () => {
    const signer = await createAwsKmsSigner({
      kmsKeyId: ecKey.arn,
      endpoint: signerOptions.endpoint,
      credentials: signerOptions.credentials,
    });
    signer.close();
    expect(signer.keyId).toBe(ecKey.arn);
  });

  it("refuses keys it cannot sign with, each time saying how to get one", async () => {
    const symmetric = await createKey("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT");
    await expect(createAwsKmsSigner({ kmsKeyId: symmetric.alias, ...signerOptions })).rejects.toMatchObject({
      code: "SIGNING_KEY_UNAVAILABLE",
      message: expect.stringContaining("not SIGN_VERIFY"),
      remediation: expect.stringContaining("--key-spec ECC_NIST_P256 --key-usage SIGN_VERIFY"),
    });
    const p384 = await createKey("ECC_NIST_P384", "SIGN_VERIFY");
    await expect(createAwsKmsSigner({ kmsKeyId: p384.alias, ...signerOptions })).rejects.toMatchObject({
      code: "SIGNING_KEY_UNAVAILABLE",
      message: expect.stringContaining("key spec ECC_NIST_P384"),
    });
    const disabled = await createKey("ECC_NIST_P256", "SIGN_VERIFY");
    await client.send(new DisableKeyCommand({ KeyId: disabled.keyId }));
    await expect(createAwsKmsSigner({ kmsKeyId: disabled.alias, ...signerOptions })).rejects.toMatchObject({
      code: "SIGNING_KEY_UNAVAILABLE",
      message: expect.stringContaining("is Disabled, not Enabled"),
    });
    await expect(
      createAwsKmsSigner({ kmsKeyId: `alias/${uniqueName("kp-missing")}`, ...signerOptions }),
    ).rejects.toMatchObject({
      code: "SIGNING_KEY_UNAVAILABLE",
      message: expect.stringContaining("cannot be described"),
      remediation: expect.stringContaining("aws kms create-key"),
    });
  });
});

describe("manifests over the 4096-byte RAW limit", () => {
  const large = new TextEncoder().encode(`{"padding":"${"x".repeat(KMS_RAW_MESSAGE_LIMIT)}"}`);
  const digest = createHash("sha256").update(large).digest();

  it("are signed as MessageType DIGEST of their SHA-256, and moto (unlike AWS) hashes that digest again", async () => {
    const signer = await createAwsKmsSigner({ kmsKeyId: ecKey.arn, ...signerOptions });
    const record = await signer.sign(large);
    signer.close();
    expect(large.byteLength).toBeGreaterThan(KMS_RAW_MESSAGE_LIMIT);
    expect(record.messageType).toBe("DIGEST");
    expect(record.signedDigest).toBe(digest.toString("hex"));

    // moto 5.2.5 ignores MessageType (its docs: "DIGEST is not yet implemented"): it signs SHA-256 of the
    // 32 digest bytes. So its signature verifies over the digest as a message, and not over the manifest,
    // which is what a real KMS DIGEST signature verifies against. keyproof's check refuses it, rightly.
    const publicKey = createPublicKey(record.publicKey);
    const signature = Buffer.from(record.signature, "base64");
    expect(verify("sha256", digest, { key: publicKey, dsaEncoding: "der" }, signature)).toBe(true);
    const check = verifySignatureRecord(record, large);
    expect(check.ok).toBe(false);
    expect(check.ok ? "" : check.reason).toMatch(/ECDSA_SHA_256 signature does not match/);
  });

  it("verify as AWS KMS DIGEST signatures do: an ECDSA signature of the SHA-256 equals one over the bytes", () => {
    // What AWS KMS returns for Sign(DIGEST, SHA-256(m), ECDSA_SHA_256) is an ECDSA signature over SHA-256(m),
    // which is exactly what signing m with SHA-256 produces. A local P-256 key stands in for KMS here.
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const record: SignatureRecord = {
      version: 1,
      algorithm: "ECDSA_SHA_256",
      keyId: "arn:aws:kms:eu-west-3:111122223333:key/stand-in",
      publicKey: publicKey.export({ type: "spki", format: "pem" }).toString(),
      signedDigest: digest.toString("hex"),
      messageType: "DIGEST",
      signature: sign("sha256", large, { key: privateKey, dsaEncoding: "der" }).toString("base64"),
      signedAt: "2026-10-01T06:00:00.000Z",
    };
    expect(verifySignatureRecord(record, large).ok).toBe(true);
    const other = Uint8Array.from(large);
    other[20] = 0x79;
    const failed = verifySignatureRecord(record, other);
    expect(failed.ok ? "" : failed.reason).toMatch(/signature was made over different bytes/);
  });

  it("an Ed25519 record cannot claim DIGEST", () => {
    const { privateKey, publicKey } = generateKeyPairSync("ed25519");
    const publicPem = publicKey.export({ type: "spki", format: "pem" }).toString();
    const keyId = `local:${createHash("sha256")
      .update(publicKey.export({ type: "spki", format: "der" }))
      .digest("hex")}`;
    const record: SignatureRecord = {
      version: 1,
      algorithm: "Ed25519",
      keyId,
      publicKey: publicPem,
      signedDigest: createHash("sha256").update(manifest).digest("hex"),
      messageType: "DIGEST",
      signature: sign(null, manifest, privateKey).toString("base64"),
      signedAt: "2026-10-01T06:00:00.000Z",
    };
    const check = verifySignatureRecord(record, manifest);
    expect(check.ok ? "" : check.reason).toMatch(/Ed25519 signature cannot be over a digest/);
  });
});
