import type { Page, ScreenshotOptions } from "puppeteer";
import type { BrowserPool, PageJobOptions } from "./browser-pool.ts";
import { FOOTER_MARGIN_POINTS } from "./pdf-document.ts";

/**
 * HTML in, bytes out, on a pooled page. Content is set inline (no navigation, no file URL), and the page
 * waits for its fonts before capturing so a glyph never renders in a fallback face.
 */

export interface HtmlSource {
  /**
   * The template (under `templates/`) the HTML was rendered from. Pages of one template are written into
   * the document the previous one left, skipping a navigation: its Content-Security-Policy is in the
   * template text, the same every time. Absent: the page gets a new document.
   */
  template?: string;
}

function jobOptions(source: HtmlSource): PageJobOptions {
  return source.template === undefined ? {} : { documentKey: `template:${source.template}` };
}

async function loadContent(page: Page, html: string): Promise<void> {
  await page.setContent(html, { waitUntil: "load" });
  // A string, not a function: the project compiles without the DOM lib, and this is the only page-side code.
  await page.evaluate("document.fonts.ready.then(() => true)");
}

/**
 * A full-page PNG at the pool's viewport width, device scale 1. optimizeForSpeed picks a faster zlib level:
 * measured 2-3x faster capture for ~45% larger PNGs, and the pixels (what the golden test compares) are
 * identical. Exported so the benchmark's floor captures exactly what renderScreenshots captures.
 */
export const SCREENSHOT_OPTIONS = {
  type: "png",
  fullPage: true,
  captureBeyondViewport: true,
  optimizeForSpeed: true,
} as const satisfies ScreenshotOptions;

/** A full-page PNG of `html` (see {@link SCREENSHOT_OPTIONS}). */
export function screenshotHtml(
  pool: BrowserPool,
  html: string,
  label: string,
  source: HtmlSource = {},
): Promise<Uint8Array> {
  return pool.run(
    async (page) => {
      await loadContent(page, html);
      return page.screenshot(SCREENSHOT_OPTIONS);
    },
    label,
    jobOptions(source),
  );
}

const POINTS_PER_MILLIMETRE = 72 / 25.4;

/**
 * An A4 PDF with real text. The bottom margin leaves room for the footer pdf-document.ts stamps
 * ("Page N of M", generation date), so the stamp never overlaps content.
 */
export function printHtml(
  pool: BrowserPool,
  html: string,
  label: string,
  source: HtmlSource = {},
): Promise<Uint8Array> {
  return pool.run(
    async (page) => {
      await loadContent(page, html);
      return page.pdf({
        format: "A4",
        printBackground: true,
        preferCSSPageSize: false,
        displayHeaderFooter: false,
        margin: {
          top: "16mm",
          right: "14mm",
          bottom: `${Math.ceil(FOOTER_MARGIN_POINTS / POINTS_PER_MILLIMETRE) + 6}mm`,
          left: "14mm",
        },
        tagged: true,
        outline: false,
      });
    },
    label,
    jobOptions(source),
  );
}
