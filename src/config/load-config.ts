import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import { LineCounter, parseDocument, isCollection, visit, type Document } from "yaml";
import type { z } from "zod";
import { ConfigSchema, type Config } from "./config.schema.ts";
import { ConfigError, type ConfigProblem } from "../errors/errors.ts";

/**
 * Largest config file keyproof reads. A real estate's inventory is a few thousand entries (well under 1 MB);
 * the YAML document model costs about 100 bytes of memory per byte of text, so this bounds a run at ~1 GB.
 */
export const MAX_CONFIG_BYTES = 10 * 1024 * 1024;
/**
 * Most alias expansions (`*name`) the YAML may use. Aliases nest, so a few lines can expand to billions of
 * nodes (a "billion laughs" alias bomb); a config needs a handful at most. This is the yaml package's own
 * default, set here so the bound is explicit and the error can name the file.
 */
export const MAX_CONFIG_ALIAS_COUNT = 100;

export interface LoadedConfig {
  config: Config;
  /** Absolute path of the file, so relative paths inside it (signing key) resolve beside it. */
  file: string;
  directory: string;
}

/** Reads, parses and validates a config file. Every problem is reported at once, each with its line. */
export async function loadConfig(file: string): Promise<LoadedConfig> {
  const absolute = path.resolve(file);
  let text: string;
  try {
    // Size first: a huge file is refused before it is read into memory.
    const info = await stat(absolute);
    if (!info.isFile()) throw new ConfigError([{ file, line: 0, field: "(file)", message: "is not a file" }]);
    if (info.size > MAX_CONFIG_BYTES) throw tooLarge(file, info.size);
    text = await readFile(absolute, "utf8");
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    const reason = (error as NodeJS.ErrnoException).code === "ENOENT" ? "file not found" : String(error);
    throw new ConfigError([{ file, line: 0, field: "(file)", message: reason }]);
  }
  return { config: parseConfigText(text, file), file: absolute, directory: path.dirname(absolute) };
}

function tooLarge(file: string, bytes: number): ConfigError {
  const megabytes = (bytes / 1024 / 1024).toFixed(1);
  return new ConfigError([
    {
      file,
      line: 0,
      field: "(file)",
      message: `is ${megabytes} MB, over the ${MAX_CONFIG_BYTES / 1024 / 1024} MB limit for a config file`,
    },
  ]);
}

/**
 * Pure: YAML text in, validated config out, or a ConfigError naming file, line and field of each problem.
 * Cost is linear in the text: parsing, then one zod pass, then one O(depth) line lookup per problem.
 */
export function parseConfigText(text: string, file: string): Config {
  const bytes = Buffer.byteLength(text, "utf8");
  if (bytes > MAX_CONFIG_BYTES) throw tooLarge(file, bytes);
  const lineCounter = new LineCounter();
  // prettyErrors fills in each error's linePos (without it every syntax error sat at line 0).
  const document = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  if (document.errors.length > 0) {
    throw new ConfigError(
      document.errors.map((error) => {
        const position = error.linePos?.[0];
        return {
          file,
          line: position?.line ?? 1,
          ...(position === undefined ? {} : { column: position.col }),
          field: "(yaml)",
          // The pretty message repeats the position and appends a code frame; keep the sentence.
          message: (error.message.split("\n")[0] ?? error.message).replace(/ at line \d+, column \d+:?$/, ""),
        };
      }),
    );
  }
  const result = ConfigSchema.safeParse(toPlainData(document, lineCounter, file));
  if (result.success) return result.data;
  throw new ConfigError(result.error.issues.map((issue) => toProblem(issue, document, lineCounter, file)));
}

/** The document as plain data, with alias expansion bounded (a bomb is a config error naming the file). */
function toPlainData(document: Document, lineCounter: LineCounter, file: string): unknown {
  try {
    return document.toJS({ maxAliasCount: MAX_CONFIG_ALIAS_COUNT });
  } catch (error) {
    // yaml throws a ReferenceError "Excessive alias count indicates a resource exhaustion attack".
    if (!(error instanceof ReferenceError)) throw error;
    let line = 1;
    let column: number | undefined;
    visit(document, {
      Alias(_key, node) {
        if (node.range === undefined || node.range === null) return undefined;
        const position = lineCounter.linePos(node.range[0]);
        line = position.line;
        column = position.col;
        return visit.BREAK;
      },
    });
    throw new ConfigError([
      {
        file,
        line,
        ...(column === undefined ? {} : { column }),
        field: "(yaml)",
        message: `alias expansion exceeds the limit of ${MAX_CONFIG_ALIAS_COUNT} (a YAML alias bomb?); nothing was expanded: use fewer, unnested aliases`,
      },
    ]);
  }
}

function toProblem(
  issue: z.core.$ZodIssue,
  document: Document,
  lineCounter: LineCounter,
  file: string,
): ConfigProblem {
  const issuePath = issue.path.map((segment) => (typeof segment === "symbol" ? String(segment) : segment));
  // Unknown keys are reported on the parent object by zod; name the key itself so the user finds it.
  if (issue.code === "unrecognized_keys") {
    const keys = issue.keys;
    const first = keys[0];
    const fieldPath = first === undefined ? issuePath : [...issuePath, first];
    return {
      file,
      line: lineOf(document, lineCounter, fieldPath),
      field: formatPath(fieldPath),
      message: `unknown field${keys.length > 1 ? "s" : ""} ${keys.map((key) => `"${key}"`).join(", ")}`,
    };
  }
  return {
    file,
    line: lineOf(document, lineCounter, issuePath),
    field: formatPath(issuePath),
    message: issue.message,
  };
}

/** The line of the deepest node along the path that exists in the document (a missing field points at its parent). */
function lineOf(document: Document, lineCounter: LineCounter, fieldPath: Array<string | number>): number {
  for (let depth = fieldPath.length; depth >= 0; depth--) {
    const prefix = fieldPath.slice(0, depth);
    const node = prefix.length === 0 ? document.contents : document.getIn(prefix, true);
    const range = (node as { range?: [number, number, number] } | null | undefined)?.range;
    if (range) {
      // For a present field point at its key (the pair's line), which is where a user looks.
      const keyLine = depth > 0 ? keyLineOf(document, lineCounter, prefix) : undefined;
      return keyLine ?? lineCounter.linePos(range[0]).line;
    }
  }
  return 1;
}

function keyLineOf(
  document: Document,
  lineCounter: LineCounter,
  fieldPath: Array<string | number>,
): number | undefined {
  const parentPath = fieldPath.slice(0, -1);
  const last = fieldPath[fieldPath.length - 1];
  const parent = parentPath.length === 0 ? document.contents : document.getIn(parentPath, true);
  if (!isCollection(parent) || typeof last !== "string") return undefined;
  for (const item of parent.items) {
    const pair = item as { key?: { value?: unknown; range?: [number, number, number] } };
    if (pair.key?.value === last && pair.key.range) return lineCounter.linePos(pair.key.range[0]).line;
  }
  return undefined;
}

export function formatPath(fieldPath: ReadonlyArray<string | number>): string {
  if (fieldPath.length === 0) return "(root)";
  return fieldPath
    .map((segment, index) =>
      typeof segment === "number" ? `[${segment}]` : index === 0 ? segment : `.${segment}`,
    )
    .join("");
}
