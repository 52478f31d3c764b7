import type { AccessGrant, AccessPolicy, Collected, KeyRecord, RotationStatus } from "../../src/model/key.ts";
import { collected } from "./collected.factory.ts";

export const DEFAULT_SOURCE = "aws-prod";
export const DEFAULT_LOCATION = "eu-west-1";
/** The AWS documentation account id; every default ARN and the default source account use it. */
export const DEFAULT_ACCOUNT = "111122223333";

let keySequence = 0;

/** Deterministic, unique, UUID-shaped key ids: `00000000-0000-4000-8000-000000000001`, ... */
export function nextKeyId(): string {
  keySequence += 1;
  return `00000000-0000-4000-8000-${String(keySequence).padStart(12, "0")}`;
}

export function makeRotation(overrides: Partial<RotationStatus> = {}): Collected<RotationStatus> {
  return collected<RotationStatus>(
    { enabled: true, periodDays: 365, history: [], ...overrides },
    "kms:GetKeyRotationStatus",
  );
}

export function makeGrant(overrides: Partial<AccessGrant> = {}): AccessGrant {
  return {
    principal: `arn:aws:iam::${DEFAULT_ACCOUNT}:role/payments-app`,
    principalKind: "role",
    principalAccount: DEFAULT_ACCOUNT,
    effect: "allow",
    actions: ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*"],
    via: "key-policy",
    reference: "Allow use of the key",
    ...overrides,
  };
}

/** The statement AWS puts in every default key policy: the account root may do `kms:*`. */
export function accountRootGrant(account = DEFAULT_ACCOUNT): AccessGrant {
  return makeGrant({
    principal: `arn:aws:iam::${account}:root`,
    principalKind: "account-root",
    principalAccount: account,
    actions: ["kms:*"],
    reference: "Enable IAM User Permissions",
  });
}

/** `makeAccess([makeGrant(...)])`: a collected access policy with exactly these grants. */
export function makeAccess(
  grants: AccessGrant[],
  documents: AccessPolicy["documents"] = [],
): Collected<AccessPolicy> {
  return collected<AccessPolicy>({ documents, grants }, "kms:GetKeyPolicy");
}

/**
 * A customer-managed, enabled, platform-origin AWS symmetric key with rotation on (365 days) and the
 * default key policy. Override anything: `makeKey({ state: "disabled", rotation: makeRotation({ enabled: false }) })`.
 * The ARN follows `location`, `keyId` and `sourceType` unless given.
 */
export function makeKey(overrides: Partial<KeyRecord> = {}): KeyRecord {
  const source = overrides.source ?? DEFAULT_SOURCE;
  const sourceType = overrides.sourceType ?? "aws-kms";
  const location = overrides.location ?? DEFAULT_LOCATION;
  const keyId = overrides.keyId ?? nextKeyId();
  const arn =
    overrides.arn ??
    (sourceType === "aws-kms"
      ? `arn:aws:kms:${location}:${DEFAULT_ACCOUNT}:key/${keyId}`
      : `${location}/keys/${keyId}`);
  return {
    source,
    sourceType,
    location,
    keyId,
    arn,
    aliases: [],
    keySpec: "SYMMETRIC_DEFAULT",
    rawKeyType: "SYMMETRIC_DEFAULT",
    keyUsage: "ENCRYPT_DECRYPT",
    origin: "platform",
    manager: "customer",
    state: "enabled",
    createdAt: "2025-01-15T10:00:00.000Z",
    tags: {},
    rotation: makeRotation(),
    access: makeAccess([accountRootGrant()]),
    raw: {},
    errors: [],
    ...overrides,
  };
}

/** `count` default keys, each with `overrides` applied: for population-completeness tests. */
export function makeKeys(count: number, overrides: Partial<KeyRecord> = {}): KeyRecord[] {
  return Array.from({ length: count }, () => makeKey(overrides));
}
