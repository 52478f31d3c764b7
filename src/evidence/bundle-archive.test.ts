import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { Header, Pax } from "tar";
import type { HeaderData } from "tar";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { archiveCheck, checkFiles, extractArchive } from "./bundle-archive.ts";
import type { Manifest } from "./manifest.ts";

let workspace: string;

beforeEach(async () => {
  workspace = await mkdtemp(join(tmpdir(), "keyproof-bundle-archive-"));
});
afterEach(async () => {
  await rm(workspace, { recursive: true, force: true });
});

function header(data: HeaderData): Buffer {
  const block = new Header({ mode: 0o644, mtime: new Date("2026-10-01T00:00:00Z"), size: 0, ...data });
  block.encode();
  return block.block ?? Buffer.alloc(0);
}

function file(path: string, text: string, pax?: HeaderData): Buffer {
  const data = Buffer.from(text);
  const blocks: Buffer[] = [];
  if (pax !== undefined) {
    const body = Buffer.from(new Pax(pax).encodeBody());
    blocks.push(header({ path: "PaxHeader", type: "ExtendedHeader", size: body.length }), body);
    blocks.push(Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  blocks.push(header({ path, type: "File", size: data.length }), data);
  blocks.push(Buffer.alloc((512 - (data.length % 512)) % 512));
  return Buffer.concat(blocks);
}

const END = Buffer.alloc(1024);

async function extract(
  bytes: Buffer,
): Promise<{ into: string; reading: Awaited<ReturnType<typeof extractArchive>> }> {
  const archive = join(workspace, "a.tar.gz");
  await writeFile(archive, bytes);
  const into = join(workspace, "out");
  await mkdir(into);
  return { into, reading: await extractArchive(archive, into) };
}

describe("extractArchive", () => {
  it("extracts files, directories and pax long paths, and accepts GNU tar's record padding", async () => {
    const long = `b/${"x".repeat(150)}/c.txt`;
    const tar = Buffer.concat([
      header({ path: "b/", type: "Directory", mode: 0o755 }),
      file("b/manifest.json", "{}"),
      file("placeholder", "long", { path: long }),
      END,
    ]);
    const record = Buffer.concat([tar, Buffer.alloc(10_240 - tar.length)]);
    const { into, reading } = await extract(gzipSync(record));
    expect(reading).toEqual({ rejected: [], problems: [] });
    expect(archiveCheck(reading)).toEqual({ ok: true, rejectedEntries: [] });
    expect(await readFile(join(into, long), "utf8")).toBe("long");
  });

  it("names a second gzip member and the entry it smuggles, and extracts nothing of it", async () => {
    const first = gzipSync(Buffer.concat([file("b/manifest.json", "{}"), END]));
    const second = gzipSync(Buffer.concat([file("b/evil.txt", "evil"), END]));
    const { into, reading } = await extract(Buffer.concat([first, second]));
    expect(reading.problems[0]).toBe(
      `a second gzip member starts at byte ${first.length}, after the archive's gzip stream ends (gzip -d joins it to the archive; tar --ignore-zeros extracts what it holds)`,
    );
    expect(reading.rejected).toEqual([
      "b/evil.txt (after the tar end-of-archive marker, so not part of the bundle; tar --ignore-zeros would still extract it)",
    ]);
    expect(await readdir(join(into, "b"))).toEqual(["manifest.json"]);
    expect(archiveCheck(reading).reason).toContain("1 archive entry was refused");
  });

  it("refuses a gzip stream whose CRC-32 does not match", async () => {
    const bytes = gzipSync(Buffer.concat([file("b/manifest.json", "{}"), END]));
    bytes.writeUInt32LE((bytes.readUInt32LE(bytes.length - 8) ^ 1) >>> 0, bytes.length - 8);
    await expect(extract(bytes)).rejects.toMatchObject({
      code: "BUNDLE_INVALID",
      message: "the gzip stream is damaged: its CRC-32 or length does not match the data",
    });
  });

  it("refuses a tar without its end-of-archive blocks", async () => {
    await expect(extract(gzipSync(file("b/manifest.json", "{}")))).rejects.toMatchObject({
      message: "the archive is truncated: the tar stream has no end-of-archive blocks",
    });
  });

  it("refuses an entry inside a file", async () => {
    const tar = Buffer.concat([file("b/manifest.json", "{}"), file("b/manifest.json/x", "x"), END]);
    const { reading } = await extract(gzipSync(tar));
    expect(reading.rejected).toEqual(["b/manifest.json/x (inside b/manifest.json, which is a file)"]);
  });

  it("refuses a directory that declares a body (tar's Header reads its size as 0, other readers do not)", async () => {
    const tar = Buffer.concat([file("b/manifest.json", "{}"), file("b/sneaky/", "x"), END]);
    await expect(extract(gzipSync(tar))).rejects.toMatchObject({
      code: "BUNDLE_INVALID",
      message:
        "the tar entry b/sneaky/ at byte 1024 is a directory with a nonzero size field (tar readers disagree on what follows it)",
    });
  });
});

describe("checkFiles", () => {
  it("reports directories no listed file lives in, empty or not, with a trailing slash", async () => {
    await mkdir(join(workspace, "sources", "x", "zz"), { recursive: true });
    await mkdir(join(workspace, ".git", "objects"), { recursive: true });
    await writeFile(join(workspace, ".git", "HEAD"), "ref");
    await writeFile(join(workspace, "sources", "x", "a.json"), "{}");
    const manifest = {
      files: [
        {
          path: "sources/x/a.json",
          sha256: "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
          bytes: 2,
        },
      ],
    } as unknown as Manifest;
    const result = await checkFiles(workspace, manifest);
    expect(result.extra).toEqual([".git/", ".git/HEAD", ".git/objects/", "sources/x/zz/"]);
    expect(result.altered).toEqual([]);
  });
});
