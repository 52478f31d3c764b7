/**
 * Builds real bundles (real Ed25519 key, real files, real tar.gz) and tampers with them the ways an
 * auditor worries about; `verifyBundle` must name each problem.
 */
import { createReadStream } from "node:fs";
import { cp, mkdtemp, readFile, rm, unlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { createInterface } from "node:readline";
import { create as createTar } from "tar";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashFile } from "../../src/evidence/bundle-tree.ts";
import { BundleWriter } from "../../src/evidence/bundle-writer.ts";
import type { SealedBundle } from "../../src/evidence/bundle-writer.ts";
import { ManifestSchema, canonicalManifestBytes } from "../../src/evidence/manifest.ts";
import type { ManifestFields } from "../../src/evidence/manifest.ts";
import {
  FINDINGS_FILE,
  INVENTORY_FILE,
  keyConfigurationPath,
  loggingStatusPath,
  usageExtractPath,
  usageSummaryPath,
} from "../../src/evidence/paths.ts";
import { USAGE_CSV_COLUMNS, writeUsageExtract } from "../../src/evidence/usage-extract.writer.ts";
import { formatVerifyResult, verifyBundle } from "../../src/evidence/verify-bundle.ts";
import type { UsageEvent, UsageItem } from "../../src/model/usage.ts";
import { generateSigningKey } from "../../src/signing/keygen.ts";
import { publicKeyFingerprint } from "../../src/signing/fingerprint.ts";
import { createLocalEd25519Signer } from "../../src/signing/local-ed25519.signer.ts";
import { signManifest } from "../../src/signing/sign-manifest.ts";
import type { LocalEd25519Signer } from "../../src/signing/local-ed25519.signer.ts";
import { parseRange } from "../../src/time/date-range.ts";

const SOURCE = "aws-prod";
const REGION = "eu-west-1";
const KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab";
const CONFIGURATION = keyConfigurationPath(SOURCE, REGION, KEY_ID);
const range = parseRange("2026-07-01", "2026-09-30");

let workspace: string;
let signer: LocalEd25519Signer;
let otherSigner: LocalEd25519Signer;
let original: SealedBundle;
let sibling: SealedBundle;
let counter = 0;

function fields(runId: string): ManifestFields {
  return {
    runId,
    organization: "Example Corp",
    period: { label: "2026-Q3", from: range.from, to: range.to, toExclusive: range.toExclusive },
    capturedAt: "2026-10-01T06:00:00.000Z",
    keyproofVersion: "0.1.0",
    sources: [{ id: SOURCE, type: "aws-kms", account: "111122223333", locations: [REGION] }],
  };
}

function usageEvent(index: number): UsageEvent {
  const second = index % 86_400;
  const day = 1 + (index % 90);
  const date = new Date(Date.UTC(2026, 6, day, 0, 0, second));
  return {
    time: date.toISOString(),
    source: SOURCE,
    location: REGION,
    ...(index % 10 === 9
      ? {}
      : {
          keyId: `key-${index % 3}`,
          keyReference: `arn:aws:kms:${REGION}:111122223333:key/key-${index % 3}`,
        }),
    action: ["Decrypt", "Encrypt", "GenerateDataKey", "ReEncrypt"][index % 4] ?? "Decrypt",
    // Every 7th principal tries formula injection; every 11th carries CSV metacharacters.
    principal:
      index % 7 === 0
        ? `=HYPERLINK("http://evil/${index}","x")`
        : index % 11 === 0
          ? `arn:aws:sts::111122223333:assumed-role/app,"quoted"/session-${index}`
          : `arn:aws:iam::111122223333:role/app-${index % 5}`,
    ...(index % 13 === 0 ? { sourceAddress: "-10.0.0.1" } : { sourceAddress: "10.0.0.1" }),
    outcome: index % 17 === 0 ? "failure" : "success",
    ...(index % 17 === 0 ? { errorCode: "AccessDenied" } : {}),
    eventId: `event-${index}`,
    origin: `AWSLogs/111122223333/CloudTrail/${REGION}/2026/07/${String(day).padStart(2, "0")}/file-${index % 100}.json.gz`,
  };
}

async function* usageItems(count: number): AsyncGenerator<UsageItem> {
  for (let index = 0; index < count; index++) {
    if (index === 500) {
      yield {
        kind: "gap",
        gap: {
          source: SOURCE,
          location: REGION,
          object: "AWSLogs/broken.json.gz",
          code: "AccessDenied",
          message: "denied",
        },
      };
    }
    yield { kind: "event", event: usageEvent(index) };
  }
}

async function buildBundle(
  runId: string,
  bundleSigner: LocalEd25519Signer,
  events = 1_000,
): Promise<SealedBundle> {
  const writer = await BundleWriter.open(join(workspace, "runs", runId));
  await writer.writeJson(FINDINGS_FILE, [{ checkId: "rotation-enabled", status: "pass", keyId: KEY_ID }]);
  await writer.writeJson(INVENTORY_FILE, [{ source: SOURCE, match: "alias/payments", owner: "Jane Doe" }]);
  await writer.writeJson(CONFIGURATION, { KeyId: KEY_ID, KeyRotationEnabled: true, runId });
  await writer.writeJson(loggingStatusPath(SOURCE, REGION), { sinks: [] });
  const summary = await writeUsageExtract(writer, usageItems(events), {
    source: SOURCE,
    sourceType: "aws-kms",
    location: REGION,
    method: "cloudtrail-s3",
    range,
    generatedAt: "2026-10-01T06:00:00.000Z",
  });
  await writer.writeJson(usageSummaryPath(SOURCE, REGION), summary);
  return writer.seal({ manifestFields: fields(runId), signer: bundleSigner });
}

/** A private copy of the original bundle to tamper with. */
async function copyOfOriginal(): Promise<string> {
  const target = join(workspace, "tamper", `case-${++counter}`, basename(original.directory));
  await cp(original.directory, target, { recursive: true });
  return target;
}

async function repack(directory: string): Promise<string> {
  const archive = `${directory}.tar.gz`;
  await createTar({ file: archive, cwd: join(directory, ".."), gzip: true, portable: true }, [
    basename(directory),
  ]);
  return archive;
}

beforeAll(async () => {
  workspace = await mkdtemp(join(tmpdir(), "keyproof-bundle-verify-"));
  signer = await createLocalEd25519Signer(
    (await generateSigningKey(join(workspace, "keys", "signing.pem"))).path,
    { now: () => new Date("2026-10-01T06:05:00.000Z") },
  );
  otherSigner = await createLocalEd25519Signer(
    (await generateSigningKey(join(workspace, "keys", "other.pem"))).path,
    { now: () => new Date("2026-10-01T06:05:00.000Z") },
  );
  original = await buildBundle("run-2026-Q3", signer);
  sibling = await buildBundle("run-2026-Q3-rerun", signer);
});

afterAll(async () => {
  await rm(workspace, { recursive: true, force: true });
});

describe("a sealed bundle", () => {
  it("verifies as a directory", async () => {
    const result = await verifyBundle(original.directory, { expectedKeyId: signer.keyId });
    expect(result).toMatchObject({
      ok: true,
      runId: "run-2026-Q3",
      signer: { keyId: signer.keyId },
      signature: { ok: true, algorithm: "Ed25519", keyId: signer.keyId },
      manifest: { ok: true },
      files: { checked: 10, missing: [], extra: [], altered: [] },
    });
    expect(formatVerifyResult(result)).toMatch(/^VERIFIED/);
  });

  it("verifies as an archive, and leaves no extraction folder behind", async () => {
    const result = await verifyBundle(original.archive, { expectedKeyId: signer.keyId });
    expect(result).toMatchObject({
      ok: true,
      archive: { ok: true, rejectedEntries: [] },
      files: { checked: 10 },
    });
    expect(result.bundle).toBe(original.archive);
  });
});

describe("tampering is detected and named", () => {
  it("one byte changed in a file", async () => {
    const directory = await copyOfOriginal();
    const path = join(directory, CONFIGURATION);
    const bytes = await readFile(path);
    bytes[10] = (bytes[10] ?? 0) ^ 0x01;
    await writeFile(path, bytes);
    const result = await verifyBundle(directory, { expectedKeyId: signer.keyId });
    expect(result.ok).toBe(false);
    expect(result.files.altered.map((file) => file.path)).toEqual([CONFIGURATION]);
    expect(result.files.missing).toEqual([]);
    expect(result.signature.ok).toBe(true);
    expect(formatVerifyResult(result)).toContain(`altered: ${CONFIGURATION}`);
  });

  it("a file deleted", async () => {
    const directory = await copyOfOriginal();
    await unlink(join(directory, usageExtractPath(SOURCE, REGION, "csv")));
    const result = await verifyBundle(directory, { expectedKeyId: signer.keyId });
    expect(result.ok).toBe(false);
    expect(result.files.missing).toEqual([usageExtractPath(SOURCE, REGION, "csv")]);
    expect(formatVerifyResult(result)).toContain(`missing: ${usageExtractPath(SOURCE, REGION, "csv")}`);
  });

  it("a file added", async () => {
    const directory = await copyOfOriginal();
    await writeFile(join(directory, "sources", "aws-prod", "note.txt"), "added later\n");
    const result = await verifyBundle(directory, { expectedKeyId: signer.keyId });
    expect(result.ok).toBe(false);
    expect(result.files.extra).toEqual(["sources/aws-prod/note.txt"]);
    expect(formatVerifyResult(result)).toContain("extra (not in manifest): sources/aws-prod/note.txt");
  });

  it("manifest.sig.json taken from another bundle signed by the same key", async () => {
    const directory = await copyOfOriginal();
    await cp(join(sibling.directory, "manifest.sig.json"), join(directory, "manifest.sig.json"));
    const result = await verifyBundle(directory, { expectedKeyId: signer.keyId });
    expect(result.ok).toBe(false);
    expect(result.signature).toMatchObject({
      ok: false,
      reason: expect.stringContaining("over a different manifest"),
    });
    expect(result.files.altered).toEqual([]);
  });

  it("manifest.sig.json taken from a bundle signed by another key", async () => {
    const foreign = await buildBundle("run-foreign", otherSigner, 10);
    const directory = await copyOfOriginal();
    await cp(join(foreign.directory, "manifest.sig.json"), join(directory, "manifest.sig.json"));
    const result = await verifyBundle(directory, { expectedKeyId: signer.keyId });
    expect(result.ok).toBe(false);
    expect(result.signature.ok).toBe(false);
    expect(result.signature.keyId).toBe(otherSigner.keyId);
  });

  it("a valid signature by another key over the same manifest", async () => {
    const directory = await copyOfOriginal();
    await signManifest(directory, otherSigner);
    const result = await verifyBundle(directory, { expectedKeyId: signer.keyId });
    expect(result.signature).toMatchObject({
      ok: false,
      reason: `the manifest names signer key ${signer.keyId}, but manifest.sig.json is by key ${otherSigner.keyId}`,
    });
  });

  it("a bundle altered and wholly re-signed by another key: only a pinned key catches it", async () => {
    const directory = await copyOfOriginal();
    await writeFile(join(directory, FINDINGS_FILE), "[]\n");
    const manifestPath = join(directory, "manifest.json");
    const manifest = ManifestSchema.parse(JSON.parse(await readFile(manifestPath, "utf8")));
    const { sha256, bytes } = await hashFile(join(directory, FINDINGS_FILE));
    const forged = {
      ...manifest,
      signer: {
        description: "Example Corp production signing key",
        keyId: otherSigner.keyId,
        fingerprint: publicKeyFingerprint(otherSigner.publicKeyPem),
      },
      files: manifest.files.map((file) =>
        file.path === FINDINGS_FILE ? { path: file.path, sha256, bytes } : file,
      ),
    };
    await writeFile(manifestPath, canonicalManifestBytes(forged));
    await signManifest(directory, otherSigner, { now: new Date("2026-10-01T06:10:00.000Z") });

    // A self-consistent forgery: the signature is valid, but nobody vouched for the key. No pin, no VERIFIED.
    const unpinned = await verifyBundle(directory);
    expect(unpinned.ok).toBe(false);
    expect(unpinned.signature).toMatchObject({ ok: true, trust: { trusted: false } });
    expect(formatVerifyResult(unpinned)).toMatch(/^SIGNATURE VALID, SIGNER NOT TRUSTED/);
    expect(formatVerifyResult(unpinned)).toContain(publicKeyFingerprint(otherSigner.publicKeyPem));
    const pinned = await verifyBundle(directory, { expectedKeyId: signer.keyId });
    expect(pinned.ok).toBe(false);
    expect(pinned.signature.trust?.reasons.join("\n")).toContain("is not among its 1 key(s)");
    const pinnedByPublicKey = await verifyBundle(directory, { expectedPublicKey: signer.publicKeyPem });
    expect(pinnedByPublicKey.ok).toBe(false);
    // --trust-embedded restores the old behaviour, with a warning.
    const embedded = await verifyBundle(directory, { trust: { pins: [], trustEmbedded: true } });
    expect(embedded.ok).toBe(true);
    expect(formatVerifyResult(embedded)).toContain("warning: --trust-embedded");
  });

  it("manifest.json edited (hash of an altered file updated, still canonical)", async () => {
    const directory = await copyOfOriginal();
    await writeFile(join(directory, CONFIGURATION), "{}\n");
    const manifestPath = join(directory, "manifest.json");
    const manifest = ManifestSchema.parse(JSON.parse(await readFile(manifestPath, "utf8")));
    const forged = {
      ...manifest,
      files: manifest.files.map((file) =>
        file.path === CONFIGURATION
          ? {
              path: file.path,
              bytes: 3,
              sha256: "ca3d163bab055381827226140568f3bef7eaac187cebd76878e0b63e9e442356",
            }
          : file,
      ),
    };
    await writeFile(manifestPath, canonicalManifestBytes(forged));
    const result = await verifyBundle(directory, { expectedKeyId: signer.keyId });
    expect(result.ok).toBe(false);
    expect(result.manifest.ok).toBe(true);
    expect(result.files.altered).toEqual([]);
    expect(result.signature).toMatchObject({
      ok: false,
      reason: expect.stringContaining("over a different manifest"),
    });
  });

  it("manifest.json broken", async () => {
    const directory = await copyOfOriginal();
    await writeFile(join(directory, "manifest.json"), "{ not json");
    const result = await verifyBundle(directory, { expectedKeyId: signer.keyId });
    expect(result.ok).toBe(false);
    expect(result.manifest.reason).toContain("manifest.json is not valid JSON");
    expect(result.signature.ok).toBe(false);
  });

  it("a corrupted archive", async () => {
    const bytes = await readFile(original.archive);
    const middle = Math.floor(bytes.length / 2);
    bytes[middle] = (bytes[middle] ?? 0) ^ 0xff;
    const archive = join(workspace, "tamper", "corrupted.tar.gz");
    await writeFile(archive, bytes);
    const result = await verifyBundle(archive, { expectedKeyId: signer.keyId });
    expect(result.ok).toBe(false);
    expect(result.archive).toMatchObject({ ok: false, reason: expect.stringContaining("damaged") });
    expect(formatVerifyResult(result)).toContain("archive: FAILED");
  });

  it("an archive rebuilt with an altered file", async () => {
    const directory = await copyOfOriginal();
    await writeFile(join(directory, FINDINGS_FILE), '[{"checkId":"rotation-enabled","status":"fail"}]\n');
    const archive = await repack(directory);
    await rm(directory, { recursive: true });
    const result = await verifyBundle(archive, { expectedKeyId: signer.keyId });
    expect(result.ok).toBe(false);
    expect(result.archive?.ok).toBe(true);
    expect(result.files.altered.map((file) => file.path)).toEqual([FINDINGS_FILE]);
  });

  it("an archive rebuilt with a file left out", async () => {
    const directory = await copyOfOriginal();
    await unlink(join(directory, INVENTORY_FILE));
    const archive = await repack(directory);
    const result = await verifyBundle(archive, { expectedKeyId: signer.keyId });
    expect(result.files.missing).toEqual([INVENTORY_FILE]);
    expect(result.ok).toBe(false);
  });
});

/** RFC 4180 reader for the test: quoted fields, doubled quotes, CRLF. */
function parseCsvLine(line: string): string[] {
  const cells: string[] = [];
  let cell = "";
  let quoted = false;
  for (let index = 0; index < line.length; index++) {
    const char = line[index];
    if (quoted) {
      if (char === '"' && line[index + 1] === '"') {
        cell += '"';
        index++;
      } else if (char === '"') {
        quoted = false;
      } else {
        cell += char;
      }
    } else if (char === '"') {
      quoted = true;
    } else if (char === ",") {
      cells.push(cell);
      cell = "";
    } else {
      cell += char;
    }
  }
  cells.push(cell);
  return cells;
}

function guarded(value: string | undefined): string {
  if (value === undefined) return "";
  return /^[=+\-@]/.test(value) ? `'${value}` : value;
}

describe("usage extract with 100k events", () => {
  it("counts, quotes, guards and seals a bundle that verifies", async () => {
    const count = 100_000;
    const writer = await BundleWriter.open(join(workspace, "runs", "run-large"));
    const summary = await writeUsageExtract(writer, usageItems(count), {
      source: SOURCE,
      sourceType: "aws-kms",
      location: REGION,
      method: "cloudtrail-s3",
      range,
      generatedAt: "2026-10-01T06:00:00.000Z",
    });

    const expectedByKey: Record<string, number> = {};
    const expectedByAction: Record<string, number> = {};
    let latest = 0;
    for (let index = 0; index < count; index++) {
      const event = usageEvent(index);
      latest = Math.max(latest, Date.parse(event.time));
      const key = event.keyId ?? "(no key)";
      expectedByKey[key] = (expectedByKey[key] ?? 0) + 1;
      expectedByAction[event.action] = (expectedByAction[event.action] ?? 0) + 1;
    }
    expect(summary.eventCount).toBe(count);
    expect(summary.byKey).toEqual(expectedByKey);
    expect(summary.byAction).toEqual(expectedByAction);
    expect(summary.firstEventAt).toBe("2026-07-01T00:00:00.000Z");
    expect(summary.lastEventAt).toBe(new Date(latest).toISOString());
    expect(summary.gaps).toEqual([
      {
        source: SOURCE,
        location: REGION,
        object: "AWSLogs/broken.json.gz",
        code: "AccessDenied",
        message: "denied",
      },
    ]);

    // NDJSON: one event per line, in order, byte-faithful (no guard applied).
    let ndjsonLines = 0;
    const ndjson = createInterface({
      input: createReadStream(join(writer.directory, usageExtractPath(SOURCE, REGION, "ndjson"))),
    });
    for await (const line of ndjson) {
      if (ndjsonLines % 9_973 === 0) expect(JSON.parse(line)).toEqual(usageEvent(ndjsonLines));
      ndjsonLines++;
    }
    expect(ndjsonLines).toBe(count);

    // CSV: preamble, header, then one row per event that reads back to the event (with the guard).
    const csvText = await readFile(join(writer.directory, usageExtractPath(SOURCE, REGION, "csv")), "utf8");
    const rows = csvText.split("\r\n");
    expect(rows.pop()).toBe("");
    // The preamble's length varies with the gaps it names (`# gap:` lines), so find the header after it.
    const preamble = rows.findIndex((row) => !row.startsWith("# "));
    expect(preamble).toBeGreaterThanOrEqual(6);
    expect(rows[preamble]).toBe(USAGE_CSV_COLUMNS.join(","));
    expect(rows).toHaveLength(preamble + 1 + count);
    // Compared in one assertion: 100k expect() calls would dominate the test's run time.
    const mismatches: Array<{ row: number; cells: string[]; expected: string[] }> = [];
    for (let index = 0; index < count; index++) {
      const event = usageEvent(index);
      const cells = parseCsvLine(rows[preamble + 1 + index] ?? "");
      const expected = [
        event.time,
        event.keyId ?? "",
        event.keyReference ?? "",
        event.action,
        guarded(event.principal),
        guarded(event.sourceAddress),
        event.outcome,
        event.errorCode ?? "",
        event.eventId,
        event.origin,
      ];
      if (cells.join("\u0000") !== expected.join("\u0000") && mismatches.length < 5)
        mismatches.push({ row: preamble + 1 + index, cells, expected });
    }
    expect(mismatches).toEqual([]);
    expect(rows[preamble + 1]).toContain(`,"'=HYPERLINK(""http://evil/0"",""x"")",`);
    expect(rows[preamble + 1 + 11]).toContain(
      `,"arn:aws:sts::111122223333:assumed-role/app,""quoted""/session-11",`,
    );
    expect(rows[preamble + 1 + 13]).toContain(",'-10.0.0.1,");

    const sealed = await writer.seal({ manifestFields: fields("run-large"), signer });
    const result = await verifyBundle(sealed.archive, { expectedKeyId: signer.keyId });
    expect(result).toMatchObject({ ok: true, files: { checked: 5 } });
  });
});
