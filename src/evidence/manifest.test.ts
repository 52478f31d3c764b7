import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { BUNDLE_FORMAT, ManifestSchema, canonicalManifestBytes, manifestDigest } from "./manifest.ts";
import type { Manifest } from "./manifest.ts";
import { bundlePathProblem } from "./bundle-path.ts";

function manifest(overrides: Partial<Manifest> = {}): Manifest {
  return {
    format: BUNDLE_FORMAT,
    runId: "run-2026-Q3",
    organization: "Example Corp",
    period: {
      label: "2026-Q3",
      from: "2026-07-01T00:00:00.000Z",
      to: "2026-09-30",
      toExclusive: "2026-10-01T00:00:00.000Z",
    },
    capturedAt: "2026-10-01T08:00:00.000Z",
    keyproofVersion: "0.1.0",
    sources: [{ id: "aws-prod", type: "aws-kms", account: "111122223333", locations: ["eu-west-1"] }],
    signer: {
      description: "local Ed25519 key",
      keyId: `local:${"a".repeat(64)}`,
      fingerprint: "a".repeat(64),
    },
    files: [
      { path: "findings.json", sha256: "b".repeat(64), bytes: 10 },
      { path: "sources/aws-prod/eu-west-1/logging.json", sha256: "c".repeat(64), bytes: 20 },
    ],
    ...overrides,
  };
}

describe("canonicalManifestBytes", () => {
  it("produces RFC 8785 output: sorted keys, no whitespace, absent optionals dropped", () => {
    const text = new TextDecoder().decode(canonicalManifestBytes(manifest()));
    expect(text.startsWith('{"capturedAt":"2026-10-01T08:00:00.000Z","files":[{"bytes":10,')).toBe(true);
    expect(text).not.toMatch(/\s"|":\s/);
    expect(text).not.toContain("previousBundle");
    expect(JSON.parse(text)).toEqual(manifest());
  });

  it("does not depend on property insertion order", () => {
    const reordered = Object.fromEntries(Object.entries(manifest()).reverse()) as Manifest;
    expect(canonicalManifestBytes(reordered)).toEqual(canonicalManifestBytes(manifest()));
  });

  it("escapes and orders non-ASCII the way RFC 8785 does (UTF-16 code units, literal characters)", () => {
    const text = new TextDecoder().decode(
      canonicalManifestBytes(manifest({ organization: 'Zürich \u2028 "AG"' })),
    );
    expect(text).toContain('"organization":"Zürich \u2028 \\"AG\\""');
  });

  it("digests the canonical bytes", () => {
    expect(manifestDigest(manifest())).toBe(
      createHash("sha256").update(canonicalManifestBytes(manifest())).digest("hex"),
    );
  });
});

describe("ManifestSchema", () => {
  it("accepts a manifest with a hash-chain link", () => {
    const chained = manifest({
      previousBundle: { manifestSha256: "d".repeat(64), location: "s3://bucket/run-2026-Q2.tar.gz" },
    });
    expect(ManifestSchema.parse(chained)).toEqual(chained);
  });

  it("rejects files that are unsorted or listed twice", () => {
    const file = { path: "b.json", sha256: "e".repeat(64), bytes: 1 };
    const unsorted = ManifestSchema.safeParse(manifest({ files: [file, { ...file, path: "a.json" }] }));
    expect(unsorted.success).toBe(false);
    expect(unsorted.error?.issues[0]?.message).toContain("out of order");
    const twice = ManifestSchema.safeParse(manifest({ files: [file, file] }));
    expect(twice.error?.issues[0]?.message).toContain("listed twice");
  });

  it("rejects paths that leave the bundle", () => {
    for (const path of ["../etc/passwd", "/etc/passwd", "a/../../b", "a\\b", "a//b", "C:/x"]) {
      const parsed = ManifestSchema.safeParse(
        manifest({ files: [{ path, sha256: "e".repeat(64), bytes: 1 }] }),
      );
      expect(parsed.success, path).toBe(false);
    }
  });

  it("rejects unknown fields and another format", () => {
    expect(ManifestSchema.safeParse({ ...manifest(), extra: 1 }).success).toBe(false);
    expect(ManifestSchema.safeParse({ ...manifest(), format: "keyproof-bundle/2" }).success).toBe(false);
  });
});

describe("bundlePathProblem", () => {
  it("accepts the paths the evidence layout produces", () => {
    expect(bundlePathProblem("sources/aws-prod/eu-west-1/keys/1234abcd/configuration.json")).toBeUndefined();
    expect(bundlePathProblem("findings.json")).toBeUndefined();
  });

  it("names what is wrong", () => {
    expect(bundlePathProblem("")).toBe("is empty");
    expect(bundlePathProblem("a/./b")).toBe('has a "." segment');
    expect(bundlePathProblem("a/\u0000")).toBe("contains a control character");
    expect(bundlePathProblem("dir/")).toContain("empty segment");
  });
});
