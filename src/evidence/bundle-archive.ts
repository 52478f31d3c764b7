import { open, readdir } from "node:fs/promises";
import { join } from "node:path";
import { extract as extractTar } from "tar";
import { bundlePathProblem } from "./bundle-path.ts";
import { hashFile, readBundleTree } from "./bundle-tree.ts";
import type { Manifest } from "./manifest.ts";
import { MANIFEST_FILE, SIGNATURE_FILE } from "./paths.ts";

/**
 * The byte-level half of `keyproof verify`: reading a bundle archive entry by entry and listing what a bundle
 * directory holds against its manifest. Kept apart from the signature checks in verify-bundle.ts.
 */

export interface AlteredFile {
  path: string;
  /** SHA-256 hex from the manifest. */
  expected: string;
  /** SHA-256 hex of the file found, or what was found instead of a regular file. */
  actual: string;
}

export interface FilesCheck {
  checked: number;
  missing: string[];
  extra: string[];
  altered: AlteredFile[];
}

export async function checkFiles(directory: string, manifest: Manifest | undefined): Promise<FilesCheck> {
  const tree = await readBundleTree(directory);
  const present = new Set(tree.files.filter((path) => path !== MANIFEST_FILE && path !== SIGNATURE_FILE));
  const special = new Map(tree.others.map((other) => [other.path, other.kind]));
  const result: FilesCheck = { checked: 0, missing: [], extra: [], altered: [] };
  if (manifest === undefined) return result;

  const listed = new Set<string>();
  for (const entry of manifest.files) {
    listed.add(entry.path);
    result.checked++;
    const kind = special.get(entry.path);
    if (kind !== undefined) {
      result.altered.push({
        path: entry.path,
        expected: entry.sha256,
        actual: `(${kind}, not a regular file)`,
      });
      continue;
    }
    if (!present.has(entry.path)) {
      result.missing.push(entry.path);
      continue;
    }
    const actual = await hashFile(join(directory, entry.path));
    if (actual.sha256 !== entry.sha256 || actual.bytes !== entry.bytes) {
      result.altered.push({ path: entry.path, expected: entry.sha256, actual: actual.sha256 });
    }
  }
  for (const path of present) if (!listed.has(path)) result.extra.push(path);
  for (const path of special.keys()) {
    // A link in place of manifest.json or manifest.sig.json is already reported by those checks.
    if (!listed.has(path) && path !== MANIFEST_FILE && path !== SIGNATURE_FILE) result.extra.push(path);
  }
  result.extra.sort();
  return result;
}

/** Entry path as tar reports it, without a leading `./` or a trailing `/`. */
function normalizeEntryPath(path: string): string {
  return path.replace(/^(\.\/)+/, "").replace(/\/+$/, "");
}

/**
 * Extracts into `into`, refusing anything a bundle never contains: links, devices, absolute or `..` paths,
 * the same file twice. Refused entries are not written and are reported; the archive then fails.
 */
export async function extractArchive(archive: string, into: string): Promise<{ rejected: string[] }> {
  const rejected: string[] = [];
  const seen = new Set<string>();
  await extractTar({
    file: archive,
    cwd: into,
    strict: true,
    preserveOwner: false,
    filter: (path, entry) => {
      const type = "type" in entry ? entry.type : "Unknown";
      const normalized = normalizeEntryPath(path);
      if (type !== "File" && type !== "OldFile" && type !== "Directory") {
        rejected.push(`${path} (${type}: only files and directories are allowed)`);
        return false;
      }
      if (normalized === "" || normalized === ".") return type === "Directory";
      const problem = bundlePathProblem(normalized);
      if (problem !== undefined) {
        rejected.push(`${path} (${problem})`);
        return false;
      }
      if (seen.has(normalized)) {
        rejected.push(`${path} (appears twice in the archive)`);
        return false;
      }
      seen.add(normalized);
      return true;
    },
  });
  return { rejected };
}

/** The bundle root inside an extracted archive: its single top-level folder, or the top level itself. */
export async function findBundleRoot(extracted: string): Promise<string | undefined> {
  const top = await readdir(extracted, { withFileTypes: true });
  if (top.some((entry) => entry.name === MANIFEST_FILE)) return extracted;
  const only = top[0];
  if (top.length === 1 && only !== undefined && only.isDirectory()) return join(extracted, only.name);
  return undefined;
}

export async function isGzip(path: string): Promise<boolean> {
  const handle = await open(path, "r");
  try {
    const header = Buffer.alloc(2);
    const { bytesRead } = await handle.read(header, 0, 2, 0);
    return bytesRead === 2 && header[0] === 0x1f && header[1] === 0x8b;
  } finally {
    await handle.close();
  }
}
