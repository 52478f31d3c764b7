/**
 * The tamper suite: one bundle sealed by a real inline run (demo estate on moto, local Ed25519 key, no
 * rendering), then at least 200 seeded mutations of it (directory and archive) and every one must be
 * rejected with the reason that names it. The untouched bundle, pinned to its real signer, verifies.
 * Mutations are generated from a fixed seed so a failure names a case that can be replayed. A mutation
 * may also be verified under other pins (`alsoUnder`): the KMS-ARN forgery is checked against the ARN
 * pinned offline, alone and next to the real public key, and each refusal must say which binding failed.
 */
import { createHash, generateKeyPairSync, sign as signBytes } from "node:crypto";
import { execFileSync } from "node:child_process";
import {
  cp,
  mkdir,
  mkdtemp,
  readFile,
  rename,
  rm,
  symlink,
  truncate,
  unlink,
  writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { gzipSync } from "node:zlib";
import { Header, Pax } from "tar";
import type { HeaderData } from "tar";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readBundleTree } from "../../src/evidence/bundle-tree.ts";
import { ManifestSchema, canonicalManifestBytes } from "../../src/evidence/manifest.ts";
import type { Manifest } from "../../src/evidence/manifest.ts";
import { FINDINGS_FILE, MANIFEST_FILE, SIGNATURE_FILE } from "../../src/evidence/paths.ts";
import { formatVerifyResult, verifyBundle } from "../../src/evidence/verify-bundle.ts";
import type { VerifyOptions, VerifyResult } from "../../src/evidence/verify-bundle.ts";
import { runInline } from "../../src/jobs/run-inline.ts";
import type { RunResult } from "../../src/jobs/run-inline.ts";
import { generateSigningKey } from "../../src/signing/keygen.ts";
import { createLocalEd25519Signer } from "../../src/signing/local-ed25519.signer.ts";
import type { LocalEd25519Signer } from "../../src/signing/local-ed25519.signer.ts";
import type { Signer } from "../../src/signing/signer.ts";
import { publicKeyFingerprint } from "../../src/signing/fingerprint.ts";
import { signManifest } from "../../src/signing/sign-manifest.ts";
import {
  SignatureRecordSchema,
  signatureFileText,
  statementBytes,
} from "../../src/signing/verify-signature.ts";
import type { SignatureRecord } from "../../src/signing/verify-signature.ts";
import { runCli } from "../support/cli.ts";
import { CAPTURED_AT, TEST_RANGE, fixedClock, prepareEstate, removeDirectory } from "./queue-harness.ts";
import type { TestEstate } from "./queue-harness.ts";

const SEED = 0x6b657970; // "keyp"
const MUTATIONS = 256;
const ATTACKER_KMS_ARN = "arn:aws:kms:eu-west-1:111122223333:key/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";

let setup: TestEstate;
let run: RunResult;
let realSigner: LocalEd25519Signer;
let attackerEd25519: LocalEd25519Signer;
let attackerKms: Signer;
let pinned: VerifyOptions;
let workspace: string;
let counter = 0;

/** mulberry32: small, seedable, good enough to pick files and offsets reproducibly. */
function createRandom(seed: number): {
  next(): number;
  int(below: number): number;
  pick<T>(items: readonly T[]): T;
} {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4_294_967_296;
  };
  const int = (below: number): number => Math.floor(next() * below);
  return {
    next,
    int,
    pick<T>(items: readonly T[]): T {
      const item = items[int(items.length)];
      if (item === undefined) throw new Error("pick from an empty list");
      return item;
    },
  };
}
type Random = ReturnType<typeof createRandom>;

/**
 * The attacker's re-seal: writes the manifest canonically and a signature record by `signer` over it. The
 * one place in this suite that knows how a bundle is signed (switch it here when the signature format grows).
 */
async function resign(directory: string, manifest: Manifest, signer: Signer): Promise<void> {
  const bytes = canonicalManifestBytes({
    ...manifest,
    signer: {
      description: signer.description,
      keyId: signer.keyId,
      fingerprint: publicKeyFingerprint(signer.publicKeyPem),
    },
  });
  await writeFile(join(directory, MANIFEST_FILE), bytes);
  await signManifest(directory, signer);
}

/** An attacker's own P-256 key posing as an AWS KMS key: the record names a KMS ARN and embeds the key. */
function createFakeKmsSigner(keyId: string): Signer {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  const publicKeyPem = publicKey.export({ type: "spki", format: "pem" }).toString();
  return {
    description: `AWS KMS ${keyId}`,
    keyId,
    algorithm: "ECDSA_SHA_256",
    publicKeyPem,
    async sign(message: Uint8Array): Promise<Uint8Array> {
      return signBytes("sha256", message, { key: privateKey, dsaEncoding: "der" });
    },
  };
}

async function readSignatureRecord(directory: string): Promise<SignatureRecord> {
  return SignatureRecordSchema.parse(JSON.parse(await readFile(join(directory, SIGNATURE_FILE), "utf8")));
}

async function readManifest(directory: string): Promise<Manifest> {
  return ManifestSchema.parse(JSON.parse(await readFile(join(directory, MANIFEST_FILE), "utf8")));
}

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** A private copy of the sealed bundle directory, under a folder of the same name. */
async function copyOfBundle(): Promise<string> {
  const target = join(workspace, `case-${++counter}`, basename(run.bundle.directory));
  await cp(run.bundle.directory, target, { recursive: true });
  return target;
}

async function copyOfArchive(): Promise<string> {
  const target = join(workspace, `case-${++counter}.tar.gz`);
  await cp(run.bundle.archive, target);
  return target;
}

// --- hand-made archives, for what no honest tar writer produces ---------------------------------------

interface RawEntry {
  path: string;
  type: "File" | "Directory" | "SymbolicLink" | "Link" | "CharacterDevice" | "FIFO" | "GlobalExtendedHeader";
  data?: Buffer;
  linkpath?: string;
  /** pax extended header for this entry (long or unusual paths). */
  pax?: HeaderData;
}

function headerBlock(data: HeaderData): Buffer {
  const header = new Header({ mode: 0o644, mtime: new Date("2026-10-01T00:00:00Z"), size: 0, ...data });
  header.encode();
  if (header.block === undefined) throw new Error("tar Header encoded nothing");
  return header.block;
}

function padded(data: Buffer): Buffer[] {
  return [data, Buffer.alloc((512 - (data.length % 512)) % 512)];
}

/** Tar blocks of the entries, without the end-of-archive marker. */
function tarBody(entries: readonly RawEntry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const entry of entries) {
    const data = entry.data ?? Buffer.alloc(0);
    if (entry.pax !== undefined) {
      const body = Buffer.from(new Pax(entry.pax).encodeBody());
      blocks.push(
        headerBlock({ path: "PaxHeader", type: "ExtendedHeader", size: body.length }),
        ...padded(body),
      );
    }
    blocks.push(
      headerBlock({
        path: entry.path,
        type: entry.type,
        mode: entry.type === "Directory" ? 0o755 : 0o644,
        size: entry.type === "File" || entry.type === "GlobalExtendedHeader" ? data.length : 0,
        ...(entry.linkpath === undefined ? {} : { linkpath: entry.linkpath }),
      }),
    );
    if (data.length > 0) blocks.push(...padded(data));
  }
  return Buffer.concat(blocks);
}

const END_BLOCKS = Buffer.alloc(1024);

/** The bundle as tar entries under its folder, as the writer lays it out. */
async function bundleEntries(directory: string): Promise<RawEntry[]> {
  const root = basename(directory);
  const tree = await readBundleTree(directory);
  const entries: RawEntry[] = [{ path: `${root}/`, type: "Directory" }];
  for (const path of tree.directories) entries.push({ path: `${root}/${path}/`, type: "Directory" });
  for (const path of tree.files) {
    entries.push({ path: `${root}/${path}`, type: "File", data: await readFile(join(directory, path)) });
  }
  return entries;
}

async function writeArchive(bytes: Buffer): Promise<string> {
  const target = join(workspace, `case-${++counter}.tar.gz`);
  await writeFile(target, bytes);
  return target;
}

// --- expectations: each mutation says what the report must name --------------------------------------

type Expectation =
  | { altered: string }
  | { missing: string }
  | { extra: string }
  | { archive: string; entry?: string }
  | { signature: string }
  | { manifest: string };

interface Mutation {
  /** What was done, for the test name and failure messages. */
  description: string;
  target: string;
  /** What the report names when verified pinned to the real signer's public key. */
  expect: Expectation[];
  /** The same mutated bundle verified under other pins, each with what its report must name. */
  alsoUnder?: Array<{ pin: string; options: VerifyOptions; expect: Expectation[] }>;
}

function assertRejected(result: VerifyResult, mutation: Mutation): void {
  const context = `${mutation.description}\n${formatVerifyResult(result)}`;
  expect(result.ok, context).toBe(false);
  const text = formatVerifyResult(result);
  for (const expectation of mutation.expect) {
    if ("altered" in expectation) {
      expect(
        result.files.altered.map((file) => file.path),
        context,
      ).toContain(expectation.altered);
      expect(text).toContain(`altered: ${expectation.altered}`);
    } else if ("missing" in expectation) {
      expect(result.files.missing, context).toContain(expectation.missing);
      expect(text).toContain(`missing: ${expectation.missing}`);
    } else if ("extra" in expectation) {
      expect(result.files.extra, context).toContain(expectation.extra);
      expect(text).toContain(`extra (not in manifest): ${expectation.extra}`);
    } else if ("archive" in expectation) {
      expect(result.archive?.ok, context).toBe(false);
      expect(result.archive?.reason ?? "", context).toContain(expectation.archive);
      if (expectation.entry !== undefined) {
        const entry = expectation.entry;
        expect(
          result.archive?.rejectedEntries.some((rejected) => rejected.includes(entry)),
          context,
        ).toBe(true);
        expect(text).toContain(entry);
      }
    } else if ("signature" in expectation) {
      // Either the signature itself fails, or it is valid but by a signer the pin does not trust: both
      // refuse the bundle, and the reason must name which.
      const trust = result.signature.trust;
      const untrusted = result.signature.ok && trust?.trusted !== true;
      expect(result.signature.ok === false || untrusted, context).toBe(true);
      expect(untrusted ? text : (result.signature.reason ?? ""), context).toContain(expectation.signature);
    } else {
      expect(result.manifest.ok, context).toBe(false);
      expect(result.manifest.reason ?? "", context).toContain(expectation.manifest);
    }
  }
}

// --- the mutations ------------------------------------------------------------------------------------

/** Files the manifest lists, with their sizes (drawn from for byte flips, truncation, renames, swaps). */
function listedFiles(): Manifest["files"] {
  return run.bundle.manifest.files;
}

function nonEmptyFile(random: Random): Manifest["files"][number] {
  return random.pick(listedFiles().filter((file) => file.bytes > 0));
}

function randomName(random: Random): string {
  const letters = "abcdefghijklmnopqrstuvwxyz";
  return Array.from({ length: 6 + random.int(6) }, () => random.pick([...letters])).join("");
}

/** A path under an existing bundle directory (or the root), not already in the bundle. */
function newPath(random: Random, extension = ".json"): string {
  const directories = [
    "",
    ...new Set(
      listedFiles()
        .map((file) => dirname(file.path))
        .filter((d) => d !== "."),
    ),
  ];
  const parent = random.pick(directories);
  return `${parent === "" ? "" : `${parent}/`}${randomName(random)}${extension}`;
}

function randomBytes(random: Random, length: number): Buffer {
  return Buffer.from(Array.from({ length }, () => random.int(256)));
}

type MutationMaker = (random: Random) => Promise<Mutation>;

const directoryMutations: Record<string, MutationMaker> = {
  async "byte flip in a file"(random) {
    const directory = await copyOfBundle();
    const file = nonEmptyFile(random);
    const bytes = await readFile(join(directory, file.path));
    const offset = random.int(bytes.length);
    bytes[offset] = (bytes[offset] ?? 0) ^ (1 << random.int(8));
    await writeFile(join(directory, file.path), bytes);
    return {
      description: `flip a bit at ${offset} of ${file.path}`,
      target: directory,
      expect: [{ altered: file.path }],
    };
  },
  async "file truncated"(random) {
    const directory = await copyOfBundle();
    const file = nonEmptyFile(random);
    const length = random.int(file.bytes);
    await truncate(join(directory, file.path), length);
    return {
      description: `truncate ${file.path} to ${length} bytes`,
      target: directory,
      expect: [{ altered: file.path }],
    };
  },
  async "file renamed"(random) {
    const directory = await copyOfBundle();
    const file = random.pick(listedFiles());
    const to = newPath(random, file.path.slice(file.path.lastIndexOf(".")));
    await mkdir(dirname(join(directory, to)), { recursive: true });
    await rename(join(directory, file.path), join(directory, to));
    return {
      description: `rename ${file.path} to ${to}`,
      target: directory,
      expect: [{ missing: file.path }, { extra: to }],
    };
  },
  async "two files swapped"(random) {
    const directory = await copyOfBundle();
    const first = random.pick(listedFiles());
    const second = random.pick(listedFiles().filter((file) => file.sha256 !== first.sha256));
    const firstBytes = await readFile(join(directory, first.path));
    await writeFile(join(directory, first.path), await readFile(join(directory, second.path)));
    await writeFile(join(directory, second.path), firstBytes);
    return {
      description: `swap ${first.path} and ${second.path}`,
      target: directory,
      expect: [{ altered: first.path }, { altered: second.path }],
    };
  },
  async "file added"(random) {
    const directory = await copyOfBundle();
    const path = newPath(random);
    await mkdir(dirname(join(directory, path)), { recursive: true });
    await writeFile(join(directory, path), randomBytes(random, random.int(200)));
    return { description: `add ${path}`, target: directory, expect: [{ extra: path }] };
  },
  async "empty directory added"(random) {
    const directory = await copyOfBundle();
    const parent = random.pick([
      "",
      ".git/",
      "sources/x/",
      ...listedFiles().map((file) => `${dirname(file.path)}/`),
    ]);
    const path = `${parent === "./" ? "" : parent}${random.pick([".git", "zz", randomName(random)])}`;
    await mkdir(join(directory, path), { recursive: true });
    return {
      description: `add empty directory ${path}/`,
      target: directory,
      expect: [{ extra: `${path}/` }],
    };
  },
  async "file deleted"(random) {
    const directory = await copyOfBundle();
    const file = random.pick(listedFiles());
    await unlink(join(directory, file.path));
    return { description: `delete ${file.path}`, target: directory, expect: [{ missing: file.path }] };
  },
  async "file replaced by a symlink to its own copy"(random) {
    const directory = await copyOfBundle();
    const file = random.pick(listedFiles());
    const outside = join(dirname(directory), "outside-copy");
    await cp(join(directory, file.path), outside);
    await unlink(join(directory, file.path));
    await symlink(outside, join(directory, file.path));
    return {
      description: `symlink ${file.path} to a copy outside the bundle`,
      target: directory,
      expect: [{ altered: file.path }],
    };
  },
  async "manifest hash edited, old signature kept"(random) {
    const directory = await copyOfBundle();
    const file = nonEmptyFile(random);
    const replacement = randomBytes(random, 32 + random.int(64));
    await writeFile(join(directory, file.path), replacement);
    const manifest = await readManifest(directory);
    const edited = {
      ...manifest,
      files: manifest.files.map((entry) =>
        entry.path === file.path
          ? { ...entry, sha256: sha256(replacement), bytes: replacement.length }
          : entry,
      ),
    };
    await writeFile(join(directory, MANIFEST_FILE), canonicalManifestBytes(edited));
    return {
      description: `replace ${file.path} and its manifest hash, keep the signature`,
      target: directory,
      expect: [{ signature: "the signature is over a different manifest" }],
    };
  },
  async "manifest field edited, old signature kept"(random) {
    const directory = await copyOfBundle();
    const manifest = await readManifest(directory);
    const edits: Array<[string, Manifest]> = [
      ["organization", { ...manifest, organization: "Someone Else Ltd" }],
      ["capturedAt", { ...manifest, capturedAt: "2025-01-01T00:00:00.000Z" }],
      ["period label", { ...manifest, period: { ...manifest.period, label: "2025-Q1" } }],
      ["file list (one dropped)", { ...manifest, files: manifest.files.slice(1) }],
    ];
    const [what, edited] = random.pick(edits);
    await writeFile(join(directory, MANIFEST_FILE), canonicalManifestBytes(edited));
    return {
      description: `edit manifest ${what}`,
      target: directory,
      expect: [{ signature: "the signature is over a different manifest" }],
    };
  },
  async "manifest rewritten non-canonically"(random) {
    const directory = await copyOfBundle();
    const manifest = JSON.parse(await readFile(join(directory, MANIFEST_FILE), "utf8")) as unknown;
    await writeFile(join(directory, MANIFEST_FILE), `${JSON.stringify(manifest, null, 1 + random.int(4))}\n`);
    return {
      description: "pretty-print manifest.json",
      target: directory,
      expect: [{ manifest: "not in canonical form" }],
    };
  },
  async "manifest or signature file deleted"(random) {
    const directory = await copyOfBundle();
    const name = random.pick([MANIFEST_FILE, SIGNATURE_FILE]);
    await unlink(join(directory, name));
    return {
      description: `delete ${name}`,
      target: directory,
      expect: [
        name === MANIFEST_FILE
          ? { manifest: `${MANIFEST_FILE} is missing` }
          : { signature: `${SIGNATURE_FILE} is missing` },
      ],
    };
  },
  async "signature byte flipped"(random) {
    const directory = await copyOfBundle();
    // Replace the base64 text in place: the file's layout is fixed, so only the signature bytes change.
    const text = await readFile(join(directory, SIGNATURE_FILE), "utf8");
    const record = JSON.parse(text) as { signature: string };
    const signature = Buffer.from(record.signature, "base64");
    const offset = random.int(signature.length);
    signature[offset] = (signature[offset] ?? 0) ^ (1 << random.int(8));
    await writeFile(
      join(directory, SIGNATURE_FILE),
      text.replace(record.signature, signature.toString("base64")),
    );
    return {
      description: `flip a bit at ${offset} of the signature`,
      target: directory,
      expect: [{ signature: "signature does not match" }],
    };
  },
  async "findings fail→pass, re-signed with another Ed25519 key"(random) {
    const directory = await copyOfBundle();
    const text = await readFile(join(directory, FINDINGS_FILE), "utf8");
    const findings = JSON.parse(text) as Array<{ status: string }>;
    const failing = findings.flatMap((finding, index) => (finding.status === "fail" ? [index] : []));
    const index = random.pick(failing);
    const edited = findings.map((finding, at) => (at === index ? { ...finding, status: "pass" } : finding));
    const bytes = Buffer.from(`${JSON.stringify(edited, null, 2)}\n`);
    await writeFile(join(directory, FINDINGS_FILE), bytes);
    const manifest = await readManifest(directory);
    await resign(
      directory,
      {
        ...manifest,
        files: manifest.files.map((entry) =>
          entry.path === FINDINGS_FILE ? { ...entry, sha256: sha256(bytes), bytes: bytes.length } : entry,
        ),
      },
      attackerEd25519,
    );
    return {
      description: `finding #${index} fail→pass, manifest re-signed by the attacker's Ed25519 key`,
      target: directory,
      expect: [{ signature: "is not among its" }],
    };
  },
  async "file replaced, re-signed with another Ed25519 key"(random) {
    const directory = await copyOfBundle();
    const file = random.pick(listedFiles());
    const bytes = randomBytes(random, 10 + random.int(100));
    await writeFile(join(directory, file.path), bytes);
    const manifest = await readManifest(directory);
    const files = manifest.files.map((entry) =>
      entry.path === file.path ? { ...entry, sha256: sha256(bytes), bytes: bytes.length } : entry,
    );
    await resign(directory, { ...manifest, files }, attackerEd25519);
    return {
      description: `replace ${file.path}, re-sign with the attacker's Ed25519 key`,
      target: directory,
      expect: [{ signature: "is not among its" }],
    };
  },
  async "re-signed by a P-256 key claiming a KMS ARN"(random) {
    const directory = await copyOfBundle();
    const manifest = await readManifest(directory);
    const file = random.pick(listedFiles());
    await unlink(join(directory, file.path));
    await resign(
      directory,
      { ...manifest, files: manifest.files.filter((entry) => entry.path !== file.path) },
      attackerKms,
    );
    return {
      description: `drop ${file.path}, re-sign with an attacker's P-256 key claiming ${ATTACKER_KMS_ARN}`,
      target: directory,
      expect: [{ signature: "is not among its" }],
      alsoUnder: [
        {
          // The ARN the attacker wrote is exactly the one pinned: offline nothing binds it to a key.
          pin: `key id ${ATTACKER_KMS_ARN} alone, offline`,
          options: { expectedKeyId: ATTACKER_KMS_ARN },
          expect: [
            {
              signature: `expected key ${ATTACKER_KMS_ARN}: not checkable offline: a KMS key id is not bound to the embedded public key`,
            },
          ],
        },
        {
          pin: `key id ${ATTACKER_KMS_ARN} next to the real public key, offline`,
          options: { expectedKeyId: ATTACKER_KMS_ARN, expectedPublicKey: realSigner.publicKeyPem },
          expect: [
            {
              signature: `expected key ${ATTACKER_KMS_ARN}: checked offline against the pinned public key, which differs`,
            },
            { signature: "is not among its" },
          ],
        },
      ],
    };
  },
  async "signedAt changed, old signature kept"(random) {
    const directory = await copyOfBundle();
    const record = await readSignatureRecord(directory);
    const signedAt = record.statement.signedAt;
    // Within the ±24 h margin, so only the signature can tell; then forms the statement schema refuses.
    const shift = (1 + random.int(6 * 3_600_000)) * (random.next() < 0.5 ? -1 : 1);
    const variants: Array<[string, string, string]> = [
      [
        `moved by ${shift} ms`,
        new Date(Date.parse(signedAt) + shift).toISOString(),
        "signature does not match the signed statement",
      ],
      [
        "written with +00:00 instead of Z",
        `${signedAt.slice(0, 19)}+00:00`,
        "statement.signedAt: must be a UTC ISO-8601 time",
      ],
      ["not a date", "not a date", "statement.signedAt: must be a UTC ISO-8601 time"],
      ["date only", signedAt.slice(0, 10), "statement.signedAt: must be a UTC ISO-8601 time"],
      [
        "an impossible date",
        `${signedAt.slice(0, 4)}-02-30T06:00:00.000Z`,
        "statement.signedAt: is not a real date and time",
      ],
    ];
    const [what, value, reason] = random.pick(variants);
    // Written in the exact layout keyproof writes: only the signedAt value differs.
    await writeFile(
      join(directory, SIGNATURE_FILE),
      signatureFileText({ ...record, statement: { ...record.statement, signedAt: value } }),
    );
    return {
      description: `signedAt ${what} (${value}), signature kept`,
      target: directory,
      expect: [{ signature: reason }],
    };
  },
  async "signature file extended or laid out differently"(random) {
    const directory = await copyOfBundle();
    const path = join(directory, SIGNATURE_FILE);
    const text = await readFile(path, "utf8");
    const record = await readSignatureRecord(directory);
    const statementLine = Buffer.from(statementBytes(record.statement)).toString("utf8");
    const name = randomName(random);
    const foreign = "is not a keyproof signature file";
    const layout = "is not byte for byte the layout keyproof writes";
    const reversed = Object.fromEntries(Object.entries(record.statement).reverse());
    const variants: Array<[string, string, string]> = [
      [
        `extra top-level field ${name}`,
        text.replace('  "version": 2,', `  "version": 2,\n  "${name}": "approved",`),
        `${foreign} (Unrecognized key: "${name}"`,
      ],
      [
        `extra statement field ${name}`,
        text.replace('{"algorithm":', `{"${name}":"approved","algorithm":`),
        `${foreign} (statement: Unrecognized key: "${name}"`,
      ],
      ["pretty-printed", `${JSON.stringify(record, null, 1 + random.int(4))}\n`, layout],
      ["on one line", `${JSON.stringify(record)}\n`, layout],
      [
        "signature before statement",
        text.replace(
          /"statement": (.*),\n {2}"signature": (".*")\n/,
          (_match, statement: string, signature: string) =>
            `"signature": ${signature},\n  "statement": ${statement}\n`,
        ),
        layout,
      ],
      ["statement keys in another order", text.replace(statementLine, JSON.stringify(reversed)), layout],
      ["a space inside the statement", text.replace('","fingerprint":', '", "fingerprint":'), layout],
      ["trailing whitespace", `${text}${random.pick([" ", "\n", "\t", "\r\n"])}`, layout],
      ["CRLF line ends", text.replace(/\n/g, "\r\n"), layout],
      ["a character escaped", text.replace('"format":', '"\\u0066ormat":'), layout],
      ["a UTF-8 byte order mark", `\uFEFF${text}`, layout],
    ];
    const [what, changed, reason] = random.pick(variants);
    if (changed === text) throw new Error(`the variant "${what}" changed nothing`);
    await writeFile(path, changed);
    return {
      description: `${SIGNATURE_FILE}: ${what}`,
      target: directory,
      expect: [{ signature: reason }],
    };
  },
  async "attacker key under the real key id"(random) {
    const directory = await copyOfBundle();
    const manifest = await readManifest(directory);
    // signManifest refuses to write a record whose key id is not its key's, so the attacker signs with their
    // own id and then rewrites the id in the signed statement to the real signer's.
    await resign(
      directory,
      { ...manifest, organization: `${manifest.organization} ${random.int(1000)}` },
      attackerEd25519,
    );
    const signatureText = await readFile(join(directory, SIGNATURE_FILE), "utf8");
    await writeFile(
      join(directory, SIGNATURE_FILE),
      signatureText.split(attackerEd25519.keyId).join(realSigner.keyId),
    );
    return {
      description: "re-sign with the attacker's key, record claiming the real key id",
      target: directory,
      expect: [{ signature: "is not the hash of the embedded public key" }],
    };
  },
};

/** Mutations of the sealed .tar.gz itself, or of a hand-made archive of the bundle. */
const archiveMutations: Record<string, MutationMaker> = {
  async "second gzip member appended"(random) {
    const original = await readFile(run.bundle.archive);
    const smuggled = `${basename(run.bundle.directory)}/${newPath(random)}`;
    const member = gzipSync(
      Buffer.concat([tarBody([{ path: smuggled, type: "File", data: randomBytes(random, 50) }]), END_BLOCKS]),
    );
    return {
      description: `append a gzip member holding ${smuggled}`,
      target: await writeArchive(Buffer.concat([original, member])),
      expect: [{ archive: "a second gzip member", entry: smuggled }],
    };
  },
  async "trailing bytes after the gzip stream"(random) {
    const original = await readFile(run.bundle.archive);
    const tail =
      random.next() < 0.5 ? Buffer.alloc(1 + random.int(2048)) : randomBytes(random, 1 + random.int(2048));
    if (tail[0] === 0x1f) tail[0] = 0x20;
    return {
      description: `append ${tail.length} bytes after the gzip stream`,
      target: await writeArchive(Buffer.concat([original, tail])),
      expect: [{ archive: "trailing bytes after the end of the gzip stream" }],
    };
  },
  async "byte flip in the archive"(random) {
    const target = await copyOfArchive();
    const bytes = await readFile(target);
    // Bytes 4-9 of the gzip header (mtime, extra flags, OS) describe nothing that is extracted.
    const offset = 10 + random.int(bytes.length - 10);
    bytes[offset] = (bytes[offset] ?? 0) ^ (1 << random.int(8));
    await writeFile(target, bytes);
    return {
      description: `flip a bit at byte ${offset} of the archive`,
      target,
      expect: [{ archive: "damaged" }],
    };
  },
  async "archive truncated"(random) {
    const target = await copyOfArchive();
    const bytes = await readFile(target);
    // At least the two magic bytes: shorter is not recognised as an archive at all (ARGUMENT_INVALID).
    const length = 2 + random.int(bytes.length - 2);
    await writeFile(target, bytes.subarray(0, length));
    return {
      description: `truncate the archive to ${length} bytes`,
      target,
      expect: [{ archive: "truncated" }],
    };
  },
  async "duplicate entry"(random) {
    const entries = await bundleEntries(run.bundle.directory);
    const file = random.pick(entries.filter((entry) => entry.type === "File"));
    const copy: RawEntry = {
      ...file,
      data: random.next() < 0.5 ? (file.data ?? Buffer.alloc(0)) : randomBytes(random, 20),
    };
    return {
      description: `${file.path} twice in the archive`,
      target: await writeArchive(gzipSync(Buffer.concat([tarBody([...entries, copy]), END_BLOCKS]))),
      expect: [{ archive: "refused", entry: `${file.path} (duplicate entry` }],
    };
  },
  async "link or special entry"(random) {
    const entries = await bundleEntries(run.bundle.directory);
    const root = basename(run.bundle.directory);
    const file = random.pick(entries.filter((entry) => entry.type === "File"));
    const kinds: Array<[RawEntry, string]> = [
      [
        { path: `${root}/${randomName(random)}`, type: "SymbolicLink", linkpath: "/etc/passwd" },
        "symlink to /etc/passwd",
      ],
      [
        { path: `${root}/${randomName(random)}`, type: "Link", linkpath: file.path },
        `hard link to ${file.path}`,
      ],
      [{ path: `${root}/${randomName(random)}`, type: "CharacterDevice" }, "character device"],
      [{ path: `${root}/${randomName(random)}`, type: "FIFO" }, "FIFO"],
      [
        {
          path: "pax_global_header",
          type: "GlobalExtendedHeader",
          data: Buffer.from(new Pax({ path: "x" }, true).encodeBody()),
        },
        "pax global header",
      ],
    ];
    const [entry, named] = random.pick(kinds);
    return {
      description: `add a ${named} entry ${entry.path}`,
      target: await writeArchive(gzipSync(Buffer.concat([tarBody([...entries, entry]), END_BLOCKS]))),
      expect: [{ archive: "refused", entry: `${entry.path} (${named}` }],
    };
  },
  async "path trick"(random) {
    const entries = await bundleEntries(run.bundle.directory);
    const root = basename(run.bundle.directory);
    const name = randomName(random);
    const tricks: Array<[RawEntry, string]> = [
      [{ path: `${root}/../${name}.txt`, type: "File", data: Buffer.from("x") }, '".." segment'],
      [{ path: `../../${name}.txt`, type: "File", data: Buffer.from("x") }, '".." segment'],
      [{ path: `/tmp/${name}.txt`, type: "File", data: Buffer.from("x") }, "absolute"],
      [
        { path: "x", type: "File", data: Buffer.from("x"), pax: { path: `${root}/../../${name}.txt` } },
        '".." segment',
      ],
      [{ path: `${root}//${name}.txt`, type: "File", data: Buffer.from("x") }, "empty segment"],
      [{ path: `${root}/sub\\..\\${name}.txt`, type: "File", data: Buffer.from("x") }, "backslash"],
    ];
    const [entry, named] = random.pick(tricks);
    const shown = entry.pax?.path ?? entry.path;
    return {
      description: `add ${shown}`,
      target: await writeArchive(gzipSync(Buffer.concat([tarBody([...entries, entry]), END_BLOCKS]))),
      expect: [
        { archive: "refused", entry: `${shown} (` },
        { archive: "refused", entry: named },
      ],
    };
  },
  async "entry beside the bundle folder"(random) {
    const entries = await bundleEntries(run.bundle.directory);
    const name = `${randomName(random)}.sh`;
    return {
      description: `add ${name} next to the bundle folder`,
      target: await writeArchive(
        gzipSync(
          Buffer.concat([
            tarBody([...entries, { path: name, type: "File", data: Buffer.from("echo") }]),
            END_BLOCKS,
          ]),
        ),
      ),
      expect: [{ archive: "refused", entry: `${name} (outside the bundle folder` }],
    };
  },
  async "data after the tar end, same gzip member"(random) {
    const entries = await bundleEntries(run.bundle.directory);
    const smuggled = `${basename(run.bundle.directory)}/${newPath(random)}`;
    const tar = Buffer.concat([
      tarBody(entries),
      END_BLOCKS,
      Buffer.alloc(512 * random.int(3)),
      tarBody([{ path: smuggled, type: "File", data: randomBytes(random, 30) }]),
      END_BLOCKS,
    ]);
    return {
      description: `${smuggled} after the end-of-archive blocks`,
      target: await writeArchive(gzipSync(tar)),
      expect: [{ archive: "trailing bytes after the tar end-of-archive marker", entry: smuggled }],
    };
  },
  async "lone zero block before more entries"(random) {
    const entries = await bundleEntries(run.bundle.directory);
    const smuggled = `${basename(run.bundle.directory)}/${newPath(random)}`;
    const tar = Buffer.concat([
      tarBody(entries),
      Buffer.alloc(512),
      tarBody([{ path: smuggled, type: "File", data: randomBytes(random, 30) }]),
      END_BLOCKS,
    ]);
    return {
      description: `a single zero block, then ${smuggled}`,
      target: await writeArchive(gzipSync(tar)),
      expect: [{ archive: "lone zero block" }, { extra: smuggled.slice(smuggled.indexOf("/") + 1) }],
    };
  },
  async "zero padding beyond the record"(random) {
    const entries = await bundleEntries(run.bundle.directory);
    const body = Buffer.concat([tarBody(entries), END_BLOCKS]);
    const record = Math.ceil(body.length / 10_240) * 10_240;
    const tar = Buffer.concat([body, Buffer.alloc(record - body.length + 512 * (1 + random.int(40)))]);
    return {
      description: `${tar.length - record} zero bytes past the last record`,
      target: await writeArchive(gzipSync(tar)),
      expect: [{ archive: "trailing zero bytes" }],
    };
  },
  async "empty directory entry added"(random) {
    const entries = await bundleEntries(run.bundle.directory);
    const root = basename(run.bundle.directory);
    const path = `${random.pick([".git", "sources/x/zz", randomName(random)])}`;
    return {
      description: `add directory entry ${root}/${path}/`,
      target: await writeArchive(
        gzipSync(
          Buffer.concat([tarBody([...entries, { path: `${root}/${path}/`, type: "Directory" }]), END_BLOCKS]),
        ),
      ),
      expect: [{ extra: `${path}/` }],
    };
  },
  async "entry renamed inside the archive"(random) {
    const entries = await bundleEntries(run.bundle.directory);
    const root = basename(run.bundle.directory);
    const files = entries.filter(
      (entry) =>
        entry.type === "File" &&
        entry.path !== `${root}/${MANIFEST_FILE}` &&
        entry.path !== `${root}/${SIGNATURE_FILE}`,
    );
    const file = random.pick(files);
    const to = `${root}/${newPath(random)}`;
    const renamed = entries.map((entry) => (entry === file ? { ...entry, path: to } : entry));
    return {
      description: `rename entry ${file.path} to ${to}`,
      target: await writeArchive(gzipSync(Buffer.concat([tarBody(renamed), END_BLOCKS]))),
      expect: [{ missing: file.path.slice(root.length + 1) }, { extra: to.slice(root.length + 1) }],
    };
  },
};

const kinds = [...Object.keys(directoryMutations), ...Object.keys(archiveMutations)];
const plan = Array.from({ length: MUTATIONS }, (_, index) => ({
  index,
  kind: kinds[index % kinds.length] ?? "",
}));

beforeAll(async () => {
  workspace = await mkdtemp(join(tmpdir(), "keyproof-tamper-"));
  setup = await prepareEstate();
  run = await runInline({
    loaded: setup.loaded,
    range: TEST_RANGE,
    outDirectory: join(setup.directory, "runs"),
    runId: "kp-tamper",
    capturedAt: CAPTURED_AT,
    providerOptions: { clock: fixedClock },
    render: false,
  });
  realSigner = await createLocalEd25519Signer(join(setup.directory, "signing.pem"));
  attackerEd25519 = await createLocalEd25519Signer(
    (await generateSigningKey(join(workspace, "attacker.pem"))).path,
  );
  attackerKms = createFakeKmsSigner(ATTACKER_KMS_ARN);
  pinned = { expectedPublicKey: realSigner.publicKeyPem };
}, 240_000);

afterAll(async () => {
  await rm(workspace, { recursive: true, force: true });
  await removeDirectory(setup?.directory);
});

describe("the untouched bundle", () => {
  it("verifies, pinned to its signer, as a directory, as its archive, and repacked by GNU tar", async () => {
    const findings = JSON.parse(await readFile(join(run.bundle.directory, FINDINGS_FILE), "utf8")) as Array<{
      status: string;
    }>;
    // The fail→pass mutation needs something to flip.
    expect(findings.some((finding) => finding.status === "fail")).toBe(true);
    expect(await verifyBundle(run.bundle.directory, pinned)).toMatchObject({
      ok: true,
      files: { extra: [], missing: [], altered: [] },
    });
    expect(await verifyBundle(run.bundle.archive, pinned)).toMatchObject({
      ok: true,
      archive: { ok: true, rejectedEntries: [] },
    });
    // GNU tar pads to a 10240-byte record; that padding is allowed.
    const repacked = join(workspace, "gnu.tar.gz");
    execFileSync("tar", [
      "-czf",
      repacked,
      "-C",
      dirname(run.bundle.directory),
      basename(run.bundle.directory),
    ]);
    expect(await verifyBundle(repacked, pinned)).toMatchObject({ ok: true, archive: { ok: true } });
    expect(
      (
        await verifyBundle(
          await writeArchive(
            gzipSync(Buffer.concat([tarBody(await bundleEntries(run.bundle.directory)), END_BLOCKS])),
          ),
          pinned,
        )
      ).ok,
    ).toBe(true);
  });
});

describe(`${MUTATIONS} seeded mutations (seed ${SEED})`, () => {
  it("cover every kind", () => {
    expect(new Set(plan.map((step) => step.kind)).size).toBe(kinds.length);
    expect(plan.length).toBeGreaterThanOrEqual(200);
  });

  it.for(plan)("#$index $kind is rejected with its reason", async ({ index, kind }) => {
    const random = createRandom(SEED + index * 7919);
    const make = directoryMutations[kind] ?? archiveMutations[kind];
    if (make === undefined) throw new Error(`no mutation ${kind}`);
    const mutation = await make(random);
    assertRejected(await verifyBundle(mutation.target, pinned), mutation);
    for (const also of mutation.alsoUnder ?? []) {
      assertRejected(await verifyBundle(mutation.target, also.options), {
        ...mutation,
        description: `${mutation.description}, pinned by ${also.pin}`,
        expect: also.expect,
      });
    }
  });
});

describe("through the CLI", () => {
  it("exits 1 and names the problem for a second gzip member, an empty directory and an attacker's signature, pinned offline too", async () => {
    const publicKeyFile = join(workspace, "signer.pub.pem");
    await writeFile(publicKeyFile, realSigner.publicKeyPem);
    const cases: Array<[MutationMaker, string]> = [
      [archiveMutations["second gzip member appended"] as MutationMaker, "a second gzip member"],
      [directoryMutations["empty directory added"] as MutationMaker, "extra (not in manifest):"],
      [
        directoryMutations["re-signed by a P-256 key claiming a KMS ARN"] as MutationMaker,
        "is not among its",
      ],
    ];
    for (const [make, named] of cases) {
      const mutation = await make(createRandom(SEED));
      const cli = await runCli("verify", mutation.target, "--expect-public-key", publicKeyFile);
      expect(cli.code, cli.stdout + cli.stderr).toBe(1);
      expect(cli.stdout).toContain(named);
    }
    // The ARN the attacker wrote, pinned offline next to the real public key: the report says that the
    // offline comparison with the pinned public key failed, not only that some pin did.
    const forge = directoryMutations["re-signed by a P-256 key claiming a KMS ARN"] as MutationMaker;
    const forged = await forge(createRandom(SEED + 1));
    const offline = await runCli(
      "verify",
      forged.target,
      "--expect-key",
      ATTACKER_KMS_ARN,
      "--expect-public-key",
      publicKeyFile,
    );
    expect(offline.code, offline.stdout + offline.stderr).toBe(1);
    expect(offline.stdout).toMatch(/^SIGNATURE VALID, SIGNER NOT TRUSTED/);
    expect(offline.stdout).toContain(
      `--expect-key ${ATTACKER_KMS_ARN}: checked offline against the pinned public key, which differs`,
    );
    const untouched = await runCli("verify", run.bundle.archive, "--expect-public-key", publicKeyFile);
    expect(untouched.code, untouched.stdout + untouched.stderr).toBe(0);
  });
});
