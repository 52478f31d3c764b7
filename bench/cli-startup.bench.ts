/**
 * Start-up time of the CLI (issue 16): `keyproof --help` from the compiled dist/ against the TypeScript
 * sources through tsx, with `node -e 0` as the floor, and `keyproof verify` of the demo's sealed bundle
 * (pinned to the demo's signer through its config) when `bash scripts/demo.sh` has left one. Each is a fresh
 * process, timed wall-clock; prints the median and the range. Asserts nothing. Builds dist/ first when it is
 * missing (`npm run build`).
 *
 *   npx tsx bench/cli-startup.bench.ts [--runs 10] [--bundle <dir or .tar.gz> --config <keyproof.yaml>]
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "10" },
    bundle: { type: "string" },
    config: { type: "string" },
  },
});
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

/** The newest sealed demo archive and the demo's config, when the demo has run in this checkout. */
function demoBundle(): { bundle: string; config: string } | undefined {
  const demo = join(ROOT, ".keyproof", "demo");
  const evidence = join(demo, "evidence");
  if (!existsSync(evidence) || !existsSync(join(demo, "keyproof.yaml"))) return undefined;
  const newest = readdirSync(evidence)
    .filter((name) => name.endsWith(".tar.gz"))
    .map((name) => join(evidence, name))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
  return newest === undefined ? undefined : { bundle: newest, config: join(demo, "keyproof.yaml") };
}

const verifyTarget =
  values.bundle !== undefined && values.config !== undefined
    ? { bundle: values.bundle, config: values.config }
    : demoBundle();
if (verifyTarget === undefined) {
  process.stderr.write(
    "no demo bundle (run bash scripts/demo.sh, or pass --bundle and --config): verify not timed\n",
  );
} else {
  variants.push({
    name: "keyproof verify (dist/)",
    args: [BIN, "verify", verifyTarget.bundle, "--config", verifyTarget.config],
    env: { ...process.env, KEYPROOF_USE_DIST: "1" },
  });
}

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
