/**
 * The signing port. Two transports implement it: a local Ed25519 key and an AWS KMS asymmetric key.
 * The signature record carries everything verification needs (algorithm, key id, public key), so a
 * bundle verifies offline with no access to the signer.
 */

export const SIGNATURE_ALGORITHMS = ["Ed25519", "ECDSA_SHA_256", "RSASSA_PSS_SHA_256"] as const;
export type SignatureAlgorithm = (typeof SIGNATURE_ALGORITHMS)[number];

/**
 * What the signer was handed. `RAW`: the canonical manifest bytes themselves. `DIGEST`: their SHA-256, for
 * AWS KMS, whose Sign API takes at most 4096 bytes of RAW message. For ECDSA_SHA_256 and
 * RSASSA_PSS_SHA_256 both produce the same kind of signature (the algorithm signs the SHA-256 of the
 * message either way), so a verifier checks both against the manifest bytes; the field says what happened.
 */
export const SIGNED_MESSAGE_TYPES = ["RAW", "DIGEST"] as const;
export type SignedMessageType = (typeof SIGNED_MESSAGE_TYPES)[number];

/** Contents of `manifest.sig.json`. */
export interface SignatureRecord {
  /** Format version of this record. */
  version: 1;
  algorithm: SignatureAlgorithm;
  /** `local:<sha256 of SPKI DER>` for local keys, the KMS key ARN for KMS keys. */
  keyId: string;
  /** SubjectPublicKeyInfo, PEM. */
  publicKey: string;
  /** SHA-256 hex of the signed bytes (the canonical manifest). */
  signedDigest: string;
  /** Absent means `RAW` (records written before the field existed, and local Ed25519 keys). */
  messageType?: SignedMessageType;
  /** Base64 signature (DER for ECDSA, as KMS returns it). */
  signature: string;
  /** UTC ISO-8601 */
  signedAt: string;
}

export interface Signer {
  /** Human description for summaries: `local Ed25519 key ./keyproof-signing.pem`, `AWS KMS alias/x`. */
  readonly description: string;
  /** Known before signing, because the manifest (the signed bytes) names its signer. */
  readonly keyId: string;
  sign(message: Uint8Array): Promise<SignatureRecord>;
}
