#!/usr/bin/env node
// Entry for the `keyproof` bin. The TypeScript sources run through tsx's loader (no build step), so a
// checkout, `npm ci` and `npx keyproof` are all a user needs.
import { register } from "tsx/esm/api";

register();
const { main } = await import("../src/cli/main.ts");
process.exitCode = await main(process.argv);
