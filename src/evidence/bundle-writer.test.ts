import { once } from "node:events";
import { mkdtemp, readFile, readdir, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { list as listTar } from "tar";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isKeyproofError } from "../errors/errors.ts";
import { generateSigningKey } from "../signing/keygen.ts";
import { createLocalEd25519Signer } from "../signing/local-ed25519.signer.ts";
import type { LocalEd25519Signer } from "../signing/local-ed25519.signer.ts";
import { verifySignatureRecord } from "../signing/verify-signature.ts";
import { BundleWriter } from "./bundle-writer.ts";
import { ManifestSchema, canonicalManifestBytes, sha256Hex } from "./manifest.ts";
import type { ManifestFields } from "./manifest.ts";

let workspace: string;
let signer: LocalEd25519Signer;

const fields: ManifestFields = {
  runId: "run-1",
  organization: "Example Corp",
  period: {
    label: "2026-Q3",
    from: "2026-07-01T00:00:00.000Z",
    to: "2026-09-30",
    toExclusive: "2026-10-01T00:00:00.000Z",
  },
  capturedAt: "2026-10-01T08:00:00.000Z",
  keyproofVersion: "0.1.0",
  sources: [{ id: "aws-prod", type: "aws-kms", locations: ["eu-west-1"] }],
};

beforeEach(async () => {
  workspace = await mkdtemp(join(tmpdir(), "keyproof-writer-"));
  const key = await generateSigningKey(join(workspace, "signing.pem"));
  signer = await createLocalEd25519Signer(key.path, { now: () => new Date("2026-10-01T08:05:00Z") });
});
afterEach(async () => {
  await rm(workspace, { recursive: true, force: true });
});

async function caught(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (error: unknown) => error,
  );
}

describe("BundleWriter writes", () => {
  it("writes 2-space JSON with a trailing newline, creating folders", async () => {
    const writer = await BundleWriter.open(join(workspace, "run-1"));
    await writer.writeJson("sources/aws-prod/logging.json", { b: 1, a: [true] });
    expect(await readFile(join(writer.directory, "sources/aws-prod/logging.json"), "utf8")).toBe(
      '{\n  "b": 1,\n  "a": [\n    true\n  ]\n}\n',
    );
  });

  it("refuses paths outside the bundle and the names seal() owns", async () => {
    const writer = await BundleWriter.open(join(workspace, "run-1"));
    for (const path of [
      "../escape.json",
      "/abs.json",
      "a\\b.json",
      "a//b.json",
      "manifest.json",
      "manifest.sig.json",
    ]) {
      const error = await caught(writer.writeText(path, "x"));
      expect(isKeyproofError(error), path).toBe(true);
    }
    expect(await readdir(workspace)).not.toContain("escape.json");
  });

  it("refuses to overwrite a file unless asked, so slug collisions cannot lose evidence", async () => {
    const writer = await BundleWriter.open(join(workspace, "run-1"));
    await writer.writeText("a.txt", "first");
    const error = await caught(writer.writeText("a.txt", "second"));
    expect(isKeyproofError(error) && error.message).toContain("a.txt already exists");
    await writer.writeText("a.txt", "third", { overwrite: true });
    expect(await readFile(join(writer.directory, "a.txt"), "utf8")).toBe("third");
  });
});

describe("BundleWriter.seal", () => {
  it("hashes every file, stores the canonical manifest, signs exactly those bytes and packs the directory", async () => {
    const writer = await BundleWriter.open(join(workspace, "run-1"));
    await writer.writeJson("findings.json", []);
    await writer.writeText("sources/aws-prod/eu-west-1/usage-events.csv", "# keyproof\r\n");
    const stream = await writer.openStream("sources/aws-prod/eu-west-1/usage-events.ndjson");
    stream.end('{"n":1}\n');
    await once(stream, "finish");

    const sealed = await writer.seal({ manifestFields: fields, signer });
    const manifestBytes = await readFile(join(sealed.directory, "manifest.json"));
    expect(new Uint8Array(manifestBytes)).toEqual(canonicalManifestBytes(sealed.manifest));
    expect(sealed.manifestSha256).toBe(sha256Hex(manifestBytes));

    const manifest = ManifestSchema.parse(JSON.parse(manifestBytes.toString("utf8")));
    expect(manifest.signer).toEqual({
      description: signer.description,
      keyId: signer.keyId,
      fingerprint: signer.keyId.slice("local:".length),
    });
    // SHA256SUMS, VERIFY.md and the public key are written at seal time and listed like any other file.
    expect(manifest.files.map((file) => file.path)).toEqual([
      "SHA256SUMS",
      "VERIFY.md",
      "findings.json",
      "signer-public-key.pem",
      "sources/aws-prod/eu-west-1/usage-events.csv",
      "sources/aws-prod/eu-west-1/usage-events.ndjson",
    ]);
    expect(manifest.files[2]).toEqual({
      path: "findings.json",
      sha256: sha256Hex(Buffer.from("[]\n")),
      bytes: 3,
    });

    const record = JSON.parse(
      await readFile(join(sealed.directory, "manifest.sig.json"), "utf8"),
    ) as typeof sealed.signature;
    expect(record).toEqual(sealed.signature);
    expect(verifySignatureRecord(record, sha256Hex(manifestBytes)).ok).toBe(true);
    expect(record.statement.signedAt).toBe("2026-10-01T08:05:00.000Z");

    expect(sealed.archive).toBe(`${sealed.directory}.tar.gz`);
    const entries: Array<{
      path: string;
      mode: number | undefined;
      mtime: string | undefined;
      uid: number | undefined;
    }> = [];
    await listTar({
      file: sealed.archive,
      onReadEntry: (entry) => {
        entries.push({
          path: entry.path,
          mode: entry.mode,
          mtime: entry.mtime?.toISOString(),
          uid: entry.uid,
        });
      },
    });
    expect(entries.map((entry) => entry.path)).toEqual([
      "run-1/",
      "run-1/SHA256SUMS",
      "run-1/VERIFY.md",
      "run-1/findings.json",
      "run-1/manifest.json",
      "run-1/manifest.sig.json",
      "run-1/signer-public-key.pem",
      "run-1/sources/",
      "run-1/sources/aws-prod/",
      "run-1/sources/aws-prod/eu-west-1/",
      "run-1/sources/aws-prod/eu-west-1/usage-events.csv",
      "run-1/sources/aws-prod/eu-west-1/usage-events.ndjson",
    ]);
    const file = entries.find((entry) => entry.path === "run-1/findings.json");
    expect(file).toMatchObject({ mode: 0o644, mtime: "2026-10-01T08:00:00.000Z" });
    expect(file?.uid ?? 0).toBe(0);
  });

  it("produces byte-identical archives for identical contents", async () => {
    const archives: Buffer[] = [];
    for (const parent of ["first", "second"]) {
      const writer = await BundleWriter.open(join(workspace, parent, "run-1"));
      await writer.writeJson("findings.json", [{ checkId: "rotation-enabled" }]);
      await writer.writeText("sources/aws-prod/logging.json", "{}\n");
      archives.push(await readFile((await writer.seal({ manifestFields: fields, signer })).archive));
    }
    expect(archives[0]?.equals(archives[1] ?? Buffer.alloc(0))).toBe(true);
  });

  it("refuses to seal while a stream is still open, naming it", async () => {
    const writer = await BundleWriter.open(join(workspace, "run-1"));
    const stream = await writer.openStream("big.ndjson");
    stream.write("{}\n");
    const error = await caught(writer.seal({ manifestFields: fields, signer }));
    expect(isKeyproofError(error) && error.message).toContain("streams still open: big.ndjson");
    stream.end();
    await once(stream, "finish");
    await writer.seal({ manifestFields: fields, signer });
  });

  it("lets a retried step reopen a stream it abandoned, and seals the retry's file", async () => {
    const writer = await BundleWriter.open(join(workspace, "run-1"));
    const first = await writer.openStream("usage.ndjson");
    await new Promise<void>((resolveWrite) => first.write("partial", () => resolveWrite()));
    await expect(writer.openStream("usage.ndjson", { overwrite: true })).rejects.toMatchObject({
      code: "INTERNAL",
    });
    first.destroy();
    await once(first, "close");
    const retry = await writer.openStream("usage.ndjson", { overwrite: true });
    retry.end("complete\n");
    await once(retry, "finish");
    const sealed = await writer.seal({ manifestFields: fields, signer });
    expect(sealed.manifest.files).toContainEqual({
      path: "usage.ndjson",
      sha256: sha256Hex(Buffer.from("complete\n")),
      bytes: 9,
    });
  });

  it("refuses a symbolic link in the bundle", async () => {
    const writer = await BundleWriter.open(join(workspace, "run-1"));
    await writeFile(join(workspace, "outside.txt"), "secret");
    await symlink(join(workspace, "outside.txt"), join(writer.directory, "link.txt"));
    const error = await caught(writer.seal({ manifestFields: fields, signer }));
    expect(isKeyproofError(error) && error.code).toBe("BUNDLE_INVALID");
    expect(isKeyproofError(error) && error.message).toContain("link.txt is a symbolic link");
  });

  it("refuses invalid manifest fields before signing", async () => {
    const writer = await BundleWriter.open(join(workspace, "run-1"));
    const error = await caught(
      writer.seal({ manifestFields: { ...fields, capturedAt: "yesterday" }, signer }),
    );
    expect(isKeyproofError(error) && error.message).toContain("capturedAt");
  });

  it("refuses a signer whose signature names another key", async () => {
    const writer = await BundleWriter.open(join(workspace, "run-1"));
    const liar = {
      description: "liar",
      keyId: `local:${"0".repeat(64)}`,
      algorithm: "Ed25519" as const,
      publicKeyPem: signer.publicKeyPem,
      sign: (bytes: Uint8Array) => signer.sign(bytes),
      now: () => new Date("2026-10-01T08:05:00Z"),
    };
    const error = await caught(writer.seal({ manifestFields: fields, signer: liar }));
    expect(isKeyproofError(error) && error.message).toContain("is not the hash of the embedded public key");
  });

  it("refuses to sign more than 24 hours after the last read: verify would reject it forever", async () => {
    const writer = await BundleWriter.open(join(workspace, "run-1"));
    await writer.writeJson("findings.json", []);
    const late = { ...signer, now: () => new Date("2026-10-03T08:00:01Z") };
    const error = await caught(
      writer.seal({
        manifestFields: {
          ...fields,
          captureWindow: { first: "2026-10-01T08:00:00.000Z", last: "2026-10-02T08:00:00.000Z" },
        },
        signer: late,
      }),
    );
    expect(isKeyproofError(error) && error.code).toBe("SEAL_TOO_LATE");
    expect(isKeyproofError(error) && error.message).toContain(
      "signedAt 2026-10-03T08:00:01.000Z is more than 24 hours outside the bundle's capture window",
    );
    await expect(readFile(join(writer.directory, "manifest.sig.json"))).rejects.toThrow();
    await expect(readFile(join(workspace, "run-1.tar.gz"))).rejects.toThrow();
    // Within the margin of the last read, the same run seals.
    const inTime = { ...signer, now: () => new Date("2026-10-03T07:59:00Z") };
    const sealed = await writer.seal({
      manifestFields: {
        ...fields,
        captureWindow: { first: "2026-10-01T08:00:00.000Z", last: "2026-10-02T08:00:00.000Z" },
      },
      signer: inTime,
    });
    expect(sealed.manifest.captureWindow).toEqual({
      first: "2026-10-01T08:00:00.000Z",
      last: "2026-10-02T08:00:00.000Z",
    });
    expect(sealed.signature.statement.signedAt).toBe("2026-10-03T07:59:00.000Z");
  });

  it("accepts nothing more once sealed", async () => {
    const writer = await BundleWriter.open(join(workspace, "run-1"));
    await writer.seal({ manifestFields: fields, signer });
    const error = await caught(writer.writeText("late.txt", "x"));
    expect(isKeyproofError(error) && error.message).toContain("is sealed");
  });
});
