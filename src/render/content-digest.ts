import { createHash } from "node:crypto";

/**
 * The "content digest" printed on the evidence index: SHA-256 over one line `<path> <sha256>\n` per
 * artifact, sorted by path (UTF-16 code units, as the manifest sorts). Anyone can recompute it from the
 * files with standard tools; it is not the manifest digest, which cannot appear in a file the manifest lists.
 */
export interface DigestedFile {
  /** Bundle-relative path. */
  path: string;
  sha256: string;
  bytes: number;
}

export function contentDigestLines(files: readonly Pick<DigestedFile, "path" | "sha256">[]): string {
  return [...files]
    .sort((left, right) => (left.path < right.path ? -1 : left.path > right.path ? 1 : 0))
    .map((file) => `${file.path} ${file.sha256}\n`)
    .join("");
}

export function computeContentDigest(files: readonly Pick<DigestedFile, "path" | "sha256">[]): string {
  return createHash("sha256").update(contentDigestLines(files), "utf8").digest("hex");
}
