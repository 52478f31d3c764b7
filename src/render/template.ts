import { readFile } from "node:fs/promises";
import path from "node:path";
import { KeyproofError } from "../errors/errors.ts";
import { PACKAGE_ROOT } from "../package-root.ts";

/**
 * A deliberately small template language (a strict subset of Mustache), written here rather than pulled
 * in because the only Mustache on disk is a transitive dependency of node-vault, and the renderer needs a
 * stricter contract than Mustache gives:
 *
 * - `{{name}}` / `{{a.b}}` / `{{.}}` insert a string or number, always HTML-escaped. There is no
 *   triple-mustache: markup is inserted unescaped only when the view holds a {@link TrustedHtml} value,
 *   which only code can build (the SVG chart), never data from a provider.
 * - `{{#name}}…{{/name}}` renders once per array item, once for `true` or an object, not at all for
 *   `false`, `null`, `""` or `[]`; `{{^name}}…{{/name}}` is the inverse.
 * - `{{> path}}` includes another file under `templates/` (`.html` implied when no extension is given),
 *   rendered with the same view; that is how the shared banner and the local CSS files are pulled in.
 * - `{{! comment}}` is dropped.
 *
 * Strict on purpose: a name the view does not have, or a missing value in a variable slot, throws instead
 * of rendering an empty cell, so an auditor never sees a blank where data should be.
 */

/** Markup built by keyproof's own code. Construct it only from strings whose every data part was escaped. */
export interface TrustedHtml {
  readonly trustedHtml: string;
}

export function trustedHtml(html: string): TrustedHtml {
  return { trustedHtml: html };
}

function isTrustedHtml(value: unknown): value is TrustedHtml {
  return (
    typeof value === "object" &&
    value !== null &&
    "trustedHtml" in value &&
    typeof value.trustedHtml === "string"
  );
}

const ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => ESCAPES[character] ?? character);
}

type TemplateNode =
  | { kind: "text"; text: string }
  | { kind: "variable"; name: string; offset: number }
  | { kind: "section"; name: string; inverted: boolean; children: TemplateNode[]; offset: number }
  | { kind: "partial"; name: string; offset: number };

export interface CompiledTemplate {
  name: string;
  nodes: TemplateNode[];
  /** Source text, kept to turn offsets into line numbers in error messages. */
  source: string;
}

function lineOf(source: string, offset: number): number {
  return source.slice(0, offset).split("\n").length;
}

function templateError(
  template: { name: string; source: string },
  offset: number,
  message: string,
): KeyproofError {
  return new KeyproofError(
    "INTERNAL",
    `template ${template.name}:${lineOf(template.source, offset)}: ${message}`,
    {
      remediation: "fix the template or the view model that feeds it",
    },
  );
}

const TAG = /\{\{\s*([#^/>!]?)\s*([^}]*?)\s*\}\}/g;
const NAME = /^(\.|[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*)$/;
const PARTIAL_NAME = /^[a-z0-9][a-z0-9-]*(\/[a-z0-9][a-z0-9-]*)*(\.(html|css))?$/;

/** Parses template text into a tree; unbalanced or malformed tags fail here, before any data is seen. */
export function compileTemplate(name: string, source: string): CompiledTemplate {
  const context = { name, source };
  const root: TemplateNode[] = [];
  const stack: Array<{ name: string; offset: number; children: TemplateNode[] }> = [];
  let current = root;
  let cursor = 0;
  for (const match of source.matchAll(TAG)) {
    const offset = match.index;
    if (offset > cursor) current.push({ kind: "text", text: source.slice(cursor, offset) });
    cursor = offset + match[0].length;
    const sigil = match[1] ?? "";
    const tagName = match[2] ?? "";
    if (sigil === "!") continue;
    if (sigil === ">") {
      if (!PARTIAL_NAME.test(tagName)) throw templateError(context, offset, `bad partial name "${tagName}"`);
      current.push({ kind: "partial", name: tagName, offset });
      continue;
    }
    if (!NAME.test(tagName)) throw templateError(context, offset, `bad tag "${match[0]}"`);
    if (sigil === "#" || sigil === "^") {
      const section: TemplateNode = {
        kind: "section",
        name: tagName,
        inverted: sigil === "^",
        children: [],
        offset,
      };
      current.push(section);
      stack.push({ name: tagName, offset, children: current });
      current = section.children;
      continue;
    }
    if (sigil === "/") {
      const open = stack.pop();
      if (open === undefined) throw templateError(context, offset, `{{/${tagName}}} closes nothing`);
      if (open.name !== tagName) {
        throw templateError(
          context,
          offset,
          `{{/${tagName}}} closes {{#${open.name}}} opened on line ${lineOf(source, open.offset)}`,
        );
      }
      current = open.children;
      continue;
    }
    current.push({ kind: "variable", name: tagName, offset });
  }
  const unclosed = stack.pop();
  if (unclosed !== undefined)
    throw templateError(context, unclosed.offset, `{{#${unclosed.name}}} is never closed`);
  if (cursor < source.length) current.push({ kind: "text", text: source.slice(cursor) });
  return { name, nodes: root, source };
}

const MISSING = Symbol("missing");

function lookup(stack: readonly unknown[], name: string): unknown {
  if (name === ".") return stack[stack.length - 1];
  const [head, ...rest] = name.split(".");
  for (let index = stack.length - 1; index >= 0; index--) {
    const frame = stack[index];
    if (
      typeof frame === "object" &&
      frame !== null &&
      !Array.isArray(frame) &&
      head !== undefined &&
      head in frame
    ) {
      let value: unknown = (frame as Record<string, unknown>)[head];
      for (const part of rest) {
        if (typeof value !== "object" || value === null || !(part in value)) return MISSING;
        value = (value as Record<string, unknown>)[part];
      }
      return value;
    }
  }
  return MISSING;
}

function isTruthy(value: unknown): boolean {
  if (Array.isArray(value)) return value.length > 0;
  return value !== false && value !== null && value !== undefined && value !== "" && value !== 0;
}

/** Included files, by the name used in `{{> name}}`. */
export type PartialLookup = (name: string) => CompiledTemplate;

function renderNodes(
  template: CompiledTemplate,
  nodes: readonly TemplateNode[],
  stack: unknown[],
  partials: PartialLookup,
  depth: number,
): string {
  let output = "";
  for (const node of nodes) {
    switch (node.kind) {
      case "text":
        output += node.text;
        break;
      case "variable": {
        const value = lookup(stack, node.name);
        if (value === MISSING)
          throw templateError(template, node.offset, `the view has no field "${node.name}"`);
        if (typeof value === "string") output += escapeHtml(value);
        else if (typeof value === "number" && Number.isFinite(value)) output += String(value);
        else if (isTrustedHtml(value)) output += value.trustedHtml;
        else
          throw templateError(
            template,
            node.offset,
            `"${node.name}" is ${value === null ? "null" : typeof value}, not text`,
          );
        break;
      }
      case "section": {
        const value = lookup(stack, node.name);
        if (value === MISSING)
          throw templateError(template, node.offset, `the view has no field "${node.name}"`);
        if (node.inverted) {
          if (!isTruthy(value)) output += renderNodes(template, node.children, stack, partials, depth);
        } else if (Array.isArray(value)) {
          for (const item of value)
            output += renderNodes(template, node.children, [...stack, item], partials, depth);
        } else if (isTruthy(value)) {
          const frame = typeof value === "object" ? [...stack, value] : stack;
          output += renderNodes(template, node.children, frame, partials, depth);
        }
        break;
      }
      case "partial": {
        if (depth > 8) throw templateError(template, node.offset, `partials nested deeper than 8 (a cycle?)`);
        const partial = partials(node.name);
        output += renderNodes(partial, partial.nodes, stack, partials, depth + 1);
        break;
      }
    }
  }
  return output;
}

/** Pure: renders a compiled template against a view. `partials` resolves `{{> name}}`. */
export function renderCompiled(template: CompiledTemplate, view: object, partials: PartialLookup): string {
  return renderNodes(template, template.nodes, [view], partials, 0);
}

/** Renders template text directly; partials come from the given map. Meant for tests and small snippets. */
export function renderTemplateText(
  source: string,
  view: object,
  partials: Record<string, string> = {},
): string {
  const compiledPartials = new Map<string, CompiledTemplate>();
  const lookupPartial: PartialLookup = (name) => {
    let compiled = compiledPartials.get(name);
    if (compiled === undefined) {
      const text = partials[name];
      if (text === undefined) throw new KeyproofError("INTERNAL", `template <inline>: no partial "${name}"`);
      compiled = compileTemplate(name, text);
      compiledPartials.set(name, compiled);
    }
    return compiled;
  };
  return renderCompiled(compileTemplate("<inline>", source), view, lookupPartial);
}

/** `templates/` at the repository root, found from this file so the working directory does not matter. */
export const TEMPLATES_DIRECTORY = path.join(PACKAGE_ROOT, "templates/");

/**
 * Loads templates from a directory once and keeps them compiled. Partials are loaded ahead of rendering
 * (the render itself is synchronous), so a missing include fails when the template is first loaded.
 */
export class TemplateLibrary {
  readonly #directory: string;
  readonly #compiled = new Map<string, Promise<CompiledTemplate>>();
  readonly #ready = new Map<string, CompiledTemplate>();

  constructor(directory: string = TEMPLATES_DIRECTORY) {
    this.#directory = directory.endsWith("/") ? directory : `${directory}/`;
  }

  /** Renders `templates/<name>` (e.g. `screenshots/key-configuration.html`) with the view. */
  async render(name: string, view: object): Promise<string> {
    const template = await this.#load(name);
    return renderCompiled(template, view, (partial) => {
      const compiled = this.#ready.get(fileNameOf(partial));
      if (compiled === undefined)
        throw new KeyproofError("INTERNAL", `template ${name}: partial "${partial}" was not loaded`);
      return compiled;
    });
  }

  #load(name: string, chain: readonly string[] = []): Promise<CompiledTemplate> {
    const file = fileNameOf(name);
    // Without this, a template that includes itself (directly or not) would wait on its own load forever.
    if (chain.includes(file)) {
      return Promise.reject(
        new KeyproofError("INTERNAL", `template include cycle: ${[...chain, file].join(" > ")}`),
      );
    }
    let pending = this.#compiled.get(file);
    if (pending === undefined) {
      pending = this.#read(file, [...chain, file]);
      // A failed load is not cached: the next render retries and reports the error again.
      pending.catch(() => this.#compiled.delete(file));
      this.#compiled.set(file, pending);
    }
    return pending;
  }

  async #read(file: string, chain: readonly string[]): Promise<CompiledTemplate> {
    let source: string;
    try {
      source = await readFile(`${this.#directory}${file}`, "utf8");
    } catch (error) {
      throw new KeyproofError("INTERNAL", `template ${file} could not be read from ${this.#directory}`, {
        cause: error,
      });
    }
    const compiled = compileTemplate(file, source);
    await Promise.all(partialNamesOf(compiled.nodes).map((partial) => this.#load(partial, chain)));
    this.#ready.set(file, compiled);
    return compiled;
  }
}

function fileNameOf(name: string): string {
  if (!PARTIAL_NAME.test(name)) throw new KeyproofError("INTERNAL", `bad template name "${name}"`);
  return /\.(html|css)$/.test(name) ? name : `${name}.html`;
}

function partialNamesOf(nodes: readonly TemplateNode[]): string[] {
  return nodes.flatMap((node) => {
    if (node.kind === "partial") return [node.name];
    if (node.kind === "section") return partialNamesOf(node.children);
    return [];
  });
}
