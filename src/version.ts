import { readFileSync } from "node:fs";
import path from "node:path";
import { PACKAGE_ROOT } from "./package-root.ts";

const packageJson = JSON.parse(readFileSync(path.join(PACKAGE_ROOT, "package.json"), "utf8")) as {
  version: string;
};

/** Recorded in every manifest so an auditor knows which keyproof produced a bundle. */
export const KEYPROOF_VERSION: string = packageJson.version;
