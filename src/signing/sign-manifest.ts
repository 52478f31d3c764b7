import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { KeyproofError, describeError, isKeyproofError } from "../errors/errors.ts";
import { publicKeyFingerprint } from "./fingerprint.ts";
import type { Signer } from "./signer.ts";
import {
  STATEMENT_FORMAT,
  SIGNATURE_FILE_VERSION,
  signatureFileText,
  statementBytes,
  verifySignatureRecord,
} from "./verify-signature.ts";
import type { SignatureRecord, SignedStatement } from "./verify-signature.ts";

/** Kept here rather than imported from evidence/paths.ts: signing must not import the layer above it. */
const MANIFEST_FILE = "manifest.json";
const SIGNATURE_FILE = "manifest.sig.json";

/**
 * Writes `manifest.sig.json` for the bundle in `directory`: signs a statement naming the SHA-256 of
 * `manifest.json` exactly as it is on disk, plus the signer's metadata and `signedAt`. The one function
 * that produces a signature file; sealing calls it, and so can a test that re-signs a tampered bundle with
 * another key (which is what an attacker would do; trust pinning is what stops that).
 *
 * The signature is checked before the file is written: a misconfigured transport (wrong algorithm,
 * another key) fails the run instead of producing bundles that never verify.
 */
export async function signManifest(
  directory: string,
  signer: Signer,
  options: { now?: Date } = {},
): Promise<SignatureRecord> {
  let manifestBytes: Buffer;
  try {
    manifestBytes = await readFile(join(directory, MANIFEST_FILE));
  } catch (error) {
    throw new KeyproofError(
      "INTERNAL",
      `cannot sign ${directory}: ${MANIFEST_FILE} cannot be read: ${describeError(error)}`,
      {
        cause: error,
      },
    );
  }
  const manifestSha256 = createHash("sha256").update(manifestBytes).digest("hex");
  const statement: SignedStatement = {
    format: STATEMENT_FORMAT,
    algorithm: signer.algorithm,
    keyId: signer.keyId,
    publicKey: signer.publicKeyPem,
    fingerprint: publicKeyFingerprint(signer.publicKeyPem),
    manifestSha256,
    signedAt: (options.now ?? signer.now?.() ?? new Date()).toISOString(),
  };

  let signature: Uint8Array;
  try {
    signature = await signer.sign(statementBytes(statement));
  } catch (error) {
    // A transport's own typed error (access denied, throttled and retryable) already says the most.
    if (isKeyproofError(error)) throw error;
    throw new KeyproofError(
      "SIGNING_KEY_UNAVAILABLE",
      `${signer.description} could not sign: ${describeError(error)}`,
      {
        cause: error,
      },
    );
  }
  const record: SignatureRecord = {
    version: SIGNATURE_FILE_VERSION,
    statement,
    signature: Buffer.from(signature).toString("base64"),
  };
  const check = verifySignatureRecord(record, manifestSha256);
  if (!check.ok) {
    throw new KeyproofError(
      "INTERNAL",
      `${signer.description} produced a signature that does not verify: ${check.reason}`,
    );
  }
  await writeFile(join(directory, SIGNATURE_FILE), signatureFileText(record));
  return record;
}
