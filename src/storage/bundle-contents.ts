import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { z } from "zod";
import { KeyproofError, describeError, isKeyproofError } from "../errors/errors.ts";
import { extractArchive, findBundleRoot } from "../evidence/bundle-archive.ts";
import type { BundleContents, BundleKeyContents } from "../evidence/bundle-diff.ts";
import { readBundleTree } from "../evidence/bundle-tree.ts";
import { ManifestSchema } from "../evidence/manifest.ts";
import { FINDINGS_FILE, MANIFEST_FILE } from "../evidence/paths.ts";
import { verifyVerdict } from "../evidence/verify-bundle.ts";
import type { VerifyResult } from "../evidence/verify-bundle.ts";
import type { Finding } from "../model/finding.ts";
import type { AccessGrant } from "../model/key.ts";
import { KEY_STATES } from "../model/key.ts";
import { createS3Client } from "./s3-client.ts";
import { downloadS3Object } from "./s3-download.ts";
import { isS3Url, parseS3Url } from "./s3-location.ts";
import { verifyTarget } from "./verify-stored.ts";
import type { VerifyTargetOptions } from "./verify-stored.ts";

/**
 * Reads what a bundle diff needs (src/evidence/bundle-diff.ts): findings.json and each key's configuration
 * and access-policy exports. A sealed bundle (directory, .tar.gz or s3:// URL) is verified first with the
 * caller's pins, and every file read is checked against the verified manifest, so the diff rests only on
 * signed bytes. The run's own bundle directory, not sealed yet, is read as it is.
 */

const CONFIGURATION_FILE = /^sources\/[^/]+\/[^/]+\/keys\/[^/]+\/configuration\.json$/;
const ACCESS_POLICY_FILE = /^sources\/[^/]+\/[^/]+\/keys\/[^/]+\/access-policy\.json$/;

// Only the fields a diff reads are required; the exports carry much more (raw API calls), left unparsed.
const FindingsSchema = z.array(
  z.looseObject({
    checkId: z.string(),
    status: z.enum(["pass", "fail", "warn", "error", "not-applicable"]),
    severity: z.enum(["critical", "high", "medium", "low", "info"]),
    source: z.string(),
    location: z.string().optional(),
    keyId: z.string().optional(),
    resource: z.string(),
    message: z.string(),
    evidence: z.array(z.string()),
    date: z.string().optional(),
  }),
);

const KeyHeaderSchema = z.looseObject({ source: z.string(), location: z.string(), keyId: z.string() });

const ConfigurationExportSchema = KeyHeaderSchema.extend({
  configuration: z.looseObject({
    state: z.enum(KEY_STATES).optional(),
    rotation: z
      .union([
        z.looseObject({
          ok: z.literal(true),
          value: z.looseObject({ enabled: z.boolean(), periodDays: z.number().optional() }),
        }),
        z.looseObject({ ok: z.literal(false) }),
      ])
      .optional(),
  }),
});

const AccessExportSchema = KeyHeaderSchema.extend({
  collected: z.boolean(),
  grants: z
    .array(
      z.looseObject({
        principal: z.string(),
        via: z.string(),
        reference: z.string(),
        effect: z.enum(["allow", "deny"]),
        actions: z.array(z.string()),
      }),
    )
    .optional(),
  documents: z.array(z.looseObject({ name: z.string(), document: z.unknown() })).optional(),
});

function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (issue === undefined) return "invalid";
  return issue.path.length === 0 ? issue.message : `${issue.path.map(String).join(".")}: ${issue.message}`;
}

function unreadable(where: string, path: string, reason: string): KeyproofError {
  return new KeyproofError("BUNDLE_INVALID", `${where}: ${path} cannot be read: ${reason}`);
}

/** Reads one file of the bundle as JSON; `expectedSha256` set: the bytes must be the ones the manifest lists. */
type JsonReader = (path: string) => Promise<unknown>;

function jsonReader(directory: string, where: string, digests?: Map<string, string>): JsonReader {
  return async (path) => {
    let bytes: Buffer;
    try {
      bytes = await readFile(join(directory, path));
    } catch (error) {
      throw unreadable(where, path, describeError(error));
    }
    if (digests !== undefined) {
      const expected = digests.get(path);
      const actual = createHash("sha256").update(bytes).digest("hex");
      if (expected === undefined || expected !== actual) {
        throw unreadable(where, path, "its bytes are not the ones the verified manifest lists");
      }
    }
    try {
      return JSON.parse(bytes.toString("utf8")) as unknown;
    } catch (error) {
      throw unreadable(where, path, `not JSON (${describeError(error)})`);
    }
  };
}

function parseWith<T>(schema: z.ZodType<T>, value: unknown, where: string, path: string): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw unreadable(where, path, firstIssue(parsed.error));
  return parsed.data;
}

/** Findings and key exports from the bundle's file list; `where` names the bundle in every error. */
async function readContents(
  paths: readonly string[],
  read: JsonReader,
  where: string,
): Promise<Pick<BundleContents, "findings" | "keys">> {
  if (!paths.includes(FINDINGS_FILE)) {
    throw new KeyproofError(
      "BUNDLE_INVALID",
      `${where} holds no ${FINDINGS_FILE}: it is not an evidence bundle (a sealed review, kp-review-..., has no findings or key exports)`,
    );
  }
  const findings = parseWith(FindingsSchema, await read(FINDINGS_FILE), where, FINDINGS_FILE) as Finding[];
  const keys = new Map<string, BundleKeyContents>();
  const keyOf = (path: string, header: z.infer<typeof KeyHeaderSchema>): BundleKeyContents => {
    const directory = path.slice(0, path.lastIndexOf("/"));
    const known = keys.get(directory);
    if (known !== undefined) return known;
    const created: BundleKeyContents = {
      source: header.source,
      location: header.location,
      keyId: header.keyId,
    };
    keys.set(directory, created);
    return created;
  };
  for (const path of [...paths].sort()) {
    if (CONFIGURATION_FILE.test(path)) {
      const exported = parseWith(ConfigurationExportSchema, await read(path), where, path);
      const rotation = exported.configuration.rotation;
      keyOf(path, exported).configuration = {
        ...(exported.configuration.state === undefined ? {} : { state: exported.configuration.state }),
        ...(rotation?.ok === true
          ? {
              rotation: {
                enabled: rotation.value.enabled,
                ...(rotation.value.periodDays === undefined ? {} : { periodDays: rotation.value.periodDays }),
              },
            }
          : {}),
      };
    } else if (ACCESS_POLICY_FILE.test(path)) {
      const exported = parseWith(AccessExportSchema, await read(path), where, path);
      keyOf(path, exported).access = exported.collected
        ? {
            collected: true,
            grants: (exported.grants ?? []) as unknown as AccessGrant[],
            documents: (exported.documents ?? []).map((item) => ({
              name: item.name,
              document: item.document,
            })),
          }
        : { collected: false };
    }
  }
  return { findings, keys: [...keys.values()] };
}

/**
 * The run's own bundle directory before sealing (findings.json and the key exports are written): what
 * `changes-since-previous.json` compares with the previous bundle.
 */
export async function readUnsealedBundleContents(
  directory: string,
  identity: Pick<BundleContents, "runId" | "period" | "capturedAt">,
): Promise<BundleContents> {
  const tree = await readBundleTree(directory);
  const contents = await readContents(tree.files, jsonReader(directory, directory), directory);
  return { ...identity, ...contents };
}

/** Why a bundle did not verify, in one line: the verdict and each failed part. */
export function verifyFailureText(result: VerifyResult): string {
  const reasons = [
    result.archive?.ok === false ? result.archive.reason : undefined,
    result.manifest.reason,
    result.signature.ok ? undefined : `signature: ${result.signature.reason ?? "invalid"}`,
    result.signature.ok && result.signature.trust?.trusted !== true
      ? "its signer is not a pinned signer"
      : undefined,
    result.files.altered.length + result.files.missing.length + result.files.extra.length > 0
      ? `files differ from the manifest (${result.files.missing.length} missing, ${result.files.extra.length} extra, ${result.files.altered.length} altered)`
      : undefined,
    result.storage?.ok === false ? result.storage.reason : undefined,
  ].filter((reason): reason is string => reason !== undefined);
  return `${verifyVerdict(result)}${reasons.length > 0 ? ` (${reasons.join("; ")})` : ""}`;
}

/** The directory holding the bundle at `location` (downloaded and extracted into `scratch` when needed). */
async function bundleDirectoryAt(
  location: string,
  scratch: string,
  options: VerifyTargetOptions,
): Promise<string> {
  let archive = resolve(location);
  if (isS3Url(location)) {
    const parsed = parseS3Url(location);
    if (parsed === undefined) throw new KeyproofError("ARGUMENT_INVALID", `${location} is not an s3:// URL`);
    archive = join(scratch, "bundle.tar.gz");
    const client = createS3Client(options.s3 ?? {});
    try {
      await downloadS3Object(client, parsed, archive);
    } finally {
      client.destroy();
    }
  } else if ((await stat(archive)).isDirectory()) {
    return archive;
  }
  const into = join(scratch, "extracted");
  await extractArchive(archive, into);
  const root = await findBundleRoot(into);
  if (root === undefined) throw new KeyproofError("BUNDLE_INVALID", `${location} holds no bundle`);
  return root;
}

export interface VerifiedBundleContents {
  contents: BundleContents;
  verification: VerifyResult;
}

/**
 * Verifies the bundle at `location` with the pins in `options`, then reads its contents. Throws
 * BUNDLE_INVALID (naming the verdict) when it does not verify, ARGUMENT_INVALID when nothing is there.
 */
export async function readVerifiedBundleContents(
  location: string,
  options: VerifyTargetOptions,
): Promise<VerifiedBundleContents> {
  const verification = await verifyTarget(location, options);
  if (!verification.ok || verification.manifestSha256 === undefined) {
    throw new KeyproofError(
      "BUNDLE_INVALID",
      `the bundle at ${location} does not verify: ${verifyFailureText(verification)}`,
      { remediation: `keyproof verify ${location} (with the same pin) shows every problem` },
    );
  }
  // An S3 result names the exact version it checked; reading that version reads the verified bytes.
  const pinned = isS3Url(location) ? verification.bundle : location;
  const scratch = await mkdtemp(join(tmpdir(), "keyproof-diff-"));
  try {
    const directory = await bundleDirectoryAt(pinned, scratch, options);
    const manifestBytes = await readFile(join(directory, MANIFEST_FILE));
    if (createHash("sha256").update(manifestBytes).digest("hex") !== verification.manifestSha256) {
      throw new KeyproofError(
        "BUNDLE_INVALID",
        `the bundle at ${location} changed while it was read: its manifest is not the one verified`,
      );
    }
    const manifest = ManifestSchema.parse(JSON.parse(manifestBytes.toString("utf8")));
    const digests = new Map(manifest.files.map((file) => [file.path, file.sha256]));
    const read = jsonReader(directory, location, digests);
    const contents = await readContents([...digests.keys()], read, location);
    return {
      verification,
      contents: {
        runId: manifest.runId,
        period: {
          label: manifest.period.label,
          from: manifest.period.from.slice(0, 10),
          to: manifest.period.to.slice(0, 10),
        },
        capturedAt: manifest.capturedAt,
        manifestSha256: verification.manifestSha256,
        ...contents,
      },
    };
  } catch (error) {
    if (isKeyproofError(error)) throw error;
    throw new KeyproofError(
      "BUNDLE_INVALID",
      `the bundle at ${location} cannot be read: ${describeError(error)}`,
      {
        cause: error,
      },
    );
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
