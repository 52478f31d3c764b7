/**
 * A signer rotation from announcement to verified chain, every step through the real CLI (issue 11, "chains
 * keep their signer"): `keyproof signer rotate` announces a new local key, a real `keyproof run --inline`
 * over the demo estate on moto seals a manifest carrying that announcement, `signing:` is switched to the new
 * key and a second real run seals the next bundle of the chain (linked through a local bundle store), and
 * `keyproof verify --chain` with a trust file holding both keys (built by `signer export` before and after
 * the switch) reports the change of signer as announced. signer-trust.test.ts covers the same verdicts on
 * hand-sealed bundles; here the announcement and the link come from real runs.
 */
import { copyFile, cp, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { ManifestSchema } from "../../src/evidence/manifest.ts";
import type { Manifest } from "../../src/evidence/manifest.ts";
import type { ChangesSincePrevious } from "../../src/evidence/bundle-diff.ts";
import { CHANGES_FILE, MANIFEST_FILE } from "../../src/evidence/paths.ts";
import type { ChainVerifyResult } from "../../src/evidence/verify-chain.ts";
import { publicKeyFingerprint } from "../../src/signing/fingerprint.ts";
import { generateSigningKey } from "../../src/signing/keygen.ts";
import { createLocalEd25519Signer } from "../../src/signing/local-ed25519.signer.ts";
import { runCli } from "../support/cli.ts";
import { prepareEstate, removeDirectory, TEST_RANGE } from "./queue-harness.ts";
import type { TestEstate } from "./queue-harness.ts";

const SCOPE = "rotation";

let setup: TestEstate;
let firstKey: { fingerprint: string; keyId: string };
let nextKey: { fingerprint: string; keyId: string };

async function keyOf(file: string): Promise<{ fingerprint: string; keyId: string }> {
  const signer = await createLocalEd25519Signer(file);
  return { fingerprint: publicKeyFingerprint(signer.publicKeyPem), keyId: signer.keyId };
}

/** `keyproof run --inline` over the test range, without rendering; the sealed bundle's manifest. */
async function runAndReadManifest(runId: string, configFile = setup.configFile): Promise<Manifest> {
  const out = path.join(setup.directory, "out");
  const run = await runCli(
    "run",
    "--inline",
    "--no-render",
    "--config",
    configFile,
    "--from",
    TEST_RANGE.from.slice(0, 10),
    "--to",
    TEST_RANGE.to,
    "--out",
    out,
    "--run-id",
    runId,
  );
  // The demo estate has a deliberately corrupt trail log object: the run is sealed and exits 3 (gaps).
  expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(3);
  expect(run.stdout).toContain(`Bundle:  ${path.join(out, runId)}`);
  return ManifestSchema.parse(JSON.parse(await readFile(path.join(out, runId, MANIFEST_FILE), "utf8")));
}

async function exportInto(trustFile: string, name: string): Promise<void> {
  const exported = await runCli(
    "signer",
    "export",
    "--config",
    setup.configFile,
    "--out",
    trustFile,
    "--name",
    name,
  );
  expect(exported.code, exported.stderr).toBe(0);
}

beforeAll(async () => {
  setup = await prepareEstate({ configExtra: { storage: { local: "./store", scope: SCOPE } } });
  await generateSigningKey(path.join(setup.directory, "next.pem"));
  firstKey = await keyOf(path.join(setup.directory, "signing.pem"));
  nextKey = await keyOf(path.join(setup.directory, "next.pem"));
}, 180_000);

afterAll(async () => {
  await removeDirectory(setup?.directory);
});

describe("signer rotate, then real runs, then verify --chain", () => {
  it("the first run announces the new key, the second is signed by it, and the chain reports the rotation as announced", async () => {
    const trustFile = path.join(setup.directory, "trust.json");
    const onlyFirstKey = path.join(setup.directory, "trust-first-key-only.json");
    await exportInto(trustFile, "2026 key");
    await copyFile(trustFile, onlyFirstKey);

    const rotate = await runCli(
      "signer",
      "rotate",
      "--config",
      setup.configFile,
      "--next-public-key",
      path.join(setup.directory, "next.pem"),
    );
    expect(rotate.code, rotate.stderr).toBe(0);
    expect(rotate.stdout).toContain(`announce the next signer ${nextKey.fingerprint}`);

    const first = await runAndReadManifest("kp-rotation-1");
    expect(first.signer.fingerprint).toBe(firstKey.fingerprint);
    expect(first.nextSigner).toEqual({ fingerprint: nextKey.fingerprint, keyId: nextKey.keyId });
    expect(first.previousBundle).toBeUndefined();

    // A copy of the chain as it stands, for the run below that switches without signing.trustFile.
    await cp(path.join(setup.directory, "store"), path.join(setup.directory, "store-copy"), {
      recursive: true,
    });

    // The switch: signing: names the new key and the published trust file (which accepts the earlier
    // key's bundles as this service's own); the announcement file stays and is inert now.
    const config = parse(await readFile(setup.configFile, "utf8")) as Record<string, unknown>;
    await writeFile(
      setup.configFile,
      stringify({ ...config, signing: { localKeyFile: "./next.pem", trustFile: "./trust.json" } }),
    );
    await exportInto(trustFile, "2027 key");

    const second = await runAndReadManifest("kp-rotation-2");
    expect(second.signer.fingerprint).toBe(nextKey.fingerprint);
    // The earlier key is in signing.trustFile, so the previous bundle is compared, not refused.
    const changes = JSON.parse(
      await readFile(path.join(setup.directory, "out", "kp-rotation-2", CHANGES_FILE), "utf8"),
    ) as ChangesSincePrevious;
    expect(changes.previous, JSON.stringify(changes)).toMatchObject({ runId: "kp-rotation-1" });

    // The same switch without signing.trustFile: the earlier key's bundle cannot be verified, and the
    // file says how to fix that instead of comparing with an unverified bundle.
    const withoutTrust = path.join(setup.directory, "keyproof-without-trust.yaml");
    await writeFile(
      withoutTrust,
      stringify({
        ...config,
        signing: { localKeyFile: "./next.pem" },
        storage: { local: "./store-copy", scope: SCOPE },
      }),
    );
    await runAndReadManifest("kp-rotation-2-untrusted", withoutTrust);
    const unverified = JSON.parse(
      await readFile(path.join(setup.directory, "out", "kp-rotation-2-untrusted", CHANGES_FILE), "utf8"),
    ) as ChangesSincePrevious;
    expect(unverified.previous).toBeNull();
    expect("reason" in unverified ? unverified.reason : "").toMatch(
      /kp-rotation-1.*could not be read or verified against this run's signer \(after a signer rotation, set signing\.trustFile/,
    );
    // A signer never announces itself.
    expect(second.nextSigner).toBeUndefined();
    expect(second.previousBundle?.location).toContain(path.join(setup.directory, "store", SCOPE));

    const chainLocation = path.join(setup.directory, "store", SCOPE);
    const verified = await runCli("verify", "--chain", chainLocation, "--trust", trustFile, "--json");
    expect(verified.code, verified.stdout).toBe(0);
    const result = JSON.parse(verified.stdout) as ChainVerifyResult;
    expect(result.entries.map((entry) => entry.bundle.runId)).toEqual(["kp-rotation-1", "kp-rotation-2"]);
    expect(result.signerChanges).toEqual([
      expect.objectContaining({
        position: 1,
        from: firstKey.fingerprint,
        to: nextKey.fingerprint,
        toKeyId: nextKey.keyId,
        announced: true,
      }),
    ]);
    expect(result.warnings).toEqual([]);
    const text = await runCli("verify", "--chain", chainLocation, "--trust", trustFile);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^CHAIN VERIFIED/);
    expect(text.stdout).toContain(
      `signer change at bundle 2: ${firstKey.fingerprint.slice(0, 8)}…${firstKey.fingerprint.slice(-8)} → fingerprint ${nextKey.fingerprint} (key id ${nextKey.keyId}), announced by the previous bundle`,
    );

    // Announced is not trusted: with only the first key pinned the second bundle's signer is refused.
    const partial = await runCli("verify", "--chain", chainLocation, "--trust", onlyFirstKey, "--json");
    expect(partial.code).toBe(1);
    const refused = JSON.parse(partial.stdout) as ChainVerifyResult;
    expect(refused.signerChanges).toMatchObject([{ position: 1, announced: true }]);
    expect(refused.problems).toEqual([
      expect.stringContaining(
        `its signer (fingerprint ${nextKey.fingerprint}, key id ${nextKey.keyId}) is not trusted`,
      ),
    ]);
  }, 300_000);
});
