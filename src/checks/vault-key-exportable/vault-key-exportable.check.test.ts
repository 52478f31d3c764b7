import { describe, expect, it } from "vitest";
import type { KeyRecord } from "../../model/key.ts";
import { UNKNOWN_KEY_SPEC } from "../../model/key.ts";
import { makeCollectionError, makeGap, makeKey, makeSnapshot } from "../../../test/factories/index.ts";
import { check } from "./vault-key-exportable.check.ts";

const LOCATION = "https://vault.example:8200";

/** A Vault transit key with the two typed export flags (undefined in `flags` = not reported). */
function vaultKey(
  name: string,
  flags: Pick<KeyRecord, "exportable" | "allowPlaintextBackup">,
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
    ...flags,
    ...overrides,
  });
}

describe("vault-key-exportable", () => {
  it("has nothing to judge in an empty snapshot", () => {
    expect(check.run(makeSnapshot())).toEqual([]);
  });

  it("passes a key that is neither exportable nor backed up in plaintext", () => {
    const key = vaultKey("payments", { exportable: false, allowPlaintextBackup: false });
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
    const exportable = vaultKey("signing", { exportable: true, allowPlaintextBackup: false });
    const both = vaultKey("legacy", { exportable: true, allowPlaintextBackup: true });
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
      ...["a", "b", "c"].map((name) => vaultKey(name, { exportable: false, allowPlaintextBackup: false })),
      vaultKey("d", { exportable: true, allowPlaintextBackup: false }),
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
        keySpec: UNKNOWN_KEY_SPEC,
        state: "unavailable",
        errors: [
          makeCollectionError({
            call: "vault:GET transit/keys/secret",
            code: "PermissionDenied",
            message: "permission denied",
          }),
        ],
      },
    );
    const findings = check.run(makeSnapshot({ keys: [unread] }));
    expect(findings.map((finding) => [finding.status, finding.severity])).toEqual([["error", "high"]]);
    expect(findings[0]?.message).toBe(
      "key metadata unavailable: vault:GET transit/keys/secret failed (PermissionDenied): permission denied",
    );
  });

  it("warns, never fails, when Vault read the key but did not report a flag", () => {
    const neither = vaultKey("old", {});
    const backupUnknown = vaultKey("half", { exportable: false });
    const exportableAnyway = vaultKey("bad", { exportable: true });
    const findings = check.run(makeSnapshot({ keys: [neither, backupUnknown, exportableAnyway] }));
    expect(findings.map((finding) => [finding.keyId, finding.status])).toEqual([
      ["transit/old", "warn"],
      ["transit/half", "warn"],
      // A flag that is reported and set fails whatever the other one is.
      ["transit/bad", "fail"],
    ]);
    expect(findings[0]?.message).toBe(
      "Vault did not report exportable or allow_plaintext_backup for this key; confirm both are false with `vault read transit/keys/old`",
    );
    expect(findings[1]?.message).toBe(
      "Vault did not report allow_plaintext_backup for this key; confirm it is false with `vault read transit/keys/half`",
    );
  });

  it("reports a location that could not be collected as an error", () => {
    const findings = check.run(
      makeSnapshot({
        keys: [vaultKey("a", { exportable: false, allowPlaintextBackup: false })],
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
