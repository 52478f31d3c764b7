import { describe, expect, it } from "vitest";
import { classifyAdministrativeAction, rotationStateAfter } from "./changes.ts";
import { toJsonValue } from "./json.ts";

describe("classifyAdministrativeAction", () => {
  it.each([
    ["EnableKeyRotation", "rotation"],
    ["DisableKeyRotation", "rotation"],
    ["PutKeyPolicy", "access"],
    ["CreateGrant", "access"],
    ["RevokeGrant", "access"],
    ["RetireGrant", "access"],
    ["CreateKey", "other"],
    ["EnableKey", "other"],
    ["DisableKey", "other"],
    ["ScheduleKeyDeletion", "other"],
    ["CancelKeyDeletion", "other"],
    ["RotateKeyOnDemand", "other"],
    ["ImportKeyMaterial", "other"],
    ["DeleteImportedKeyMaterial", "other"],
    ["CreateAlias", "other"],
    ["UpdateAlias", "other"],
    ["DeleteAlias", "other"],
    ["TagResource", "other"],
    ["UntagResource", "other"],
  ])("AWS %s is an administrative change (%s)", (action, kind) => {
    expect(classifyAdministrativeAction("aws-kms", { action })).toEqual({ kind, scope: "key" });
  });

  it.each([
    "Decrypt",
    "Encrypt",
    "GenerateDataKey",
    "DescribeKey",
    "GetKeyPolicy",
    "ListGrants",
    "RotateKey",
  ])("AWS %s is usage or a read, not a change", (action) => {
    expect(classifyAdministrativeAction("aws-kms", { action })).toBeUndefined();
  });

  it("does not take inherited object members for actions", () => {
    for (const sourceType of ["aws-kms", "azure-key-vault", "hashicorp-vault"] as const) {
      expect(classifyAdministrativeAction(sourceType, { action: "toString" })).toBeUndefined();
      expect(classifyAdministrativeAction(sourceType, { action: "constructor" })).toBeUndefined();
    }
    expect(rotationStateAfter("aws-kms", { action: "constructor" })).toBe("unknown");
  });

  it.each([
    ["KeyCreate", "other"],
    ["KeyImport", "other"],
    ["KeyUpdate", "other"],
    ["KeyDelete", "other"],
    ["KeyPurge", "other"],
    ["KeyRecover", "other"],
    ["KeyRestore", "other"],
    ["KeyRotate", "other"],
    ["KeyRotationPolicySet", "rotation"],
  ])("Azure %s is a change to the key (%s)", (action, kind) => {
    expect(classifyAdministrativeAction("azure-key-vault", { action })).toEqual({ kind, scope: "key" });
  });

  it.each(["VaultPut", "VaultPatch"])("Azure %s is an access change to every key of the vault", (action) => {
    expect(classifyAdministrativeAction("azure-key-vault", { action })).toEqual({
      kind: "access",
      scope: "location",
    });
  });

  it.each(["KeyBackup", "KeyGet", "KeyDecrypt", "KeyRotateIfDue", "KeyRotationPolicyGet", "VaultGet"])(
    "Azure %s is usage or a read, not a change",
    (action) => {
      expect(classifyAdministrativeAction("azure-key-vault", { action })).toBeUndefined();
    },
  );

  it.each([
    ["transit/create-key", "other"],
    ["transit/delete-key", "other"],
    ["transit/rotate-key", "other"],
    ["transit/configure-key", "other"],
    ["transit/import-key", "other"],
    ["transit/trim-key", "other"],
  ])("Vault %s is a change to the key (%s)", (action, kind) => {
    expect(classifyAdministrativeAction("hashicorp-vault", { action })).toEqual({ kind, scope: "key" });
  });

  it.each(["sys/policy-write", "sys/policy-delete"])(
    "Vault %s (an ACL policy) is an access change to every key of the namespace",
    (action) => {
      expect(classifyAdministrativeAction("hashicorp-vault", { action })).toEqual({
        kind: "access",
        scope: "location",
      });
    },
  );

  it("reads a Vault key config that sets auto_rotate_period as a rotation change, by the field's name alone", () => {
    expect(
      classifyAdministrativeAction("hashicorp-vault", {
        action: "transit/configure-key",
        requestParameters: { auto_rotate_period: "hmac-sha256:0f3a", deletion_allowed: "hmac-sha256:11" },
      }),
    ).toEqual({ kind: "rotation", scope: "key" });
    expect(
      classifyAdministrativeAction("hashicorp-vault", {
        action: "transit/configure-key",
        requestParameters: { deletion_allowed: true },
      }),
    ).toEqual({ kind: "other", scope: "key" });
  });

  it.each(["transit/encrypt", "transit/decrypt", "transit/sign", "transit/read-key", "transit/backup-key"])(
    "Vault %s is usage or a read, not a change",
    (action) => {
      expect(classifyAdministrativeAction("hashicorp-vault", { action })).toBeUndefined();
    },
  );
});

describe("rotationStateAfter", () => {
  it("reads AWS toggles by their action", () => {
    expect(rotationStateAfter("aws-kms", { action: "EnableKeyRotation" })).toBe("enabled");
    expect(rotationStateAfter("aws-kms", { action: "DisableKeyRotation" })).toBe("disabled");
  });

  it("leaves Azure's rotation-policy changes unknown: AuditEvent does not carry the policy", () => {
    expect(rotationStateAfter("azure-key-vault", { action: "KeyRotationPolicySet" })).toBe("unknown");
  });

  it.each([
    ["0", "disabled"],
    ["0s", "disabled"],
    [0, "disabled"],
    ["24h", "enabled"],
    ["1h30m", "enabled"],
    [86400, "enabled"],
    ["hmac-sha256:4f8e1d", "unknown"],
    ["soon", "unknown"],
  ])("reads Vault auto_rotate_period %j as %s (HMACed values are unknown)", (period, state) => {
    expect(
      rotationStateAfter("hashicorp-vault", {
        action: "transit/configure-key",
        requestParameters: { auto_rotate_period: period },
      }),
    ).toBe(state);
  });
});

describe("toJsonValue", () => {
  it("returns parsed JSON unchanged", () => {
    const value: unknown = JSON.parse('{"a":[1,"x",true,null,{"b":2.5}]}');
    expect(toJsonValue(value)).toEqual(value);
  });

  it("refuses what JSON cannot hold", () => {
    expect(toJsonValue(undefined)).toBeUndefined();
    expect(toJsonValue({ when: new Date(0) })).toBeUndefined();
    expect(toJsonValue([Number.NaN])).toBeUndefined();
    expect(toJsonValue({ run: () => 1 })).toBeUndefined();
  });
});
