import { resolve } from "node:path";
import type { SigningConfig } from "../config/config.schema.ts";
import { KeyproofError, describeError } from "../errors/errors.ts";
import { publicKeyFingerprint } from "./fingerprint.ts";
import { loadTrustFile, trustFilePin } from "./trust-file.ts";
import type { TrustPin } from "./trust.ts";

/**
 * Whose bundles this service accepts as its own earlier evidence (the previous bundle a run is compared
 * with, the bundle an annual review reviews): its configured signer, and after a signer rotation the keys of
 * `signing.trustFile`, the trust file it publishes (`keyproof signer export`). One pin with one anchor per
 * key, so any of them may have signed. Trust stays pinned: the previous signer is known from the operator's
 * own file, never from what the earlier bundle announces.
 */
export async function configuredSignersPin(
  signing: SigningConfig,
  configDirectory: string,
  signerPublicKeyPem: string,
): Promise<TrustPin> {
  const label = "this service's signer";
  const own = { label, fingerprint: publicKeyFingerprint(signerPublicKeyPem) };
  if (signing.trustFile === undefined) return { kind: "keys", label, anchors: [own] };
  const file = resolve(configDirectory, signing.trustFile);
  let published: TrustPin;
  try {
    published = trustFilePin(file, await loadTrustFile(file));
  } catch (error) {
    throw new KeyproofError(
      "CONFIG_INVALID",
      `signing.trustFile ${signing.trustFile}: ${describeError(error)}`,
      {
        cause: error,
        remediation:
          "write it with keyproof signer export --config <config> --out <file>, or remove signing.trustFile",
      },
    );
  }
  return published.kind === "keys"
    ? { kind: "keys", label: `${label} or ${published.label}`, anchors: [own, ...published.anchors] }
    : { kind: "keys", label, anchors: [own] };
}
