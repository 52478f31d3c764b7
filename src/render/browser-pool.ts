import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import puppeteer from "puppeteer";
import type { Browser, HTTPRequest, Page } from "puppeteer";
import { KeyproofError, describeError } from "../errors/errors.ts";

/**
 * The one place keyproof launches a browser: one Chromium per process, a bounded set of pages reused
 * across jobs, and recovery from a browser or renderer crash without losing the job in flight.
 *
 * Why a pool rather than a browser per screenshot: launching Chromium costs about a second and a few
 * hundred MB; a quarter's evidence is hundreds of screenshots (bench/render-screenshots.bench.ts measures
 * the difference).
 */

export interface BrowserPoolOptions {
  /**
   * Pages kept open and reused; also the number of jobs rendered at once. Default {@link DEFAULT_POOL_SIZE},
   * the fastest size measured by bench/render-screenshots.bench.ts on a 2-core machine.
   */
  size?: number;
  /** Milliseconds one job may hold a page. Past it the page is discarded and the job fails. Default 30 000. */
  pageTimeoutMs?: number;
  /** CSS pixels; the device scale factor is always 1 so a PNG pixel is a CSS pixel. Default 1280×800. */
  viewport?: { width: number; height: number };
  /** Default: env KEYPROOF_CHROMIUM, else /usr/bin/chromium (Debian's package; puppeteer never downloads). */
  executablePath?: string;
  /** Told about every request the network guard refused, e.g. to log it. */
  onBlockedRequest?: (url: string) => void;
}

export interface BrowserPoolStats {
  /** Browser launches, the first included. */
  launches: number;
  /** Jobs retried on a fresh page after a crash. */
  retries: number;
  pagesCreated: number;
  /** URLs the network guard refused, in order. */
  blockedRequests: string[];
}

/** A unit of work on a page. It may run twice (after a crash), so it must not have side effects before it returns. */
export type PageJob<T> = (page: Page) => Promise<T>;

export interface PageJobOptions {
  /**
   * Lets this job write into the document the previous job with the same key left on its page, instead of
   * starting from a new one; a job without a key always gets a new document. Give one key only to jobs
   * whose documents carry the same Content-Security-Policy and other `http-equiv` headers (one template:
   * its policy is in the template text, and data cannot add a meta tag because every value is escaped),
   * because `page.setContent` writes through `document.open()`, which keeps the policies of the document
   * it writes into: a different policy would add to the old one instead of replacing it.
   */
  documentKey?: string;
}

/**
 * Flags for a headless Chromium that talks to nothing but us. Root needs `--no-sandbox`; the
 * `--disable-*` flags stop Chromium's own background traffic (component updates, sync, QUIC probes), and
 * the font flags make glyph rasterization the same run to run (the golden-image test depends on it).
 *
 * The proxy and resolver rules are the guard behind the guard: request interception never sees socket
 * opens such as `<link rel="preconnect">` (measured: one TCP connection escaped without them), so every
 * connection is sent to a closed local port and no host name resolves. DevTools runs over a pipe, so the
 * pool itself needs no network.
 */
export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-gpu",
  "--no-first-run",
  "--disable-sync",
  "--disable-quic",
  "--disable-default-apps",
  "--disable-extensions",
  "--disable-domain-reliability",
  "--no-default-browser-check",
  "--font-render-hinting=none",
  "--force-color-profile=srgb",
  "--hide-scrollbars",
  "--proxy-server=127.0.0.1:9",
  "--proxy-bypass-list=<-loopback>",
  "--host-resolver-rules=MAP * ~NOTFOUND",
] as const;

/** Only inline and local content renders; every other scheme is refused, so rendering never touches the network. */
export function isAllowedRenderUrl(url: string): boolean {
  return /^(data|file|about):/i.test(url);
}

/**
 * Measured, not guessed: bench/render-screenshots.bench.ts renders one batch with 1 to 4 pages. On the
 * 2-core machine of bench/RESULTS.md (medians of 3): 1 page 4.1/s, 2 pages 7.5/s, 3 pages 5.0/s, 4 pages
 * 7.5/s. 2 and 4 tie; 2 takes about 320 MB less peak RSS and varied less between rounds. Chromium's raster
 * and PNG encoding use the cores, so pages past the core count only queue. On a larger machine pass
 * `size` (rerun the benchmark to choose it).
 */
export const DEFAULT_POOL_SIZE = 2;
/**
 * A document is replaced by a fresh one after this many jobs wrote into it: document.open() keeps the
 * document's policy list, and whether Chromium appends a repeated meta policy each time is not documented,
 * so the list (checked on every resource load) never grows past this. The fresh navigation costs about
 * 30 ms, so the bound costs well under 1 ms a job.
 */
const MAX_JOBS_PER_DOCUMENT = 64;
const DEFAULT_PAGE_TIMEOUT_MS = 30_000;
const DEFAULT_VIEWPORT = { width: 1280, height: 800 };

interface PooledPage {
  page: Page;
  /** No job ran on this page yet: it holds the initial empty document. */
  fresh: boolean;
  /**
   * Key of the document the last job left (see {@link PageJobOptions.documentKey}); undefined when that job
   * named none or failed, so the next job gets a new document.
   */
  documentKey: string | undefined;
  /** Jobs that wrote into the current document (bounded by MAX_JOBS_PER_DOCUMENT). */
  documentJobs: number;
  /** Which browser launch the page belongs to; a page of an older launch is dead. */
  generation: number;
  crashed: boolean;
  /** Rejects when the renderer crashes or the browser goes away, so a job never waits on a dead page. */
  lost: Promise<never>;
  markLost: (reason: Error) => void;
}

type AttemptOutcome<T> =
  { kind: "done"; value: T } | { kind: "failed"; error: unknown } | { kind: "crashed"; error: unknown };

class RenderTimeout extends Error {
  override readonly name = "RenderTimeout";
}

/** Counting semaphore that bounds the jobs holding a page. */
class Slots {
  #free: number;
  readonly #waiting: Array<{ resolve: () => void; reject: (error: Error) => void }> = [];

  constructor(size: number) {
    this.#free = size;
  }

  acquire(): Promise<void> {
    if (this.#free > 0) {
      this.#free -= 1;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => this.#waiting.push({ resolve, reject }));
  }

  release(): void {
    const next = this.#waiting.shift();
    if (next === undefined) this.#free += 1;
    else next.resolve();
  }

  rejectAll(error: Error): void {
    for (const waiter of this.#waiting.splice(0)) waiter.reject(error);
  }
}

function looksLikeLostTarget(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  return (
    error.name === "TargetCloseError" ||
    /Target closed|Session closed|Connection closed|Page crashed|detached Frame|Execution context was destroyed/i.test(
      error.message,
    )
  );
}

export class BrowserPool {
  readonly #size: number;
  readonly #pageTimeoutMs: number;
  readonly #viewport: { width: number; height: number };
  readonly #executablePath: string;
  readonly #onBlockedRequest: ((url: string) => void) | undefined;
  readonly #slots: Slots;
  readonly #idle: PooledPage[] = [];
  readonly #busy = new Set<PooledPage>();
  #browser: Browser | undefined;
  #launching: Promise<Browser> | undefined;
  #generation = 0;
  #closed = false;
  /** Profile removals in progress; close() waits for them so a worker that exits leaves no temp directory. */
  readonly #removals = new Set<Promise<void>>();
  readonly #stats: BrowserPoolStats = { launches: 0, retries: 0, pagesCreated: 0, blockedRequests: [] };

  constructor(options: BrowserPoolOptions = {}) {
    this.#size = options.size ?? DEFAULT_POOL_SIZE;
    if (!Number.isInteger(this.#size) || this.#size < 1) {
      throw new KeyproofError(
        "ARGUMENT_INVALID",
        `browser pool size must be a positive integer, got ${this.#size}`,
      );
    }
    this.#pageTimeoutMs = options.pageTimeoutMs ?? DEFAULT_PAGE_TIMEOUT_MS;
    this.#viewport = options.viewport ?? DEFAULT_VIEWPORT;
    this.#executablePath = options.executablePath ?? process.env.KEYPROOF_CHROMIUM ?? "/usr/bin/chromium";
    this.#onBlockedRequest = options.onBlockedRequest;
    this.#slots = new Slots(this.#size);
  }

  get size(): number {
    return this.#size;
  }

  stats(): BrowserPoolStats {
    return { ...this.#stats, blockedRequests: [...this.#stats.blockedRequests] };
  }

  /** PID of the running browser process, for memory sampling and crash tests; undefined before launch. */
  browserProcessId(): number | undefined {
    return this.#browser?.connected === true ? this.#browser.process()?.pid : undefined;
  }

  /** Launches the browser now instead of on the first job, so launch failures surface at boot. */
  async start(): Promise<void> {
    await this.#ensureBrowser();
  }

  /**
   * Runs `job` on a pooled page. A crash of the browser or of the page's renderer during the job relaunches
   * what died and runs the job once more on a fresh page; a second crash, a timeout, or the job's own error
   * fails the call.
   */
  async run<T>(job: PageJob<T>, label = "render job", options: PageJobOptions = {}): Promise<T> {
    this.#assertOpen();
    await this.#slots.acquire();
    try {
      let crash: unknown;
      for (let attempt = 1; attempt <= 2; attempt++) {
        this.#assertOpen();
        if (attempt === 2) this.#stats.retries += 1;
        const outcome = await this.#attempt(job, label, options.documentKey);
        if (outcome.kind === "done") return outcome.value;
        if (outcome.kind === "failed") throw outcome.error;
        crash = outcome.error;
      }
      throw new KeyproofError(
        "INTERNAL",
        `${label}: the browser crashed twice while rendering (${describeError(crash)})`,
        {
          cause: crash,
          remediation: "check the render worker's memory limit and Chromium's stderr",
        },
      );
    } finally {
      this.#slots.release();
    }
  }

  /** Closes every page and the browser; jobs still waiting for a page are rejected. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#slots.rejectAll(new KeyproofError("INTERNAL", "the browser pool was closed"));
    const browser = this.#browser ?? (await this.#launching?.catch(() => undefined));
    this.#browser = undefined;
    this.#idle.length = 0;
    if (browser !== undefined) await this.#shutDown(browser);
    await Promise.all([...this.#removals]);
  }

  #assertOpen(): void {
    if (this.#closed) throw new KeyproofError("INTERNAL", "the browser pool is closed");
  }

  async #attempt<T>(
    job: PageJob<T>,
    label: string,
    documentKey: string | undefined,
  ): Promise<AttemptOutcome<T>> {
    let pooled: PooledPage;
    try {
      pooled = await this.#takePage(documentKey);
    } catch (error) {
      if (this.#closed) return { kind: "failed", error };
      // The browser died between launch and newPage, or could not start: worth one more try.
      return { kind: "crashed", error };
    }
    this.#busy.add(pooled);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new RenderTimeout(`${label} took longer than ${this.#pageTimeoutMs} ms`)),
        this.#pageTimeoutMs,
      );
    });
    try {
      const value = await Promise.race([this.#runOnPage(pooled, job, documentKey), pooled.lost, timeout]);
      this.#busy.delete(pooled);
      this.#release(pooled);
      return { kind: "done", value };
    } catch (error) {
      this.#busy.delete(pooled);
      if (error instanceof RenderTimeout) {
        this.#discard(pooled);
        return {
          kind: "failed",
          error: new KeyproofError("INTERNAL", error.message, {
            cause: error,
            remediation: "raise the page timeout or look for a template that never finishes loading",
          }),
        };
      }
      const lost =
        pooled.crashed ||
        pooled.generation !== this.#generation ||
        this.#browser?.connected !== true ||
        looksLikeLostTarget(error);
      if (lost) {
        this.#discard(pooled);
        return { kind: "crashed", error };
      }
      // The job's own failure (a bad template, a page error): the page itself is healthy and goes back.
      this.#release(pooled);
      return { kind: "failed", error };
    } finally {
      clearTimeout(timer);
    }
  }

  async #runOnPage<T>(pooled: PooledPage, job: PageJob<T>, documentKey: string | undefined): Promise<T> {
    const reuse =
      documentKey !== undefined &&
      pooled.documentKey === documentKey &&
      pooled.documentJobs < MAX_JOBS_PER_DOCUMENT;
    // Otherwise a used page starts from a new document: setContent writes into the current one, which
    // would keep the previous job's Content-Security-Policy (measured: a policy forbidding inline styles
    // still applied to the next document written). The navigation is about a third of a screenshot's
    // time, which is why jobs of one template skip it.
    if (!reuse && !pooled.fresh) {
      await pooled.page.goto("about:blank");
      pooled.documentJobs = 0;
    }
    pooled.fresh = false;
    pooled.documentKey = undefined;
    const value = await job(pooled.page);
    pooled.documentKey = documentKey;
    pooled.documentJobs += 1;
    return value;
  }

  /** An idle page of the same document key if there is one (its document is reused), else the last released. */
  async #takePage(documentKey: string | undefined): Promise<PooledPage> {
    for (let index = this.#idle.length - 1; index >= 0; index--) {
      const pooled = this.#idle[index] as PooledPage;
      if (pooled.crashed || pooled.generation !== this.#generation) this.#idle.splice(index, 1);
    }
    let chosen = this.#idle.length - 1;
    if (documentKey !== undefined) {
      for (let index = this.#idle.length - 1; index >= 0; index--) {
        if (this.#idle[index]?.documentKey === documentKey) {
          chosen = index;
          break;
        }
      }
    }
    const [pooled] = chosen >= 0 ? this.#idle.splice(chosen, 1) : [];
    return pooled ?? this.#createPage();
  }

  #release(pooled: PooledPage): void {
    if (this.#closed || pooled.crashed || pooled.generation !== this.#generation) {
      this.#discard(pooled);
      return;
    }
    this.#idle.push(pooled);
  }

  #discard(pooled: PooledPage): void {
    pooled.crashed = true;
    if (!pooled.page.isClosed() && this.#browser?.connected === true) {
      // Not awaited: a hung renderer may never answer; the browser reaps the target either way.
      pooled.page.close().catch(() => undefined);
    }
  }

  async #createPage(): Promise<PooledPage> {
    const browser = await this.#ensureBrowser();
    const generation = this.#generation;
    // Each page in its own window: headless Chromium stops producing frames for a background tab, and a
    // screenshot of it then waits forever (measured: 7 of 16 concurrent captures hung with tabs, 0 with windows).
    const page = await browser.newPage({ type: "window" });
    this.#stats.pagesCreated += 1;
    let markLost: (reason: Error) => void = () => undefined;
    const lost = new Promise<never>((_, reject) => {
      markLost = reject;
    });
    lost.catch(() => undefined);
    const pooled: PooledPage = {
      page,
      fresh: true,
      documentKey: undefined,
      documentJobs: 0,
      generation,
      crashed: false,
      lost,
      markLost,
    };
    // `error` is puppeteer's renderer-crash event ("Page crashed!"); calls on a crashed page can hang.
    page.on("error", (error) => {
      pooled.crashed = true;
      pooled.markLost(error);
    });
    page.setDefaultTimeout(this.#pageTimeoutMs);
    page.setDefaultNavigationTimeout(this.#pageTimeoutMs);
    await page.setViewport({ ...this.#viewport, deviceScaleFactor: 1 });
    // Templates are static HTML; with scripts off, nothing in rendered data could open a WebSocket or
    // WebRTC channel (which interception does not see). page.evaluate still works over DevTools.
    await page.setJavaScriptEnabled(false);
    await page.setRequestInterception(true);
    page.on("request", (request: HTTPRequest) => this.#guardRequest(request));
    return pooled;
  }

  #guardRequest(request: HTTPRequest): void {
    const url = request.url();
    // Another handler may already have answered (interception resolution is cooperative in puppeteer).
    if (request.isInterceptResolutionHandled()) return;
    if (isAllowedRenderUrl(url)) {
      request.continue().catch(() => undefined);
      return;
    }
    this.#stats.blockedRequests.push(url);
    this.#onBlockedRequest?.(url);
    request.abort("blockedbyclient").catch(() => undefined);
  }

  #ensureBrowser(): Promise<Browser> {
    if (this.#closed) return Promise.reject(new KeyproofError("INTERNAL", "the browser pool is closed"));
    if (this.#browser?.connected === true) return Promise.resolve(this.#browser);
    this.#launching ??= this.#launch().finally(() => {
      this.#launching = undefined;
    });
    return this.#launching;
  }

  async #launch(): Promise<Browser> {
    // A fresh profile per launch: nothing (cache, cookies, crash state) carries from one browser to the next.
    const userDataDir = await mkdtemp(join(tmpdir(), "keyproof-chromium-"));
    let browser: Browser;
    try {
      browser = await puppeteer.launch({
        executablePath: this.#executablePath,
        headless: true,
        // DevTools over a pipe, not a TCP port: nothing listens, and the pipe closing is how a crash is seen.
        pipe: true,
        userDataDir,
        args: [...CHROMIUM_ARGS],
        defaultViewport: { ...this.#viewport, deviceScaleFactor: 1 },
        // A worker owns its signals (graceful SIGTERM); puppeteer must not kill the browser behind its back.
        handleSIGINT: false,
        handleSIGTERM: false,
        handleSIGHUP: false,
        // Bounds each DevTools call, launch included; jobs have their own (shorter) page timeout.
        protocolTimeout: Math.max(60_000, this.#pageTimeoutMs * 2),
      });
    } catch (error) {
      await removeProfile(userDataDir);
      throw new KeyproofError(
        "INTERNAL",
        `Chromium could not be launched from ${this.#executablePath}: ${describeError(error)}`,
        {
          cause: error,
          remediation: "install Debian's chromium package or set KEYPROOF_CHROMIUM to a Chromium binary",
        },
      );
    }
    this.#stats.launches += 1;
    this.#generation += 1;
    const generation = this.#generation;
    browser.on("disconnected", () => this.#onDisconnected(browser, generation, userDataDir));
    if (this.#closed) {
      await this.#shutDown(browser);
      throw new KeyproofError("INTERNAL", "the browser pool was closed while the browser started");
    }
    this.#browser = browser;
    return browser;
  }

  #onDisconnected(browser: Browser, generation: number, userDataDir: string): void {
    if (this.#browser === browser) this.#browser = undefined;
    // Pages of this launch are dead: drop the idle ones, and wake jobs still waiting on busy ones.
    const lost = new Error(`the browser disconnected (launch ${generation})`);
    for (const pooled of [...this.#idle, ...this.#busy]) {
      if (pooled.generation !== generation) continue;
      pooled.crashed = true;
      pooled.markLost(lost);
    }
    for (let index = this.#idle.length - 1; index >= 0; index--) {
      if (this.#idle[index]?.generation === generation) this.#idle.splice(index, 1);
    }
    const child = browser.process();
    const remove = (): void => {
      const removal = removeProfile(userDataDir).finally(() => this.#removals.delete(removal));
      this.#removals.add(removal);
    };
    if (child !== null && child.exitCode === null && child.signalCode === null) {
      // Disconnected but alive (a wedged browser): make sure it goes, then remove its profile.
      child.once("exit", remove);
      child.kill("SIGKILL");
    } else {
      remove();
    }
  }

  async #shutDown(browser: Browser): Promise<void> {
    const child = browser.process();
    const exited =
      child === null || child.exitCode !== null || child.signalCode !== null
        ? Promise.resolve()
        : new Promise<void>((resolve) => child.once("exit", () => resolve()));
    const closing = browser.close().catch(() => undefined);
    const graceful = await Promise.race([closing.then(() => true), delay(5_000).then(() => false)]);
    if (!graceful) child?.kill("SIGKILL");
    await Promise.race([exited, delay(5_000)]);
  }
}

/**
 * Best effort: a browser that is still exiting may write into its profile while it is removed (ENOTEMPTY),
 * and a leftover temp directory must never fail a render.
 */
async function removeProfile(userDataDir: string): Promise<void> {
  await rm(userDataDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 }).catch(
    () => undefined,
  );
}

function delay(milliseconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, milliseconds).unref());
}
