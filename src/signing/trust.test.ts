import { generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import { publicKeyFingerprint, shortFingerprint } from "./fingerprint.ts";
import { evaluateTrust } from "./trust.ts";
import type { TrustPin } from "./trust.ts";
import { parseTrustFile, trustFilePin } from "./trust-file.ts";
import { STATEMENT_FORMAT } from "./verify-signature.ts";
import type { SignedStatement } from "./verify-signature.ts";

function newKey(): { pem: string; fingerprint: string } {
  const pem = generateKeyPairSync("ed25519").publicKey.export({ type: "spki", format: "pem" }).toString();
  return { pem, fingerprint: publicKeyFingerprint(pem) };
}

const signing = newKey();
const statement: SignedStatement = {
  format: STATEMENT_FORMAT,
  algorithm: "ECDSA_SHA_256",
  keyId: "arn:aws:kms:eu-west-1:111122223333:key/k",
  publicKey: signing.pem,
  fingerprint: signing.fingerprint,
  manifestSha256: "a".repeat(64),
  signedAt: "2026-10-01T06:00:00.000Z",
};
const keysPin = (
  fingerprint: string,
  extra: Partial<{ keyId: string; notBefore: string; notAfter: string }> = {},
): TrustPin => ({
  kind: "keys",
  label: "pin",
  anchors: [{ label: "pin key", fingerprint, ...extra }],
});

describe("evaluateTrust", () => {
  it("trusts nothing without a pin, unless trustEmbedded", () => {
    expect(evaluateTrust(statement, { pins: [] })).toMatchObject({
      trusted: false,
      reasons: ["no trusted signer was given (no pin)"],
    });
    expect(evaluateTrust(statement, { pins: [], trustEmbedded: true })).toMatchObject({
      trusted: true,
      basis: "embedded",
    });
  });

  it("trusts a pinned key, and refuses another key, another key id, or a signature outside the window", () => {
    expect(evaluateTrust(statement, { pins: [keysPin(signing.fingerprint)] })).toMatchObject({
      trusted: true,
      basis: "pinned",
      matched: ["pin key"],
    });
    expect(evaluateTrust(statement, { pins: [keysPin(newKey().fingerprint)] }).reasons[0]).toContain(
      "is not among its 1 key(s)",
    );
    expect(
      evaluateTrust(statement, {
        pins: [keysPin(signing.fingerprint, { keyId: "arn:aws:kms:eu-west-1:111122223333:key/other" })],
      }).reasons[0],
    ).toContain("under key id");
    expect(
      evaluateTrust(statement, {
        pins: [keysPin(signing.fingerprint, { notAfter: "2026-09-30T00:00:00.000Z" })],
      }).reasons[0],
    ).toContain("after its validity ended");
    expect(
      evaluateTrust(statement, {
        pins: [keysPin(signing.fingerprint, { notBefore: "2026-10-02T00:00:00.000Z" })],
      }).reasons[0],
    ).toContain("before its validity starts");
  });

  it("a KMS key id alone never trusts, it only narrows a key pin; an unresolved pin says why", () => {
    const keyId: TrustPin = { kind: "key-id", label: "--expect-key k", keyId: statement.keyId };
    expect(evaluateTrust(statement, { pins: [keyId] }).reasons[0]).toContain(
      "does not prove which public key",
    );
    expect(evaluateTrust(statement, { pins: [keyId] }).reasons[0]).toContain("not checkable offline");
    expect(evaluateTrust(statement, { pins: [keyId, keysPin(signing.fingerprint)] }).trusted).toBe(true);
    // Offline, the ARN matches but the pinned public key is another: the reason says the offline binding failed.
    const offline = evaluateTrust(statement, { pins: [keyId, keysPin(newKey().fingerprint)] });
    expect(offline.trusted).toBe(false);
    expect(offline.reasons).toContain(
      `--expect-key k: checked offline against the pinned public key, which differs: the bundle names this key id, but was signed by key ${shortFingerprint(signing.fingerprint)}`,
    );
    const unresolved: TrustPin = { kind: "unresolved", label: "--expect-key k", reason: "KMS unreachable" };
    expect(
      evaluateTrust(statement, { pins: [unresolved, keysPin(signing.fingerprint)], trustEmbedded: true }),
    ).toMatchObject({
      trusted: false,
      reasons: ["--expect-key k: KMS unreachable"],
    });
  });

  it("carries the policy's notes to the outcome whatever the verdict", () => {
    const notes = ["--expect-key alias/x was not compared"];
    expect(evaluateTrust(statement, { pins: [keysPin(signing.fingerprint)], notes })).toMatchObject({
      trusted: true,
      notes,
    });
    expect(evaluateTrust(statement, { pins: [], notes })).toMatchObject({ trusted: false, notes });
    expect(evaluateTrust(statement, { pins: [] })).not.toHaveProperty("notes");
  });
});

describe("parseTrustFile", () => {
  const file = "/etc/keyproof/trust.json";
  it("accepts what signer export writes and becomes one pin of every key", () => {
    const other = newKey();
    const trust = parseTrustFile(
      file,
      JSON.stringify({
        keys: [
          {
            name: "2026",
            publicKey: signing.pem,
            fingerprint: signing.fingerprint,
            notBefore: "2026-01-01T00:00:00Z",
          },
          { name: "2027", publicKey: other.pem, fingerprint: other.fingerprint },
        ],
      }),
    );
    const pin = trustFilePin(file, trust);
    expect(pin).toMatchObject({ kind: "keys", anchors: [{ notBefore: "2026-01-01T00:00:00.000Z" }, {}] });
    expect(evaluateTrust(statement, { pins: [pin] }).matched).toEqual([`trust file ${file}: key "2026"`]);
  });

  it("names the file and the field of every problem", () => {
    expect(() => parseTrustFile(file, "{")).toThrow(`trust file ${file}: (file): is not valid JSON`);
    expect(() => parseTrustFile(file, JSON.stringify({ keys: [] }))).toThrow(
      `trust file ${file}: keys: must list at least one key`,
    );
    expect(() =>
      parseTrustFile(
        file,
        JSON.stringify({ keys: [{ name: "x", publicKey: "nope", fingerprint: "0".repeat(64) }] }),
      ),
    ).toThrow(`trust file ${file}: keys.0.publicKey: is not a PEM public key`);
    expect(() =>
      parseTrustFile(
        file,
        JSON.stringify({
          keys: [{ name: "x", publicKey: signing.pem, fingerprint: signing.fingerprint, notBefore: "soon" }],
        }),
      ),
    ).toThrow(`trust file ${file}: keys.0.notBefore:`);
    expect(() =>
      parseTrustFile(
        file,
        JSON.stringify({
          keys: [{ name: "x", publicKey: signing.pem, fingerprint: signing.fingerprint, owner: "me" }],
        }),
      ),
    ).toThrow(/keys\.0: Unrecognized key: "owner"|keys\.0\.owner/);
  });
});
