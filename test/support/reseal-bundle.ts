/**
 * What an attacker with their own key does to a bundle: edit files, then rebuild SHA256SUMS, the manifest
 * (naming their key) and manifest.sig.json with `signManifest`, so the bundle is self-consistent and its
 * signature valid. Only trust pinning can reject the result; the tests use this to prove it does.
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { hashFile } from "../../src/evidence/bundle-tree.ts";
import { ManifestSchema, canonicalManifestBytes } from "../../src/evidence/manifest.ts";
import type { Manifest } from "../../src/evidence/manifest.ts";
import { CHECKSUMS_FILE, MANIFEST_FILE, SIGNER_PUBLIC_KEY_FILE } from "../../src/evidence/paths.ts";
import { checksumsText } from "../../src/evidence/verify-instructions.ts";
import { publicKeyFingerprint } from "../../src/signing/fingerprint.ts";
import { signManifest } from "../../src/signing/sign-manifest.ts";
import type { Signer } from "../../src/signing/signer.ts";
import type { SignatureRecord } from "../../src/signing/verify-signature.ts";

export async function resealBundle(
  directory: string,
  signer: Signer,
  options: {
    /** Runs before anything is re-hashed: edit evidence files here. */
    edit?: (directory: string) => Promise<void>;
    /** Rewrites the manifest fields before it is written (e.g. a description the attacker chose). */
    manifest?: (manifest: Manifest) => Manifest;
    now?: Date;
  } = {},
): Promise<SignatureRecord> {
  await options.edit?.(directory);
  await writeFile(join(directory, SIGNER_PUBLIC_KEY_FILE), signer.publicKeyPem);
  const manifest = ManifestSchema.parse(JSON.parse(await readFile(join(directory, MANIFEST_FILE), "utf8")));
  const listed: Manifest["files"] = [];
  for (const file of manifest.files) {
    if (file.path !== CHECKSUMS_FILE)
      listed.push({ path: file.path, ...(await hashFile(join(directory, file.path))) });
  }
  await writeFile(join(directory, CHECKSUMS_FILE), checksumsText(listed));
  const checksums = { path: CHECKSUMS_FILE, ...(await hashFile(join(directory, CHECKSUMS_FILE))) };
  const rebuilt: Manifest = {
    ...manifest,
    signer: {
      description: signer.description,
      keyId: signer.keyId,
      fingerprint: publicKeyFingerprint(signer.publicKeyPem),
    },
    files: manifest.files.map((file) =>
      file.path === CHECKSUMS_FILE ? checksums : (listed.find((entry) => entry.path === file.path) ?? file),
    ),
  };
  await writeFile(
    join(directory, MANIFEST_FILE),
    canonicalManifestBytes(options.manifest?.(rebuilt) ?? rebuilt),
  );
  return signManifest(directory, signer, options.now === undefined ? {} : { now: options.now });
}
