import { generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import { normalizeAzureKeySpec } from "./key-spec.ts";

function rsaModulus(bits: number): string {
  const jwk = generateKeyPairSync("rsa", { modulusLength: bits }).publicKey.export({ format: "jwk" });
  return String(jwk.n);
}

describe("normalizeAzureKeySpec", () => {
  it("sizes RSA keys from the modulus, software and HSM", () => {
    expect(normalizeAzureKeySpec({ keyType: "RSA", modulus: rsaModulus(2048) })).toEqual({
      keySpec: "RSA_2048",
      hsmBacked: false,
      family: "rsa",
    });
    expect(
      normalizeAzureKeySpec({ keyType: "RSA-HSM", modulus: Buffer.from(rsaModulus(3072), "base64url") }),
    ).toEqual({
      keySpec: "RSA_3072",
      hsmBacked: true,
      family: "rsa",
    });
  });

  it("tolerates a leading zero byte and falls back to a reported size", () => {
    const modulus = Buffer.concat([Buffer.from([0]), Buffer.from(rsaModulus(2048), "base64url")]);
    expect(normalizeAzureKeySpec({ keyType: "RSA", modulus }).keySpec).toBe("RSA_2048");
    expect(normalizeAzureKeySpec({ keyType: "RSA", keySize: 4096 }).keySpec).toBe("RSA_4096");
    expect(normalizeAzureKeySpec({ keyType: "RSA" }).keySpec).toBe("RSA_UNKNOWN");
  });

  it("names EC curves without dashes, secp256k1 included", () => {
    expect(normalizeAzureKeySpec({ keyType: "EC", curve: "P-256" })).toEqual({
      keySpec: "EC_P256",
      hsmBacked: false,
      family: "ec",
    });
    expect(normalizeAzureKeySpec({ keyType: "EC-HSM", curve: "P-256K" })).toEqual({
      keySpec: "EC_P256K",
      hsmBacked: true,
      family: "ec",
    });
    expect(normalizeAzureKeySpec({ keyType: "EC" }).keySpec).toBe("EC_UNKNOWN");
  });

  it("reports oct keys, sized only when the size is known (Key Vault never returns the material)", () => {
    expect(normalizeAzureKeySpec({ keyType: "oct-HSM", keySize: 256 })).toEqual({
      keySpec: "OCT_256",
      hsmBacked: true,
      family: "oct",
    });
    expect(normalizeAzureKeySpec({ keyType: "oct-HSM" })).toEqual({
      keySpec: "OCT_UNKNOWN",
      hsmBacked: true,
      family: "oct",
      unknownReason: "Azure does not report the size of oct-HSM keys; confirm it in the portal",
    });
  });

  it("says why a size or curve is unknown, and only then", () => {
    expect(normalizeAzureKeySpec({ keyType: "RSA" }).unknownReason).toMatch(/did not report the modulus/);
    expect(normalizeAzureKeySpec({ keyType: "EC-HSM" }).unknownReason).toMatch(/did not report the curve/);
    expect(normalizeAzureKeySpec({ keyType: "RSA", keySize: 2048 }).unknownReason).toBeUndefined();
    expect(normalizeAzureKeySpec({ keyType: "ML-DSA" }).unknownReason).toBeUndefined();
  });

  it("keeps an unknown type recognisable", () => {
    expect(normalizeAzureKeySpec({ keyType: "ML-DSA" })).toEqual({
      keySpec: "ML_DSA",
      hsmBacked: false,
      family: "unknown",
    });
  });
});
