import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Config } from "../config/config.schema.ts";
import { KeyproofError, describeError } from "../errors/errors.ts";
import { extractArchive, findBundleRoot } from "../evidence/bundle-archive.ts";
import { ManifestSchema, type Manifest } from "../evidence/manifest.ts";
import { FINDINGS_FILE, MANIFEST_FILE, slugify } from "../evidence/paths.ts";
import { verifyVerdict, type VerifyOptions } from "../evidence/verify-bundle.ts";
import type { Finding } from "../model/finding.ts";
import type { AccessGrant } from "../model/key.ts";
import type { RunStore } from "../jobs/queue/run-store.ts";
import { chainScope } from "../storage/chain-scope.ts";
import { createBundleStores } from "../storage/create-store.ts";
import { createS3Client, type S3ClientOptions } from "../storage/s3-client.ts";
import { downloadS3Object } from "../storage/s3-download.ts";
import { isS3Url, parseS3Url } from "../storage/s3-location.ts";
import { verifyTarget } from "../storage/verify-stored.ts";
import type { AccessPolicyExport } from "./review-items.ts";

/**
 * The sealed bundle a review is prepared from: found (the scope's latest evidence bundle, or a named run's),
 * verified with a pinned signer (a review of a bundle nobody can vouch for proves nothing), and read.
 */

/** Run ids of sealed reviews start with this; they are never themselves reviewed. */
export const REVIEW_RUN_PREFIX = "kp-review-";

export interface RunBundleLookup {
  /** The sealed archive (or directory) of a run the queue knows, if any. */
  bundleOfRun(runId: string): Promise<string | undefined>;
  /** The newest sealed run's archive, if any (used without a bundle store). */
  latestBundle(): Promise<string | undefined>;
}

/** The lookup over the queue's run records (the API's and the CLI's are the same store). */
export function runBundleLookup(runs: Pick<RunStore, "get" | "list">): RunBundleLookup {
  return {
    bundleOfRun: async (runId) => (await runs.get(runId).catch(() => undefined))?.bundle?.archive,
    latestBundle: async () =>
      (await runs.list(0, 100)).runs.find((record) => record.bundle !== undefined)?.bundle?.archive,
  };
}

/**
 * Where the bundle to review is: `fromRun` names it; else the latest evidence bundle of the config's chain
 * scope in the first store (S3, else the local copy); else the queue's latest sealed run.
 */
export async function locateReviewBundle(input: {
  config: Config;
  configDirectory: string;
  fromRun?: string;
  runs?: RunBundleLookup;
}): Promise<string> {
  const { config, fromRun } = input;
  const accept =
    fromRun === undefined
      ? (name: string) => !name.includes(`-${REVIEW_RUN_PREFIX}`)
      : (name: string) => name.endsWith(`-${slugify(fromRun)}.tar.gz`);
  if (fromRun !== undefined) {
    const known = await input.runs?.bundleOfRun(fromRun);
    if (known !== undefined) return known;
  }
  const scope = chainScope(config);
  for (const store of createBundleStores(config.storage, input.configDirectory)) {
    const found = await store.findPreviousBundle(scope, accept);
    if (found !== undefined) return found.location;
  }
  if (fromRun === undefined) {
    const latest = await input.runs?.latestBundle();
    if (latest !== undefined) return latest;
  }
  throw new KeyproofError(
    "ARGUMENT_INVALID",
    fromRun === undefined
      ? `no sealed evidence bundle for scope ${scope}: run keyproof first (keyproof run --period ...)`
      : `--from-run: no sealed bundle of run ${fromRun} in the queue or in storage (scope ${scope})`,
  );
}

export interface ReviewedBundleContents {
  location: string;
  manifest: Manifest;
  manifestSha256: string;
  findings: Finding[];
  accessPolicies: AccessPolicyExport[];
}

/**
 * Verifies the bundle at `location` (a directory, an archive or an s3:// URL) with the pins in `trust`,
 * then reads what a review needs. Throws BUNDLE_INVALID, naming the verdict, for anything that does not verify.
 */
export async function readReviewedBundle(
  location: string,
  options: { trust: VerifyOptions; s3?: S3ClientOptions },
): Promise<ReviewedBundleContents> {
  const verified = await verifyTarget(location, {
    ...options.trust,
    ...(options.s3 === undefined ? {} : { s3: options.s3 }),
  });
  if (!verified.ok || verified.manifestSha256 === undefined) {
    const reasons = [
      verified.manifest.reason,
      verified.signature.ok ? undefined : "the signature does not verify",
      verified.signature.trust?.trusted === false ? "its signer is not the pinned signer" : undefined,
      verified.files.altered.length + verified.files.missing.length + verified.files.extra.length > 0
        ? "files differ from the manifest"
        : undefined,
      verified.storage?.reason,
      verified.archive?.reason,
    ].filter((reason): reason is string => reason !== undefined);
    throw new KeyproofError(
      "BUNDLE_INVALID",
      `the bundle at ${location} cannot be reviewed: ${verifyVerdict(verified)}${reasons.length > 0 ? ` (${reasons.join("; ")})` : ""}`,
      { remediation: `keyproof verify ${location} --trust <trust file> shows every problem` },
    );
  }
  const scratch = await mkdtemp(join(tmpdir(), "keyproof-review-"));
  try {
    const directory = await bundleDirectoryAt(location, scratch, options.s3);
    const manifestText = await readFile(join(directory, MANIFEST_FILE), "utf8");
    const manifest = ManifestSchema.parse(JSON.parse(manifestText));
    const findings = JSON.parse(await readFile(join(directory, FINDINGS_FILE), "utf8")) as Finding[];
    const accessPolicies: AccessPolicyExport[] = [];
    for (const file of manifest.files) {
      if (!file.path.endsWith("/access-policy.json")) continue;
      accessPolicies.push(
        toAccessPolicyExport(file.path, JSON.parse(await readFile(join(directory, file.path), "utf8"))),
      );
    }
    return { location, manifest, manifestSha256: verified.manifestSha256, findings, accessPolicies };
  } catch (error) {
    if (error instanceof KeyproofError) throw error;
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

async function bundleDirectoryAt(
  location: string,
  scratch: string,
  s3: S3ClientOptions | undefined,
): Promise<string> {
  let archive = location;
  if (isS3Url(location)) {
    const parsed = parseS3Url(location);
    if (parsed === undefined) throw new KeyproofError("ARGUMENT_INVALID", `${location} is not an s3:// URL`);
    archive = join(scratch, "bundle.tar.gz");
    const client = createS3Client(s3 ?? {});
    try {
      await downloadS3Object(client, parsed, archive);
    } finally {
      client.destroy();
    }
  } else if ((await stat(resolve(location))).isDirectory()) {
    return resolve(location);
  }
  const into = join(scratch, "extracted");
  await extractArchive(archive, into);
  const root = await findBundleRoot(into);
  if (root === undefined) throw new KeyproofError("BUNDLE_INVALID", `${location} holds no bundle`);
  return root;
}

function toAccessPolicyExport(path: string, value: unknown): AccessPolicyExport {
  const record = (typeof value === "object" && value !== null ? value : {}) as Record<string, unknown>;
  const text = (field: string): string =>
    typeof record[field] === "string" ? (record[field] as string) : "";
  const arn = text("arn");
  return {
    path,
    source: text("source"),
    location: text("location"),
    keyId: text("keyId"),
    ...(arn === "" ? {} : { arn }),
    collected: record.collected === true,
    grants: Array.isArray(record.grants) ? (record.grants as AccessGrant[]) : [],
  };
}
