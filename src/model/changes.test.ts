import { describe, expect, it } from "vitest";
import { classifyAdministrativeAction } from "./changes.ts";
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
    expect(classifyAdministrativeAction("aws-kms", action)).toBe(kind);
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
    expect(classifyAdministrativeAction("aws-kms", action)).toBeUndefined();
  });

  it("does not take inherited object members for actions", () => {
    expect(classifyAdministrativeAction("aws-kms", "toString")).toBeUndefined();
    expect(classifyAdministrativeAction("aws-kms", "constructor")).toBeUndefined();
  });

  it("classifies nothing for Azure and Vault yet", () => {
    expect(classifyAdministrativeAction("azure-key-vault", "KeyUpdate")).toBeUndefined();
    expect(classifyAdministrativeAction("hashicorp-vault", "update transit/keys/a/config")).toBeUndefined();
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
