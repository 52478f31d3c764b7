import { readFile } from "node:fs/promises";
import path from "node:path";
import { LineCounter, parseDocument, isCollection, type Document } from "yaml";
import type { z } from "zod";
import { ConfigSchema, type Config } from "./config.schema.ts";
import { ConfigError, type ConfigProblem } from "../errors/errors.ts";

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
    text = await readFile(absolute, "utf8");
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === "ENOENT" ? "file not found" : String(error);
    throw new ConfigError([{ file, line: 0, field: "(file)", message: reason }]);
  }
  return { config: parseConfigText(text, file), file: absolute, directory: path.dirname(absolute) };
}

/** Pure: YAML text in, validated config out, or a ConfigError naming file, line and field of each problem. */
export function parseConfigText(text: string, file: string): Config {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (document.errors.length > 0) {
    throw new ConfigError(
      document.errors.map((error) => ({
        file,
        line: error.linePos?.[0]?.line ?? 0,
        field: "(yaml)",
        message: error.message.split("\n")[0] ?? error.message,
      })),
    );
  }
  const result = ConfigSchema.safeParse(document.toJS());
  if (result.success) return result.data;
  throw new ConfigError(result.error.issues.map((issue) => toProblem(issue, document, lineCounter, file)));
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
