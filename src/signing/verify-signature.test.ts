import { constants, createHash, createPublicKey, generateKeyPairSync, sign } from "node:crypto";
import type { KeyObject } from "node:crypto";
import { CreateKeyCommand, GetPublicKeyCommand, KMSClient, SignCommand } from "@aws-sdk/client-kms";
import { describe, expect, it } from "vitest";
import type { SignatureAlgorithm, SignatureRecord } from "./signer.ts";
import { localKeyId } from "./local-ed25519.signer.ts";
import { parseSignatureRecord, samePublicKey, verifySignatureRecord } from "./verify-signature.ts";

const message = new TextEncoder().encode('{"files":[],"format":"keyproof-bundle/1"}');
const digest = createHash("sha256").update(message).digest("hex");

function record(
  algorithm: SignatureAlgorithm,
  publicKey: KeyObject,
  signature: Buffer,
  keyId = "arn:aws:kms:eu-west-1:111122223333:key/test",
): SignatureRecord {
  return {
    version: 1,
    algorithm,
    keyId,
    publicKey: publicKey.export({ type: "spki", format: "pem" }).toString(),
    signedDigest: digest,
    signature: signature.toString("base64"),
    signedAt: "2026-10-01T00:00:00.000Z",
  };
}

describe("verifySignatureRecord", () => {
  it("accepts Ed25519", () => {
    const { privateKey, publicKey } = generateKeyPairSync("ed25519");
    const signed = record("Ed25519", publicKey, sign(null, message, privateKey), localKeyId(publicKey));
    expect(verifySignatureRecord(signed, message)).toEqual({
      ok: true,
      algorithm: "Ed25519",
      keyId: localKeyId(publicKey),
    });
  });

  it("accepts ECDSA P-256 with a DER signature, as KMS returns it", () => {
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const signed = record(
      "ECDSA_SHA_256",
      publicKey,
      sign("sha256", message, { key: privateKey, dsaEncoding: "der" }),
    );
    expect(verifySignatureRecord(signed, message).ok).toBe(true);
  });

  it("accepts RSASSA-PSS SHA-256 with a 32-byte salt, as KMS signs", () => {
    const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const signature = sign("sha256", message, {
      key: privateKey,
      padding: constants.RSA_PKCS1_PSS_PADDING,
      saltLength: 32,
    });
    expect(verifySignatureRecord(record("RSASSA_PSS_SHA_256", publicKey, signature), message).ok).toBe(true);
  });

  it("rejects an RSA PKCS#1 v1.5 signature presented as PSS", () => {
    const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const signature = sign("sha256", message, { key: privateKey, padding: constants.RSA_PKCS1_PADDING });
    const result = verifySignatureRecord(record("RSASSA_PSS_SHA_256", publicKey, signature), message);
    expect(result).toMatchObject({ ok: false, reason: expect.stringContaining("does not match") });
  });

  it("rejects other bytes with the digest mismatch named", () => {
    const { privateKey, publicKey } = generateKeyPairSync("ed25519");
    const signed = record("Ed25519", publicKey, sign(null, message, privateKey), localKeyId(publicKey));
    const result = verifySignatureRecord(signed, new TextEncoder().encode("{}"));
    expect(result).toMatchObject({ ok: false, reason: expect.stringContaining("made over different bytes") });
  });

  it("rejects a forged signedDigest: the signature itself is checked", () => {
    const { privateKey, publicKey } = generateKeyPairSync("ed25519");
    const other = new TextEncoder().encode("{}");
    const signed = { ...record("Ed25519", publicKey, sign(null, other, privateKey), localKeyId(publicKey)) };
    expect(verifySignatureRecord(signed, message)).toMatchObject({
      ok: false,
      reason: expect.stringContaining("does not match"),
    });
  });

  it("rejects an algorithm that does not fit the key", () => {
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-384" });
    const signed = record("ECDSA_SHA_256", publicKey, sign("sha256", message, privateKey));
    expect(verifySignatureRecord(signed, message)).toMatchObject({
      ok: false,
      reason: expect.stringContaining("secp384r1"),
    });
    const ed = generateKeyPairSync("ed25519");
    const mislabelled = record("RSASSA_PSS_SHA_256", ed.publicKey, sign(null, message, ed.privateKey));
    expect(verifySignatureRecord(mislabelled, message)).toMatchObject({
      ok: false,
      reason: expect.stringContaining("not RSA"),
    });
  });

  it("rejects a local key id that is not the hash of the embedded key", () => {
    const { privateKey, publicKey } = generateKeyPairSync("ed25519");
    const signed = record("Ed25519", publicKey, sign(null, message, privateKey), `local:${"0".repeat(64)}`);
    expect(verifySignatureRecord(signed, message)).toMatchObject({
      ok: false,
      reason: expect.stringContaining("not the hash"),
    });
  });

  it("rejects an embedded public key that is not PEM", () => {
    const { privateKey, publicKey } = generateKeyPairSync("ed25519");
    const signed = { ...record("Ed25519", publicKey, sign(null, message, privateKey)), publicKey: "nope" };
    expect(verifySignatureRecord(signed, message)).toMatchObject({
      ok: false,
      reason: expect.stringContaining("not a PEM"),
    });
  });
});

describe("parseSignatureRecord", () => {
  it("names the field that is wrong", () => {
    expect(parseSignatureRecord({ version: 2 })).toMatchObject({
      ok: false,
      reason: expect.stringContaining("version"),
    });
    expect(parseSignatureRecord("x")).toMatchObject({ ok: false });
  });
});

describe("samePublicKey", () => {
  it("compares keys, not PEM text", () => {
    const { publicKey } = generateKeyPairSync("ed25519");
    const pem = publicKey.export({ type: "spki", format: "pem" }).toString();
    expect(samePublicKey(pem, `${pem}\n`)).toBe(true);
    expect(
      samePublicKey(
        pem,
        generateKeyPairSync("ed25519").publicKey.export({ type: "spki", format: "pem" }).toString(),
      ),
    ).toBe(false);
    expect(samePublicKey(pem, "garbage")).toBe(false);
  });
});

describe("signatures made by a KMS emulator (moto)", () => {
  const kms = new KMSClient({
    endpoint: process.env.KEYPROOF_TEST_AWS_ENDPOINT ?? "http://127.0.0.1:5000",
    region: "eu-north-1",
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
  });

  async function kmsRecord(
    keySpec: "ECC_NIST_P256" | "RSA_2048",
    algorithm: "ECDSA_SHA_256" | "RSASSA_PSS_SHA_256",
  ): Promise<SignatureRecord> {
    const created = await kms.send(
      new CreateKeyCommand({
        KeySpec: keySpec,
        KeyUsage: "SIGN_VERIFY",
        Description: `keyproof verify-signature test ${Date.now()}`,
      }),
    );
    const arn = created.KeyMetadata?.Arn ?? "";
    const signed = await kms.send(
      new SignCommand({ KeyId: arn, Message: message, MessageType: "RAW", SigningAlgorithm: algorithm }),
    );
    const publicKey = await kms.send(new GetPublicKeyCommand({ KeyId: arn }));
    const key = createPublicKey({
      key: Buffer.from(publicKey.PublicKey ?? new Uint8Array()),
      format: "der",
      type: "spki",
    });
    return record(algorithm, key, Buffer.from(signed.Signature ?? new Uint8Array()), arn);
  }

  it("verifies an ECDSA_SHA_256 signature from KMS Sign", async () => {
    const signed = await kmsRecord("ECC_NIST_P256", "ECDSA_SHA_256");
    expect(verifySignatureRecord(signed, message)).toMatchObject({ ok: true, algorithm: "ECDSA_SHA_256" });
    expect(verifySignatureRecord(signed, new TextEncoder().encode("{}")).ok).toBe(false);
  });

  it("verifies an RSASSA_PSS_SHA_256 signature from KMS Sign (moto uses a maximum-length salt)", async () => {
    const signed = await kmsRecord("RSA_2048", "RSASSA_PSS_SHA_256");
    expect(verifySignatureRecord(signed, message)).toMatchObject({
      ok: true,
      algorithm: "RSASSA_PSS_SHA_256",
    });
  });
});
