import { createHash, createPublicKey } from "node:crypto";
import type { KeyObject } from "node:crypto";

/**
 * The fingerprint of a signing key: SHA-256 of its SubjectPublicKeyInfo DER, lowercase hex. It is what
 * `openssl pkey -pubin -in key.pem -outform DER | sha256sum` prints, so an auditor can compute it without
 * keyproof, and it is the same for a key however its PEM is wrapped.
 */
export function publicKeyFingerprint(key: string | KeyObject): string {
  const object = typeof key === "string" ? createPublicKey(key) : key;
  return createHash("sha256")
    .update(object.export({ type: "spki", format: "der" }))
    .digest("hex");
}

/** The same key as SPKI PEM, normalised (a private key in gives its public half). */
export function publicKeyPemOf(key: string | KeyObject): string {
  const object = typeof key === "string" ? createPublicKey(key) : key;
  return object.export({ type: "spki", format: "pem" }).toString();
}

/** `3f9a…c2d1`: enough to tell keys apart on one line; the full value is printed where it is to be compared. */
export function shortFingerprint(fingerprint: string): string {
  return fingerprint.length > 16 ? `${fingerprint.slice(0, 8)}…${fingerprint.slice(-8)}` : fingerprint;
}
