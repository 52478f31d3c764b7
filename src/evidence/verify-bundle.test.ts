import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { Header } from "tar";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { generateSigningKey } from "../signing/keygen.ts";
import { createLocalEd25519Signer } from "../signing/local-ed25519.signer.ts";
import type { LocalEd25519Signer } from "../signing/local-ed25519.signer.ts";
import { BundleWriter } from "./bundle-writer.ts";
import type { ManifestFields } from "./manifest.ts";
import { formatVerifyResult, verifyBundle } from "./verify-bundle.ts";

let workspace: string;
let signer: LocalEd25519Signer;

const fields: ManifestFields = {
  runId: "run-unit",
  organization: "Example Corp",
  period: {
    label: "2026-09",
    from: "2026-09-01T00:00:00.000Z",
    to: "2026-09-30",
    toExclusive: "2026-10-01T00:00:00.000Z",
  },
  capturedAt: "2026-10-01T08:00:00.000Z",
  keyproofVersion: "0.1.0",
  sources: [],
};

beforeEach(async () => {
  workspace = await mkdtemp(join(tmpdir(), "keyproof-verify-unit-"));
  signer = await createLocalEd25519Signer((await generateSigningKey(join(workspace, "signing.pem"))).path, {
    now: () => new Date("2026-10-01T08:05:00.000Z"),
  });
});
afterEach(async () => {
  await rm(workspace, { recursive: true, force: true });
});

async function sealedBundle(): Promise<{ directory: string; archive: string }> {
  const writer = await BundleWriter.open(join(workspace, "run-unit"));
  await writer.writeJson("findings.json", []);
  return writer.seal({ manifestFields: fields, signer });
}

interface RawEntry {
  path: string;
  type: "File" | "Directory" | "SymbolicLink" | "Link";
  data?: string;
  linkpath?: string;
}

/** A hand-made tar.gz, for archives no honest writer produces. */
function rawTarGz(entries: RawEntry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const entry of entries) {
    const data = Buffer.from(entry.data ?? "");
    const header = new Header({
      path: entry.path,
      type: entry.type,
      mode: entry.type === "Directory" ? 0o755 : 0o644,
      size: entry.type === "File" ? data.length : 0,
      mtime: new Date("2026-10-01T00:00:00Z"),
      ...(entry.linkpath === undefined ? {} : { linkpath: entry.linkpath }),
    });
    header.encode();
    blocks.push(header.block ?? Buffer.alloc(0));
    if (entry.type === "File" && data.length > 0) {
      blocks.push(data, Buffer.alloc((512 - (data.length % 512)) % 512));
    }
  }
  blocks.push(Buffer.alloc(1024));
  return gzipSync(Buffer.concat(blocks));
}

async function bundleEntries(directory: string): Promise<RawEntry[]> {
  const read = async (name: string): Promise<string> => readFile(join(directory, name), "utf8");
  return [
    { path: "run-unit/", type: "Directory" },
    { path: "run-unit/SHA256SUMS", type: "File", data: await read("SHA256SUMS") },
    { path: "run-unit/VERIFY.md", type: "File", data: await read("VERIFY.md") },
    { path: "run-unit/findings.json", type: "File", data: await read("findings.json") },
    { path: "run-unit/manifest.json", type: "File", data: await read("manifest.json") },
    { path: "run-unit/manifest.sig.json", type: "File", data: await read("manifest.sig.json") },
    { path: "run-unit/signer-public-key.pem", type: "File", data: await read("signer-public-key.pem") },
  ];
}

describe("verifyBundle on hostile archives", () => {
  it("accepts a hand-made archive of a good bundle (the check is not tied to our tar writer)", async () => {
    const { directory } = await sealedBundle();
    const archive = join(workspace, "hand.tar.gz");
    await writeFile(archive, rawTarGz(await bundleEntries(directory)));
    const result = await verifyBundle(archive, { expectedKeyId: signer.keyId });
    expect(result.ok).toBe(true);
  });

  it("refuses a symbolic link entry and names it", async () => {
    const { directory } = await sealedBundle();
    const archive = join(workspace, "link.tar.gz");
    await writeFile(
      archive,
      rawTarGz([
        ...(await bundleEntries(directory)),
        { path: "run-unit/passwd", type: "SymbolicLink", linkpath: "/etc/passwd" },
      ]),
    );
    const result = await verifyBundle(archive, { expectedKeyId: signer.keyId });
    expect(result.ok).toBe(false);
    expect(result.archive).toMatchObject({ ok: false });
    expect(result.archive?.rejectedEntries).toEqual([
      "run-unit/passwd (symlink to /etc/passwd: only files and directories are allowed)",
    ]);
    // The rest of the bundle is still checked and reported.
    expect(result.signature.ok).toBe(true);
  });

  it("refuses a path that climbs out of the extraction folder, and writes nothing there", async () => {
    const { directory } = await sealedBundle();
    const archive = join(workspace, "climb.tar.gz");
    await writeFile(
      archive,
      rawTarGz([
        ...(await bundleEntries(directory)),
        { path: "run-unit/../../escaped.txt", type: "File", data: "pwned" },
      ]),
    );
    const result = await verifyBundle(archive, { expectedKeyId: signer.keyId });
    expect(result.ok).toBe(false);
    expect(result.archive?.rejectedEntries[0]).toContain('run-unit/../../escaped.txt (has a ".." segment)');
    await expect(readFile(join(tmpdir(), "escaped.txt"))).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("refuses a file that appears twice (a later copy would silently win on extraction)", async () => {
    const { directory } = await sealedBundle();
    const archive = join(workspace, "twice.tar.gz");
    await writeFile(
      archive,
      rawTarGz([
        ...(await bundleEntries(directory)),
        { path: "run-unit/findings.json", type: "File", data: "[]\n" },
      ]),
    );
    const result = await verifyBundle(archive, { expectedKeyId: signer.keyId });
    expect(result.archive?.rejectedEntries).toEqual([
      "run-unit/findings.json (duplicate entry: appears twice in the archive)",
    ]);
    expect(result.ok).toBe(false);
  });

  it("reports an archive without a bundle in it", async () => {
    const archive = join(workspace, "empty.tar.gz");
    await writeFile(
      archive,
      rawTarGz([
        { path: "a.txt", type: "File", data: "a" },
        { path: "b.txt", type: "File", data: "b" },
      ]),
    );
    const result = await verifyBundle(archive, { expectedKeyId: signer.keyId });
    expect(result).toMatchObject({
      ok: false,
      archive: { ok: false, reason: expect.stringContaining("holds no bundle") },
    });
  });
});

describe("verifyBundle on directories", () => {
  it("reports a bundle without manifest or signature", async () => {
    const writer = await BundleWriter.open(join(workspace, "unsealed"));
    await writer.writeJson("findings.json", []);
    const result = await verifyBundle(writer.directory);
    expect(result.ok).toBe(false);
    expect(result.manifest).toEqual({ ok: false, reason: "manifest.json is missing" });
    expect(result.signature).toEqual({ ok: false, reason: "manifest.sig.json is missing" });
  });

  it("rejects a manifest that was pretty-printed after sealing, even with its content unchanged", async () => {
    const { directory } = await sealedBundle();
    const manifestPath = join(directory, "manifest.json");
    await writeFile(
      manifestPath,
      `${JSON.stringify(JSON.parse(await readFile(manifestPath, "utf8")), null, 2)}\n`,
    );
    const result = await verifyBundle(directory, { expectedKeyId: signer.keyId });
    expect(result.manifest.reason).toContain("not in canonical form");
    expect(result.signature.reason).toContain("over a different manifest");
    expect(result.files.altered).toEqual([]);
  });

  it("refuses a target that is not a bundle", async () => {
    const file = join(workspace, "notes.txt");
    await writeFile(file, "hello");
    await expect(verifyBundle(file, { expectedKeyId: signer.keyId })).rejects.toMatchObject({
      code: "ARGUMENT_INVALID",
    });
    await expect(verifyBundle(join(workspace, "absent"))).rejects.toMatchObject({ code: "ARGUMENT_INVALID" });
  });

  it("pins the key when asked", async () => {
    const { directory } = await sealedBundle();
    expect((await verifyBundle(directory, { expectedKeyId: signer.keyId })).ok).toBe(true);
    expect((await verifyBundle(directory, { expectedPublicKey: signer.publicKeyPem })).ok).toBe(true);
    const other = await generateSigningKey(join(workspace, "other.pem"));
    const byId = await verifyBundle(directory, { expectedKeyId: other.keyId });
    expect(byId).toMatchObject({ ok: false, signature: { ok: true, trust: { trusted: false } } });
    expect(byId.signature.trust?.reasons).toEqual([
      expect.stringContaining(`expected key ${other.keyId}: the signing key`),
    ]);
    const byKey = await verifyBundle(directory, { expectedPublicKey: other.publicKeyPem });
    expect(byKey.signature.trust?.reasons).toEqual([expect.stringContaining("is not among its 1 key(s)")]);
    const unpinned = await verifyBundle(directory);
    expect(unpinned.ok).toBe(false);
    expect(unpinned.signature.trust?.reasons).toEqual(["no trusted signer was given (no pin)"]);
  });
});

describe("formatVerifyResult", () => {
  it("puts the verdict first and names every problem", async () => {
    const { directory } = await sealedBundle();
    expect(formatVerifyResult(await verifyBundle(directory, { expectedKeyId: signer.keyId }))).toMatch(
      /^VERIFIED {2}.*run-unit\n/,
    );
    await writeFile(join(directory, "findings.json"), "[1]\n");
    await writeFile(join(directory, "stray.txt"), "x");
    const text = formatVerifyResult(await verifyBundle(directory, { expectedKeyId: signer.keyId }));
    expect(text).toMatch(/^FAILED {2}/);
    expect(text).toContain("files: 4 checked, 0 missing, 1 extra, 1 altered");
    expect(text).toContain("extra (not in manifest): stray.txt");
    expect(text).toMatch(/altered: findings\.json \(manifest sha256 [0-9a-f]{64}, found [0-9a-f]{64}\)/);
  });
});
