import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { lstat, readdir } from "node:fs/promises";
import { join } from "node:path";

/** What a bundle directory holds, as bundle-relative POSIX paths sorted by UTF-16 code units. */
export interface BundleTree {
  files: string[];
  directories: string[];
  /** Symbolic links, sockets, devices...: never part of a bundle. Links are not followed. */
  others: Array<{ path: string; kind: string }>;
}

function kindOf(stats: { isSymbolicLink(): boolean; isFIFO(): boolean; isSocket(): boolean }): string {
  if (stats.isSymbolicLink()) return "symbolic link";
  if (stats.isFIFO()) return "named pipe";
  if (stats.isSocket()) return "socket";
  return "device or other special file";
}

export function byCodeUnits(left: string, right: string): number {
  if (left < right) return -1;
  return left > right ? 1 : 0;
}

/** Walks `root` without following links. Iterative, so deep trees do not grow the call stack. */
export async function readBundleTree(root: string): Promise<BundleTree> {
  const tree: BundleTree = { files: [], directories: [], others: [] };
  const pending: string[] = [""];
  while (pending.length > 0) {
    const relative = pending.pop() ?? "";
    const entries = await readdir(relative === "" ? root : join(root, relative));
    for (const name of entries) {
      const path = relative === "" ? name : `${relative}/${name}`;
      const stats = await lstat(join(root, path));
      if (stats.isDirectory()) {
        tree.directories.push(path);
        pending.push(path);
      } else if (stats.isFile()) {
        tree.files.push(path);
      } else {
        tree.others.push({ path, kind: kindOf(stats) });
      }
    }
  }
  tree.files.sort(byCodeUnits);
  tree.directories.sort(byCodeUnits);
  tree.others.sort((left, right) => byCodeUnits(left.path, right.path));
  return tree;
}

/** Streamed SHA-256, so a multi-gigabyte usage extract never sits in memory. */
export async function hashFile(path: string): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash("sha256");
  let bytes = 0;
  for await (const chunk of createReadStream(path)) {
    const buffer = chunk as Buffer;
    hash.update(buffer);
    bytes += buffer.length;
  }
  return { sha256: hash.digest("hex"), bytes };
}
