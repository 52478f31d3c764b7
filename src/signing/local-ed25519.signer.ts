import { createPrivateKey, createPublicKey, sign } from "node:crypto";
import type { KeyObject } from "node:crypto";
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { KeyproofError, describeError, nodeErrorCode } from "../errors/errors.ts";
import { publicKeyFingerprint } from "./fingerprint.ts";
import type { AnnouncedSigner, Signer } from "./signer.ts";

/** A signer whose key id is known before it signs, so the manifest can name it (see the report on signer.ts). */
export interface LocalEd25519Signer extends Signer {
  readonly keyId: string;
  readonly algorithm: "Ed25519";
  /** SubjectPublicKeyInfo PEM, for printing and for pinning a verifier. */
  readonly publicKeyPem: string;
}

/** `local:<sha256 hex of SPKI DER>`: derived from the public key, so a verifier can recompute it offline. */
export function localKeyId(publicKey: KeyObject): string {
  return `local:${publicKeyFingerprint(publicKey)}`;
}

function keyUnavailable(file: string, problem: string, cause?: unknown): KeyproofError {
  return new KeyproofError("SIGNING_KEY_UNAVAILABLE", `signing key ${file} ${problem}`, {
    remediation: `run keyproof keygen --out ${file}`,
    ...(cause === undefined ? {} : { cause }),
  });
}

/**
 * Loads an unencrypted Ed25519 PKCS#8 PEM (as written by `keyproof keygen`). Every failure names the file and
 * says how to get a key, because this is the first thing a new user hits.
 */
export async function createLocalEd25519Signer(
  pemPath: string,
  options: { nextSigner?: AnnouncedSigner; now?: () => Date } = {},
): Promise<LocalEd25519Signer> {
  const file = resolve(pemPath);
  let pem: string;
  try {
    pem = await readFile(file, "utf8");
  } catch (error) {
    const code = nodeErrorCode(error);
    if (code === "ENOENT") throw keyUnavailable(file, "does not exist", error);
    if (code === "EACCES" || code === "EPERM")
      throw keyUnavailable(file, "cannot be read (permission denied)", error);
    if (code === "EISDIR") throw keyUnavailable(file, "is a directory, not a key file", error);
    throw keyUnavailable(file, `cannot be read: ${describeError(error)}`, error);
  }

  // Node asks OpenSSL for a passphrase and gets "interrupted or cancelled": recognise the PEM instead.
  if (/-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/.test(pem)) {
    throw keyUnavailable(file, "is encrypted with a passphrase; keyproof reads unencrypted PKCS#8 keys");
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: pem, format: "pem" });
  } catch (error) {
    throw keyUnavailable(file, "is not a PEM private key", error);
  }
  if (privateKey.asymmetricKeyType !== "ed25519") {
    throw keyUnavailable(
      file,
      `holds a ${privateKey.asymmetricKeyType ?? "unknown"} key; keyproof signs with Ed25519`,
    );
  }

  const publicKey = createPublicKey(privateKey);
  const publicKeyPem = publicKey.export({ type: "spki", format: "pem" }).toString();
  const keyId = localKeyId(publicKey);

  return {
    description: `local Ed25519 key ${file}`,
    keyId,
    algorithm: "Ed25519",
    publicKeyPem,
    ...(options.nextSigner === undefined ? {} : { nextSigner: options.nextSigner }),
    ...(options.now === undefined ? {} : { now: options.now }),
    sign(message: Uint8Array): Promise<Uint8Array> {
      // Ed25519 hashes internally (PureEdDSA): the algorithm argument must be null.
      return Promise.resolve(new Uint8Array(sign(null, message, privateKey)));
    },
  };
}
