import type { ReviewRecord } from "../model/review.ts";
import type { BrowserPool } from "./browser-pool.ts";
import { assemblePdf } from "./pdf-document.ts";
import { printHtml } from "./render-html.ts";
import { TemplateLibrary } from "./template.ts";
import { buildAnnualReviewView } from "./view-models/annual-review.view-model.ts";

/**
 * The annual access review as a PDF, printed like every other report (templates/reports/annual-review.html,
 * Chromium print, pdf-lib assembly with the page stamp and metadata). Returns the bytes: the caller places
 * them in a bundle through its BundleWriter, so the file is hashed with everything else at seal time.
 */

export const ANNUAL_REVIEW_TEMPLATE = "reports/annual-review.html";

export interface RenderAnnualReviewOptions {
  /** Templates to use; one library per process keeps them compiled across renders. */
  templates?: TemplateLibrary;
  /**
   * Stamped on the PDF and in its metadata; defaults to now. Pass a fixed value for byte-identical output
   * on a rerun.
   */
  generatedAt?: Date;
}

let defaultTemplates: TemplateLibrary | undefined;

export async function renderAnnualReviewPdf(
  record: ReviewRecord,
  pool: BrowserPool,
  options: RenderAnnualReviewOptions = {},
): Promise<Uint8Array> {
  const templates = options.templates ?? (defaultTemplates ??= new TemplateLibrary());
  const generatedAt = options.generatedAt ?? new Date();
  const view = buildAnnualReviewView(record, generatedAt);
  const html = await templates.render(ANNUAL_REVIEW_TEMPLATE, view);
  const label = `annual review ${record.year} (${record.id})`;
  const printed = await printHtml(pool, html, label);
  return assemblePdf([printed], {
    title: `${view.report.title}: ${record.organization}`,
    subject: `SOC 2 CC6 annual access review ${record.year}, review ${record.id}, of run ${record.bundle.runId}`,
    author: record.organization,
    keywords: ["SOC 2", "CC6", "access review", String(record.year), record.id, record.bundle.runId],
    generatedAt,
    footer: `${record.organization} - Annual access review ${record.year} - review ${record.id}`,
  });
}
