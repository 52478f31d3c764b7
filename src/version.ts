import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const packageJson = require("../package.json") as { version: string };

/** Recorded in every manifest so an auditor knows which keyproof produced a bundle. */
export const KEYPROOF_VERSION: string = packageJson.version;
