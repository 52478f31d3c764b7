/**
 * Screenshot throughput: the browser pool (at 1 to 4 pages) against one browser per screenshot and against
 * the floor, a bare `page.screenshot` loop; all on the same pictures, interleaved round by round, medians
 * printed with the machine and the ratios. Prints figures; asserts nothing.
 *
 *   npx tsx bench/render-screenshots.bench.ts [--keys 150] [--baseline-keys 10] [--rounds 3] [--sizes 1,2,3,4]
 *
 * - floor: one pooled page (the pool's flags and page set-up); each picture of the batch is loaded untimed,
 *   then only `page.screenshot` (the options renderScreenshots uses) is timed. Nothing can go faster than
 *   this on one page: it is Chromium's capture and PNG encoding alone.
 * - pool N: renderScreenshots over the whole batch with N pages (HTML built, PNG captured, file written),
 *   the browser already launched (its launch is printed apart).
 * - pool N, new document each: the same with every screenshot on a new document (what the pool did before
 *   pages of one template shared a document): the cost of the navigation it saves.
 * - one browser per screenshot: launch, screenshot, close, on a smaller batch.
 *
 * Memory is sampled every 250 ms: RSS of this node process plus every Chromium process below it (/proc),
 * and the same sum as PSS, which splits shared pages between processes instead of counting them per process.
 */
import { mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { availableParallelism, cpus, loadavg, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { BrowserPool, DEFAULT_POOL_SIZE } from "../src/render/browser-pool.ts";
import { buildScreenshotViews, renderScreenshots, type RenderInput } from "../src/render/render-evidence.ts";
import { SCREENSHOT_OPTIONS, screenshotHtml } from "../src/render/render-html.ts";
import { TemplateLibrary } from "../src/render/template.ts";
import { buildFixtureRenderInput, buildSyntheticSnapshot } from "../test/fixtures/render/render-fixture.ts";

const { values } = parseArgs({
  options: {
    keys: { type: "string", default: "150" },
    "baseline-keys": { type: "string", default: "10" },
    rounds: { type: "string", default: "3" },
    sizes: { type: "string", default: "1,2,3,4" },
  },
});
const keyCount = Number(values.keys);
const baselineKeyCount = Number(values["baseline-keys"]);
const rounds = Number(values.rounds);
const poolSizes = values.sizes.split(",").map(Number);

interface MemoryPeak {
  rssBytes: number;
  pssBytes: number;
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
  const peak: MemoryPeak = { rssBytes: 0, pssBytes: 0 };
  let running = true;
  const loop = (async () => {
    while (running) {
      let rss = 0;
      let pss = 0;
      for (const pid of await processTree(process.pid)) {
        const memory = await memoryOf(pid);
        rss += memory.rss;
        pss += memory.pss;
      }
      peak.rssBytes = Math.max(peak.rssBytes, rss);
      peak.pssBytes = Math.max(peak.pssBytes, pss);
      await new Promise((resolve) => setTimeout(resolve, 250));
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

function median(samples: readonly number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

/** The HTML of every screenshot renderScreenshots would take, built the same way. */
async function screenshotPages(input: RenderInput, templates: TemplateLibrary): Promise<string[]> {
  const pages: string[] = [];
  for (const screenshot of buildScreenshotViews(input))
    pages.push(await templates.render(screenshot.template, screenshot.view));
  return pages;
}

interface Measurement {
  screenshots: number;
  seconds: number;
  peak: MemoryPeak;
}

async function measured(work: () => Promise<number>): Promise<Measurement> {
  const sampler = startSampler();
  const started = performance.now();
  const screenshots = await work();
  const seconds = (performance.now() - started) / 1000;
  return { screenshots, seconds, peak: await sampler.stop() };
}

/** Only the screenshots are timed: each picture is loaded first, on one page set up as the pool does. */
async function measureFloor(pages: readonly string[]): Promise<Measurement> {
  const pool = new BrowserPool({ size: 1, pageTimeoutMs: 600_000 });
  await pool.start();
  const sampler = startSampler();
  try {
    const milliseconds = await pool.run(async (page) => {
      let total = 0;
      for (const html of pages) {
        await page.setContent(html, { waitUntil: "load" });
        await page.evaluate("document.fonts.ready.then(() => true)");
        const started = performance.now();
        await page.screenshot(SCREENSHOT_OPTIONS);
        total += performance.now() - started;
      }
      return total;
    }, "floor");
    return { screenshots: pages.length, seconds: milliseconds / 1000, peak: await sampler.stop() };
  } finally {
    await pool.close();
  }
}

async function measurePool(
  input: RenderInput,
  directory: string,
  size: number,
  newDocumentEach: boolean,
): Promise<Measurement & { launchSeconds: number }> {
  const pool = new BrowserPool({ size, pageTimeoutMs: 120_000 });
  const launchStarted = performance.now();
  await pool.start();
  const launchSeconds = (performance.now() - launchStarted) / 1000;
  try {
    const result = newDocumentEach
      ? await measured(async () => {
          // Without a template, screenshotHtml asks the pool for a new document every time.
          const pages = await screenshotPages(input, new TemplateLibrary());
          let next = 0;
          const worker = async (): Promise<void> => {
            while (next < pages.length) {
              const index = next++;
              await screenshotHtml(pool, pages[index] as string, `new document ${index}`);
            }
          };
          await Promise.all(Array.from({ length: size * 2 }, worker));
          return pages.length;
        })
      : await measured(async () => (await renderScreenshots(input, directory, pool)).length);
    return { ...result, launchSeconds };
  } finally {
    await pool.close();
    await rm(directory, { recursive: true, force: true });
  }
}

async function measureBrowserPerScreenshot(pages: readonly string[]): Promise<Measurement> {
  return measured(async () => {
    for (const [index, html] of pages.entries()) {
      const single = new BrowserPool({ size: 1, pageTimeoutMs: 120_000 });
      try {
        await screenshotHtml(single, html, `browser per screenshot ${index}`);
      } finally {
        await single.close();
      }
    }
    return pages.length;
  });
}

const workDirectory = await mkdtemp(join(tmpdir(), "keyproof-bench-render-"));
try {
  const cpu = cpus()[0]?.model ?? "unknown CPU";
  console.log(
    `machine: ${availableParallelism()} CPUs (${cpu}), ${megabytes(totalmem())} RAM, node ${process.version}, ` +
      `load average at start ${loadavg()
        .map((load) => load.toFixed(1))
        .join(" ")}`,
  );
  const input = await buildFixtureRenderInput(join(workDirectory, "input"), buildSyntheticSnapshot(keyCount));
  const pages = await screenshotPages(input, new TemplateLibrary());
  const baselineInput = await buildFixtureRenderInput(
    join(workDirectory, "baseline-input"),
    buildSyntheticSnapshot(baselineKeyCount),
  );
  const baselinePages = await screenshotPages(baselineInput, new TemplateLibrary());
  console.log(
    `batch: ${pages.length} screenshots for ${keyCount} keys (1 browser per screenshot: ${baselinePages.length} ` +
      `for ${baselineKeyCount} keys); ${rounds} rounds, interleaved; medians below`,
  );

  const cases = [
    { name: "floor: bare page.screenshot loop on one page", run: () => measureFloor(pages) },
    ...poolSizes.map((size) => ({
      name: `pool, ${size} page${size === 1 ? "" : "s"}`,
      size,
      run: () => measurePool(input, join(workDirectory, `pool-${size}`), size, false),
    })),
    {
      name: `pool, ${DEFAULT_POOL_SIZE} pages, new document each screenshot (before)`,
      run: () => measurePool(input, join(workDirectory, "pool-new-document"), DEFAULT_POOL_SIZE, true),
    },
    { name: "one browser per screenshot", run: () => measureBrowserPerScreenshot(baselinePages) },
  ];
  const rates = new Map<string, number[]>();
  const peaks = new Map<string, MemoryPeak[]>();
  const launches: number[] = [];
  for (let round = 1; round <= rounds; round++) {
    for (const benchCase of cases) {
      const result: Measurement & { launchSeconds?: number } = await benchCase.run();
      const rate = result.screenshots / result.seconds;
      rates.set(benchCase.name, [...(rates.get(benchCase.name) ?? []), rate]);
      peaks.set(benchCase.name, [...(peaks.get(benchCase.name) ?? []), result.peak]);
      if (result.launchSeconds !== undefined) launches.push(result.launchSeconds);
      console.log(`  round ${round}: ${benchCase.name}: ${rate.toFixed(2)} screenshots/s`);
    }
  }

  const floorRate = median(rates.get(cases[0]?.name ?? "") ?? []);
  const baselineRate = median(rates.get(cases[cases.length - 1]?.name ?? "") ?? []);
  console.log(
    `\nmedian of ${rounds} (browser launch, not in the pool figures: ${median(launches).toFixed(2)} s)`,
  );
  for (const benchCase of cases) {
    const rate = median(rates.get(benchCase.name) ?? []);
    const peak = peaks.get(benchCase.name) ?? [];
    console.log(
      `${benchCase.name}: ${rate.toFixed(2)} screenshots/s = ${((rate / floorRate) * 100).toFixed(0)}% of the floor, ` +
        `${(rate / baselineRate).toFixed(1)}x one browser per screenshot; peak node+chromium RSS ` +
        `${megabytes(median(peak.map((sample) => sample.rssBytes)))} (PSS ${megabytes(median(peak.map((sample) => sample.pssBytes)))})`,
    );
  }
  const fastest = cases
    .filter((benchCase) => "size" in benchCase)
    .map((benchCase) => ({ benchCase, rate: median(rates.get(benchCase.name) ?? []) }))
    .sort((a, b) => b.rate - a.rate)[0];
  console.log(
    `fastest pool size here: ${fastest?.benchCase.name ?? "none"} (DEFAULT_POOL_SIZE is ${DEFAULT_POOL_SIZE})`,
  );
} finally {
  await rm(workDirectory, { recursive: true, force: true });
}
