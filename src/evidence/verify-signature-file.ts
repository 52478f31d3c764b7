import { shortFingerprint, publicKeyFingerprint } from "../signing/fingerprint.ts";
import { evaluateTrust } from "../signing/trust.ts";
import type { TrustOutcome, TrustPin, TrustPolicy } from "../signing/trust.ts";
import type { SignatureAlgorithm } from "../signing/signer.ts";
import { parseSignatureFile, verifySignatureRecord } from "../signing/verify-signature.ts";
import type { Manifest } from "./manifest.ts";
import { SIGNATURE_FILE } from "./paths.ts";
import { signedAtProblem } from "./signed-at.ts";

/**
 * The signature half of `keyproof verify`: is manifest.sig.json a valid signature over this manifest, is its
 * every byte covered, is signedAt plausible, and is the signer one the verifier trusts. Pure (the caller
 * reads the files), so the chain check and the tests use it without a filesystem.
 */

export interface SignatureResult {
  ok: boolean;
  reason?: string;
  algorithm?: SignatureAlgorithm;
  keyId?: string;
  /** SHA-256 hex of the embedded public key's SPKI DER. */
  fingerprint?: string;
  signedAt?: string;
  /** Whose key it is: only meaningful when the signature itself is valid. */
  trust?: TrustOutcome;
}

/** The pins the older options named, so callers that only pass them keep working. */
export function pinsFromExpectations(options: {
  expectedKeyId?: string;
  expectedPublicKey?: string;
}): TrustPin[] {
  const pins: TrustPin[] = [];
  if (options.expectedPublicKey !== undefined) {
    let fingerprint: string;
    try {
      fingerprint = publicKeyFingerprint(options.expectedPublicKey);
    } catch {
      return [{ kind: "unresolved", label: "expected public key", reason: "is not a PEM public key" }];
    }
    pins.push({
      kind: "keys",
      label: "expected public key",
      anchors: [{ label: "expected public key", fingerprint }],
    });
  }
  if (options.expectedKeyId !== undefined) {
    const keyId = options.expectedKeyId;
    // A local key id is the key's fingerprint, so it pins the key itself; a KMS ARN is only a name.
    pins.push(
      keyId.startsWith("local:")
        ? {
            kind: "keys",
            label: `expected key ${keyId}`,
            anchors: [{ label: `expected key ${keyId}`, fingerprint: keyId.slice("local:".length), keyId }],
          }
        : { kind: "key-id", label: `expected key ${keyId}`, keyId },
    );
  }
  return pins;
}

/** Checks manifest.sig.json's bytes against the manifest (as stored, and parsed when it parsed). */
export function checkSignatureFile(input: {
  signatureBytes: Uint8Array;
  manifestSha256: string | undefined;
  manifest: Manifest | undefined;
  trust: TrustPolicy;
}): SignatureResult {
  const parsed = parseSignatureFile(input.signatureBytes);
  if (!parsed.ok) return { ok: false, reason: `${SIGNATURE_FILE} ${parsed.reason}` };
  const { statement } = parsed.record;
  const about = {
    algorithm: statement.algorithm,
    keyId: statement.keyId,
    fingerprint: statement.fingerprint,
    signedAt: statement.signedAt,
  };
  if (input.manifestSha256 === undefined) {
    return { ok: false, reason: "nothing to check it against: manifest.json is missing", ...about };
  }
  const check = verifySignatureRecord(parsed.record, input.manifestSha256);
  if (!check.ok) return { ok: false, reason: check.reason, ...about };

  const { manifest } = input;
  if (manifest !== undefined) {
    if (manifest.signer.keyId !== statement.keyId) {
      return {
        ok: false,
        reason: `the manifest names signer key ${manifest.signer.keyId}, but ${SIGNATURE_FILE} is by key ${statement.keyId}`,
        ...about,
      };
    }
    if (manifest.signer.fingerprint !== statement.fingerprint) {
      return {
        ok: false,
        reason: `the manifest names signer fingerprint ${shortFingerprint(manifest.signer.fingerprint)}, but ${SIGNATURE_FILE} is by ${shortFingerprint(statement.fingerprint)}`,
        ...about,
      };
    }
    const problem = signedAtProblem(statement.signedAt, manifest);
    if (problem !== undefined) return { ok: false, reason: problem, ...about };
  }
  return { ok: true, ...about, trust: evaluateTrust(statement, input.trust) };
}

/** True when the signature is valid and its signer trusted (pinned, or embedded with --trust-embedded). */
export function signerAccepted(signature: SignatureResult): boolean {
  return signature.ok && signature.trust?.trusted === true;
}
