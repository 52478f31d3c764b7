/** Issue #10 §8: two checkouts on one machine get their own demo chain scope, bucket and queue prefix. */
import { mkdir, mkdtemp, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { demoIdentity } from "../../scripts/demo/demo-identity.ts";

let base: string;
beforeAll(async () => {
  base = await mkdtemp(path.join(tmpdir(), "keyproof-demo-id-"));
  await mkdir(path.join(base, "clone-a/.keyproof/demo"), { recursive: true });
  await mkdir(path.join(base, "clone-b/.keyproof/demo"), { recursive: true });
  await symlink(path.join(base, "clone-a"), path.join(base, "link-a"));
});
afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

describe("demoIdentity", () => {
  it("differs between two clones and is stable for one (also through a symlink)", () => {
    const a = demoIdentity(path.join(base, "clone-a/.keyproof/demo"));
    const b = demoIdentity(path.join(base, "clone-b/.keyproof/demo"));
    expect(a.scope).not.toBe(b.scope);
    expect(a.bucket).not.toBe(b.bucket);
    expect(a.queuePrefix).not.toBe(b.queuePrefix);
    expect(a.vaultNamespace).not.toBe(b.vaultNamespace);
    expect(a.vaultAuditDevice).not.toBe(b.vaultAuditDevice);
    expect(demoIdentity(path.join(base, "clone-a/.keyproof/demo"))).toEqual(a);
    expect(demoIdentity(path.join(base, "link-a/.keyproof/demo"))).toEqual(a);
  });

  it("makes a valid S3 bucket name", () => {
    const { bucket } = demoIdentity(path.join(base, "clone-a/.keyproof/demo"));
    expect(bucket).toMatch(/^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/);
  });
});
