import { generateKeyPairSync, randomBytes } from "node:crypto";
import { chmod, link, mkdir, open, rename, rm } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { KeyproofError, describeError, nodeErrorCode } from "../errors/errors.ts";
import { localKeyId } from "./local-ed25519.signer.ts";

export interface GeneratedSigningKey {
  /** Absolute path of the private key file. */
  path: string;
  /** SubjectPublicKeyInfo PEM: publish it so auditors can pin it when verifying. */
  publicKeyPem: string;
  keyId: string;
}

/**
 * Writes a new Ed25519 private key as unencrypted PKCS#8 PEM, mode 0600. The key is written to a temporary
 * file in the same directory and then moved into place, so a crash never leaves a half-written key, and an
 * existing key is never replaced unless `force` is set (replacing it orphans every bundle it signed).
 */
export async function generateSigningKey(
  outPath: string,
  options: { force?: boolean } = {},
): Promise<GeneratedSigningKey> {
  const path = resolve(outPath);
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const privatePem = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  const publicKeyPem = publicKey.export({ type: "spki", format: "pem" }).toString();

  const directory = dirname(path);
  await mkdir(directory, { recursive: true, mode: 0o700 });
  const temporary = `${path}.${randomBytes(6).toString("hex")}.tmp`;
  try {
    const handle = await open(temporary, "wx", 0o600);
    try {
      await handle.writeFile(privatePem, "utf8");
      await handle.sync();
    } finally {
      await handle.close();
    }
    // The creation mode is filtered by the umask; 0600 is the point, so set it explicitly.
    await chmod(temporary, 0o600);
    if (options.force === true) {
      await rename(temporary, path);
    } else {
      // link() fails with EEXIST instead of replacing: an atomic "create only if absent".
      await link(temporary, path);
    }
  } catch (error) {
    if (nodeErrorCode(error) === "EEXIST") {
      throw new KeyproofError(
        "ARGUMENT_INVALID",
        `${path} already exists; refusing to overwrite a signing key`,
        {
          cause: error,
          remediation:
            "choose another --out path, or pass --force if the old key is no longer needed to verify bundles",
        },
      );
    }
    throw new KeyproofError(
      "SIGNING_KEY_UNAVAILABLE",
      `could not write signing key ${path}: ${describeError(error)}`,
      {
        cause: error,
      },
    );
  } finally {
    await rm(temporary, { force: true });
  }

  return { path, publicKeyPem, keyId: localKeyId(publicKey) };
}
