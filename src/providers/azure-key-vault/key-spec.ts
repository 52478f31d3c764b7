/**
 * Azure key types to the model's normalized spec. Key Vault reports `kty` (`RSA`, `RSA-HSM`, `EC`, `EC-HSM`,
 * `oct`, `oct-HSM`) and, depending on the type, the RSA modulus `n`, the EC curve `crv`, or for `oct` keys
 * nothing about the size (the material never leaves the HSM), so the size may be unknown.
 */

export interface AzureKeyShape {
  /** `kty` as Key Vault returns it. */
  keyType: string;
  /** RSA modulus, base64url or bytes, when the JWK carries it. */
  modulus?: Uint8Array | string;
  /** EC curve name, e.g. `P-256`, `P-256K`. */
  curve?: string;
  /** Size in bits when reported separately (ARM `keySize`, create requests). */
  keySize?: number;
}

export interface NormalizedAzureKeySpec {
  /** `RSA_2048`, `EC_P256`, `EC_P256K`, `OCT_256`, or `RSA_UNKNOWN`/`OCT_UNKNOWN` when the size is not reported. */
  keySpec: string;
  hsmBacked: boolean;
  family: "rsa" | "ec" | "oct" | "unknown";
  /** Why the size or curve in `keySpec` is `UNKNOWN`: the `warn` a check gives instead of judging a guess. */
  unknownReason?: string;
}

function modulusBits(modulus: Uint8Array | string): number {
  const bytes = typeof modulus === "string" ? Buffer.from(modulus, "base64url") : modulus;
  // A JWK modulus has no leading zero bytes, but tolerate one (DER-style) rather than over-count.
  let start = 0;
  while (start < bytes.length && bytes[start] === 0) start += 1;
  const first = bytes[start];
  if (first === undefined) return 0;
  return (bytes.length - start - 1) * 8 + (32 - Math.clz32(first));
}

/** RSA sizes are reported as the next multiple of 8 bits below or at the modulus length (2047-bit moduli exist). */
function roundRsaBits(bits: number): number {
  return Math.ceil(bits / 8) * 8;
}

export function normalizeAzureKeySpec(shape: AzureKeyShape): NormalizedAzureKeySpec {
  const keyType = shape.keyType;
  const hsmBacked = /-HSM$/i.test(keyType);
  const base = keyType.replace(/-HSM$/i, "").toUpperCase();
  if (base === "RSA") {
    const bits = shape.modulus === undefined ? shape.keySize : roundRsaBits(modulusBits(shape.modulus));
    if (bits === undefined || bits === 0) {
      return {
        keySpec: "RSA_UNKNOWN",
        hsmBacked,
        family: "rsa",
        unknownReason: `Azure did not report the modulus of this ${keyType} key, so its size is unknown; confirm it in the portal`,
      };
    }
    return { keySpec: `RSA_${bits}`, hsmBacked, family: "rsa" };
  }
  if (base === "EC") {
    if (shape.curve === undefined) {
      return {
        keySpec: "EC_UNKNOWN",
        hsmBacked,
        family: "ec",
        unknownReason: `Azure did not report the curve of this ${keyType} key; confirm it in the portal`,
      };
    }
    return { keySpec: `EC_${shape.curve.replace(/-/g, "").toUpperCase()}`, hsmBacked, family: "ec" };
  }
  if (base === "OCT") {
    if (shape.keySize === undefined) {
      return {
        keySpec: "OCT_UNKNOWN",
        hsmBacked,
        family: "oct",
        // The data plane never returns `oct` material or its size (issue 10's wording, kept for users).
        unknownReason: `Azure does not report the size of ${keyType} keys; confirm it in the portal`,
      };
    }
    return { keySpec: `OCT_${shape.keySize}`, hsmBacked, family: "oct" };
  }
  return { keySpec: keyType.toUpperCase().replace(/[^A-Z0-9]+/g, "_"), hsmBacked, family: "unknown" };
}
