import { describe, expect, it } from "vitest";
import { parseHcl, parseVaultPolicy, PolicyParseError } from "./vault-policy.parser.ts";

/** The start of OpenBao 2.7's built-in `default` policy, as `GET sys/policies/acl/default` returns it. */
const DEFAULT_POLICY = `
# Allow tokens to look up their own properties
path "auth/token/lookup-self" {
    capabilities = ["read"]
}

# Allow a token to look up its own entity by id or name
path "identity/entity/id/{{identity.entity.id}}" {
  capabilities = ["read"]
}

# Allow a token to manage its own cubbyhole
path "cubbyhole/*" {
    capabilities = ["create", "read", "update", "delete", "list"]
}

# Allow a token to make requests to the Authorization Endpoint for OIDC providers.
path "identity/oidc/provider/+/authorize" {
    capabilities = ["read", "update"]
}
`;

describe("parseVaultPolicy", () => {
  it("reads the built-in default policy: comments, templated paths, globs and + segments", () => {
    const { rules, ignored } = parseVaultPolicy(DEFAULT_POLICY);
    expect(ignored).toEqual([]);
    expect(rules).toEqual([
      { pattern: "auth/token/lookup-self", capabilities: ["read"], conditions: {}, line: 3 },
      {
        pattern: "identity/entity/id/{{identity.entity.id}}",
        capabilities: ["read"],
        conditions: {},
        line: 8,
      },
      {
        pattern: "cubbyhole/*",
        capabilities: ["create", "read", "update", "delete", "list"],
        conditions: {},
        line: 13,
      },
      {
        pattern: "identity/oidc/provider/+/authorize",
        capabilities: ["read", "update"],
        conditions: {},
        line: 18,
      },
    ]);
  });

  it("accepts one-line blocks, // and /* */ comments, trailing commas and a leading slash", () => {
    const text = [
      "// app policy",
      "/* multi",
      '   line */ path "/transit/encrypt/payments" { capabilities = ["update",] }',
      'path "transit/decrypt/payments" { capabilities = ["UPDATE"], }',
    ].join("\n");
    expect(parseVaultPolicy(text).rules).toEqual([
      { pattern: "transit/encrypt/payments", capabilities: ["update"], conditions: {}, line: 3 },
      { pattern: "transit/decrypt/payments", capabilities: ["update"], conditions: {}, line: 4 },
    ]);
  });

  it("keeps parameter constraints and wrapping TTLs as conditions", () => {
    const text = `
path "transit/encrypt/payments" {
  capabilities = ["update"]
  allowed_parameters = {
    "plaintext" = []
    "context"   = ["tenant-a", "tenant-b"]
  }
  denied_parameters {
    "key_version" = []
  }
  required_parameters = ["plaintext"]
  min_wrapping_ttl = "1s"
  max_wrapping_ttl = 90
}`;
    const [rule] = parseVaultPolicy(text).rules;
    expect(rule?.conditions).toEqual({
      allowed_parameters: { plaintext: [], context: ["tenant-a", "tenant-b"] },
      denied_parameters: { key_version: [] },
      required_parameters: ["plaintext"],
      min_wrapping_ttl: "1s",
      max_wrapping_ttl: 90,
    });
  });

  it("maps old-style policy values the way Vault does, and deny replaces everything", () => {
    const text = `
path "a" { policy = "read" }
path "b" { policy = "write" }
path "c" { policy = "sudo" }
path "d" { policy = "deny" }
path "e" { capabilities = ["read", "deny", "update"] }`;
    expect(parseVaultPolicy(text).rules.map((rule) => [rule.pattern, rule.capabilities])).toEqual([
      ["a", ["read", "list"]],
      ["b", ["create", "read", "update", "delete", "list"]],
      ["c", ["create", "read", "update", "delete", "list", "sudo"]],
      ["d", ["deny"]],
      ["e", ["deny"]],
    ]);
  });

  it("reads the JSON form, with path as an object or a list of objects", () => {
    const object = JSON.stringify({ path: { "transit/keys/*": { capabilities: ["read", "list"] } } });
    const list = JSON.stringify({
      path: [
        { "transit/decrypt/+": { capabilities: ["update"] } },
        { "sys/mounts": { capabilities: ["read"] } },
      ],
    });
    expect(parseVaultPolicy(object).rules.map((rule) => [rule.pattern, rule.capabilities])).toEqual([
      ["transit/keys/*", ["read", "list"]],
    ]);
    expect(parseVaultPolicy(list).rules.map((rule) => rule.pattern)).toEqual([
      "transit/decrypt/+",
      "sys/mounts",
    ]);
  });

  it('reads the `path { "glob" { } }` nesting too, and reports other top-level items as ignored', () => {
    const text =
      'name = "x"\npath {\n  "transit/*" { capabilities = ["read"] }\n  "sys/*" = { capabilities = ["sudo"] }\n}';
    const parsed = parseVaultPolicy(text);
    expect(parsed.rules.map((rule) => [rule.pattern, rule.capabilities, rule.line])).toEqual([
      ["transit/*", ["read"], 3],
      ["sys/*", ["sudo"], 4],
    ]);
    expect(parsed.ignored).toEqual(["name"]);
  });

  it("parses an empty policy (the root policy's text) to no rules", () => {
    expect(parseVaultPolicy("")).toEqual({ rules: [], ignored: [] });
    expect(parseVaultPolicy("# only a comment\n")).toEqual({ rules: [], ignored: [] });
  });

  it.each([
    ['path "a" {\n  capabilities = ["read"]\n', 3, 'missing "}"'],
    ['path "a" {\n  capabilities = ["read"\n}', 3, "expected a value"],
    ['path "a {\n}', 1, "unterminated string"],
    ['path "a" { capabilities = ["fly"] }', 1, "unknown capability fly"],
    ['path "a" { capabilities = "read" }', 1, "must be a list of strings"],
    ['path "a" { policy = "admin" }', 1, "unknown legacy policy"],
    ['path "a" "b" { capabilities = [] }', 1, "path needs exactly one pattern"],
    ['path "a" { capabilities = [read] }', 1, "unexpected bare word read"],
    ['path "a" {\n capabilities = <<EOF', 2, "heredoc"],
    ["/* never closed", 1, "unterminated /* comment"],
    ['{"path": ', 1, "invalid JSON policy"],
  ])("rejects %j at line %i (%s)", (text, line, message) => {
    let caught: unknown;
    try {
      parseVaultPolicy(text);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(PolicyParseError);
    expect((caught as PolicyParseError).line).toBe(line);
    expect((caught as PolicyParseError).message).toContain(message);
  });

  it("exposes the generic HCL items for nested blocks and escapes", () => {
    expect(parseHcl('a "b" { c = "x\\"y\\u0041" d = true e = -1.5 }')).toEqual([
      {
        keys: ["a", "b"],
        line: 1,
        value: {
          kind: "object",
          items: [
            { keys: ["c"], value: 'x"yA', line: 1 },
            { keys: ["d"], value: true, line: 1 },
            { keys: ["e"], value: -1.5, line: 1 },
          ],
        },
      },
    ]);
  });
});
