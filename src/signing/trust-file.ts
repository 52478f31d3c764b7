import { createPublicKey } from "node:crypto";
import { readFile, rename, writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import { z } from "zod";
import { KeyproofError, describeError } from "../errors/errors.ts";
import { publicKeyFingerprint, publicKeyPemOf } from "./fingerprint.ts";
import type { TrustAnchor, TrustPin } from "./trust.ts";

/**
 * A trust file: the signing keys an organization publishes to its auditors (`keyproof signer export`
 * writes it; `keyproof verify --trust <file>` or `KEYPROOF_TRUST` reads it). JSON:
 *
 *     { "keys": [ { "name": "prod 2026", "publicKey": "-----BEGIN PUBLIC KEY-----…",
 *                   "fingerprint": "<sha256 hex of SPKI DER>", "keyId": "arn:aws:kms:…",
 *                   "notBefore": "2026-01-01T00:00:00Z", "notAfter": "2027-01-01T00:00:00Z" } ] }
 *
 * `fingerprint` must be the fingerprint of `publicKey` (a typo in either is caught here, not at audit time);
 * `keyId`, `notBefore` and `notAfter` are optional. A bundle is trusted by the file when its key is one of
 * these keys and it was signed within that key's window.
 */

const DateTimeSchema = z.iso.datetime({
  offset: true,
  message: "must be an ISO-8601 date and time, e.g. 2026-01-01T00:00:00Z",
});

export const TrustedKeySchema = z.strictObject({
  name: z.string().min(1, "must name the key"),
  publicKey: z.string().min(1),
  fingerprint: z
    .string()
    .regex(/^[0-9a-f]{64}$/, "must be the lowercase SHA-256 hex of the public key's SPKI DER"),
  keyId: z.string().min(1).optional(),
  notBefore: DateTimeSchema.optional(),
  notAfter: DateTimeSchema.optional(),
});
export type TrustedKey = z.infer<typeof TrustedKeySchema>;

export const TrustFileSchema = z.strictObject({
  keys: z.array(TrustedKeySchema).min(1, "must list at least one key"),
});
export type TrustFile = z.infer<typeof TrustFileSchema>;

function invalid(file: string, field: string, message: string): KeyproofError {
  return new KeyproofError("ARGUMENT_INVALID", `trust file ${file}: ${field}: ${message}`, {
    remediation: "write it with keyproof signer export, or fix the field named",
  });
}

/** Parses and checks a trust file's text; every error names the file and the field. */
export function parseTrustFile(file: string, text: string): TrustFile {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw invalid(file, "(file)", `is not valid JSON: ${describeError(error)}`);
  }
  const parsed = TrustFileSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw invalid(
      file,
      issue === undefined || issue.path.length === 0 ? "(file)" : issue.path.map(String).join("."),
      issue?.message ?? "invalid",
    );
  }
  parsed.data.keys.forEach((key, index) => {
    let actual: string;
    try {
      actual = publicKeyFingerprint(createPublicKey(key.publicKey));
    } catch {
      throw invalid(file, `keys.${index}.publicKey`, "is not a PEM public key");
    }
    if (actual !== key.fingerprint) {
      throw invalid(
        file,
        `keys.${index}.fingerprint`,
        `is ${key.fingerprint}, but the public key's fingerprint is ${actual}`,
      );
    }
    if (
      key.notBefore !== undefined &&
      key.notAfter !== undefined &&
      Date.parse(key.notBefore) > Date.parse(key.notAfter)
    ) {
      throw invalid(file, `keys.${index}.notAfter`, `is before notBefore (${key.notBefore})`);
    }
  });
  return parsed.data;
}

export async function loadTrustFile(path: string): Promise<TrustFile> {
  const file = resolve(path);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    throw new KeyproofError("ARGUMENT_INVALID", `cannot read trust file ${file}: ${describeError(error)}`, {
      cause: error,
    });
  }
  return parseTrustFile(file, text);
}

/** The trust file as a verifier pin: one anchor per key, windows normalised to UTC. */
export function trustFilePin(file: string, trust: TrustFile): TrustPin {
  return {
    kind: "keys",
    label: `trust file ${file}`,
    anchors: trust.keys.map((key): TrustAnchor => ({
      label: `trust file ${file}: key "${key.name}"`,
      fingerprint: key.fingerprint,
      ...(key.keyId === undefined ? {} : { keyId: key.keyId }),
      ...(key.notBefore === undefined ? {} : { notBefore: new Date(key.notBefore).toISOString() }),
      ...(key.notAfter === undefined ? {} : { notAfter: new Date(key.notAfter).toISOString() }),
    })),
  };
}

/** The entry `keyproof signer export` writes for a signer. */
export function trustedKeyFor(input: {
  name: string;
  publicKeyPem: string;
  keyId?: string;
  notBefore?: string;
  notAfter?: string;
}): TrustedKey {
  return {
    name: input.name,
    publicKey: publicKeyPemOf(input.publicKeyPem),
    fingerprint: publicKeyFingerprint(input.publicKeyPem),
    ...(input.keyId === undefined ? {} : { keyId: input.keyId }),
    ...(input.notBefore === undefined ? {} : { notBefore: input.notBefore }),
    ...(input.notAfter === undefined ? {} : { notAfter: input.notAfter }),
  };
}

/**
 * Adds `key` to the trust file at `path` (created when absent), replacing an entry with the same
 * fingerprint: exporting again after a rotation keeps the old key, so old bundles stay verifiable.
 */
export async function writeTrustFile(path: string, key: TrustedKey): Promise<TrustFile> {
  const file = resolve(path);
  let existing: TrustFile = { keys: [] };
  let text: string | undefined;
  try {
    text = await readFile(file, "utf8");
  } catch {
    text = undefined;
  }
  if (text !== undefined) existing = parseTrustFile(file, text);
  const keys = [...existing.keys.filter((entry) => entry.fingerprint !== key.fingerprint), key];
  const trust: TrustFile = { keys };
  const temporary = `${file}.tmp`;
  await writeFile(temporary, `${JSON.stringify(trust, null, 2)}\n`);
  await rename(temporary, file);
  return trust;
}
