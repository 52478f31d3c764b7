import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isKeyproofError } from "../errors/errors.ts";
import { generateSigningKey } from "./keygen.ts";
import { createLocalEd25519Signer } from "./local-ed25519.signer.ts";

let directory: string;
beforeEach(async () => {
  directory = await mkdtemp(join(tmpdir(), "keyproof-keygen-"));
});
afterEach(async () => {
  await rm(directory, { recursive: true, force: true });
});

describe("generateSigningKey", () => {
  it("writes an unencrypted PKCS#8 Ed25519 PEM readable by the owner only", async () => {
    const generated = await generateSigningKey(join(directory, "nested", "signing.pem"));
    const pem = await readFile(generated.path, "utf8");
    expect(pem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect((await stat(generated.path)).mode & 0o777).toBe(0o600);
    expect(generated.publicKeyPem).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);
    const signer = await createLocalEd25519Signer(generated.path);
    expect(signer.keyId).toBe(generated.keyId);
  });

  it("refuses to overwrite an existing file and leaves it untouched", async () => {
    const path = join(directory, "signing.pem");
    await writeFile(path, "precious\n");
    const error: unknown = await generateSigningKey(path).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(isKeyproofError(error) && error.code).toBe("ARGUMENT_INVALID");
    expect(isKeyproofError(error) && error.message).toContain(path);
    expect(await readFile(path, "utf8")).toBe("precious\n");
    // No temporary file is left behind.
    const { readdir } = await import("node:fs/promises");
    expect(await readdir(directory)).toEqual(["signing.pem"]);
  });

  it("replaces an existing key when forced, with a new key id", async () => {
    const path = join(directory, "signing.pem");
    const first = await generateSigningKey(path);
    const second = await generateSigningKey(path, { force: true });
    expect(second.keyId).not.toBe(first.keyId);
    expect((await createLocalEd25519Signer(path)).keyId).toBe(second.keyId);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
  });
});
