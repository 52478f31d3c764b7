import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ReviewRecord } from "../../src/model/review.ts";
import { BrowserPool } from "../../src/render/browser-pool.ts";
import { renderAnnualReviewPdf } from "../../src/render/render-annual-review.ts";
import { buildAnnualReviewView } from "../../src/render/view-models/annual-review.view-model.ts";
import { decisionsSha256 } from "../../src/review/canonical-decisions.ts";
import { cellsOf, readPdfLines, readPdfTable, type PdfLine } from "../support/pdf-words.ts";
import {
  REVIEWED_MANIFEST_SHA256,
  makeReviewItem,
  makeReviewRecord,
} from "../factories/review-record.factory.ts";

/**
 * The annual review PDF against real Chromium, read back with pdftotext: every item's decision, note and
 * ticket, the sign-off and both digests are in the text, a note longer than a page wraps and paginates
 * without losing a word, and markup in a note is printed as text.
 */

const run = promisify(execFile);

/** Reading-order text without the page stamps: a note split by a page break reads on across it. */
async function pdfText(file: string): Promise<string> {
  const { stdout } = await run("pdftotext", [file, "-"], { maxBuffer: 64 * 1024 * 1024 });
  return stdout
    .split("\n")
    .filter((line) => !/ - Annual access review \d{4} - review .* - generated .* UTC$/.test(line))
    .filter((line) => !/^Page \d+ of \d+$/.test(line))
    .join("\n");
}

/** Whitespace removed: text wrapped at any point of a cell (a long URL, a long word) compares whole. */
function squash(text: string): string {
  return text.replace(/\s+/g, "");
}

const ITEM_ID = /^(grant|rotation|logging|finding)-\d{3}$/;

/**
 * The cells of every row of the grid tables with `headers`, by item id, read from word boxes: a cell's
 * words stay together even where the row splits across pages (reading order would interleave the columns).
 * `first`: only the first such table (the remediations table precedes the tables by key).
 */
function rowsOf(
  lines: readonly PdfLine[],
  headers: readonly string[],
  first: boolean,
): Map<string, string[]> {
  const rows = new Map<string, string[]>();
  const startsRow = (line: PdfLine): boolean => ITEM_ID.test(line.words[0]?.text ?? "");
  for (
    let table = readPdfTable(lines, headers, startsRow);
    table !== undefined;
    table = first ? undefined : readPdfTable(lines, headers, startsRow, table.end)
  ) {
    for (const words of table.rows) {
      const id = words[0]?.text ?? "";
      if (ITEM_ID.test(id)) rows.set(id, cellsOf(table.columns, words));
    }
  }
  return rows;
}

const LONG_TOKEN = "0123456789abcdef".repeat(8);
const LONG_NOTE = [
  ...Array.from(
    { length: 70 },
    (_, index) =>
      `Sentence ${index + 1} of the long note explains why this key's rotation is deferred until the HSM migration.`,
  ),
  `Reference ${LONG_TOKEN} ends the note.`,
].join(" ");
const MARKUP_NOTE = `Kept: <b>not bold</b> & "quoted" <script>alert('x')</script>`;
const ODD_TICKET = 'https://tickets.example.com/browse/SEC-777?from=review&tab="all"';

function buildRecord(): ReviewRecord {
  const items = Array.from({ length: 40 }, (_, index) => makeReviewItem(index, 7));
  // Item 1 (rotation, accepted risk): the note longer than a page.
  items[1]!.decision = { ...items[1]!.decision!, note: LONG_NOTE };
  // Item 4 (grant, revoke): markup and a ticket URL with characters that must be escaped.
  items[4]!.decision = { ...items[4]!.decision!, note: MARKUP_NOTE, ticketUrl: ODD_TICKET };
  // Item 8 (grant, change): a reviewer's name in the note, outside ASCII.
  items[8]!.decision = {
    ...items[8]!.decision!,
    note: "Changed at the request of Zoë Ångström-Łukasiewicz (Ελένη).",
  };
  const record = makeReviewRecord({ items, signed: true, signedAt: "2026-11-30T16:00:00.000Z" });
  record.organization = "Exämple Corp";
  record.signOff = {
    ...record.signOff!,
    name: "Zoë Ångström-Łukasiewicz",
    title: "Directrice de la sécurité — RSSI",
    decisionsSha256: decisionsSha256(record),
  };
  return record;
}

describe("the annual review PDF", () => {
  let pool: BrowserPool;
  let directory: string;
  let record: ReviewRecord;
  let text: string;
  let pages: number;
  let remediationRows: Map<string, string[]>;
  let keyRows: Map<string, string[]>;
  /** Every word from the word boxes, without spaces: pdftotext's reading order drops a line-end hyphen. */
  let boxText: string;

  beforeAll(async () => {
    pool = new BrowserPool({ size: 1 });
    directory = await mkdtemp(join(tmpdir(), "keyproof-annual-review-"));
    record = buildRecord();
    const pdf = await renderAnnualReviewPdf(record, pool, { generatedAt: new Date("2026-12-01T08:00:00Z") });
    const file = join(directory, "annual-review-2026.pdf");
    await writeFile(file, pdf);
    text = await pdfText(file);
    const lines = await readPdfLines(file);
    boxText = lines.flatMap((line) => line.words.map((word) => word.text)).join("");
    remediationRows = rowsOf(lines, ["Item", "Decision", "Note", "Ticket"], true);
    keyRows = rowsOf(lines, ["Item", "Status", "Decision", "Note", "Ticket"], false);
    const { stdout } = await run("pdfinfo", [file]);
    pages = Number(/Pages:\s+(\d+)/.exec(stdout)?.[1]);
  });

  afterAll(async () => {
    await pool.close();
    await rm(directory, { recursive: true, force: true });
  });

  it("names the review, the reviewer, their title, the signing date and both digests", () => {
    expect(text).toContain("Annual access review 2026");
    expect(text).toContain("Exämple Corp");
    expect(text).toContain("rv-2026-0001");
    expect(text).toContain("Zoë Ångström-Łukasiewicz");
    expect(text).toContain("Directrice de la sécurité — RSSI");
    expect(text).toContain("2026-11-30 16:00:00 UTC");
    expect(text).toContain("alice-reviewer");
    expect(text).toContain(record.signOff!.decisionsSha256);
    expect(text).toContain(REVIEWED_MANIFEST_SHA256);
    expect(text).toContain(record.bundle.runId);
    expect(boxText).toContain(record.bundle.location);
  });

  it("shows every item under its key with its status, decision, decider, note and ticket", () => {
    expect([...keyRows.keys()].sort()).toEqual(record.items.map((item) => item.id).sort());
    for (const item of record.items) {
      const decision = item.decision!;
      const [what, status, decided, note, ticket] = keyRows.get(item.id)!;
      expect(squash(what!), item.id).toContain(squash(`${item.title}${item.resource}`));
      expect(status, item.id).toBe(item.status);
      expect(squash(decided!), item.id).toBe(
        squash(
          `${decision.decision} ${decision.decidedBy}, ${decision.decidedAt.slice(0, 19).replace("T", " ")} UTC`,
        ),
      );
      expect(squash(note!), item.id).toBe(squash(decision.note));
      expect(squash(ticket!), item.id).toBe(squash(decision.ticketUrl ?? "None"));
    }
  });

  it("lists every decision but keep again under remediations and accepted risks, with note and ticket", () => {
    const listed = record.items.filter((item) => item.decision?.decision !== "keep");
    expect([...remediationRows.keys()].sort()).toEqual(listed.map((item) => item.id).sort());
    for (const item of listed) {
      const [, decision, note, ticket] = remediationRows.get(item.id)!;
      expect(decision, item.id).toBe(item.decision!.decision);
      expect(squash(note!), item.id).toBe(squash(item.decision!.note));
      expect(squash(ticket!), item.id).toBe(squash(item.decision!.ticketUrl ?? "None"));
    }
  });

  it("paginates: the long note spans pages and loses no word, markup is printed as text", () => {
    expect(pages).toBeGreaterThan(3);
    expect(squash(keyRows.get("rotation-001")![3]!)).toContain(LONG_TOKEN);
    expect(text).toContain(`<b>not bold</b> & "quoted"`);
    expect(text).toContain("<script>alert('x')</script>");
  });

  it("counts decisions in the summary and groups items by key (view model)", () => {
    const view = buildAnnualReviewView(record, new Date("2026-12-01T08:00:00Z"));
    expect(view.remediations.map((item) => item.itemId)).toEqual(
      record.items
        .filter((item) => item.decision?.decision !== "keep")
        .map((item) => item.id)
        .sort(),
    );
    const grants = record.items.filter((item) => item.kind === "grant");
    expect(view.summary.grants).toEqual([
      { label: "Kept", count: String(grants.filter((item) => item.decision?.decision === "keep").length) },
      {
        label: "Revoked",
        count: String(grants.filter((item) => item.decision?.decision === "revoke").length),
      },
      {
        label: "Changed",
        count: String(grants.filter((item) => item.decision?.decision === "change").length),
      },
    ]);
    expect(text).toContain("Remediations and accepted risks");
    // One group per key or location, headed source / location / key.
    expect(view.keys.map((group) => group.heading)).toContain("aws-prod / eu-west-1 / key-00");
    expect(view.keys.map((group) => group.heading)).toContain("vault-main / transit");
  });
});
