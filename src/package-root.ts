import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The directory holding keyproof's package.json (and templates/), found by walking up from this file.
 * The same code runs from two layouts: `src/package-root.ts` in a checkout (one level down) and
 * `dist/src/package-root.js` after `npm run build` (two levels down); a fixed `../` fits only one of them.
 */
function findPackageRoot(start: string): string {
  for (let directory = start; ;) {
    if (existsSync(path.join(directory, "package.json"))) return directory;
    const parent = path.dirname(directory);
    if (parent === directory) throw new Error(`keyproof: no package.json above ${start}`);
    directory = parent;
  }
}

export const PACKAGE_ROOT: string = findPackageRoot(path.dirname(fileURLToPath(import.meta.url)));
