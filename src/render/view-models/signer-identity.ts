import { createHash, createPublicKey } from "node:crypto";

/**
 * Who signs the bundle, as the reports show it: by key id and public-key fingerprint. Never by a local
 * file path (a signer's description names the key file on the machine that ran keyproof, which says
 * nothing to an auditor and leaks the operator's file layout into the evidence).
 */
export interface SignerIdentity {
  /** `local:<sha256 of SPKI DER>` for a local key, the key ARN for an AWS KMS key. */
  keyId: string;
  /** SubjectPublicKeyInfo PEM, when the signer exposes it. */
  publicKeyPem?: string;
}

const LOCAL_KEY_ID = /^local:([0-9a-f]{64})$/;

/** The identity of a signer object (the signing port plus, for both transports, its public key). */
export function signerIdentityOf(signer: { readonly keyId: string }): SignerIdentity {
  // Both transports carry `publicKeyPem`; the Signer port does not declare it, so it is read if present.
  const pem = "publicKeyPem" in signer && typeof signer.publicKeyPem === "string" ? signer.publicKeyPem : "";
  return pem === "" ? { keyId: signer.keyId } : { keyId: signer.keyId, publicKeyPem: pem };
}

/** SHA-256 over the DER SubjectPublicKeyInfo, hex: what `openssl pkey -pubin -outform DER | sha256sum` prints. */
export function publicKeyFingerprint(publicKeyPem: string): string {
  const der = createPublicKey(publicKeyPem).export({ type: "spki", format: "der" });
  return createHash("sha256").update(der).digest("hex");
}

/** `local Ed25519 key local:3f… (public key SHA-256 3f…)`, `AWS KMS key arn:aws:kms:… (public key SHA-256 …)`. */
export function describeSignerIdentity(identity: SignerIdentity): string {
  const local = LOCAL_KEY_ID.exec(identity.keyId);
  const fingerprint =
    identity.publicKeyPem !== undefined ? publicKeyFingerprint(identity.publicKeyPem) : local?.[1];
  const kind =
    local !== null ? "local Ed25519 key" : identity.keyId.startsWith("arn:") ? "AWS KMS key" : "key";
  return `${kind} ${identity.keyId} (public key SHA-256 fingerprint ${fingerprint ?? "not available"})`;
}
