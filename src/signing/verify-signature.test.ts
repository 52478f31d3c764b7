import { constants, generateKeyPairSync, sign } from "node:crypto";
import type { KeyObject } from "node:crypto";
import { describe, expect, it } from "vitest";
import { publicKeyFingerprint } from "./fingerprint.ts";
import { localKeyId } from "./local-ed25519.signer.ts";
import type { SignatureAlgorithm } from "./signer.ts";
import {
  STATEMENT_FORMAT,
  parseSignatureFile,
  samePublicKey,
  signatureFileText,
  statementBytes,
  verifySignatureRecord,
} from "./verify-signature.ts";
import type { SignatureRecord, SignedStatement } from "./verify-signature.ts";

const manifestSha256 = "a".repeat(64);

function statementFor(algorithm: SignatureAlgorithm, publicKey: KeyObject, keyId?: string): SignedStatement {
  return {
    format: STATEMENT_FORMAT,
    algorithm,
    keyId:
      keyId ??
      (algorithm === "Ed25519" ? localKeyId(publicKey) : "arn:aws:kms:eu-west-1:111122223333:key/test"),
    publicKey: publicKey.export({ type: "spki", format: "pem" }).toString(),
    fingerprint: publicKeyFingerprint(publicKey),
    manifestSha256,
    signedAt: "2026-10-01T00:00:00.000Z",
  };
}

function signed(statement: SignedStatement, signer: (bytes: Uint8Array) => Buffer): SignatureRecord {
  return { version: 2, statement, signature: signer(statementBytes(statement)).toString("base64") };
}

function ed25519Record(): { record: SignatureRecord; privateKey: KeyObject; publicKey: KeyObject } {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const record = signed(statementFor("Ed25519", publicKey), (bytes) => sign(null, bytes, privateKey));
  return { record, privateKey, publicKey };
}

describe("verifySignatureRecord", () => {
  it("accepts Ed25519 and reports the fingerprint", () => {
    const { record, publicKey } = ed25519Record();
    expect(verifySignatureRecord(record, manifestSha256)).toEqual({
      ok: true,
      algorithm: "Ed25519",
      keyId: localKeyId(publicKey),
      fingerprint: publicKeyFingerprint(publicKey),
    });
  });

  it("accepts ECDSA P-256 with a DER signature, as KMS returns it", () => {
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const record = signed(statementFor("ECDSA_SHA_256", publicKey), (bytes) =>
      sign("sha256", bytes, { key: privateKey, dsaEncoding: "der" }),
    );
    expect(verifySignatureRecord(record, manifestSha256).ok).toBe(true);
  });

  it("accepts RSASSA-PSS SHA-256 with a 32-byte salt, as KMS signs, and rejects PKCS#1 v1.5", () => {
    const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const pss = signed(statementFor("RSASSA_PSS_SHA_256", publicKey), (bytes) =>
      sign("sha256", bytes, { key: privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }),
    );
    expect(verifySignatureRecord(pss, manifestSha256).ok).toBe(true);
    const pkcs1 = signed(statementFor("RSASSA_PSS_SHA_256", publicKey), (bytes) =>
      sign("sha256", bytes, { key: privateKey, padding: constants.RSA_PKCS1_PADDING }),
    );
    expect(verifySignatureRecord(pkcs1, manifestSha256)).toMatchObject({
      ok: false,
      reason: expect.stringContaining("does not match"),
    });
  });

  it("names another manifest's digest", () => {
    const { record } = ed25519Record();
    expect(verifySignatureRecord(record, "b".repeat(64))).toMatchObject({
      ok: false,
      reason: expect.stringContaining("over a different manifest"),
    });
  });

  it("covers signedAt and the key id: changing either breaks the signature", () => {
    const { record } = ed25519Record();
    const later = { ...record, statement: { ...record.statement, signedAt: "2026-10-02T00:00:00.000Z" } };
    expect(verifySignatureRecord(later, manifestSha256)).toMatchObject({
      ok: false,
      reason: expect.stringContaining("does not match"),
    });
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const kms = signed(statementFor("ECDSA_SHA_256", publicKey), (bytes) =>
      sign("sha256", bytes, privateKey),
    );
    const renamed = {
      ...kms,
      statement: { ...kms.statement, keyId: "arn:aws:kms:eu-west-1:111122223333:key/other" },
    };
    expect(verifySignatureRecord(renamed, manifestSha256).ok).toBe(false);
  });

  it("rejects a fingerprint or local key id that is not the embedded key's", () => {
    const { privateKey, publicKey } = generateKeyPairSync("ed25519");
    const wrongFingerprint = signed(
      { ...statementFor("Ed25519", publicKey), fingerprint: "0".repeat(64) },
      (bytes) => sign(null, bytes, privateKey),
    );
    expect(verifySignatureRecord(wrongFingerprint, manifestSha256)).toMatchObject({
      ok: false,
      reason: expect.stringContaining("is not that of its public key"),
    });
    const wrongId = signed(statementFor("Ed25519", publicKey, `local:${"0".repeat(64)}`), (bytes) =>
      sign(null, bytes, privateKey),
    );
    expect(verifySignatureRecord(wrongId, manifestSha256)).toMatchObject({
      ok: false,
      reason: expect.stringContaining("not the hash"),
    });
  });

  it("rejects an algorithm that does not fit the key", () => {
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-384" });
    const record = signed(statementFor("ECDSA_SHA_256", publicKey), (bytes) =>
      sign("sha256", bytes, privateKey),
    );
    expect(verifySignatureRecord(record, manifestSha256)).toMatchObject({
      ok: false,
      reason: expect.stringContaining("secp384r1"),
    });
  });
});

describe("parseSignatureFile", () => {
  const encode = (text: string): Uint8Array => new TextEncoder().encode(text);

  it("accepts exactly the layout keyproof writes", () => {
    const { record } = ed25519Record();
    expect(parseSignatureFile(encode(signatureFileText(record)))).toEqual({ ok: true, record });
  });

  it("rejects any other byte: reformatted, reordered or with an added field", () => {
    const { record } = ed25519Record();
    const pretty = JSON.stringify(record, null, 2);
    expect(parseSignatureFile(encode(pretty))).toMatchObject({
      ok: false,
      reason: expect.stringContaining("byte for byte"),
    });
    const extra = { ...record, comment: "signed by the security team" };
    expect(parseSignatureFile(encode(JSON.stringify(extra)))).toMatchObject({
      ok: false,
      reason: expect.stringContaining("comment"),
    });
    const extraInStatement = signatureFileText(record).replace('{"algorithm"', '{"note":"x","algorithm"');
    expect(parseSignatureFile(encode(extraInStatement))).toMatchObject({
      ok: false,
      reason: expect.stringContaining("note"),
    });
  });

  it("rejects a signedAt that is not a UTC ISO-8601 time", () => {
    const { record } = ed25519Record();
    for (const signedAt of [
      "not a date",
      "2026-10-01 00:00:00",
      "2026-10-01T00:00:00+02:00",
      "2026-13-01T00:00:00Z",
    ]) {
      const text = signatureFileText({ ...record, statement: { ...record.statement, signedAt } });
      expect(parseSignatureFile(encode(text))).toMatchObject({
        ok: false,
        reason: expect.stringContaining("signedAt"),
      });
    }
  });

  it("rejects format 1, whose signedAt was not signed, saying so", () => {
    const old = {
      version: 1,
      algorithm: "Ed25519",
      keyId: "local:x",
      publicKey: "p",
      signedDigest: "0",
      signature: "",
      signedAt: "x",
    };
    expect(parseSignatureFile(encode(JSON.stringify(old)))).toMatchObject({
      ok: false,
      reason: expect.stringContaining("format 1"),
    });
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
