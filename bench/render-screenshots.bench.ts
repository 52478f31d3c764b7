/**
 * Screenshot throughput of the browser pool against a naive browser-per-screenshot baseline, measured in
 * the same run on the same machine. Prints figures; asserts nothing.
 *
 *   npx tsx bench/render-screenshots.bench.ts [--keys 500] [--baseline-keys 25] [--pool 4]
 *
 * Memory is sampled every 100 ms: the RSS of this node process plus every Chromium process below it
 * (read from /proc), and the same sum as PSS, which splits shared pages between processes instead of
 * counting them once per process (RSS over-counts Chromium's shared memory).
 */
import { readFile, readdir, mkdtemp, rm } from "node:fs/promises";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { BrowserPool } from "../src/render/browser-pool.ts";
import { buildScreenshotViews, renderScreenshots, type RenderInput } from "../src/render/render-evidence.ts";
import { screenshotHtml } from "../src/render/render-html.ts";
import { TemplateLibrary } from "../src/render/template.ts";
import { buildFixtureRenderInput, buildSyntheticSnapshot } from "../test/fixtures/render/render-fixture.ts";

const { values } = parseArgs({
  options: {
    keys: { type: "string", default: "500" },
    "baseline-keys": { type: "string", default: "25" },
    pool: { type: "string", default: "4" },
  },
});
const keyCount = Number(values.keys);
const baselineKeyCount = Number(values["baseline-keys"]);
const poolSize = Number(values.pool);

interface MemoryPeak {
  rssBytes: number;
  pssBytes: number;
  processes: number;
}

/** Children of each pid, from /proc/<pid>/stat (field 4 is the parent pid). */
async function processTree(root: number): Promise<number[]> {
  const children = new Map<number, number[]>();
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, "utf8");
      // The command name may contain spaces and parentheses: fields start after the last ")".
      const parent = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      children.set(parent, [...(children.get(parent) ?? []), Number(entry)]);
    } catch {
      // The process exited between readdir and readFile.
    }
  }
  const tree: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const pid = queue.shift() as number;
    tree.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return tree;
}

async function memoryOf(pid: number): Promise<{ rss: number; pss: number }> {
  try {
    const rollup = await readFile(`/proc/${pid}/smaps_rollup`, "utf8");
    const field = (name: string): number =>
      Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(rollup)?.[1] ?? 0) * 1024;
    return { rss: field("Rss"), pss: field("Pss") };
  } catch {
    return { rss: 0, pss: 0 };
  }
}

/** Samples node + descendants until stopped; returns the peak of the sums. */
function startSampler(): { stop: () => Promise<MemoryPeak> } {
  const peak: MemoryPeak = { rssBytes: 0, pssBytes: 0, processes: 0 };
  let running = true;
  const loop = (async () => {
    while (running) {
      const pids = await processTree(process.pid);
      let rss = 0;
      let pss = 0;
      for (const pid of pids) {
        const memory = await memoryOf(pid);
        rss += memory.rss;
        pss += memory.pss;
      }
      peak.rssBytes = Math.max(peak.rssBytes, rss);
      peak.pssBytes = Math.max(peak.pssBytes, pss);
      peak.processes = Math.max(peak.processes, pids.length);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return peak;
    },
  };
}

function megabytes(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(0)} MB`;
}

/** The HTML of every screenshot renderScreenshots would take, built the same way, for the baseline. */
async function screenshotPages(input: RenderInput, templates: TemplateLibrary): Promise<string[]> {
  const pages: string[] = [];
  for (const screenshot of buildScreenshotViews(input))
    pages.push(await templates.render(screenshot.template, screenshot.view));
  return pages;
}

const workDirectory = await mkdtemp(join(tmpdir(), "keyproof-bench-render-"));
try {
  console.log(
    `render-screenshots: ${availableParallelism()} CPUs, load average ${loadavg()
      .map((load) => load.toFixed(1))
      .join(" ")}, node ${process.version}`,
  );

  // Pool: the whole batch through one browser and `poolSize` reused pages, launch included.
  const poolDirectory = join(workDirectory, "pool");
  const poolInput = await buildFixtureRenderInput(poolDirectory, buildSyntheticSnapshot(keyCount));
  const poolSampler = startSampler();
  const pool = new BrowserPool({ size: poolSize, pageTimeoutMs: 120_000 });
  const poolStarted = performance.now();
  const files = await renderScreenshots(poolInput, poolDirectory, pool);
  const poolSeconds = (performance.now() - poolStarted) / 1000;
  await pool.close();
  const poolPeak = await poolSampler.stop();
  const poolRate = files.length / poolSeconds;
  console.log(
    `pool (${poolSize} pages, 1 browser): ${files.length} screenshots for ${keyCount} keys in ${poolSeconds.toFixed(1)} s = ${poolRate.toFixed(2)} screenshots/s; ` +
      `peak node+chromium RSS ${megabytes(poolPeak.rssBytes)} (PSS ${megabytes(poolPeak.pssBytes)}, ${poolPeak.processes} processes)`,
  );

  // Baseline: launch a browser, take one screenshot, close it; one after another.
  const baselineInput = await buildFixtureRenderInput(
    join(workDirectory, "baseline"),
    buildSyntheticSnapshot(baselineKeyCount),
  );
  const pages = await screenshotPages(baselineInput, new TemplateLibrary());
  const baselineSampler = startSampler();
  const baselineStarted = performance.now();
  for (const [index, html] of pages.entries()) {
    const single = new BrowserPool({ size: 1, pageTimeoutMs: 120_000 });
    try {
      await screenshotHtml(single, html, `baseline screenshot ${index}`);
    } finally {
      await single.close();
    }
  }
  const baselineSeconds = (performance.now() - baselineStarted) / 1000;
  const baselinePeak = await baselineSampler.stop();
  const baselineRate = pages.length / baselineSeconds;
  console.log(
    `baseline (1 browser per screenshot): ${pages.length} screenshots for ${baselineKeyCount} keys in ${baselineSeconds.toFixed(1)} s = ` +
      `${baselineRate.toFixed(2)} screenshots/s (${(baselineSeconds / pages.length).toFixed(2)} s per screenshot); ` +
      `peak node+chromium RSS ${megabytes(baselinePeak.rssBytes)} (PSS ${megabytes(baselinePeak.pssBytes)}, ${baselinePeak.processes} processes)`,
  );
  console.log(
    `pool vs baseline: ${(poolRate / baselineRate).toFixed(1)}x the throughput; the baseline would need ` +
      `${(files.length / baselineRate / 60).toFixed(1)} min for the pool's ${files.length} screenshots (pool: ${(poolSeconds / 60).toFixed(1)} min)`,
  );
} finally {
  await rm(workDirectory, { recursive: true, force: true });
}
