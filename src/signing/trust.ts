import { shortFingerprint } from "./fingerprint.ts";
import type { SignedStatement } from "./verify-signature.ts";

/**
 * Whose signature a verifier accepts. A valid signature only proves that *someone* holding the embedded key
 * signed; anyone can make a key. The signer is trusted only when every pin given holds:
 *
 * - a `keys` pin (from --expect-public-key, --config, a trust file, or --expect-key resolved through KMS
 *   GetPublicKey) holds when the embedded key's fingerprint is one of its keys, signedAt lies in that key's
 *   validity window, and the key id matches where the anchor names one;
 * - a `key-id` pin (a KMS ARN checked offline) holds when the statement names that key id and every `keys`
 *   pin next to it holds: an ARN is a name anyone can write into a statement, so offline only a pinned
 *   public key binds it to a key. Alone it never holds; next to a failing key pin it says that the
 *   offline comparison with the pinned public key failed (not only that some key pin did);
 * - an `unresolved` pin (GetPublicKey failed) never holds, and says why.
 *
 * `notes` are things the verifier asked for that could not be used as pins (an alias offline): they are
 * printed beside the verdict so nobody believes a pin held that was never compared.
 *
 * Pure: every pin is resolved (files read, KMS asked) before verification starts.
 */

export interface TrustAnchor {
  /** Where the key came from, for messages: `--expect-public-key ./signer.pem`, `trust file x.json: prod`. */
  label: string;
  /** SHA-256 hex of the SPKI DER. */
  fingerprint: string;
  /** When set, the statement must name this key id too (KMS ARN, or `local:<fingerprint>`). */
  keyId?: string;
  /** UTC ISO-8601 bounds of the key's validity; signedAt must lie within them. */
  notBefore?: string;
  notAfter?: string;
}

export type TrustPin =
  | { kind: "keys"; label: string; anchors: TrustAnchor[] }
  | { kind: "key-id"; label: string; keyId: string }
  | { kind: "unresolved"; label: string; reason: string };

export interface TrustPolicy {
  pins: TrustPin[];
  /** Options that were given but could not be pins (an alias offline), each as one line for the report. */
  notes?: string[];
  /** `--trust-embedded`: accept the embedded key without a pin (the behaviour before pinning), with a warning. */
  trustEmbedded?: boolean;
}

export interface TrustOutcome {
  trusted: boolean;
  /** `pinned`: every pin held. `embedded`: no pin needed because --trust-embedded was given. */
  basis?: "pinned" | "embedded";
  /** The anchors that matched, by label. */
  matched: string[];
  /** Why the signer is not trusted, one line per failed pin. */
  reasons: string[];
  /** The policy's notes, carried to the report whatever the verdict. */
  notes?: string[];
}

function anchorProblem(anchor: TrustAnchor, statement: SignedStatement): string | undefined {
  if (anchor.fingerprint !== statement.fingerprint) return "another key";
  if (anchor.keyId !== undefined && anchor.keyId !== statement.keyId) {
    return `the key, but under key id ${statement.keyId}, not ${anchor.keyId}`;
  }
  if (anchor.notBefore !== undefined && statement.signedAt < anchor.notBefore) {
    return `the key, but signed at ${statement.signedAt}, before its validity starts (${anchor.notBefore})`;
  }
  if (anchor.notAfter !== undefined && statement.signedAt > anchor.notAfter) {
    return `the key, but signed at ${statement.signedAt}, after its validity ended (${anchor.notAfter})`;
  }
  return undefined;
}

/**
 * Compares ISO strings: both sides are normalised UTC (`…Z`) by their schemas; a trust-file date is
 * stored as Date.toISOString() after parsing, so string order is time order.
 */
export function evaluateTrust(statement: SignedStatement, policy: TrustPolicy): TrustOutcome {
  const matched: string[] = [];
  const reasons: string[] = [];
  const keysPins = policy.pins.filter((pin) => pin.kind === "keys");
  const keysHold = keysPins.every((pin) =>
    pin.anchors.some((anchor) => anchorProblem(anchor, statement) === undefined),
  );
  for (const pin of policy.pins) {
    switch (pin.kind) {
      case "unresolved":
        reasons.push(`${pin.label}: ${pin.reason}`);
        break;
      case "key-id":
        if (pin.keyId !== statement.keyId) {
          reasons.push(`${pin.label}: signed by key id ${statement.keyId}, not ${pin.keyId}`);
        } else if (keysPins.length === 0) {
          reasons.push(
            `${pin.label}: not checkable offline: a KMS key id is not bound to the embedded public key (it names a key but does not prove which public key it has); pin the public key (--expect-public-key, --trust) or let keyproof ask KMS (GetPublicKey)`,
          );
        } else if (!keysHold) {
          reasons.push(
            `${pin.label}: checked offline against the pinned public key, which differs: the bundle names this key id, but was signed by key ${shortFingerprint(statement.fingerprint)}`,
          );
        } else {
          matched.push(pin.label);
        }
        break;
      case "keys": {
        const problems = pin.anchors.map((anchor) => ({ anchor, problem: anchorProblem(anchor, statement) }));
        const hit = problems.find((item) => item.problem === undefined);
        if (hit !== undefined) {
          matched.push(hit.anchor.label);
        } else {
          const close = problems.find((item) => item.problem !== "another key");
          reasons.push(
            close === undefined
              ? `${pin.label}: the signing key ${shortFingerprint(statement.fingerprint)} is not among its ${pin.anchors.length} key(s)`
              : `${close.anchor.label}: ${close.problem ?? ""}`,
          );
        }
        break;
      }
    }
  }
  const notes = policy.notes === undefined || policy.notes.length === 0 ? {} : { notes: policy.notes };
  if (policy.pins.length > 0 && reasons.length === 0)
    return { trusted: true, basis: "pinned", matched, reasons, ...notes };
  if (policy.trustEmbedded === true && policy.pins.length === 0) {
    return { trusted: true, basis: "embedded", matched, reasons, ...notes };
  }
  if (policy.pins.length === 0) reasons.push("no trusted signer was given (no pin)");
  return { trusted: false, matched, reasons, ...notes };
}
