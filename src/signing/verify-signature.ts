import { constants, createPublicKey, verify } from "node:crypto";
import type { KeyObject } from "node:crypto";
import canonicalizeModule from "canonicalize";
import { z } from "zod";
import { publicKeyFingerprint } from "./fingerprint.ts";
import { localKeyId } from "./local-ed25519.signer.ts";
import { SIGNATURE_ALGORITHMS } from "./signer.ts";
import type { SignatureAlgorithm } from "./signer.ts";

/**
 * `manifest.sig.json`, format 2. The signature is over a small *signed statement*: the SHA-256 of the
 * canonical manifest plus every piece of signature metadata (algorithm, key id, public key and its
 * fingerprint, signedAt). The file holds the statement as its RFC 8785 canonical text on one line and the
 * signature beside it, in one exact layout; a verifier rebuilds that layout and rejects any other byte, so
 * nothing in the file is unsigned except the signature itself.
 *
 * Why a statement instead of the manifest: KMS signs at most 4096 bytes RAW (and moto has no DIGEST mode),
 * and the statement is what an auditor checks with openssl (VERIFY.md); the manifest is then checked by its
 * digest with sha256sum.
 *
 * Trusting the key is a separate question (trust.ts): this module only says whether the signature is good.
 */

export const STATEMENT_FORMAT = "keyproof-signed-statement/1";
export const SIGNATURE_FILE_VERSION = 2;

const Sha256HexSchema = z.string().regex(/^[0-9a-f]{64}$/, "must be a lowercase SHA-256 hex digest");

/** UTC, `YYYY-MM-DDTHH:MM:SS[.fff]Z`, and a real instant (no month 13). */
export const UtcInstantSchema = z
  .string()
  .regex(
    /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/,
    "must be a UTC ISO-8601 time (YYYY-MM-DDTHH:MM:SS.sssZ)",
  )
  .refine((value) => {
    const parsed = new Date(value);
    return !Number.isNaN(parsed.getTime()) && parsed.toISOString().slice(0, 19) === value.slice(0, 19);
  }, "is not a real date and time");

export const SignedStatementSchema = z.strictObject({
  format: z.literal(STATEMENT_FORMAT),
  algorithm: z.enum(SIGNATURE_ALGORITHMS),
  /** `local:<fingerprint>` for local keys, the KMS key ARN for KMS keys. */
  keyId: z.string().min(1),
  /** SubjectPublicKeyInfo PEM. */
  publicKey: z.string().min(1),
  /** SHA-256 hex of the public key's SPKI DER. */
  fingerprint: Sha256HexSchema,
  /** SHA-256 hex of manifest.json as stored (its canonical bytes). */
  manifestSha256: Sha256HexSchema,
  signedAt: UtcInstantSchema,
});
export type SignedStatement = z.infer<typeof SignedStatementSchema>;

/** Contents of `manifest.sig.json`. */
export const SignatureRecordSchema = z.strictObject({
  version: z.literal(SIGNATURE_FILE_VERSION),
  statement: SignedStatementSchema,
  /** Base64 of the raw signature over the statement's canonical bytes (DER for ECDSA, as KMS returns it). */
  signature: z
    .string()
    .min(1)
    .regex(/^[A-Za-z0-9+/]*={0,2}$/, "must be base64"),
});
export type SignatureRecord = z.infer<typeof SignatureRecordSchema>;

/**
 * `canonicalize` is CommonJS with a `export default` declaration; some interop paths hand back
 * `{ default: fn }`: accept both (as manifest.ts does).
 */
const canonicalizeJson: (input: unknown) => string | undefined =
  typeof canonicalizeModule === "function"
    ? canonicalizeModule
    : (canonicalizeModule as unknown as { default: (input: unknown) => string | undefined }).default;

/** RFC 8785 bytes of the statement: exactly what is signed, and what VERIFY.md has openssl check. */
export function statementBytes(statement: SignedStatement): Uint8Array {
  return new TextEncoder().encode(canonicalizeJson(statement) ?? "");
}

/**
 * The one layout of manifest.sig.json. The statement's canonical text sits alone on its line so an auditor
 * can cut it out with sed (VERIFY.md) and get the signed bytes exactly.
 */
export function signatureFileText(record: SignatureRecord): string {
  const statement = new TextDecoder().decode(statementBytes(record.statement));
  return `{\n  "version": ${record.version},\n  "statement": ${statement},\n  "signature": "${record.signature}"\n}\n`;
}

export type ParsedSignatureFile = { ok: true; record: SignatureRecord } | { ok: false; reason: string };

function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (issue === undefined) return "invalid";
  const where = issue.path.length === 0 ? "" : `${issue.path.map(String).join(".")}: `;
  return `${where}${issue.message}`;
}

/**
 * Parses manifest.sig.json from its bytes. Rejects format 1 (whose signedAt and metadata were not signed),
 * any field the statement does not define, and any byte that differs from the one layout keyproof writes.
 */
export function parseSignatureFile(bytes: Uint8Array): ParsedSignatureFile {
  const text = new TextDecoder("utf-8", { fatal: false }).decode(bytes);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return {
      ok: false,
      reason: `is not valid JSON: ${error instanceof Error ? error.message : String(error)}`,
    };
  }
  if (typeof json === "object" && json !== null && (json as { version?: unknown }).version === 1) {
    return {
      ok: false,
      reason:
        "is signature format 1, whose signedAt and key metadata were not covered by the signature; re-seal the bundle with this keyproof version",
    };
  }
  const parsed = SignatureRecordSchema.safeParse(json);
  if (!parsed.success)
    return { ok: false, reason: `is not a keyproof signature file (${describeIssue(parsed.error)})` };
  // Compared as bytes, not as decoded text: TextDecoder drops a leading byte order mark and turns invalid
  // UTF-8 into U+FFFD, so text equality let a BOM-prefixed file verify (the tamper suite found it).
  const expected = new TextEncoder().encode(signatureFileText(parsed.data));
  if (!Buffer.from(expected).equals(bytes)) {
    return {
      ok: false,
      reason:
        "is not byte for byte the layout keyproof writes (whitespace, key order or escaping was changed): every byte must be covered by the signature",
    };
  }
  return { ok: true, record: parsed.data };
}

export type SignatureCheck =
  | { ok: true; algorithm: SignatureAlgorithm; keyId: string; fingerprint: string }
  | { ok: false; reason: string };

/**
 * AWS KMS RSASSA_PSS_SHA_256 signs with MGF1-SHA-256 and a 32-byte salt (the digest length), but moto signs
 * with the maximum salt length (222 bytes for RSA-2048). The salt length is recovered from the signature
 * when verifying (OpenSSL "auto"), which accepts both and costs no security: PSS does not rely on the
 * verifier knowing the salt length.
 */
const PSS_SALT_LENGTH = constants.RSA_PSS_SALTLEN_AUTO;

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

/** Verifies a raw signature over `bytes` with the algorithms keyproof signs with. */
export function verifyWithAlgorithm(
  algorithm: SignatureAlgorithm,
  key: KeyObject,
  bytes: Uint8Array,
  signature: Uint8Array,
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
 * Checks that the record's signature is valid over its statement, that the statement is self-consistent
 * (fingerprint and local key id derived from the embedded key, algorithm fits the key) and that it names
 * `manifestSha256`. The manifest digest is compared first, so a signature file copied from another bundle
 * gets the precise reason rather than a bare "bad signature".
 */
export function verifySignatureRecord(record: SignatureRecord, manifestSha256: string): SignatureCheck {
  const { statement } = record;
  const { algorithm, keyId } = statement;
  const fail = (reason: string): SignatureCheck => ({ ok: false, reason });

  let key: KeyObject;
  try {
    key = createPublicKey({ key: statement.publicKey, format: "pem" });
  } catch {
    return fail("the embedded public key is not a PEM SubjectPublicKeyInfo");
  }
  const mismatch = keyMismatch(algorithm, key);
  if (mismatch !== undefined) return fail(`algorithm ${algorithm} does not fit the key: ${mismatch}`);
  const fingerprint = publicKeyFingerprint(key);
  if (fingerprint !== statement.fingerprint) {
    return fail(
      `the statement's fingerprint ${statement.fingerprint} is not that of its public key (${fingerprint})`,
    );
  }
  if (keyId.startsWith("local:") && localKeyId(key) !== keyId) {
    return fail(`key id ${keyId} is not the hash of the embedded public key (${localKeyId(key)})`);
  }
  if (statement.manifestSha256 !== manifestSha256) {
    return fail(
      `the signature is over a different manifest (signed manifest sha256 ${statement.manifestSha256}, found ${manifestSha256})`,
    );
  }
  let valid: boolean;
  try {
    valid = verifyWithAlgorithm(
      algorithm,
      key,
      statementBytes(statement),
      Buffer.from(record.signature, "base64"),
    );
  } catch (error) {
    return fail(
      `the signature could not be checked: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  return valid
    ? { ok: true, algorithm, keyId, fingerprint }
    : fail(`the ${algorithm} signature does not match the signed statement and public key`);
}

/** True when two PEM public keys are the same key (compared as SPKI DER, so PEM formatting does not matter). */
export function samePublicKey(leftPem: string, rightPem: string): boolean {
  try {
    return publicKeyFingerprint(leftPem) === publicKeyFingerprint(rightPem);
  } catch {
    return false;
  }
}
