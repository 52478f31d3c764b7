import { describe, expect, it } from "vitest";
import { normalizeTransitKey, TransitKeyDataSchema } from "./transit-key.normalizer.ts";

/** Response `data` shapes as OpenBao 2.7 returns them (`GET transit/keys/<name>`). */
const AES_ROTATED = {
  allow_plaintext_backup: false,
  auto_rotate_period: 2_592_000,
  deletion_allowed: false,
  derived: false,
  exportable: false,
  imported_key: false,
  keys: { "1": 1_780_000_000, "2": 1_782_592_000 },
  latest_version: 2,
  min_available_version: 0,
  min_decryption_version: 1,
  min_encryption_version: 0,
  name: "payments",
  soft_deleted: false,
  supports_decryption: true,
  supports_derivation: true,
  supports_encryption: true,
  supports_signing: false,
  type: "aes256-gcm96",
};

const ECDSA = {
  ...AES_ROTATED,
  auto_rotate_period: 0,
  exportable: true,
  keys: {
    "1": {
      certificate_chain: "",
      creation_time: "2026-11-28T16:33:17.287010411Z",
      name: "P-256",
      public_key: "-----BEGIN PUBLIC KEY-----\n...\n-----END PUBLIC KEY-----\n",
    },
  },
  latest_version: 1,
  name: "signing",
  supports_decryption: false,
  supports_encryption: false,
  supports_signing: true,
  type: "ecdsa-p256",
};

const HMAC = {
  ...AES_ROTATED,
  auto_rotate_period: 0,
  key_size: 32,
  latest_version: 1,
  name: "mac",
  supports_decryption: false,
  supports_encryption: false,
  type: "hmac",
  keys: undefined,
};

function normalize(data: unknown) {
  return normalizeTransitKey(TransitKeyDataSchema.parse(data));
}

describe("normalizeTransitKey", () => {
  it("reads unix-second versions, the period in days and the next rotation", () => {
    const key = normalize(AES_ROTATED);
    expect(key).toMatchObject({
      keySpec: "aes256-gcm96",
      rawKeyType: "aes256-gcm96",
      keyUsage: "encrypt-decrypt",
      origin: "platform",
      state: "enabled",
      hsmBacked: false,
      createdAt: "2026-05-28T20:26:40.000Z",
      versions: [
        { version: 1, createdAt: "2026-05-28T20:26:40.000Z" },
        { version: 2, createdAt: "2026-06-27T20:26:40.000Z" },
      ],
    });
    expect(key.rotation).toEqual({
      enabled: true,
      periodDays: 30,
      lastRotation: "2026-06-27T20:26:40.000Z",
      nextRotation: "2026-07-27T20:26:40.000Z",
      history: [{ date: "2026-06-27T20:26:40.000Z", type: "new-version", version: "2" }],
      detail: {
        autoRotatePeriodSeconds: 2_592_000,
        latestVersion: 2,
        minDecryptionVersion: 1,
        minEncryptionVersion: 0,
        minAvailableVersion: 0,
        versions: { "1": "2026-05-28T20:26:40.000Z", "2": "2026-06-27T20:26:40.000Z" },
      },
    });
  });

  it("reads object-shaped versions (RFC 3339 nanoseconds) of asymmetric keys; period 0 means off", () => {
    const key = normalize(ECDSA);
    expect(key).toMatchObject({
      keySpec: "ecdsa-p256",
      keyUsage: "sign-verify",
      createdAt: "2026-11-28T16:33:17.287Z",
    });
    expect(key.rotation.enabled).toBe(false);
    expect(key.rotation.periodDays).toBeUndefined();
    expect(key.rotation.nextRotation).toBeUndefined();
    // One version: created, never rotated. The creation is createdAt, not a rotation.
    expect(key.rotation.lastRotation).toBeUndefined();
    expect(key.rotation.history).toEqual([]);
  });

  it("copes with HMAC keys, which carry no `keys` map: no creation date, nothing invented", () => {
    const key = normalize(HMAC);
    expect(key).toMatchObject({ keySpec: "hmac", keyUsage: "hmac", versions: [] });
    expect(key.createdAt).toBeUndefined();
    expect(key.rotation).toMatchObject({ enabled: false, history: [] });
    expect(key.rotation.lastRotation).toBeUndefined();
  });

  it("keeps a fractional period (Vault allows hours) and marks an enabled key without versions as never rotated", () => {
    const key = normalize({ ...HMAC, auto_rotate_period: 3_600 });
    expect(key.rotation.enabled).toBe(true);
    expect(key.rotation.periodDays).toBeCloseTo(1 / 24, 10);
    expect(key.rotation.nextRotation).toBeUndefined();
  });

  it("maps soft-deleted, imported and managed keys", () => {
    expect(normalize({ ...AES_ROTATED, soft_deleted: true }).state).toBe("disabled");
    expect(normalize({ ...AES_ROTATED, imported_key: true }).origin).toBe("imported");
    // The Vault docs' sample uses `imported` instead of `imported_key`.
    expect(normalize({ ...AES_ROTATED, imported_key: undefined, imported: true }).origin).toBe("imported");
    expect(
      normalize({ ...AES_ROTATED, type: "managed_key", managed_key_name: "hsm-1", keys: undefined }),
    ).toMatchObject({
      origin: "external-store",
      hsmBacked: true,
    });
  });

  it("uses the oldest remaining version as creation when early versions were trimmed", () => {
    const key = normalize({
      ...AES_ROTATED,
      min_available_version: 2,
      keys: { "2": 1_782_592_000, "3": 1_785_184_000 },
    });
    expect(key.createdAt).toBe("2026-06-27T20:26:40.000Z");
    expect(key.rotation.history.map((event) => event.date)).toEqual([
      "2026-06-27T20:26:40.000Z",
      "2026-07-27T20:26:40.000Z",
    ]);
  });

  it("rejects a response without a type", () => {
    expect(TransitKeyDataSchema.safeParse({ name: "x" }).success).toBe(false);
  });
});
