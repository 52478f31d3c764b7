import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isKeyproofError } from "../errors/errors.ts";
import { configuredSignersPin } from "./configured-trust.ts";
import { publicKeyFingerprint } from "./fingerprint.ts";
import { generateSigningKey } from "./keygen.ts";
import { trustedKeyFor, writeTrustFile } from "./trust-file.ts";

let directory: string;
beforeEach(async () => {
  directory = await mkdtemp(join(tmpdir(), "keyproof-configured-trust-"));
});
afterEach(async () => {
  await rm(directory, { recursive: true, force: true });
});

describe("configuredSignersPin", () => {
  it("pins the configured signer alone when no trust file is configured", async () => {
    const current = await generateSigningKey(join(directory, "current.pem"));
    const pin = await configuredSignersPin({ localKeyFile: "current.pem" }, directory, current.publicKeyPem);
    expect(pin).toEqual({
      kind: "keys",
      label: "this service's signer",
      anchors: [{ label: "this service's signer", fingerprint: publicKeyFingerprint(current.publicKeyPem) }],
    });
  });

  it("adds every key of signing.trustFile, resolved against the config directory, to the same pin", async () => {
    const earlier = await generateSigningKey(join(directory, "earlier.pem"));
    const current = await generateSigningKey(join(directory, "current.pem"));
    await writeTrustFile(
      join(directory, "trust.json"),
      trustedKeyFor({
        name: "2026 key",
        publicKeyPem: earlier.publicKeyPem,
        notAfter: "2027-01-01T00:00:00Z",
      }),
    );
    const pin = await configuredSignersPin(
      { localKeyFile: "current.pem", trustFile: "trust.json" },
      directory,
      current.publicKeyPem,
    );
    expect(pin.kind).toBe("keys");
    if (pin.kind !== "keys") return;
    expect(pin.anchors.map((anchor) => anchor.fingerprint)).toEqual([
      publicKeyFingerprint(current.publicKeyPem),
      publicKeyFingerprint(earlier.publicKeyPem),
    ]);
    // The trust file's validity window travels with its key.
    expect(pin.anchors[1]).toMatchObject({ notAfter: "2027-01-01T00:00:00.000Z" });
  });

  it("names signing.trustFile and the field when the trust file is missing or invalid", async () => {
    const current = await generateSigningKey(join(directory, "current.pem"));
    const missing = await configuredSignersPin(
      { localKeyFile: "current.pem", trustFile: "absent.json" },
      directory,
      current.publicKeyPem,
    ).catch((error: unknown) => error);
    expect(isKeyproofError(missing) && missing.code).toBe("CONFIG_INVALID");
    expect(String(missing)).toContain("signing.trustFile absent.json: cannot read trust file");

    await writeFile(join(directory, "bad.json"), JSON.stringify({ keys: [{ name: "x" }] }));
    const invalid = await configuredSignersPin(
      { kmsKeyId: "alias/signing", trustFile: "bad.json" },
      directory,
      current.publicKeyPem,
    ).catch((error: unknown) => error);
    expect(String(invalid)).toMatch(
      /signing\.trustFile bad\.json: trust file .*bad\.json: keys\.0\.publicKey/,
    );
  });
});
