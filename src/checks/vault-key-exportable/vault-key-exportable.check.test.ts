import { describe, expect, it } from "vitest";
import type { KeyRecord } from "../../model/key.ts";
import { collected, makeGap, makeKey, makeSnapshot, notCollected } from "../../../test/factories/index.ts";
import { check, transitKeyReadCall } from "./vault-key-exportable.check.ts";

const LOCATION = "https://vault.example:8200";

/** A Vault transit key whose raw key read carries the two flags. */
function vaultKey(
  name: string,
  flags: Record<string, unknown>,
  overrides: Partial<KeyRecord> = {},
): KeyRecord {
  const keyId = `transit/${name}`;
  return makeKey({
    source: "vault-prod",
    sourceType: "hashicorp-vault",
    location: LOCATION,
    keyId,
    arn: `${LOCATION}/v1/transit/keys/${name}`,
    keySpec: "aes256-gcm96",
    rawKeyType: "aes256-gcm96",
    raw: {
      [`vault:GET transit/keys/${name}`]: collected(
        { name, type: "aes256-gcm96", deletion_allowed: false, ...flags },
        `vault:GET transit/keys/${name}`,
      ),
    },
    ...overrides,
  });
}

describe("vault-key-exportable", () => {
  it("has nothing to judge in an empty snapshot", () => {
    expect(check.run(makeSnapshot())).toEqual([]);
  });

  it("derives the raw call name from the key id, mounts with slashes included", () => {
    expect(transitKeyReadCall({ keyId: "team-a/transit/orders" })).toBe(
      "vault:GET team-a/transit/keys/orders",
    );
  });

  it("passes a key that is neither exportable nor backed up in plaintext", () => {
    const key = vaultKey("payments", { exportable: false, allow_plaintext_backup: false });
    expect(check.run(makeSnapshot({ keys: [key] }))).toEqual([
      {
        checkId: "vault-key-exportable",
        status: "pass",
        severity: "info",
        source: "vault-prod",
        location: LOCATION,
        keyId: "transit/payments",
        resource: `${LOCATION}/v1/transit/keys/payments`,
        message: "key is neither exportable nor backed up in plaintext: its material stays in Vault",
        evidence: ["sources/vault-prod/vault.example_8200/keys/transit_payments/configuration.json"],
      },
    ]);
  });

  it("fails (high) an exportable key, and names both flags when both are set", () => {
    const exportable = vaultKey("signing", { exportable: true, allow_plaintext_backup: false });
    const both = vaultKey("legacy", { exportable: true, allow_plaintext_backup: true });
    const findings = check.run(makeSnapshot({ keys: [exportable, both] }));
    expect(findings.map((finding) => [finding.keyId, finding.status, finding.severity])).toEqual([
      ["transit/signing", "fail", "high"],
      ["transit/legacy", "fail", "high"],
    ]);
    expect(findings[0]?.message).toContain("exportable");
    expect(findings[0]?.message).not.toContain("allow_plaintext_backup");
    expect(findings[1]?.message).toContain("exportable");
    expect(findings[1]?.message).toContain("allow_plaintext_backup");
  });

  it("gives every Vault key exactly one finding and ignores other source types", () => {
    const keys = [
      ...["a", "b", "c"].map((name) => vaultKey(name, { exportable: false, allow_plaintext_backup: false })),
      vaultKey("d", { exportable: true, allow_plaintext_backup: false }),
      makeKey(),
    ];
    const findings = check.run(makeSnapshot({ keys }));
    expect(findings.map((finding) => `${finding.keyId}:${finding.status}`)).toEqual([
      "transit/a:pass",
      "transit/b:pass",
      "transit/c:pass",
      "transit/d:fail",
    ]);
  });

  it("reports a key whose configuration could not be read as an error with the cause", () => {
    const unread = vaultKey(
      "secret",
      {},
      {
        raw: {
          "vault:GET transit/keys/secret": notCollected("vault:GET transit/keys/secret", {
            code: "PermissionDenied",
            message: "permission denied",
          }),
        },
      },
    );
    const missing = vaultKey("gone", {}, { raw: {} });
    const odd = vaultKey("odd", { exportable: "yes" });
    const findings = check.run(makeSnapshot({ keys: [unread, missing, odd] }));
    expect(findings.map((finding) => [finding.status, finding.severity])).toEqual([
      ["error", "high"],
      ["error", "high"],
      ["error", "high"],
    ]);
    expect(findings[0]?.message).toBe(
      "export settings unknown: vault:GET transit/keys/secret failed (PermissionDenied): permission denied",
    );
    expect(findings[1]?.message).toContain("was not collected");
    expect(findings[2]?.message).toContain("without boolean exportable");
  });

  it("reports a location that could not be collected as an error", () => {
    const findings = check.run(
      makeSnapshot({
        keys: [vaultKey("a", { exportable: false, allow_plaintext_backup: false })],
        gaps: [
          makeGap({
            source: "vault-prod",
            location: LOCATION,
            error: {
              call: "vault:LIST transit/keys",
              code: "PermissionDenied",
              message: "permission denied",
              retryable: false,
            },
          }),
        ],
      }),
    );
    expect(findings).toContainEqual(
      expect.objectContaining({
        status: "error",
        source: "vault-prod",
        message: expect.stringContaining("vault:LIST transit/keys failed"),
      }),
    );
  });
});
