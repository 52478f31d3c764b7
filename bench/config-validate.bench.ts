/**
 * Config validation cost against inventory size (issue 11: 100,000 entries once took 75 s and 1.1 GB).
 * Parses and validates generated configs of growing size in this process; prints wall time, CPU time and
 * heap growth per size so linear growth is visible. Asserts nothing.
 *
 *   npx tsx bench/config-validate.bench.ts [--sizes 12500,25000,50000,100000]
 */
import { loadavg } from "node:os";
import { parseArgs } from "node:util";
import { parseConfigText } from "../src/config/load-config.ts";
import { makeConfigText } from "../test/factories/config-text.factory.ts";

const { values } = parseArgs({ options: { sizes: { type: "string", default: "12500,25000,50000,100000" } } });
const sizes = values.sizes.split(",").map(Number);

process.stdout.write(`load average ${loadavg()[0]?.toFixed(2) ?? "?"}\n`);
for (const entries of sizes) {
  const text = makeConfigText({ entries });
  global.gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const config = parseConfigText(text, "bench.yaml");
  const wall = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  const heap = (process.memoryUsage().heapUsed - heapBefore) / 1024 / 1024;
  process.stdout.write(
    `${String(entries).padStart(7)} entries  ${(Buffer.byteLength(text) / 1024 / 1024).toFixed(1).padStart(5)} MB  ` +
      `wall ${wall.toFixed(0).padStart(6)} ms  cpu ${((cpu.user + cpu.system) / 1000).toFixed(0).padStart(6)} ms  ` +
      `heap +${heap.toFixed(0)} MB  (${config.keys.length} validated)\n`,
  );
}
