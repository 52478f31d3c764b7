import { describe, expect, it } from "vitest";
import {
  compilePolicy,
  evaluatePath,
  grantsForKey,
  patternMatchesPath,
  transitOperations,
  undeterminedRulesForKey,
} from "./vault-acl.ts";
import { parseVaultPolicy } from "./vault-policy.parser.ts";

function compile(name: string, text: string) {
  return compilePolicy(name, parseVaultPolicy(text).rules);
}

function capabilitiesAt(text: string, path: string): string[] | undefined {
  const permissions = evaluatePath(compile("p", text), path);
  return permissions === undefined ? undefined : [...permissions.capabilities].sort();
}

describe("evaluatePath (vault/acl.go matching for one policy)", () => {
  it("prefers an exact rule over any glob", () => {
    const text =
      'path "transit/*" { capabilities = ["read"] }\npath "transit/keys/a" { capabilities = ["update"] }';
    expect(capabilitiesAt(text, "transit/keys/a")).toEqual(["update"]);
    expect(capabilitiesAt(text, "transit/keys/b")).toEqual(["read"]);
  });

  it("takes the longest * prefix; a * may end inside a segment", () => {
    const text =
      'path "transit/*" { capabilities = ["read"] }\npath "transit/keys/pay*" { capabilities = ["list"] }';
    expect(capabilitiesAt(text, "transit/keys/payments")).toEqual(["list"]);
    expect(capabilitiesAt(text, "transit/keys/payments/rotate")).toEqual(["list"]);
    expect(capabilitiesAt(text, "transit/keys/orders")).toEqual(["read"]);
    expect(capabilitiesAt(text, "other/keys/orders")).toBeUndefined();
  });

  it("matches + as exactly one segment, and a trailing * after + rules as a prefix of the last segment", () => {
    const text =
      'path "+/decrypt/+" { capabilities = ["update"] }\npath "team-a/+/keys/pay*" { capabilities = ["read"] }';
    expect(capabilitiesAt(text, "transit/decrypt/payments")).toEqual(["update"]);
    expect(capabilitiesAt(text, "team-a/transit/decrypt/payments")).toBeUndefined();
    expect(capabilitiesAt(text, "team-a/transit/keys/payments")).toEqual(["read"]);
    expect(capabilitiesAt(text, "team-a/transit/keys/payments/config")).toEqual(["read"]);
  });

  it("applies Vault's documented priority between + and * rules", () => {
    // The later first wildcard wins: secret/a* (glob at 8) over secret/+ (wildcard at 7).
    expect(
      capabilitiesAt(
        'path "secret/+" { capabilities = ["read"] }\npath "secret/a*" { capabilities = ["list"] }',
        "secret/ab",
      ),
    ).toEqual(["list"]);
    // Same position: a non-prefix + rule wins over a * prefix.
    expect(
      capabilitiesAt(
        'path "secret/+" { capabilities = ["read"] }\npath "secret/*" { capabilities = ["list"] }',
        "secret/x",
      ),
    ).toEqual(["read"]);
    // Fewer + segments win.
    expect(
      capabilitiesAt(
        'path "a/+/+/d" { capabilities = ["read"] }\npath "a/b/+/d" { capabilities = ["list"] }',
        "a/b/c/d",
      ),
    ).toEqual(["list"]);
    // Longer wins.
    expect(
      capabilitiesAt(
        'path "a/+/c/d*" { capabilities = ["read"] }\npath "a/+/c/de*" { capabilities = ["list"] }',
        "a/b/c/def",
      ),
    ).toEqual(["list"]);
  });

  it("merges rules on the same pattern, and a deny in any of them wins", () => {
    const text = [
      'path "transit/keys/a" { capabilities = ["read"] }',
      'path "transit/keys/a" { capabilities = ["update"] }',
      'path "transit/keys/b" { capabilities = ["read"] }',
      'path "transit/keys/b" { capabilities = ["deny"] }',
      'path "transit/keys/b" { capabilities = ["update"] }',
    ].join("\n");
    expect(capabilitiesAt(text, "transit/keys/a")).toEqual(["read", "update"]);
    expect(capabilitiesAt(text, "transit/keys/b")).toEqual(["deny"]);
  });

  it("patternMatchesPath answers for one pattern on its own", () => {
    expect(patternMatchesPath("transit/decrypt/*", "transit/decrypt/anything")).toBe(true);
    expect(patternMatchesPath("transit/keys/pay/*", "transit/keys/payx/rotate")).toBe(false);
    expect(patternMatchesPath("transit/+/pay", "transit/encrypt/pay")).toBe(true);
    expect(patternMatchesPath("*", "transit/encrypt/pay")).toBe(true);
  });
});

describe("transitOperations", () => {
  it("names every path that reaches a key, with open suffixes enumerated", () => {
    const operations = transitOperations({
      mount: "team-a/transit/",
      name: "orders",
      latestVersion: 2,
      siblingNames: ["billing"],
    });
    const byAction = Object.fromEntries(operations.map((operation) => [operation.action, operation.paths]));
    expect(byAction["transit:decrypt"]).toEqual(["team-a/transit/decrypt/orders"]);
    expect(byAction["transit:sign"]).toContain("team-a/transit/sign/orders/sha2-256");
    expect(byAction["transit:export-key"]).toContain("team-a/transit/export/encryption-key/orders/2");
    expect(byAction["transit:export-key"]).toContain("team-a/transit/export/signing-key/orders/latest");
    expect(byAction["transit:byok-export-key"]).toContain("team-a/transit/byok-export/billing/orders");
    expect(byAction["transit:restore-key"]).toEqual([
      "team-a/transit/restore/orders",
      "team-a/transit/restore",
    ]);
  });
});

describe("grantsForKey", () => {
  const target = {
    mount: "transit",
    name: "payments",
    latestVersion: 1,
    siblingNames: ["orders", "payments"],
  };

  it("gives nothing for a policy that does not reach the key", () => {
    expect(grantsForKey(compile("reader", 'path "secret/*" { capabilities = ["read"] }'), target)).toEqual(
      [],
    );
    expect(
      grantsForKey(compile("lister", 'path "transit/keys" { capabilities = ["list"] }'), target),
    ).toEqual([]);
  });

  it("derives transit actions per rule, keeps the rule's capabilities and conditions", () => {
    const policy = compile(
      "app",
      'path "transit/encrypt/payments" {\n  capabilities = ["update"]\n  allowed_parameters = { "plaintext" = [] }\n}\npath "transit/keys/payments" { capabilities = ["read", "list"] }',
    );
    expect(grantsForKey(policy, target)).toEqual([
      {
        principal: "app",
        principalKind: "policy",
        effect: "allow",
        actions: ["transit:encrypt", "update"],
        conditions: { allowed_parameters: { plaintext: [] } },
        via: "acl-policy",
        reference: "transit/encrypt/payments",
      },
      {
        principal: "app",
        principalKind: "policy",
        effect: "allow",
        actions: ["transit:read-key", "read", "list"],
        via: "acl-policy",
        reference: "transit/keys/payments",
      },
    ]);
  });

  it("shows what a broad glob really reaches, export and backup included", () => {
    const [grant] = grantsForKey(
      compile("ops", 'path "transit/*" { capabilities = ["read", "update", "delete", "sudo"] }'),
      target,
    );
    expect(grant?.reference).toBe("transit/*");
    expect(grant?.actions).toEqual(
      expect.arrayContaining([
        "transit:decrypt",
        "transit:encrypt",
        "transit:export-key",
        "transit:backup-key",
        "transit:delete-key",
        "transit:rotate-key",
        "transit:restore-key",
        "sudo",
        "delete",
      ]),
    );
  });

  it("reports a deny rule as a deny grant for the actions it blocks", () => {
    const grants = grantsForKey(
      compile(
        "locked",
        'path "transit/*" { capabilities = ["update"] }\npath "transit/decrypt/payments" { capabilities = ["deny"] }',
      ),
      target,
    );
    expect(grants.find((grant) => grant.effect === "deny")).toEqual({
      principal: "locked",
      principalKind: "policy",
      effect: "deny",
      actions: ["transit:decrypt", "deny"],
      via: "acl-policy",
      reference: "transit/decrypt/payments",
    });
    expect(grants.find((grant) => grant.effect === "allow")?.actions).not.toContain("transit:decrypt");
  });

  it("sees a rule that names one hash algorithm or one export version", () => {
    const grants = grantsForKey(
      compile(
        "narrow",
        'path "transit/sign/payments/sha2-512" { capabilities = ["update"] }\npath "transit/export/encryption-key/payments/1" { capabilities = ["read"] }',
      ),
      target,
    );
    expect(grants.map((grant) => grant.actions[0])).toEqual(["transit:export-key", "transit:sign"]);
  });
});

describe("undeterminedRulesForKey (templated paths resolve per token)", () => {
  const target = { mount: "transit", name: "orders" };

  it("reports a templated rule that could reach the key, whole-segment or inside a segment", () => {
    const policy = compile(
      "per-team",
      [
        'path "transit/encrypt/{{identity.entity.metadata.team}}" { capabilities = ["update"] }',
        'path "transit/keys/app-{{identity.entity.name}}" { capabilities = ["read"] }',
        'path "transit/decrypt/{{identity.entity.name}}*" { capabilities = ["update"] }',
      ].join("\n"),
    );
    expect(undeterminedRulesForKey(policy, target).map((entry) => entry.reference)).toEqual([
      "transit/encrypt/{{identity.entity.metadata.team}}",
      "transit/decrypt/{{identity.entity.name}}*",
    ]);
    expect(undeterminedRulesForKey(policy, target)[0]).toEqual({
      principal: "per-team",
      reference: "transit/encrypt/{{identity.entity.metadata.team}}",
      reason:
        'templated path "transit/encrypt/{{identity.entity.metadata.team}}" (update) resolves per token identity and may reach this key',
    });
  });

  it("ignores deny rules, other mounts and policies without templates", () => {
    const policy = compile(
      "mixed",
      [
        'path "transit/keys/{{identity.entity.name}}" { capabilities = ["deny"] }',
        'path "other/encrypt/{{identity.entity.name}}" { capabilities = ["update"] }',
        'path "transit/encrypt/orders" { capabilities = ["update"] }',
      ].join("\n"),
    );
    expect(undeterminedRulesForKey(policy, target)).toEqual([]);
    // The literal rule is a plain grant, as before.
    expect(grantsForKey(policy, target).map((grant) => grant.reference)).toEqual(["transit/encrypt/orders"]);
  });
});
