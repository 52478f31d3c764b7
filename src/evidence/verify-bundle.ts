import type { Stats } from "node:fs";
import { lstat, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { KeyproofError, describeError, nodeErrorCode } from "../errors/errors.ts";
import { archiveCheck, checkFiles, extractArchive, findBundleRoot, isGzip } from "./bundle-archive.ts";
import type { AlteredFile, ArchiveReading } from "./bundle-archive.ts";
import type { TrustPolicy } from "../signing/trust.ts";
import { ManifestSchema, canonicalManifestBytes, sameBytes, sha256Hex } from "./manifest.ts";
import type { Manifest } from "./manifest.ts";
import { MANIFEST_FILE, SIGNATURE_FILE } from "./paths.ts";
import { checkSignatureFile, pinsFromExpectations, signerAccepted } from "./verify-signature-file.ts";
import type { SignatureResult } from "./verify-signature-file.ts";

/**
 * `keyproof verify`: checks a bundle directory or its `.tar.gz` offline. Every problem is named (which file
 * is missing, extra or altered; why the signature or the manifest is rejected) because the person running
 * this is usually an auditor deciding whether to trust the evidence.
 */

export interface VerifyOptions {
  /**
   * Whose signature is trusted (src/signing/trust.ts). Without any pin a valid signature verifies only as
   * "SIGNATURE VALID, SIGNER NOT TRUSTED" (result not ok), unless `trustEmbedded` is set.
   */
  trust?: TrustPolicy;
  /** Shorthand pin: a local key id (`local:<fingerprint>`, which pins the key) or a KMS ARN (checked offline, only next to a key pin). */
  expectedKeyId?: string;
  /** Shorthand pin: this public key (SPKI PEM). */
  expectedPublicKey?: string;
}

export type { AlteredFile } from "./bundle-archive.ts";

/** The policy the options describe: `trust` plus the shorthand pins. */
export function trustPolicyOf(options: VerifyOptions): TrustPolicy {
  return {
    pins: [...(options.trust?.pins ?? []), ...pinsFromExpectations(options)],
    ...(options.trust?.trustEmbedded === true ? { trustEmbedded: true } : {}),
    ...(options.trust?.notes === undefined ? {} : { notes: options.trust.notes }),
  };
}

/** For bundles read from S3: what the store says about the object version now. */
export interface StorageCheck {
  ok: boolean;
  reason?: string;
  /** `s3://bucket/key?versionId=…` of the version that was downloaded and checked. */
  location: string;
  versionId?: string;
  lockMode?: string;
  retainUntil?: string;
  /** The retain-until date keyproof asked for at upload (object metadata); retention may only grow past it. */
  recordedRetainUntil?: string;
  legalHold?: string;
  /** As S3 reports it (base64; `-<parts>` for multipart uploads). */
  checksumSha256?: string;
  /** SHA-256 hex of the bytes downloaded. */
  archiveSha256?: string;
}

/** `--previous`: does this bundle link to the given one? */
export interface ChainLinkCheck {
  ok: boolean;
  reason?: string;
  /** The previous bundle as given (path or s3:// URL). */
  previous: string;
  /** manifestSha256 this bundle records for its previous bundle. */
  recorded?: string;
  /** manifestSha256 of the bundle given as previous. */
  actual?: string;
  /** Set when the previous bundle has another signer: fingerprints, and whether it announced this one. */
  signerChange?: { from: string; to: string; announced: boolean };
}

export interface VerifyResult {
  ok: boolean;
  /** The directory or archive that was checked, as an absolute path (or the s3:// URL it came from). */
  bundle: string;
  runId?: string;
  /** SHA-256 hex of manifest.json as found: what the next bundle in the chain must record. */
  manifestSha256?: string;
  /** The chain link the manifest records. */
  previousBundle?: { manifestSha256: string; location: string };
  capturedAt?: string;
  periodLabel?: string;
  signer?: { description: string; keyId: string; fingerprint: string };
  /** Present for archives only. */
  archive?: { ok: boolean; reason?: string; rejectedEntries: string[] };
  files: { checked: number; missing: string[]; extra: string[]; altered: AlteredFile[] };
  /** `ok`: the signature is valid and covers every byte; `trust` says whether its signer is trusted. */
  signature: SignatureResult;
  /** The manifest's announcement of the next signer (rotation), for `verify --chain`. */
  nextSigner?: Manifest["nextSigner"];
  manifest: { ok: boolean; reason?: string };
  storage?: StorageCheck;
  chain?: ChainLinkCheck;
}

/** Adds a storage or chain check to a result; the verdict then requires it too. */
export function withChecks(
  result: VerifyResult,
  checks: { storage?: StorageCheck; chain?: ChainLinkCheck },
): VerifyResult {
  const combined: VerifyResult = { ...result, ...checks };
  const ok =
    result.ok &&
    (combined.storage === undefined || combined.storage.ok) &&
    (combined.chain === undefined || combined.chain.ok);
  return { ...combined, ok };
}

type Check = { ok: true } | { ok: false; reason: string };

/** Reads a regular file at the bundle root; links are refused so a bundle cannot point outside itself. */
async function readRootFile(
  directory: string,
  name: string,
): Promise<{ ok: true; bytes: Buffer } | { ok: false; reason: string }> {
  const path = join(directory, name);
  try {
    const stats = await lstat(path);
    if (!stats.isFile()) return { ok: false, reason: `${name} is not a regular file` };
    return { ok: true, bytes: await readFile(path) };
  } catch (error) {
    if (nodeErrorCode(error) === "ENOENT") return { ok: false, reason: `${name} is missing` };
    return { ok: false, reason: `${name} cannot be read: ${describeError(error)}` };
  }
}

function firstIssue(error: { issues: Array<{ path: PropertyKey[]; message: string }> }): string {
  const issue = error.issues[0];
  if (issue === undefined) return "invalid";
  return issue.path.length === 0 ? issue.message : `${issue.path.map(String).join(".")}: ${issue.message}`;
}

function parseManifest(bytes: Buffer): { manifest?: Manifest; check: Check } {
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString("utf8"));
  } catch (error) {
    return { check: { ok: false, reason: `${MANIFEST_FILE} is not valid JSON: ${describeError(error)}` } };
  }
  const parsed = ManifestSchema.safeParse(json);
  if (!parsed.success) {
    return {
      check: {
        ok: false,
        reason: `${MANIFEST_FILE} is not a keyproof manifest (${firstIssue(parsed.error)})`,
      },
    };
  }
  // The signature covers the bytes on disk; a manifest that is not canonical was edited by hand or by a
  // tool, even if its signature happens to match.
  if (!sameBytes(canonicalManifestBytes(parsed.data), bytes)) {
    return {
      manifest: parsed.data,
      check: {
        ok: false,
        reason: `${MANIFEST_FILE} is not in canonical form (RFC 8785): it was rewritten after sealing`,
      },
    };
  }
  return { manifest: parsed.data, check: { ok: true } };
}

async function checkSignature(
  directory: string,
  manifestBytes: Buffer | undefined,
  manifest: Manifest | undefined,
  options: VerifyOptions,
): Promise<SignatureResult> {
  const file = await readRootFile(directory, SIGNATURE_FILE);
  if (!file.ok) return { ok: false, reason: file.reason };
  return checkSignatureFile({
    signatureBytes: file.bytes,
    manifestSha256: manifestBytes === undefined ? undefined : sha256Hex(manifestBytes),
    manifest,
    trust: trustPolicyOf(options),
  });
}

async function verifyDirectory(
  directory: string,
  options: VerifyOptions,
): Promise<Omit<VerifyResult, "bundle">> {
  const manifestFile = await readRootFile(directory, MANIFEST_FILE);
  let manifest: Manifest | undefined;
  let manifestCheck: Check;
  if (manifestFile.ok) {
    const parsed = parseManifest(manifestFile.bytes);
    manifest = parsed.manifest;
    manifestCheck = parsed.check;
  } else {
    manifestCheck = { ok: false, reason: manifestFile.reason };
  }

  const signature = await checkSignature(
    directory,
    manifestFile.ok ? manifestFile.bytes : undefined,
    manifest,
    options,
  );
  const files = await checkFiles(directory, manifest);
  const filesOk = files.missing.length === 0 && files.extra.length === 0 && files.altered.length === 0;

  return {
    ok: manifestCheck.ok && signerAccepted(signature) && filesOk,
    ...(manifest === undefined
      ? {}
      : {
          runId: manifest.runId,
          ...(manifestFile.ok ? { manifestSha256: sha256Hex(manifestFile.bytes) } : {}),
          ...(manifest.previousBundle === undefined ? {} : { previousBundle: manifest.previousBundle }),
          capturedAt: manifest.capturedAt,
          periodLabel: manifest.period.label,
          signer: manifest.signer,
          ...(manifest.nextSigner === undefined ? {} : { nextSigner: manifest.nextSigner }),
        }),
    files,
    signature,
    manifest: manifestCheck.ok ? { ok: true } : { ok: false, reason: manifestCheck.reason },
  };
}

/** The result for an archive that could not be opened at all: nothing inside it is trusted. */
export function unreadableArchiveResult(
  bundle: string,
  reason: string,
  rejectedEntries: string[] = [],
): VerifyResult {
  return {
    ok: false,
    bundle,
    archive: { ok: false, reason, rejectedEntries },
    files: { checked: 0, missing: [], extra: [], altered: [] },
    signature: { ok: false, reason: "not checked: the archive could not be read" },
    manifest: { ok: false, reason: "not checked: the archive could not be read" },
  };
}

/**
 * Verifies a bundle directory or a `.tar.gz` made by `BundleWriter.seal`. Never throws for a bad bundle:
 * it returns a result naming every problem. Throws ARGUMENT_INVALID only when the target does not exist or
 * is neither a directory nor a gzip archive.
 */
export async function verifyBundle(target: string, options: VerifyOptions = {}): Promise<VerifyResult> {
  const bundle = resolve(target);
  let stats: Stats;
  try {
    stats = await lstat(bundle);
  } catch (error) {
    throw new KeyproofError("ARGUMENT_INVALID", `no bundle at ${bundle}`, { cause: error });
  }
  if (stats.isDirectory()) return { bundle, ...(await verifyDirectory(bundle, options)) };
  if (!stats.isFile() || !(await isGzip(bundle))) {
    throw new KeyproofError(
      "ARGUMENT_INVALID",
      `${bundle} is neither a bundle directory nor a .tar.gz archive`,
    );
  }

  const extracted = await mkdtemp(join(tmpdir(), "keyproof-verify-"));
  try {
    let reading: ArchiveReading;
    try {
      reading = await extractArchive(bundle, extracted);
    } catch (error) {
      return unreadableArchiveResult(
        bundle,
        `the archive is damaged or not a tar.gz: ${describeError(error)}`,
        [],
      );
    }
    const root = await findBundleRoot(extracted);
    if (root === undefined) {
      return unreadableArchiveResult(
        bundle,
        `the archive holds no bundle (expected one folder containing ${MANIFEST_FILE})`,
        [...reading.problems, ...reading.rejected],
      );
    }
    const result = await verifyDirectory(root, options);
    const archive = archiveCheck(reading);
    return { ...result, ok: result.ok && archive.ok, bundle, archive };
  } finally {
    await rm(extracted, { recursive: true, force: true });
  }
}

/** Everything but trust holds: the verdict is then "SIGNATURE VALID, SIGNER NOT TRUSTED", not "FAILED". */
function onlyTrustFails(result: VerifyResult): boolean {
  const files = result.files;
  return (
    !result.ok &&
    result.manifest.ok &&
    result.signature.ok &&
    result.signature.trust?.trusted !== true &&
    files.missing.length + files.extra.length + files.altered.length === 0 &&
    result.archive?.ok !== false &&
    result.storage?.ok !== false &&
    result.chain?.ok !== false
  );
}

/** The verdict word(s) of a result, as the first line of the report prints them. */
export function verifyVerdict(result: VerifyResult): string {
  if (result.ok) return "VERIFIED";
  return onlyTrustFails(result) ? "SIGNATURE VALID, SIGNER NOT TRUSTED" : "FAILED";
}

function signatureLines(result: VerifyResult): string[] {
  const signature = result.signature;
  const lines: string[] = [];
  const by = signature.algorithm === undefined ? "" : ` (${signature.algorithm})`;
  if (!signature.ok) {
    lines.push(`  signature: FAILED${by}: ${signature.reason ?? "invalid"}`);
    if (signature.keyId !== undefined) lines.push(`    claimed key id: ${signature.keyId}`);
    return lines;
  }
  lines.push(
    `  signature: ok${by}, signed ${signature.signedAt ?? "?"}; covers the manifest digest and every signature field`,
  );
  if (signature.keyId !== undefined) lines.push(`    key id: ${signature.keyId}`);
  if (signature.fingerprint !== undefined)
    lines.push(`    fingerprint (SHA-256 of SPKI DER): ${signature.fingerprint}`);
  if (result.signer !== undefined)
    lines.push(
      `    description (written by the signer, not proof of identity): ${result.signer.description}`,
    );
  const trust = signature.trust;
  const notes = (trust?.notes ?? []).map((note) => `    note: ${note}`);
  if (trust?.trusted === true && trust.basis === "pinned") {
    lines.push(`  trust: ok, pinned by ${trust.matched.join("; ")}`);
  } else if (trust?.trusted === true && trust.basis === "embedded") {
    lines.push(
      "  trust: NOT CHECKED: the embedded public key was accepted because --trust-embedded was given",
    );
    lines.push(
      "  warning: --trust-embedded proves only that someone holding this key signed; anyone can make a key and re-sign an edited bundle",
    );
  } else {
    lines.push("  trust: NOT TRUSTED");
    for (const reason of trust?.reasons ?? []) lines.push(`    ${reason}`);
    const fingerprint = signature.fingerprint ?? "?";
    lines.push(
      `    to trust this signer, compare fingerprint ${fingerprint} with the one your organization published, then pin it:`,
      `      keyproof verify ${result.bundle} --trust <trust file from keyproof signer export>`,
      `      or --expect-public-key <published PEM>, --expect-key <key id>, or --config <keyproof.yaml>`,
    );
  }
  return [...lines, ...notes];
}

/** Plain text for a terminal or a ticket: verdict first, then every problem on its own line. */
export function formatVerifyResult(result: VerifyResult): string {
  const lines: string[] = [];
  lines.push(`${verifyVerdict(result)}  ${result.bundle}`);
  if (result.runId !== undefined) {
    lines.push(
      `  run ${result.runId}, period ${result.periodLabel ?? "?"}, captured ${result.capturedAt ?? "?"}`,
    );
  }
  if (result.archive !== undefined) {
    lines.push(`  archive: ${result.archive.ok ? "ok" : `FAILED: ${result.archive.reason ?? "unreadable"}`}`);
    for (const entry of result.archive.rejectedEntries) lines.push(`    refused entry: ${entry}`);
  }
  lines.push(`  manifest: ${result.manifest.ok ? "ok" : `FAILED: ${result.manifest.reason ?? "invalid"}`}`);
  lines.push(...signatureLines(result));

  const files = result.files;
  const problems = files.missing.length + files.extra.length + files.altered.length;
  lines.push(
    `  files: ${files.checked} checked, ${files.missing.length} missing, ${files.extra.length} extra, ${files.altered.length} altered`,
  );
  for (const path of files.missing) lines.push(`    missing: ${path}`);
  for (const path of files.extra) lines.push(`    extra (not in manifest): ${path}`);
  for (const altered of files.altered) {
    lines.push(`    altered: ${altered.path} (manifest sha256 ${altered.expected}, found ${altered.actual})`);
  }
  if (result.previousBundle !== undefined) {
    lines.push(
      `  chain: links to manifest sha256 ${result.previousBundle.manifestSha256} at ${result.previousBundle.location}`,
    );
  } else if (result.manifest.ok) {
    lines.push("  chain: first bundle of its chain (no previous bundle recorded)");
  }
  if (result.chain !== undefined) {
    lines.push(
      `  previous: ${result.chain.ok ? `ok, ${result.chain.previous} is the bundle this one links to` : `FAILED: ${result.chain.reason ?? "broken link"}`}`,
    );
    const change = result.chain.signerChange;
    if (change !== undefined) {
      lines.push(
        `  signer change: the previous bundle was signed by fingerprint ${change.from}, ${change.announced ? "which announced this signer" : "and did NOT announce this signer (keyproof signer rotate): confirm the rotation with the organization"}`,
      );
    }
  }
  const storage = result.storage;
  if (storage !== undefined) {
    lines.push(
      `  storage: ${storage.ok ? "ok" : `FAILED: ${storage.reason ?? "not retained"}`} (${storage.location})`,
    );
    lines.push(
      `    lock ${storage.lockMode ?? "none"} until ${storage.retainUntil ?? "-"}${storage.recordedRetainUntil === undefined ? "" : ` (asked at upload: ${storage.recordedRetainUntil})`}, checksum ${storage.checksumSha256 ?? "-"}`,
    );
  }
  if (problems === 0 && result.manifest.ok && result.signature.ok && result.archive?.ok === false) {
    lines.push("  The archive itself was refused; its contents were not trusted.");
  }
  return `${lines.join("\n")}\n`;
}
