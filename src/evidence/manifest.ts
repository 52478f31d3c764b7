import { createHash } from "node:crypto";
import canonicalizeModule from "canonicalize";
import { z } from "zod";
import { SOURCE_TYPES } from "../model/key.ts";
import { KeyproofError } from "../errors/errors.ts";
import { bundlePathProblem } from "./bundle-path.ts";

/**
 * `manifest.json`: the list of every file in a bundle with its SHA-256, plus who/what/when. It is stored as
 * its RFC 8785 canonical bytes, and the signed statement in manifest.sig.json names the SHA-256 of exactly
 * those bytes, so a verifier hashes the file on disk and never has to re-serialize anything.
 */

export const BUNDLE_FORMAT = "keyproof-bundle/1";

const Sha256HexSchema = z.string().regex(/^[0-9a-f]{64}$/, "must be a lowercase SHA-256 hex digest");

/** A path inside the bundle; the same rule the writer enforces, so a manifest can never point outside. */
export const BundlePathSchema = z.string().superRefine((value, context) => {
  const problem = bundlePathProblem(value);
  if (problem !== undefined) context.addIssue({ code: "custom", message: problem });
});

export const ManifestFileSchema = z.strictObject({
  path: BundlePathSchema,
  sha256: Sha256HexSchema,
  bytes: z.number().int().nonnegative(),
});
export type ManifestFile = z.infer<typeof ManifestFileSchema>;

export const ManifestSourceSchema = z.strictObject({
  id: z.string().min(1),
  type: z.enum(SOURCE_TYPES),
  /** AWS account id, Azure subscription, Vault cluster name. */
  account: z.string().optional(),
  locations: z.array(z.string()),
});
export type ManifestSource = z.infer<typeof ManifestSourceSchema>;

export const ManifestSchema = z.strictObject({
  format: z.literal(BUNDLE_FORMAT),
  runId: z.string().min(1),
  organization: z.string(),
  period: z.strictObject({
    label: z.string(),
    /** Inclusive UTC start instant. */
    from: z.string(),
    /** Inclusive last day, `YYYY-MM-DD`. */
    to: z.string(),
    /** Exclusive UTC end instant. */
    toExclusive: z.string(),
  }),
  /** UTC ISO-8601; also the mtime of every archive entry. */
  capturedAt: z.iso.datetime(),
  /**
   * The first and the last API read behind the bundle's facts (UTC ISO-8601). The signature's `signedAt`
   * must lie within it, widened by a margin (signed-at.ts). Absent in bundles sealed before it existed.
   */
  captureWindow: z
    .strictObject({ first: z.iso.datetime(), last: z.iso.datetime() })
    .refine((window) => Date.parse(window.first) <= Date.parse(window.last), {
      message: "first must not be later than last",
    })
    .optional(),
  keyproofVersion: z.string(),
  sources: z.array(ManifestSourceSchema),
  signer: z.strictObject({
    description: z.string(),
    /** Must equal `keyId` in manifest.sig.json: a signature by any other key is rejected. */
    keyId: z.string().min(1),
    /** SHA-256 hex of the signer's SPKI DER; must equal the fingerprint in manifest.sig.json. */
    fingerprint: Sha256HexSchema,
  }),
  /**
   * The signer the next bundles of this scope will be signed by (`keyproof signer rotate`). Signed with
   * this manifest, so `verify --chain` accepts the change of signer at the next bundle without a warning.
   */
  nextSigner: z
    .strictObject({
      fingerprint: Sha256HexSchema,
      keyId: z.string().min(1).optional(),
    })
    .optional(),
  /** Hash chain to the bundle stored before this one for the same scope. */
  previousBundle: z
    .strictObject({
      manifestSha256: Sha256HexSchema,
      location: z.string(),
    })
    .optional(),
  /** Every file except manifest.json and manifest.sig.json, sorted by path (UTF-16 code units). */
  files: z.array(ManifestFileSchema).superRefine((files, context) => {
    for (let index = 1; index < files.length; index++) {
      const previous = files[index - 1]?.path ?? "";
      const current = files[index]?.path ?? "";
      if (!(previous < current)) {
        context.addIssue({
          code: "custom",
          path: [index, "path"],
          message: previous === current ? `"${current}" is listed twice` : `"${current}" is out of order`,
        });
      }
    }
  }),
});
export type Manifest = z.infer<typeof ManifestSchema>;

/**
 * The manifest fields a caller supplies; `format`, `signer`, `nextSigner` and `files` are filled in by the
 * bundle writer at seal time.
 */
export type ManifestFields = Omit<Manifest, "format" | "files" | "signer" | "nextSigner">;

/**
 * `canonicalize` is CommonJS with a `export default` declaration. Under tsx and vitest the default import is
 * the function itself, but some interop paths hand back `{ default: fn }`: accept both rather than guess.
 */
const canonicalizeJson: (input: unknown) => string | undefined =
  typeof canonicalizeModule === "function"
    ? canonicalizeModule
    : (canonicalizeModule as unknown as { default: (input: unknown) => string | undefined }).default;

/** RFC 8785 (JCS) text of any JSON value: the same digest for the same document, whatever its key order. */
export function canonicalJsonText(value: unknown): string {
  return canonicalizeJson(value) ?? "null";
}

/** RFC 8785 (JCS) bytes of the manifest: the exact bytes stored in manifest.json and signed. */
export function canonicalManifestBytes(manifest: Manifest): Uint8Array {
  const text = canonicalizeJson(manifest);
  if (text === undefined) {
    throw new KeyproofError("INTERNAL", "the manifest could not be canonicalized (not a JSON object)");
  }
  return new TextEncoder().encode(text);
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** SHA-256 hex of the canonical manifest: the value chained into the next bundle's `previousBundle`. */
export function manifestDigest(manifest: Manifest): string {
  return sha256Hex(canonicalManifestBytes(manifest));
}

/** Byte-wise equality; the canonical check compares what is on disk with what canonicalization produces. */
export function sameBytes(left: Uint8Array, right: Uint8Array): boolean {
  return left.length === right.length && Buffer.compare(Buffer.from(left), Buffer.from(right)) === 0;
}
