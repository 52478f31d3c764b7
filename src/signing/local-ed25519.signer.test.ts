import { createPublicKey, generateKeyPairSync } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isKeyproofError } from "../errors/errors.ts";
import { generateSigningKey } from "./keygen.ts";
import { createLocalEd25519Signer } from "./local-ed25519.signer.ts";
import { verifyWithAlgorithm } from "./verify-signature.ts";

let directory: string;
beforeEach(async () => {
  directory = await mkdtemp(join(tmpdir(), "keyproof-signer-"));
});
afterEach(async () => {
  await rm(directory, { recursive: true, force: true });
});

async function expectKeyUnavailable(path: string, fragment: string): Promise<void> {
  const error: unknown = await createLocalEd25519Signer(path).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(isKeyproofError(error)).toBe(true);
  if (!isKeyproofError(error)) return;
  expect(error.code).toBe("SIGNING_KEY_UNAVAILABLE");
  expect(error.message).toContain(path);
  expect(error.message).toContain(fragment);
  expect(error.remediation).toBe(`run keyproof keygen --out ${path}`);
}

describe("createLocalEd25519Signer", () => {
  it("signs with the generated key; the signature verifies with its public key", async () => {
    const generated = await generateSigningKey(join(directory, "signing.pem"));
    const signer = await createLocalEd25519Signer(generated.path);
    expect(signer.keyId).toBe(generated.keyId);
    expect(signer.keyId).toMatch(/^local:[0-9a-f]{64}$/);
    expect(signer.algorithm).toBe("Ed25519");
    expect(signer.publicKeyPem).toBe(generated.publicKeyPem);
    expect(signer.description).toContain(generated.path);

    const message = new TextEncoder().encode('{"format":"keyproof-signed-statement/1"}');
    const signature = await signer.sign(message);
    expect(signature.byteLength).toBe(64);
    const key = createPublicKey(signer.publicKeyPem);
    expect(verifyWithAlgorithm("Ed25519", key, message, signature)).toBe(true);
    expect(verifyWithAlgorithm("Ed25519", key, new TextEncoder().encode("{}"), signature)).toBe(false);
  });

  it("names a missing file and says how to create one", async () => {
    await expectKeyUnavailable(join(directory, "absent.pem"), "does not exist");
  });

  it("refuses a directory", async () => {
    const path = join(directory, "folder.pem");
    await mkdir(path);
    await expectKeyUnavailable(path, "is a directory");
  });

  it("refuses a file that is not a PEM key", async () => {
    const path = join(directory, "garbage.pem");
    await writeFile(path, "not a key\n");
    await expectKeyUnavailable(path, "is not a PEM private key");
  });

  it("refuses a key of another type", async () => {
    const path = join(directory, "ec.pem");
    const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    await writeFile(path, privateKey.export({ type: "pkcs8", format: "pem" }));
    await expectKeyUnavailable(path, "holds a ec key; keyproof signs with Ed25519");
  });

  it("refuses a passphrase-protected key with the reason", async () => {
    const path = join(directory, "encrypted.pem");
    const { privateKey } = generateKeyPairSync("ed25519");
    await writeFile(
      path,
      privateKey.export({ type: "pkcs8", format: "pem", cipher: "aes-256-cbc", passphrase: "secret" }),
    );
    await expectKeyUnavailable(path, "is encrypted with a passphrase");
  });
});
