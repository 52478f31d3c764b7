/**
 * Start-up time of the CLI (issue 16): `keyproof --help` from the compiled dist/ against the TypeScript
 * sources through tsx, with `node -e 0` as the floor. Each is a fresh process, timed wall-clock; prints the
 * median and the range. Asserts nothing. Builds dist/ first when it is missing (`npm run build`).
 *
 *   npx tsx bench/cli-startup.bench.ts [--runs 10]
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const { values } = parseArgs({ options: { runs: { type: "string", default: "10" } } });
const runs = Number(values.runs);
const ROOT = fileURLToPath(new URL("../", import.meta.url));
const BIN = fileURLToPath(new URL("../bin/keyproof.js", import.meta.url));

if (!existsSync(new URL("../dist/src/cli/main.js", import.meta.url))) {
  process.stderr.write("dist/ is missing: running npm run build\n");
  execFileSync("npm", ["run", "build"], { cwd: ROOT, stdio: "inherit" });
}

interface Variant {
  name: string;
  args: string[];
  env: NodeJS.ProcessEnv;
}
const variants: Variant[] = [
  { name: "node -e 0", args: ["-e", "0"], env: process.env },
  { name: "keyproof --help (dist/)", args: [BIN, "--help"], env: { ...process.env, KEYPROOF_USE_DIST: "1" } },
  {
    name: "keyproof --help (tsx, src/)",
    args: [BIN, "--help"],
    env: { ...process.env, KEYPROOF_USE_DIST: "0" },
  },
];

function timeOnce(variant: Variant): number {
  const started = process.hrtime.bigint();
  const result = spawnSync(process.execPath, variant.args, { env: variant.env, stdio: "ignore" });
  if (result.status !== 0) throw new Error(`${variant.name} exited ${String(result.status)}`);
  return Number(process.hrtime.bigint() - started) / 1e6;
}

process.stdout.write(`${runs} runs each, load average ${loadavg()[0]?.toFixed(2) ?? "?"}\n`);
for (const variant of variants) {
  timeOnce(variant); // warm the file cache (and tsx's compile cache) once, not counted
  const times = Array.from({ length: runs }, () => timeOnce(variant)).sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)] ?? 0;
  process.stdout.write(
    `${variant.name.padEnd(30)} median ${median.toFixed(0).padStart(5)} ms  (min ${(times[0] ?? 0).toFixed(0)}, max ${(times.at(-1) ?? 0).toFixed(0)})\n`,
  );
}
