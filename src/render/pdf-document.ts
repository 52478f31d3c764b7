import { PDFDocument, StandardFonts, rgb } from "pdf-lib";

/**
 * The only module that imports pdf-lib. Chromium prints the pages (real, selectable text); this module
 * merges the printed parts into one document, stamps "Page N of M" and the generation date on every page,
 * and sets the document metadata.
 *
 * Output is deterministic for deterministic input: pages are copied into a new document, which drops
 * Chromium's own Info dictionary and XMP packet (they carry the wall-clock print time), and every date
 * written is the caller's `generatedAt`.
 */

export interface PdfDocumentInfo {
  title: string;
  subject: string;
  /** The organisation the evidence is about. */
  author: string;
  keywords: string[];
  /** When the evidence was generated; used for the metadata dates and the footer, never the wall clock. */
  generatedAt: Date;
  /** Left-hand footer text, e.g. `Example Corp · run run-1`; the generation date is appended. */
  footer: string;
}

/** Space the stamp needs at the bottom of each page; printed parts must keep this margin free. */
export const FOOTER_MARGIN_POINTS = 36;

const FOOTER_BASELINE = 18;
const FOOTER_SIZE = 8;
const FOOTER_COLOR = rgb(0.35, 0.35, 0.35);

/**
 * The standard Helvetica of a PDF only encodes WinAnsi; anything outside it (an organisation name in
 * another script) would make pdf-lib throw, so it is replaced rather than failing the whole report.
 */
function toWinAnsi(text: string): string {
  return text.replace(/[^\u0020-\u007e\u00a0-\u00ff]/g, "?");
}

function formatGeneratedAt(date: Date): string {
  return `${date.toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

/** Merges printed parts in order, numbers and dates every page, sets metadata. */
export async function assemblePdf(parts: readonly Uint8Array[], info: PdfDocumentInfo): Promise<Uint8Array> {
  const document = await PDFDocument.create({ updateMetadata: false });
  for (const part of parts) {
    const source = await PDFDocument.load(part, { updateMetadata: false });
    const pages = await document.copyPages(source, source.getPageIndices());
    for (const page of pages) document.addPage(page);
  }

  const font = await document.embedFont(StandardFonts.Helvetica);
  const total = document.getPageCount();
  const left = toWinAnsi(`${info.footer} - generated ${formatGeneratedAt(info.generatedAt)}`);
  document.getPages().forEach((page, index) => {
    const { width } = page.getSize();
    const pageLabel = `Page ${index + 1} of ${total}`;
    page.drawText(left, { x: 40, y: FOOTER_BASELINE, size: FOOTER_SIZE, font, color: FOOTER_COLOR });
    page.drawText(pageLabel, {
      x: width - 40 - font.widthOfTextAtSize(pageLabel, FOOTER_SIZE),
      y: FOOTER_BASELINE,
      size: FOOTER_SIZE,
      font,
      color: FOOTER_COLOR,
    });
  });

  document.setTitle(info.title, { showInWindowTitleBar: true });
  document.setSubject(info.subject);
  document.setAuthor(info.author);
  document.setKeywords(info.keywords);
  document.setCreator("keyproof (Chromium print, pdf-lib assembly)");
  document.setProducer("keyproof");
  document.setCreationDate(info.generatedAt);
  document.setModificationDate(info.generatedAt);
  document.setLanguage("en");
  return document.save();
}
