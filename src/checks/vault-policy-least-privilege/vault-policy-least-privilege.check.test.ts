import { describe, expect, it } from "vitest";
import type { AccessGrant, AccessPolicy, KeyRecord } from "../../model/key.ts";
import {
  collected,
  makeAccess,
  makeGap,
  makeKey,
  makeSnapshot,
  notCollected,
} from "../../../test/factories/index.ts";
import { check, patternSpansKeys } from "./vault-policy-least-privilege.check.ts";

const LOCATION = "https://vault.example:8200";

function grant(
  principal: string,
  reference: string,
  actions: string[],
  effect: "allow" | "deny" = "allow",
): AccessGrant {
  return { principal, principalKind: "policy", effect, actions, via: "acl-policy", reference };
}

function vaultKey(keyId: string, grants: AccessGrant[], overrides: Partial<KeyRecord> = {}): KeyRecord {
  return makeKey({
    source: "vault-prod",
    sourceType: "hashicorp-vault",
    location: LOCATION,
    keyId,
    arn: `${LOCATION}/v1/${keyId.replace(/\/([^/]+)$/, "/keys/$1")}`,
    keySpec: "aes256-gcm96",
    access: makeAccess(grants),
    ...overrides,
  });
}

describe("patternSpansKeys", () => {
  it.each([
    ["transit/decrypt/payments", false],
    ["transit/+/payments", false],
    ["transit/keys/payments/*", false],
    ["transit/decrypt/*", true],
    ["transit/decrypt/+", true],
    ["transit/keys/pay*", true],
    ["transit/*", true],
    ["*", true],
    ["+/decrypt/payments", true],
  ])("%s → %s for transit/payments", (pattern, spans) => {
    expect(patternSpansKeys(pattern, "transit/payments")).toBe(spans);
  });

  it("handles mounts with several segments", () => {
    expect(patternSpansKeys("team-a/transit/keys/+", "team-a/transit/orders")).toBe(true);
    expect(patternSpansKeys("team-a/+/decrypt/orders", "team-a/transit/orders")).toBe(true);
    expect(patternSpansKeys("team-a/transit/+/orders", "team-a/transit/orders")).toBe(false);
  });
});

describe("vault-policy-least-privilege", () => {
  it("has nothing to judge in an empty snapshot", () => {
    expect(check.run(makeSnapshot())).toEqual([]);
  });

  it("passes a key reached only by policies that name it, and a key no policy reaches", () => {
    const named = vaultKey("transit/payments", [
      grant("app", "transit/encrypt/payments", ["transit:encrypt", "update"]),
      grant("app", "transit/decrypt/payments", ["transit:decrypt", "update"]),
      grant("ops", "transit/keys/payments/*", ["transit:rotate-key", "update"]),
      // A glob deny narrows access; it is never a problem.
      grant("lockdown", "transit/*", ["transit:export-key", "deny"], "deny"),
    ]);
    const unreached = vaultKey("transit/mac", []);
    const findings = check.run(makeSnapshot({ keys: [named, unreached] }));
    expect(findings).toEqual([
      expect.objectContaining({
        checkId: "vault-policy-least-privilege",
        status: "pass",
        severity: "info",
        keyId: "transit/payments",
        message: "2 policies name the key explicitly without sudo or delete: app, ops",
        evidence: ["sources/vault-prod/vault.example_8200/keys/transit_payments/access-policy.json"],
      }),
      expect.objectContaining({
        status: "pass",
        keyId: "transit/mac",
        message: "no ACL policy grants access to the key (only root tokens can use it)",
      }),
    ]);
  });

  it("fails (high) transit capabilities in the default policy", () => {
    const key = vaultKey("team-a/transit/orders", [
      grant("default", "team-a/transit/decrypt/orders", ["transit:decrypt", "update"]),
    ]);
    const [finding] = check.run(makeSnapshot({ keys: [key] }));
    expect(finding).toMatchObject({ status: "fail", severity: "high" });
    expect(finding?.message).toContain("the default policy (attached to every token) grants transit:decrypt");
  });

  it("fails wildcards spanning keys, sudo and delete, naming each", () => {
    const key = vaultKey("transit/payments", [
      grant("glob-ops", "transit/decrypt/*", ["transit:decrypt", "update"]),
      grant("key-admin", "transit/keys/payments/*", ["transit:rotate-key", "update", "sudo"]),
      grant("cleanup", "transit/keys/payments", ["transit:delete-key", "delete"]),
    ]);
    const [finding] = check.run(makeSnapshot({ keys: [key] }));
    expect(finding?.status).toBe("fail");
    expect(finding?.message).toContain(
      'policy glob-ops reaches the key through wildcard path "transit/decrypt/*"',
    );
    expect(finding?.message).toContain('policy key-admin holds sudo on "transit/keys/payments/*"');
    expect(finding?.message).toContain('policy cleanup may delete the key via "transit/keys/payments"');
  });

  it("matches a child namespace's key on its own mount and name, not its namespace-prefixed key id", () => {
    // `namespaces: all`: the key lives in team-a/ below the source's namespace; team-a's policies name
    // `transit/...`, relative to team-a.
    const key = vaultKey(
      "team-a/transit/payments",
      [grant("glob-ops", "transit/decrypt/*", ["transit:decrypt", "update"])],
      {
        location: `${LOCATION}/v1/team-a`,
        vaultTransitKey: { namespace: "team-a/", mount: "transit", name: "payments" },
      },
    );
    const [finding] = check.run(makeSnapshot({ keys: [key] }));
    expect(finding).toMatchObject({ status: "fail", keyId: "team-a/transit/payments" });
    expect(finding?.message).toContain(
      'policy glob-ops reaches the key through wildcard path "transit/decrypt/*"',
    );
  });

  it("warns, never passes or fails, when a templated rule may reach the key depending on the token", () => {
    const templated = {
      principal: "per-team",
      reference: "transit/encrypt/{{identity.entity.metadata.team}}",
      reason:
        'templated path "transit/encrypt/{{identity.entity.metadata.team}}" (update) resolves per token identity and may reach this key',
    };
    const withUndetermined = (grants: AccessGrant[]) =>
      collected<AccessPolicy>(
        { documents: [], grants, undetermined: [templated] },
        "vault:LIST sys/policies/acl",
      );
    const unknownReach = vaultKey("transit/orders", [], { access: withUndetermined([]) });
    const sudo = grant("ops", "transit/keys/legacy", ["sudo"]);
    const alsoTooBroad = vaultKey("transit/legacy", [sudo], { access: withUndetermined([sudo]) });
    const findings = check.run(makeSnapshot({ keys: [unknownReach, alsoTooBroad] }));
    expect(findings.map((finding) => [finding.keyId, finding.status])).toEqual([
      ["transit/orders", "warn"],
      // A known problem still fails, whatever is unknown beside it.
      ["transit/legacy", "fail"],
    ]);
    expect(findings[0]?.message).toBe(
      `whether a policy rule reaches the key depends on the token's identity: policy per-team: ${templated.reason}; review who can hold a token that matches`,
    );
  });

  it("gives every Vault key of every location one finding and ignores other source types", () => {
    const keys = [
      vaultKey("transit/a", [grant("app", "transit/encrypt/a", ["transit:encrypt", "update"])]),
      vaultKey("transit/b", [grant("glob", "transit/+/b", ["transit:encrypt", "transit:decrypt", "update"])]),
      vaultKey("transit/c", [grant("glob", "transit/encrypt/+", ["transit:encrypt", "update"])]),
      vaultKey("transit/d", [], { location: "https://vault.example:8200/v1/admin" }),
      makeKey(),
    ];
    const findings = check.run(makeSnapshot({ keys }));
    expect(findings.map((finding) => `${finding.keyId}:${finding.status}`)).toEqual([
      "transit/a:pass",
      "transit/b:pass",
      "transit/c:fail",
      "transit/d:pass",
    ]);
  });

  it("reports uncollected policies as an error with the failing call, and location gaps too", () => {
    const key = vaultKey("transit/payments", [], {
      access: notCollected("vault:GET sys/policies/acl/app", {
        code: "PermissionDenied",
        message: "permission denied",
      }),
    });
    const findings = check.run(
      makeSnapshot({
        keys: [key],
        gaps: [
          makeGap({
            source: "vault-prod",
            location: LOCATION,
            error: {
              call: "vault:GET sys/mounts",
              code: "ECONNREFUSED",
              message: "connect ECONNREFUSED",
              retryable: true,
            },
          }),
        ],
      }),
    );
    expect(findings[0]).toMatchObject({
      status: "error",
      severity: "high",
      message:
        "policies reaching the key unknown: vault:GET sys/policies/acl/app failed (PermissionDenied): permission denied",
    });
    expect(findings[1]).toMatchObject({
      status: "error",
      message: expect.stringContaining("vault:GET sys/mounts failed (ECONNREFUSED)"),
    });
  });
});
