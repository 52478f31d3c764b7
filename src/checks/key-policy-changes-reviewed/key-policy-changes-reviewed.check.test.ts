import { describe, expect, it } from "vitest";
import {
  makeChangeRecord,
  makeChangeSummary,
  makeGap,
  makeKey,
  makeKeyChangeHistory,
  makeKeys,
  makeSnapshot,
  makeUsageGap,
  makeUsageSummary,
} from "../../../test/factories/index.ts";
import { check } from "./key-policy-changes-reviewed.check.ts";

const ADMIN = "arn:aws:iam::111122223333:role/key-admin";
const putPolicy = makeChangeRecord({
  action: "PutKeyPolicy",
  principal: ADMIN,
  time: "2026-07-10T08:00:00.000Z",
});
const grant = makeChangeRecord({
  action: "CreateGrant",
  principal: ADMIN,
  time: "2026-09-01T12:00:00.000Z",
  eventId: "e-grant",
});
delete grant.sourceAddress;

describe("key-policy-changes-reviewed", () => {
  it("has nothing to judge in an empty snapshot", () => {
    expect(check.run(makeSnapshot())).toEqual([]);
  });

  it("passes a key with no policy or grant change in the period", () => {
    const key = makeKey();
    expect(check.run(makeSnapshot({ keys: [key] }))).toEqual([
      expect.objectContaining({
        checkId: "key-policy-changes-reviewed",
        status: "pass",
        keyId: key.keyId,
        message: "no key policy or grant change was logged in 2026-Q3",
      }),
    ]);
  });

  it("warns for a key with changes, naming each action, who and when", () => {
    const key = makeKey();
    const changes = [
      makeChangeSummary({ keys: [makeKeyChangeHistory(key.keyId, { accessChanges: [putPolicy, grant] })] }),
    ];
    const [finding] = check.run(makeSnapshot({ keys: [key], changes }));
    expect(finding).toMatchObject({ status: "warn", severity: "medium", date: "2026-07-10T08:00:00.000Z" });
    expect(finding?.message).toBe(
      `2 key policy or grant changes in 2026-Q3 to review: PutKeyPolicy by ${ADMIN} from 203.0.113.7 at 2026-07-10T08:00:00.000Z; CreateGrant by ${ADMIN} at 2026-09-01T12:00:00.000Z`,
    );
  });

  it("names at most ten changes and counts the rest, capped ones included", () => {
    const key = makeKey();
    const many = Array.from({ length: 12 }, (_, index) =>
      makeChangeRecord({ action: "CreateGrant", time: `2026-08-${String(index + 10)}T00:00:00.000Z` }),
    );
    const history = makeKeyChangeHistory(key.keyId, { accessChanges: many, accessChangesOmitted: 5 });
    const [finding] = check.run(
      makeSnapshot({ keys: [key], changes: [makeChangeSummary({ keys: [history] })] }),
    );
    expect(finding?.message).toMatch(/^17 key policy or grant changes/);
    expect(finding?.message).toContain("and 7 more in changes.ndjson");
  });

  it("errors when the history is unknown, warns when the log is incomplete", () => {
    const key = makeKey();
    expect(check.run(makeSnapshot({ keys: [key], usage: [], changes: [] }))[0]?.status).toBe("error");
    expect(
      check.run(
        makeSnapshot({ keys: [key], usage: [makeUsageSummary({ method: "none", eventCount: 0 })] }),
      )[0]?.status,
    ).toBe("error");
    const [partial] = check.run(
      makeSnapshot({ keys: [key], usage: [makeUsageSummary({ gaps: [makeUsageGap()] })] }),
    );
    expect(partial?.status).toBe("warn");
    expect(partial?.message).toContain("changes may be in the 1 unreadable part");
  });

  it("marks provider-managed keys not-applicable and reports collection gaps as errors", () => {
    const findings = check.run(
      makeSnapshot({ keys: [makeKey({ manager: "provider" })], gaps: [makeGap({ location: "sa-east-1" })] }),
    );
    expect(findings.map((finding) => finding.status)).toEqual(["not-applicable", "error"]);
  });

  it("gives each of many keys its own verdict", () => {
    const keys = makeKeys(3);
    const changes = [
      makeChangeSummary({ keys: [makeKeyChangeHistory(keys[2]?.keyId ?? "", { accessChanges: [grant] })] }),
    ];
    expect(check.run(makeSnapshot({ keys, changes })).map((finding) => finding.status)).toEqual([
      "pass",
      "pass",
      "warn",
    ]);
  });

  it("names vault-wide access changes (Azure VaultPatch, Vault ACL policy writes) on every key of the location", () => {
    const vault = "https://kv-prod.vault.azure.net";
    const keys = ["payments", "orders"].map((name) =>
      makeKey({
        source: "azure-prod",
        sourceType: "azure-key-vault",
        location: vault,
        keyId: `${vault}/keys/${name}`,
        keySpec: "RSA_2048",
      }),
    );
    const patch = makeChangeRecord({
      action: "VaultPatch",
      principal: "ops@example.com",
      sourceAddress: "203.0.113.20",
      time: "2026-08-05T09:00:00.000Z",
    });
    const findings = check.run(
      makeSnapshot({
        keys,
        usage: [makeUsageSummary({ source: "azure-prod", location: vault })],
        changes: [
          makeChangeSummary({ source: "azure-prod", location: vault, locationAccessChanges: [patch] }),
        ],
      }),
    );
    expect(findings.map((finding) => finding.status)).toEqual(["warn", "warn"]);
    expect(findings[0]).toMatchObject({ date: "2026-08-05T09:00:00.000Z" });
    expect(findings[0]?.message).toBe(
      "1 access change to the whole vault (access policies or permission model) in 2026-Q3 to review: VaultPatch by ops@example.com from 203.0.113.20 at 2026-08-05T09:00:00.000Z",
    );
  });

  it("names a Vault key's own changes and the namespace's ACL policy writes together", () => {
    const key = makeKey({
      source: "vault-prod",
      sourceType: "hashicorp-vault",
      location: "https://vault.example:8200",
      keyId: "transit/payments",
      keySpec: "aes256-gcm96",
    });
    const policyWrite = makeChangeRecord({
      action: "sys/policy-write",
      principal: "token-ops",
      time: "2026-08-01T00:00:00.000Z",
    });
    const [finding] = check.run(
      makeSnapshot({
        keys: [key],
        usage: [makeUsageSummary({ source: "vault-prod", location: key.location })],
        changes: [
          makeChangeSummary({
            source: "vault-prod",
            location: key.location,
            locationAccessChanges: [policyWrite],
            locationAccessChangesOmitted: 11,
          }),
        ],
      }),
    );
    expect(finding?.status).toBe("warn");
    expect(finding?.message).toContain(
      "12 access changes to the whole namespace (ACL policies) in 2026-Q3 to review: sys/policy-write by token-ops",
    );
    expect(finding?.message).toContain("; and 11 more in changes.ndjson");
  });
});
