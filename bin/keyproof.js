#!/usr/bin/env node
// Entry for the `keyproof` bin.
//
// What users install (the npm package, the Docker image) has no src/: it runs the compiled JavaScript in
// dist/ that `npm run build` writes. A development checkout has src/ and tsx (a devDependency): there the
// TypeScript sources run through tsx, so an edit is never shadowed by a stale dist/ (the CLI tests spawn
// this file). KEYPROOF_USE_DIST=1 makes a checkout run its dist/ instead (benchmarks, checking a build).
import { existsSync } from "node:fs";
import { URL } from "node:url";

const sources = new URL("../src/cli/main.ts", import.meta.url);
const compiled = new URL("../dist/src/cli/main.js", import.meta.url);

async function loadTsx() {
  try {
    return await import("tsx/esm/api");
  } catch {
    return undefined;
  }
}

let main;
const tsx = process.env.KEYPROOF_USE_DIST !== "1" && existsSync(sources) ? await loadTsx() : undefined;
if (tsx !== undefined) {
  tsx.register();
  ({ main } = await import(sources.href));
} else if (existsSync(compiled)) {
  ({ main } = await import(compiled.href));
} else {
  process.stderr.write("keyproof: dist/ is missing: run `npm run build` (or `npm ci` for tsx) first\n");
  process.exit(1);
}
process.exitCode = await main(process.argv);
