/**
 * Parses Vault ACL policy text (`GET sys/policies/acl/<name>` → `data.policy`) into path rules.
 *
 * No HCL parser is installed, so this reads the subset ACL policies use: HCL1 bodies of
 * `path "<glob>" { capabilities = [...] ... }` blocks with `#`, `//` and `/* *\/` comments, strings, numbers,
 * booleans, lists and nested objects (`allowed_parameters = { "key" = [] }`), commas optional between items,
 * plus the JSON form Vault also accepts (`{"path": {"<glob>": {"capabilities": [...]}}}`). Old-style
 * `policy = "read"` rules are mapped to capabilities exactly as Vault does (vault/policy.go `parsePaths`).
 * Anything outside that subset is a `PolicyParseError` with its line, never a silently empty policy.
 */

export class PolicyParseError extends Error {
  override readonly name = "PolicyParseError";
  readonly line: number;
  constructor(message: string, line: number) {
    super(`line ${line}: ${message}`);
    this.line = line;
  }
}

/** One `path` block as written. Duplicated patterns stay separate here; the evaluator merges them like Vault. */
export interface PolicyPathRule {
  /** The pattern as written, leading `/` removed (Vault strips it too). */
  pattern: string;
  /** Capabilities after mapping a legacy `policy = "..."`; `deny` alone when denied. */
  capabilities: string[];
  /** `allowed_parameters`, `denied_parameters`, `required_parameters`, wrapping TTLs... as written. */
  conditions: Record<string, unknown>;
  line: number;
}

export interface ParsedPolicy {
  rules: PolicyPathRule[];
  /** Top-level items other than `path` (ignored by the ACL, kept so nothing disappears unnoticed). */
  ignored: string[];
}

export const VAULT_CAPABILITIES = [
  "create",
  "read",
  "update",
  "patch",
  "delete",
  "list",
  "sudo",
  "deny",
  "subscribe",
  "recover",
  "scan",
  "stream",
] as const;

/** vault/policy.go: the capabilities each old-style `policy` value stands for. */
const LEGACY_POLICY_CAPABILITIES: Record<string, string[]> = {
  deny: ["deny"],
  read: ["read", "list"],
  write: ["create", "read", "update", "delete", "list"],
  sudo: ["create", "read", "update", "delete", "list", "sudo"],
};

/** Keys of a path block that carry conditions rather than capabilities. */
const CONDITION_KEYS = new Set([
  "allowed_parameters",
  "denied_parameters",
  "required_parameters",
  "min_wrapping_ttl",
  "max_wrapping_ttl",
  "mfa_methods",
  "control_group",
  "subscribe_event_types",
  "expiration",
]);

// ---------------------------------------------------------------------------------------------------------
// Generic HCL1 subset: tokens → items

type Token =
  | { kind: "string"; value: string; line: number }
  | { kind: "number"; value: number; line: number }
  | { kind: "identifier"; value: string; line: number }
  | { kind: "punctuation"; value: "{" | "}" | "[" | "]" | "=" | "," | ":"; line: number };

export type HclValue = string | number | boolean | HclValue[] | HclObject;
export interface HclObject {
  kind: "object";
  items: HclItem[];
}
export interface HclItem {
  /** `path "transit/*" { }` has keys `["path", "transit/*"]`; `capabilities = [...]` has `["capabilities"]`. */
  keys: string[];
  value: HclValue;
  line: number;
}

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let line = 1;
  let index = 0;
  while (index < text.length) {
    const character = text[index] ?? "";
    if (character === "\n") {
      line += 1;
      index += 1;
      continue;
    }
    if (/\s/.test(character)) {
      index += 1;
      continue;
    }
    if (character === "#" || (character === "/" && text[index + 1] === "/")) {
      while (index < text.length && text[index] !== "\n") index += 1;
      continue;
    }
    if (character === "/" && text[index + 1] === "*") {
      const end = text.indexOf("*/", index + 2);
      if (end === -1) throw new PolicyParseError("unterminated /* comment", line);
      for (const skipped of text.slice(index, end)) if (skipped === "\n") line += 1;
      index = end + 2;
      continue;
    }
    if (character === '"') {
      const start = line;
      let value = "";
      index += 1;
      for (;;) {
        const next = text[index];
        if (next === undefined || next === "\n") throw new PolicyParseError("unterminated string", start);
        if (next === '"') break;
        if (next === "\\") {
          const escaped = text[index + 1];
          const simple: Record<string, string> = {
            n: "\n",
            t: "\t",
            r: "\r",
            '"': '"',
            "\\": "\\",
            "/": "/",
          };
          if (escaped === "u") {
            const hex = text.slice(index + 2, index + 6);
            if (!/^[0-9a-fA-F]{4}$/.test(hex)) throw new PolicyParseError("invalid \\u escape", line);
            value += String.fromCharCode(Number.parseInt(hex, 16));
            index += 6;
            continue;
          }
          const replacement = escaped === undefined ? undefined : simple[escaped];
          if (replacement === undefined)
            throw new PolicyParseError(`invalid escape \\${escaped ?? ""}`, line);
          value += replacement;
          index += 2;
          continue;
        }
        value += next;
        index += 1;
      }
      index += 1;
      tokens.push({ kind: "string", value, line: start });
      continue;
    }
    if ("{}[]=,:".includes(character)) {
      tokens.push({ kind: "punctuation", value: character as "{", line });
      index += 1;
      continue;
    }
    const number = /^-?\d+(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(index, index + 64));
    if (number && !/[A-Za-z_]/.test(text[index + number[0].length] ?? "")) {
      tokens.push({ kind: "number", value: Number(number[0]), line });
      index += number[0].length;
      continue;
    }
    const identifier = /^[A-Za-z_][A-Za-z0-9_.-]*/.exec(text.slice(index, index + 256));
    if (identifier) {
      tokens.push({ kind: "identifier", value: identifier[0], line });
      index += identifier[0].length;
      continue;
    }
    if (character === "<" && text[index + 1] === "<") {
      throw new PolicyParseError("heredoc strings are not supported in policies", line);
    }
    throw new PolicyParseError(`unexpected character ${JSON.stringify(character)}`, line);
  }
  return tokens;
}

class HclParser {
  private position = 0;
  /** `endLine` is the last line of the text: where "missing }" at the end of the policy points. */
  constructor(
    private readonly tokens: Token[],
    private readonly endLine: number,
  ) {}

  private peek(): Token | undefined {
    return this.tokens[this.position];
  }

  private lastLine(): number {
    return this.endLine;
  }

  private isPunctuation(token: Token | undefined, value: string): boolean {
    return token?.kind === "punctuation" && token.value === value;
  }

  private expectPunctuation(value: string): Token {
    const token = this.peek();
    if (!this.isPunctuation(token, value)) {
      throw new PolicyParseError(
        `expected "${value}"${describeFound(token)}`,
        token?.line ?? this.lastLine(),
      );
    }
    this.position += 1;
    return token as Token;
  }

  /** A body: items until `}` (nested) or the end (top level). */
  parseBody(nested: boolean): HclItem[] {
    const items: HclItem[] = [];
    for (;;) {
      const token = this.peek();
      if (token === undefined) {
        if (nested) throw new PolicyParseError('missing "}"', this.lastLine());
        return items;
      }
      if (nested && this.isPunctuation(token, "}")) return items;
      if (this.isPunctuation(token, ",")) {
        this.position += 1;
        continue;
      }
      items.push(this.parseItem());
    }
  }

  private parseItem(): HclItem {
    const first = this.peek();
    const keys: string[] = [];
    while (first !== undefined) {
      const token = this.peek();
      if (token?.kind === "identifier" || token?.kind === "string") {
        keys.push(token.value);
        this.position += 1;
        continue;
      }
      break;
    }
    if (keys.length === 0 || first === undefined) {
      throw new PolicyParseError(`expected a key${describeFound(first)}`, first?.line ?? this.lastLine());
    }
    const next = this.peek();
    if (this.isPunctuation(next, "=") || this.isPunctuation(next, ":")) {
      if (keys.length > 1) throw new PolicyParseError(`unexpected "=" after block labels`, next?.line ?? 1);
      this.position += 1;
      return { keys, value: this.parseValue(), line: first.line };
    }
    if (this.isPunctuation(next, "{")) return { keys, value: this.parseObject(), line: first.line };
    throw new PolicyParseError(
      `expected "=" or "{" after ${keys.join(" ")}${describeFound(next)}`,
      next?.line ?? first.line,
    );
  }

  private parseObject(): HclObject {
    this.expectPunctuation("{");
    const items = this.parseBody(true);
    this.expectPunctuation("}");
    return { kind: "object", items };
  }

  private parseValue(): HclValue {
    const token = this.peek();
    if (token === undefined) throw new PolicyParseError("expected a value", this.lastLine());
    if (token.kind === "string" || token.kind === "number") {
      this.position += 1;
      return token.value;
    }
    if (token.kind === "identifier") {
      this.position += 1;
      if (token.value === "true") return true;
      if (token.value === "false") return false;
      throw new PolicyParseError(`unexpected bare word ${token.value}`, token.line);
    }
    if (this.isPunctuation(token, "{")) return this.parseObject();
    if (this.isPunctuation(token, "[")) {
      this.position += 1;
      const values: HclValue[] = [];
      for (;;) {
        const next = this.peek();
        if (this.isPunctuation(next, "]")) {
          this.position += 1;
          return values;
        }
        if (this.isPunctuation(next, ",")) {
          this.position += 1;
          continue;
        }
        if (next === undefined) throw new PolicyParseError('missing "]"', this.lastLine());
        values.push(this.parseValue());
      }
    }
    throw new PolicyParseError(`expected a value${describeFound(token)}`, token.line);
  }
}

function describeFound(token: Token | undefined): string {
  if (token === undefined) return ", found end of policy";
  return `, found ${token.kind === "string" ? JSON.stringify(token.value) : String(token.value)}`;
}

/** Parses HCL1-subset text into generic items; exported for tests. */
export function parseHcl(text: string): HclItem[] {
  return new HclParser(tokenize(text), text.split("\n").length).parseBody(false);
}

// ---------------------------------------------------------------------------------------------------------
// Items → ACL rules

/** Plain JSON-like value of an HCL value, for conditions kept as evidence. */
function toPlain(value: HclValue): unknown {
  if (Array.isArray(value)) return value.map(toPlain);
  if (typeof value === "object") {
    const plain: Record<string, unknown> = {};
    for (const item of value.items) plain[item.keys.join(".")] = toPlain(item.value);
    return plain;
  }
  return value;
}

function ruleFromBody(pattern: string, body: HclValue, line: number): PolicyPathRule {
  if (typeof body !== "object" || Array.isArray(body)) {
    throw new PolicyParseError(`path "${pattern}" must be a block`, line);
  }
  let capabilities: string[] = [];
  const conditions: Record<string, unknown> = {};
  for (const item of body.items) {
    const key = item.keys.join(".");
    if (key === "capabilities") {
      if (!Array.isArray(item.value) || !item.value.every((entry) => typeof entry === "string")) {
        throw new PolicyParseError(`path "${pattern}": capabilities must be a list of strings`, item.line);
      }
      capabilities.push(...(item.value as string[]).map((entry) => entry.toLowerCase()));
    } else if (key === "policy") {
      const mapped = typeof item.value === "string" ? LEGACY_POLICY_CAPABILITIES[item.value] : undefined;
      if (mapped === undefined) {
        throw new PolicyParseError(
          `path "${pattern}": unknown legacy policy ${JSON.stringify(toPlain(item.value))}`,
          item.line,
        );
      }
      capabilities.push(...mapped);
    } else if (CONDITION_KEYS.has(key)) {
      conditions[key] = toPlain(item.value);
    }
    // `comment` and anything else carries no permission; Vault itself rejects unknown keys on write.
  }
  const unknown = capabilities.filter(
    (capability) => !(VAULT_CAPABILITIES as readonly string[]).includes(capability),
  );
  if (unknown.length > 0)
    throw new PolicyParseError(`path "${pattern}": unknown capability ${unknown.join(", ")}`, line);
  // vault/policy.go: deny replaces every other capability of the rule.
  if (capabilities.includes("deny")) capabilities = ["deny"];
  return { pattern: pattern.replace(/^\/+/, ""), capabilities: [...new Set(capabilities)], conditions, line };
}

function rulesFromItems(items: HclItem[]): ParsedPolicy {
  const rules: PolicyPathRule[] = [];
  const ignored: string[] = [];
  for (const item of items) {
    const [head, ...labels] = item.keys;
    if (head !== "path") {
      ignored.push(item.keys.join(" "));
      continue;
    }
    if (labels.length === 1 && labels[0] !== undefined) {
      rules.push(ruleFromBody(labels[0], item.value, item.line));
    } else if (labels.length === 0 && typeof item.value === "object" && !Array.isArray(item.value)) {
      // `path = { "a/*" = { ... } }` or `path { "a/*" { ... } }`: each inner item is one rule.
      for (const inner of item.value.items) {
        const pattern = inner.keys[0];
        if (pattern === undefined || inner.keys.length !== 1) {
          throw new PolicyParseError("path entries must be named by one pattern", inner.line);
        }
        rules.push(ruleFromBody(pattern, inner.value, inner.line));
      }
    } else {
      throw new PolicyParseError("path needs exactly one pattern", item.line);
    }
  }
  return { rules, ignored };
}

/** JSON policies: `path` is an object of pattern → rule, or a list of such objects. */
function parseJsonPolicy(text: string): ParsedPolicy {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw new PolicyParseError(`invalid JSON policy: ${(error as Error).message}`, 1);
  }
  if (typeof document !== "object" || document === null || Array.isArray(document)) {
    throw new PolicyParseError("a JSON policy must be an object", 1);
  }
  const rules: PolicyPathRule[] = [];
  const ignored: string[] = [];
  for (const [key, value] of Object.entries(document)) {
    if (key !== "path") {
      ignored.push(key);
      continue;
    }
    const blocks = Array.isArray(value) ? value : [value];
    for (const block of blocks) {
      if (typeof block !== "object" || block === null)
        throw new PolicyParseError("path must map patterns to rules", 1);
      for (const [pattern, rule] of Object.entries(block as Record<string, unknown>)) {
        rules.push(ruleFromBody(pattern, fromJson(rule), 1));
      }
    }
  }
  return { rules, ignored };
}

function fromJson(value: unknown): HclValue {
  if (Array.isArray(value)) return value.map(fromJson);
  if (typeof value === "object" && value !== null) {
    return {
      kind: "object",
      items: Object.entries(value).map(([key, entry]) => ({ keys: [key], value: fromJson(entry), line: 1 })),
    };
  }
  if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") return value;
  return String(value);
}

/** Policy text (HCL or JSON) → rules. Throws `PolicyParseError` naming the line of the first problem. */
export function parseVaultPolicy(text: string): ParsedPolicy {
  if (text.trimStart().startsWith("{")) return parseJsonPolicy(text);
  return rulesFromItems(parseHcl(text));
}
