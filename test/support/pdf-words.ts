import { execFile } from "node:child_process";
import { promisify } from "node:util";

/**
 * A PDF's words with their boxes (`pdftotext -bbox`), grouped into lines, and the grid tables in it read
 * back cell by cell. Reading order (`pdftotext` without `-layout`) scatters table cells and `-layout` pads
 * them into one line per row, so neither tells which column a word sits in; the word boxes do.
 */

const run = promisify(execFile);

export interface PdfWord {
  page: number;
  x0: number;
  y0: number;
  x1: number;
  y1: number;
  text: string;
}

export interface PdfLine {
  page: number;
  y0: number;
  y1: number;
  words: PdfWord[];
}

/** Space left for the footer pdf-document.ts stamps on every page ("Page N of M"): not content. */
const FOOTER_HEIGHT = 36;

const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', "#39": "'", apos: "'" };

function unescapeEntities(text: string): string {
  return text.replace(/&(amp|lt|gt|quot|#39|apos);/g, (_, name: string) => ENTITIES[name] ?? "");
}

/** Lines top to bottom, page by page; words left to right. Page footers are left out. */
export async function readPdfLines(file: string): Promise<PdfLine[]> {
  const { stdout } = await run("pdftotext", ["-bbox", file, "-"], { maxBuffer: 64 * 1024 * 1024 });
  const lines: PdfLine[] = [];
  const pages = stdout.split("<page ").slice(1);
  for (const [page, markup] of pages.entries()) {
    const height = Number(/height="([\d.]+)"/.exec(markup)?.[1]);
    const words = [
      ...markup.matchAll(
        /<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)<\/word>/g,
      ),
    ]
      .map(([, x0, y0, x1, y1, text]) => ({
        page,
        x0: Number(x0),
        y0: Number(y0),
        x1: Number(x1),
        y1: Number(y1),
        text: unescapeEntities(text ?? ""),
      }))
      .filter((word) => word.y0 < height - FOOTER_HEIGHT)
      .sort((left, right) => left.y0 - right.y0);
    let line: PdfLine | undefined;
    for (const word of words) {
      // Words of one line overlap vertically even where their font sizes differ (a mono id, a small name).
      if (line !== undefined && word.y0 < line.y1 - 2) {
        line.words.push(word);
        line.y1 = Math.max(line.y1, word.y1);
      } else {
        line = { page, y0: word.y0, y1: word.y1, words: [word] };
        lines.push(line);
      }
    }
  }
  for (const line of lines) line.words.sort((left, right) => left.x0 - right.x0);
  return lines;
}

export interface PdfTable {
  /** Left edge of each column's header word. */
  columns: number[];
  /** The words of each row, in reading order. */
  rows: PdfWord[][];
  /** Index of the first line after the table. */
  end: number;
}

/**
 * The first grid table at or after line `from` whose header line holds `headers` (the first word of each
 * column's header) in order. A column spans from its header word's left edge to the next one's; the table
 * ends at the first line that starts left of the first column (a heading, a paragraph). `startsRow` says
 * whether a line begins a new row. Undefined when no such table follows.
 */
export function readPdfTable(
  lines: readonly PdfLine[],
  headers: readonly string[],
  startsRow: (line: PdfLine, columns: readonly number[]) => boolean,
  from = 0,
): PdfTable | undefined {
  for (let index = from; index < lines.length; index++) {
    const texts = lines[index]!.words.map((word) => word.text);
    let cursor = 0;
    const columns: number[] = [];
    for (const header of headers) {
      const at = texts.indexOf(header, cursor);
      if (at < 0) break;
      columns.push(lines[index]!.words[at]!.x0);
      cursor = at + 1;
    }
    if (columns.length !== headers.length) continue;
    const left = columns[0]! - 1;
    const rows: PdfWord[][] = [];
    let end = index + 1;
    for (; end < lines.length; end++) {
      const line = lines[end]!;
      if (line.words[0]!.x0 < left) break;
      if (startsRow(line, columns) || rows.length === 0) rows.push([]);
      rows.at(-1)!.push(...line.words);
    }
    return { columns, rows, end };
  }
  return undefined;
}

/** Which column a word sits in: the last one whose left edge is at or left of the word's. */
export function columnOf(columns: readonly number[], word: PdfWord): number {
  let column = 0;
  for (const [index, x0] of columns.entries()) if (word.x0 >= x0 - 1) column = index;
  return column;
}

/** The text of each column of one row. */
export function cellsOf(columns: readonly number[], words: readonly PdfWord[]): string[] {
  const cells = columns.map((): string[] => []);
  for (const word of words) cells[columnOf(columns, word)]!.push(word.text);
  return cells.map((cell) => cell.join(" "));
}

/**
 * The cells of every keyed table with `headers` (key-inventory.html): each entry is a full-width key line,
 * from the key id to the last word of that line (`keyLineEnds`: key id → that word, e.g. the created day),
 * over one row of cells. Key id → the text of each column.
 */
export function readKeyedCells(
  lines: readonly PdfLine[],
  headers: readonly string[],
  keyLineEnds: ReadonlyMap<string, string>,
): Map<string, string[]> {
  const cells = new Map<string, string[]>();
  const startsEntry = (line: PdfLine): boolean => keyLineEnds.has(line.words[0]!.text);
  for (
    let table = readPdfTable(lines, headers, startsEntry);
    table !== undefined;
    table = readPdfTable(lines, headers, startsEntry, table.end)
  ) {
    for (const words of table.rows) {
      const keyId = words[0]!.text;
      const end = words.findIndex((word) => word.text === keyLineEnds.get(keyId));
      if (end < 0) throw new Error(`the key line of ${keyId} does not end in ${keyLineEnds.get(keyId)}`);
      cells.set(keyId, cellsOf(table.columns, words.slice(end + 1)));
    }
  }
  return cells;
}
