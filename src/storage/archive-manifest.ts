import { createHash } from "node:crypto";
import { list as listTar } from "tar";
import { KeyproofError, describeError } from "../errors/errors.ts";
import { MANIFEST_FILE } from "../evidence/paths.ts";

/**
 * Reads `manifest.json` out of a sealed `.tar.gz` without unpacking the rest: the chain needs the previous
 * bundle's manifest digest, and a bundle's usage extracts can be gigabytes.
 */

/** `<run folder>/manifest.json` (what BundleWriter packs) or a bare `manifest.json` at the top. */
function isRootManifest(path: string): boolean {
  const normalized = path.replace(/^(\.\/)+/, "");
  if (normalized === MANIFEST_FILE) return true;
  const parts = normalized.split("/");
  return parts.length === 2 && parts[1] === MANIFEST_FILE && parts[0] !== "" && parts[0] !== "..";
}

export async function readArchiveManifest(archive: string): Promise<{ bytes: Buffer; sha256: string }> {
  const found: Buffer[][] = [];
  try {
    await listTar({
      file: archive,
      strict: true,
      onReadEntry: (entry) => {
        if (entry.type !== "File" || !isRootManifest(entry.path)) return;
        const chunks: Buffer[] = [];
        found.push(chunks);
        entry.on("data", (chunk: Buffer) => chunks.push(chunk));
      },
    });
  } catch (error) {
    throw new KeyproofError(
      "BUNDLE_INVALID",
      `${archive} is not a readable bundle archive: ${describeError(error)}`,
      {
        cause: error,
      },
    );
  }
  const only = found[0];
  if (only === undefined || found.length > 1) {
    throw new KeyproofError(
      "BUNDLE_INVALID",
      `${archive} holds ${found.length === 0 ? "no" : "more than one"} ${MANIFEST_FILE} at its root`,
    );
  }
  const bytes = Buffer.concat(only);
  return { bytes, sha256: createHash("sha256").update(bytes).digest("hex") };
}
