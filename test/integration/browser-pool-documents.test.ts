import type { Page } from "puppeteer";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BrowserPool } from "../../src/render/browser-pool.ts";
import { decodePng } from "../../src/render/png-image.ts";
import { screenshotHtml } from "../../src/render/render-html.ts";

/**
 * Pages of one template share a document (no navigation between them); pages of different templates must
 * not share a Content-Security-Policy. Against real Chromium, on one page so every job reuses it.
 */

const RED = { red: 255, green: 0, blue: 0 };
const WHITE = { red: 255, green: 255, blue: 255 };

/** A page whose background is red only if its policy lets the inline style apply. */
function pageWithPolicy(styleSource: string): string {
  return `<!doctype html><html><head>
    <meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src ${styleSource}">
    <style>html, body { background: rgb(255, 0, 0); margin: 0; }</style>
    </head><body><p>policy ${styleSource}</p></body></html>`;
}

/** Forbids inline styles: the page stays white. */
const STRICT = pageWithPolicy("'none'");
/** Allows them: the page is red. */
const PERMISSIVE = pageWithPolicy("'unsafe-inline'");

function colourAt(png: Uint8Array, x: number, y: number): { red: number; green: number; blue: number } {
  const image = decodePng(png);
  const offset = (y * image.width + x) * 4;
  return {
    red: image.pixels[offset] ?? -1,
    green: image.pixels[offset + 1] ?? -1,
    blue: image.pixels[offset + 2] ?? -1,
  };
}

/**
 * Marks the page's window and says whether the mark was there already: document.open() keeps the window,
 * a navigation replaces it. A string, not a function: the project compiles without the DOM lib.
 */
const MARK_AND_CHECK =
  "(() => { const had = window.keyproofTestMark === true; window.keyproofTestMark = true; return had; })()";

describe("BrowserPool documents", () => {
  let pool: BrowserPool;
  beforeAll(async () => {
    pool = new BrowserPool({ size: 1, pageTimeoutMs: 60_000 });
    await pool.start();
  });
  afterAll(async () => {
    await pool?.close();
  });

  it("keeps one template's Content-Security-Policy out of the next template's screenshot", async () => {
    const strict = { template: "test/strict.html" };
    const permissive = { template: "test/permissive.html" };
    // Each order and each repetition: a template reused after itself, and after the other.
    const sequence = [strict, permissive, permissive, strict, strict, permissive];
    for (const [index, source] of sequence.entries()) {
      const html = source === strict ? STRICT : PERMISSIVE;
      const png = await screenshotHtml(pool, html, `policy ${index}`, source);
      expect(colourAt(png, 5, 5), `${source.template} (job ${index})`).toEqual(
        source === strict ? WHITE : RED,
      );
    }
  });

  it("would leak without a new document: the policy of a document outlives setContent (why keys matter)", async () => {
    // Both jobs under one key, which the pool's contract forbids for different policies: the permissive
    // page is written into the strict page's document and inherits its policy. If Chromium ever resets
    // the policy on document.open(), this fails and the navigation between templates could go.
    const key = { documentKey: "test:misused" };
    await pool.run((page) => page.setContent(STRICT, { waitUntil: "load" }), "strict", key);
    const background = await pool.run(
      async (page) => {
        await page.setContent(PERMISSIVE, { waitUntil: "load" });
        return page.evaluate("getComputedStyle(document.body).backgroundColor");
      },
      "permissive in the strict document",
      key,
    );
    expect(background).not.toBe("rgb(255, 0, 0)");
  });

  it("reuses a document only for the same key, and never after a failed job", async () => {
    const same = { documentKey: "test:same" };
    const markAndCheck = async (page: Page): Promise<unknown> => {
      // Written like a render job (and so never the browsing context's initial document, whose window a
      // navigation may keep).
      await page.setContent("<p>job</p>", { waitUntil: "load" });
      return page.evaluate(MARK_AND_CHECK);
    };
    expect(await pool.run(markAndCheck, "first", same)).toBe(false);
    expect(await pool.run(markAndCheck, "same key", same)).toBe(true);
    expect(await pool.run(markAndCheck, "other key", { documentKey: "test:other" })).toBe(false);
    expect(await pool.run(markAndCheck, "back to the first key", same)).toBe(false);
    expect(await pool.run(markAndCheck, "no key")).toBe(false);
    expect(await pool.run(markAndCheck, "no key again")).toBe(false);

    await pool.run(markAndCheck, "marks", same);
    await expect(
      pool.run(
        async () => {
          throw new Error("template failed");
        },
        "failing job",
        same,
      ),
    ).rejects.toThrow("template failed");
    expect(await pool.run(markAndCheck, "after a failure", same)).toBe(false);
  });

  it("replaces a document after 64 jobs", async () => {
    const key = { documentKey: "test:bounded" };
    const marks: unknown[] = [];
    for (let job = 0; job < 66; job++) {
      marks.push(await pool.run((page) => page.evaluate(MARK_AND_CHECK), `job ${job}`, key));
    }
    // A new document for the first job and again for the 65th.
    expect(marks.flatMap((mark, job) => (mark === false ? [job] : []))).toEqual([0, 64]);
  });
});
