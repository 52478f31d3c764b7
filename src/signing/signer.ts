/**
 * The signing port. Two transports implement it: a local Ed25519 key and an AWS KMS asymmetric key.
 * A transport only turns bytes into a signature; what is signed (the signed statement, see
 * signed-statement.ts) is built by `signManifest`, the same way for every transport.
 */

export const SIGNATURE_ALGORITHMS = ["Ed25519", "ECDSA_SHA_256", "RSASSA_PSS_SHA_256"] as const;
export type SignatureAlgorithm = (typeof SIGNATURE_ALGORITHMS)[number];

/** A signer the next runs are announced to rotate to (`keyproof signer rotate`). */
export interface AnnouncedSigner {
  /** SHA-256 hex of the next signer's SPKI DER. */
  fingerprint: string;
  keyId?: string;
}

export interface Signer {
  /** Human description for summaries: `local Ed25519 key ./keyproof-signing.pem`, `AWS KMS alias/x`. */
  readonly description: string;
  /** Known before signing, because the manifest (the signed bytes) names its signer. */
  readonly keyId: string;
  readonly algorithm: SignatureAlgorithm;
  /** SubjectPublicKeyInfo PEM: embedded in the signature file, published for pinning. */
  readonly publicKeyPem: string;
  /** Clock for `signedAt` (tests pin it); the system clock when absent. */
  readonly now?: () => Date;
  /** Set when `keyproof signer rotate` announced the next signer: the manifest carries it. */
  readonly nextSigner?: AnnouncedSigner;
  /**
   * Signs exactly `message` (the signed statement, at most 4096 bytes so KMS can sign it RAW). Returns the
   * raw signature: 64 bytes for Ed25519, DER for ECDSA (as KMS returns it), the PSS block for RSA.
   */
  sign(message: Uint8Array): Promise<Uint8Array>;
}
