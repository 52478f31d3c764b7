import { execFileSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assemblePdf, type PdfDocumentInfo } from "./pdf-document.ts";

/** A one-page PDF written by hand with a correct xref, so this test needs neither Chromium nor pdf-lib. */
function minimalPdf(text: string): Uint8Array {
  const stream = `BT /F1 24 Tf 72 700 Td (${text}) Tj ET`;
  const objects = [
    "<< /Type /Catalog /Pages 2 0 R >>",
    "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
    `<< /Length ${stream.length} >>\nstream\n${stream}\nendstream`,
    "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
  ];
  let body = "%PDF-1.4\n";
  const offsets: number[] = [];
  objects.forEach((object, index) => {
    offsets.push(body.length);
    body += `${index + 1} 0 obj\n${object}\nendobj\n`;
  });
  const xref = body.length;
  body += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n${offsets.map((offset) => `${String(offset).padStart(10, "0")} 00000 n \n`).join("")}`;
  body += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return new TextEncoder().encode(body);
}

const info: PdfDocumentInfo = {
  title: "Findings report: Example Corp, 2026-Q3",
  subject: "SOC 2 CC6 evidence",
  author: "Example Corp",
  keywords: ["SOC 2", "run-1"],
  generatedAt: new Date("2026-10-01T09:30:00Z"),
  footer: "Example Corp - run run-1",
};

describe("assemblePdf", () => {
  let directory: string;
  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), "keyproof-pdf-"));
  });
  afterAll(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  it("merges parts in order and stamps page N of M and the generation date on every page", async () => {
    const pdf = await assemblePdf(
      [minimalPdf("First part"), minimalPdf("Second part"), minimalPdf("Third part")],
      info,
    );
    const file = join(directory, "merged.pdf");
    await writeFile(file, pdf);
    const pages = [1, 2, 3].map((page) =>
      execFileSync("pdftotext", ["-f", String(page), "-l", String(page), file, "-"], { encoding: "utf8" }),
    );
    expect(pages[0]).toContain("First part");
    expect(pages[1]).toContain("Second part");
    expect(pages[2]).toContain("Third part");
    pages.forEach((text, index) => {
      expect(text).toContain(`Page ${index + 1} of 3`);
      expect(text).toContain("generated 2026-10-01 09:30 UTC");
    });
  });

  it("sets the metadata from the caller, never the wall clock", async () => {
    const file = join(directory, "metadata.pdf");
    await writeFile(file, await assemblePdf([minimalPdf("x")], info));
    const metadata = execFileSync("pdfinfo", ["-isodates", file], { encoding: "utf8" });
    expect(metadata).toMatch(/Title:\s+Findings report: Example Corp, 2026-Q3/);
    expect(metadata).toMatch(/Author:\s+Example Corp/);
    expect(metadata).toMatch(/Producer:\s+keyproof/);
    expect(metadata).toMatch(/CreationDate:\s+2026-10-01T09:30:00Z/);
    expect(metadata).toMatch(/ModDate:\s+2026-10-01T09:30:00Z/);
  });

  it("is byte-identical for identical input", async () => {
    const parts = [minimalPdf("Same")];
    expect(
      Buffer.from(await assemblePdf(parts, info)).equals(Buffer.from(await assemblePdf(parts, info))),
    ).toBe(true);
  });

  it("replaces characters the standard PDF font cannot encode instead of failing", async () => {
    const file = join(directory, "unicode.pdf");
    await writeFile(file, await assemblePdf([minimalPdf("x")], { ...info, footer: "Société 例 run-1" }));
    expect(execFileSync("pdftotext", [file, "-"], { encoding: "utf8" })).toContain("Société ? run-1");
  });
});
