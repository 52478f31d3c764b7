import { constants, createHash, createPublicKey, verify } from "node:crypto";
import type { KeyObject } from "node:crypto";
import { z } from "zod";
import { SIGNATURE_ALGORITHMS, SIGNED_MESSAGE_TYPES } from "./signer.ts";
import type { SignatureAlgorithm, SignatureRecord } from "./signer.ts";
import { localKeyId } from "./local-ed25519.signer.ts";

/**
 * Offline verification of a `manifest.sig.json` record: only node:crypto and the public key embedded in the
 * record. Trusting that public key is a separate question, answered by pinning (`expectedKeyId` /
 * `expectedPublicKey`); for local keys the key id is itself bound to the public key.
 */

export const SignatureRecordSchema = z.strictObject({
  version: z.literal(1),
  algorithm: z.enum(SIGNATURE_ALGORITHMS),
  keyId: z.string().min(1),
  publicKey: z.string().min(1),
  signedDigest: z.string().regex(/^[0-9a-f]{64}$/, "must be a lowercase SHA-256 hex digest"),
  messageType: z.enum(SIGNED_MESSAGE_TYPES).exactOptional(),
  signature: z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, "must be base64"),
  signedAt: z.string(),
});

export type SignatureCheck =
  | { ok: true; algorithm: SignatureAlgorithm; keyId: string }
  | { ok: false; reason: string; algorithm?: SignatureAlgorithm; keyId?: string };

/**
 * AWS KMS RSASSA_PSS_SHA_256 signs with MGF1-SHA-256 and a 32-byte salt (the digest length), but moto signs
 * with the maximum salt length (222 bytes for RSA-2048). The salt length is recovered from the signature
 * when verifying (OpenSSL "auto"), which accepts both and costs no security: PSS does not rely on the
 * verifier knowing the salt length.
 */
const PSS_SALT_LENGTH = constants.RSA_PSS_SALTLEN_AUTO;

/** Parses an untrusted JSON value into a SignatureRecord, or says what is wrong with it. */
export function parseSignatureRecord(
  value: unknown,
): { ok: true; record: SignatureRecord } | { ok: false; reason: string } {
  const parsed = SignatureRecordSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue === undefined || issue.path.length === 0 ? "" : `${issue.path.join(".")}: `;
    return { ok: false, reason: `not a keyproof signature record (${where}${issue?.message ?? "invalid"})` };
  }
  return { ok: true, record: parsed.data };
}

function keyMismatch(algorithm: SignatureAlgorithm, key: KeyObject): string | undefined {
  const type = key.asymmetricKeyType;
  switch (algorithm) {
    case "Ed25519":
      return type === "ed25519" ? undefined : `the public key is ${type ?? "unknown"}, not Ed25519`;
    case "ECDSA_SHA_256": {
      if (type !== "ec") return `the public key is ${type ?? "unknown"}, not an EC key`;
      const curve = key.asymmetricKeyDetails?.namedCurve;
      return curve === "prime256v1"
        ? undefined
        : `the public key is on curve ${curve ?? "unknown"}, not P-256`;
    }
    case "RSASSA_PSS_SHA_256":
      return type === "rsa" || type === "rsa-pss"
        ? undefined
        : `the public key is ${type ?? "unknown"}, not RSA`;
  }
}

function verifyWithAlgorithm(
  algorithm: SignatureAlgorithm,
  key: KeyObject,
  bytes: Uint8Array,
  signature: Buffer,
): boolean {
  switch (algorithm) {
    case "Ed25519":
      return verify(null, bytes, key, signature);
    case "ECDSA_SHA_256":
      // KMS returns the DER (ASN.1) encoding, which is node's default for ECDSA.
      return verify("sha256", bytes, { key, dsaEncoding: "der" }, signature);
    case "RSASSA_PSS_SHA_256":
      return verify(
        "sha256",
        bytes,
        { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: PSS_SALT_LENGTH },
        signature,
      );
  }
}

/**
 * Checks that `record` is a valid signature over exactly `bytes`. The digest is compared first so a record
 * taken from another bundle gets the precise reason ("signed a different manifest") rather than a bare
 * "bad signature".
 */
export function verifySignatureRecord(record: SignatureRecord, bytes: Uint8Array): SignatureCheck {
  const { algorithm, keyId } = record;
  const fail = (reason: string): SignatureCheck => ({ ok: false, reason, algorithm, keyId });

  if (!SIGNATURE_ALGORITHMS.includes(algorithm))
    return { ok: false, reason: `unknown algorithm ${String(algorithm)}`, keyId };

  let key: KeyObject;
  try {
    key = createPublicKey({ key: record.publicKey, format: "pem" });
  } catch {
    return fail("the embedded public key is not a PEM SubjectPublicKeyInfo");
  }
  const mismatch = keyMismatch(algorithm, key);
  if (mismatch !== undefined) return fail(`algorithm ${algorithm} does not fit the key: ${mismatch}`);

  // PureEdDSA has no pre-hashed form: an Ed25519 record claiming DIGEST was not made by keyproof.
  if (record.messageType === "DIGEST" && algorithm === "Ed25519") {
    return fail("an Ed25519 signature cannot be over a digest (messageType DIGEST)");
  }

  if (keyId.startsWith("local:") && localKeyId(key) !== keyId) {
    return fail(`key id ${keyId} is not the hash of the embedded public key (${localKeyId(key)})`);
  }

  const digest = createHash("sha256").update(bytes).digest("hex");
  if (digest !== record.signedDigest) {
    return fail(
      `the signature was made over different bytes (signed digest ${record.signedDigest}, manifest digest ${digest})`,
    );
  }

  // messageType DIGEST needs no other check: KMS signs a given SHA-256 digest exactly as it signs the
  // SHA-256 it computes itself for RAW, so the signature verifies against the manifest bytes either way.
  let valid: boolean;
  try {
    valid = verifyWithAlgorithm(algorithm, key, bytes, Buffer.from(record.signature, "base64"));
  } catch (error) {
    return fail(
      `the signature could not be checked: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  return valid
    ? { ok: true, algorithm, keyId }
    : fail(`the ${algorithm} signature does not match the manifest and public key`);
}

/** True when two PEM public keys are the same key (compared as SPKI DER, so PEM formatting does not matter). */
export function samePublicKey(leftPem: string, rightPem: string): boolean {
  try {
    const left = createPublicKey(leftPem).export({ type: "spki", format: "der" });
    const right = createPublicKey(rightPem).export({ type: "spki", format: "der" });
    return left.equals(right);
  } catch {
    return false;
  }
}
