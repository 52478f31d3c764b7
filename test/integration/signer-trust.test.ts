/**
 * Trust that is pinned, not embedded (issue 11), through the real CLI: bundles sealed by the real
 * BundleWriter with a local Ed25519 key and with AWS KMS keys on moto, then edited and re-signed with an
 * attacker's own key (test/support/reseal-bundle.ts). A valid signature by an unpinned key never verifies;
 * a KMS key id is bound to the key GetPublicKey returns (moto) or to a pinned public key offline.
 */
import { createServer } from "node:net";
import { createPublicKey } from "node:crypto";
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import {
  CreateAliasCommand,
  CreateKeyCommand,
  DescribeKeyCommand,
  GetPublicKeyCommand,
  KMSClient,
} from "@aws-sdk/client-kms";
import type { KeySpec } from "@aws-sdk/client-kms";
import { stringify } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BundleWriter } from "../../src/evidence/bundle-writer.ts";
import type { SealedBundle } from "../../src/evidence/bundle-writer.ts";
import type { ManifestFields } from "../../src/evidence/manifest.ts";
import { FINDINGS_FILE, SIGNATURE_FILE } from "../../src/evidence/paths.ts";
import type { VerifyResult } from "../../src/evidence/verify-bundle.ts";
import type { ChainVerifyResult } from "../../src/evidence/verify-chain.ts";
import { createAwsKmsSigner } from "../../src/signing/aws-kms.signer.ts";
import type { AwsKmsSigner } from "../../src/signing/aws-kms.signer.ts";
import { createSigner } from "../../src/signing/create-signer.ts";
import { publicKeyFingerprint, shortFingerprint } from "../../src/signing/fingerprint.ts";
import { generateSigningKey } from "../../src/signing/keygen.ts";
import { createLocalEd25519Signer } from "../../src/signing/local-ed25519.signer.ts";
import type { LocalEd25519Signer } from "../../src/signing/local-ed25519.signer.ts";
import { SignatureRecordSchema, signatureFileText } from "../../src/signing/verify-signature.ts";
import { runCli } from "../support/cli.ts";
import { resealBundle } from "../support/reseal-bundle.ts";
import { awsTestClientConfig, uniqueName } from "../support/test-env.ts";

const REGION = "eu-central-1";
const aws = awsTestClientConfig(REGION);
const kms = new KMSClient(aws);
const CAPTURED = "2026-10-01T06:00:00.000Z";
const clock = { now: () => new Date("2026-10-01T06:05:00.000Z") };

let workspace: string;
let configFile: string;
let signer: LocalEd25519Signer;
let attacker: LocalEd25519Signer;
let kmsSigner: AwsKmsSigner;
let kmsAttacker: AwsKmsSigner;
let bundle: SealedBundle;
let kmsBundle: SealedBundle;
let counter = 0;

function fields(runId: string, capturedAt = CAPTURED): ManifestFields {
  return {
    runId,
    organization: "Example Corp",
    period: {
      label: "2026-Q3",
      from: "2026-07-01T00:00:00.000Z",
      to: "2026-09-30",
      toExclusive: "2026-10-01T00:00:00.000Z",
    },
    capturedAt,
    keyproofVersion: "0.1.0",
    sources: [{ id: "aws-prod", type: "aws-kms", account: "111122223333", locations: [REGION] }],
  };
}

async function seal(
  runId: string,
  bundleSigner: LocalEd25519Signer | AwsKmsSigner,
  extra: Partial<ManifestFields> = {},
): Promise<SealedBundle> {
  const writer = await BundleWriter.open(join(workspace, "runs", runId));
  await writer.writeJson(FINDINGS_FILE, [{ checkId: "key-rotation-enabled", status: "fail", keyId: "k-1" }]);
  return writer.seal({ manifestFields: { ...fields(runId), ...extra }, signer: bundleSigner });
}

async function copyOf(sealed: SealedBundle): Promise<string> {
  const copy = join(workspace, "copies", `${++counter}`);
  await cp(sealed.directory, copy, { recursive: true });
  return copy;
}

/** The attack from issue 11: findings.json edited fail → pass, then re-signed with the attacker's key. */
async function forgedBy(sealed: SealedBundle, key: LocalEd25519Signer | AwsKmsSigner): Promise<string> {
  const directory = await copyOf(sealed);
  await resealBundle(directory, key, {
    edit: async (root) => {
      const path = join(root, FINDINGS_FILE);
      await writeFile(path, (await readFile(path, "utf8")).replace('"fail"', '"pass"'));
    },
    manifest: (manifest) => ({
      ...manifest,
      signer: { ...manifest.signer, description: "Example Corp production signing key (HSM)" },
    }),
    now: new Date("2026-10-01T06:30:00.000Z"),
  });
  return directory;
}

async function createKmsKey(spec: KeySpec): Promise<string> {
  const created = await kms.send(new CreateKeyCommand({ KeySpec: spec, KeyUsage: "SIGN_VERIFY" }));
  return created.KeyMetadata?.Arn ?? "";
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((listening) => server.listen(0, "127.0.0.1", listening));
  const address = server.address();
  await new Promise<void>((closed) => server.close(() => closed()));
  return typeof address === "object" && address !== null ? address.port : 9;
}

beforeAll(async () => {
  // verify asks KMS through the SDK's provider chain: moto takes any credentials.
  process.env["AWS_ACCESS_KEY_ID"] ??= "test";
  process.env["AWS_SECRET_ACCESS_KEY"] ??= "test";
  workspace = await mkdtemp(join(tmpdir(), "keyproof-signer-trust-"));
  signer = await createLocalEd25519Signer(
    (await generateSigningKey(join(workspace, "signing.pem"))).path,
    clock,
  );
  attacker = await createLocalEd25519Signer(
    (await generateSigningKey(join(workspace, "attacker.pem"))).path,
    clock,
  );
  configFile = join(workspace, "keyproof.yaml");
  await writeFile(
    configFile,
    stringify({
      organization: "Example Corp",
      sources: [{ id: "aws-prod", type: "aws-kms", regions: [REGION], endpoint: aws.endpoint }],
      signing: { localKeyFile: "./signing.pem" },
    }),
  );
  const options = { region: REGION, endpoint: aws.endpoint, credentials: aws.credentials, ...clock };
  kmsSigner = await createAwsKmsSigner({ kmsKeyId: await createKmsKey("ECC_NIST_P256"), ...options });
  kmsAttacker = await createAwsKmsSigner({ kmsKeyId: await createKmsKey("ECC_NIST_P256"), ...options });
  bundle = await seal("kp-trust-local", signer);
  kmsBundle = await seal("kp-trust-kms", kmsSigner);
}, 60_000);

afterAll(async () => {
  kmsSigner?.close();
  kmsAttacker?.close();
  kms.destroy();
  await rm(workspace, { recursive: true, force: true });
});

describe("no pin, no VERIFIED (local Ed25519)", () => {
  it("an edited bundle re-signed by an attacker's key is SIGNATURE VALID, SIGNER NOT TRUSTED, exit 1", async () => {
    const forged = await forgedBy(bundle, attacker);
    const run = await runCli("verify", forged);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^SIGNATURE VALID, SIGNER NOT TRUSTED/);
    expect(run.stdout).toContain(publicKeyFingerprint(attacker.publicKeyPem));
    // The attacker's description is shown as what it is: a claim.
    expect(run.stdout).toContain(
      "description (written by the signer, not proof of identity): Example Corp production signing key (HSM)",
    );
    expect(run.stdout).toContain("to trust this signer");

    for (const pin of [
      ["--config", configFile],
      ["--expect-key", signer.keyId],
      ["--expect-public-key", join(workspace, "signing.pub.pem")],
    ]) {
      await writeFile(join(workspace, "signing.pub.pem"), signer.publicKeyPem);
      const pinned = await runCli("verify", forged, ...pin);
      expect(pinned.code, pin.join(" ")).toBe(1);
      expect(pinned.stdout).toContain("trust: NOT TRUSTED");
    }
  });

  it("the genuine bundle verifies with each kind of pin, and --trust-embedded restores the old verdict with a warning", async () => {
    await writeFile(join(workspace, "signing.pub.pem"), signer.publicKeyPem);
    for (const pin of [
      ["--config", configFile],
      ["--expect-key", signer.keyId],
      ["--expect-public-key", join(workspace, "signing.pub.pem")],
    ]) {
      const run = await runCli("verify", bundle.archive, ...pin);
      expect(run.code, `${pin.join(" ")}\n${run.stdout}${run.stderr}`).toBe(0);
      expect(run.stdout).toMatch(/^VERIFIED/);
      expect(run.stdout).toContain("trust: ok, pinned by");
    }
    const forged = await forgedBy(bundle, attacker);
    const embedded = await runCli("verify", forged, "--trust-embedded");
    expect(embedded.code).toBe(0);
    expect(embedded.stdout).toContain("warning: --trust-embedded");
  });
});

describe("trust files (keyproof signer export, --trust, KEYPROOF_TRUST)", () => {
  it("signer export prints the key, key id and fingerprint and writes a trust file that pins the signer", async () => {
    const trustFile = join(workspace, "trust.json");
    const exported = await runCli("signer", "export", "--config", configFile, "--out", trustFile);
    expect(exported.code, exported.stderr).toBe(0);
    expect(exported.stdout).toContain(signer.publicKeyPem);
    expect(exported.stdout).toContain(`Key id: ${signer.keyId}`);
    expect(exported.stdout).toContain(
      `Fingerprint (SHA-256 of SPKI DER): ${publicKeyFingerprint(signer.publicKeyPem)}`,
    );
    const trust = JSON.parse(await readFile(trustFile, "utf8")) as {
      keys: Array<{ name: string; fingerprint: string }>;
    };
    expect(trust.keys).toEqual([
      expect.objectContaining({
        name: "Example Corp evidence signing key",
        fingerprint: publicKeyFingerprint(signer.publicKeyPem),
      }),
    ]);

    expect((await runCli("verify", bundle.archive, "--trust", trustFile)).code).toBe(0);
    const forged = await runCli("verify", await forgedBy(bundle, attacker), "--trust", trustFile);
    expect(forged.code).toBe(1);
    expect(forged.stdout).toMatch(/^SIGNATURE VALID, SIGNER NOT TRUSTED/);

    process.env["KEYPROOF_TRUST"] = trustFile;
    try {
      expect((await runCli("verify", bundle.archive)).code).toBe(0);
    } finally {
      delete process.env["KEYPROOF_TRUST"];
    }
  });

  it("a key is trusted only for bundles signed inside its validity window", async () => {
    const trustFile = join(workspace, "trust-window.json");
    const exported = await runCli(
      "signer",
      "export",
      "--config",
      configFile,
      "--out",
      trustFile,
      "--not-before",
      "2027-01-01T00:00:00Z",
    );
    expect(exported.code).toBe(0);
    const run = await runCli("verify", bundle.archive, "--trust", trustFile);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain("before its validity starts (2027-01-01T00:00:00.000Z)");
  });

  it("a broken trust file is bad input (exit 2) naming the file and the field", async () => {
    const trustFile = join(workspace, "trust-broken.json");
    await writeFile(
      trustFile,
      JSON.stringify({
        keys: [{ name: "prod", publicKey: signer.publicKeyPem, fingerprint: "0".repeat(64) }],
      }),
    );
    const run = await runCli("verify", bundle.archive, "--trust", trustFile);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(
      `trust file ${trustFile}: keys.0.fingerprint: is ${"0".repeat(64)}, but the public key's fingerprint is`,
    );
  });
});

describe("KMS key ids bind to keys", () => {
  it("an attacker's P-256 key claiming the KMS ARN is not trusted with --expect-key <ARN> (GetPublicKey on moto)", async () => {
    // The attacker names the genuine ARN as key id; their own key signs.
    const forged = await copyOf(kmsBundle);
    const impostor = {
      ...kmsAttacker,
      keyId: kmsSigner.keyId,
      sign: (bytes: Uint8Array) => kmsAttacker.sign(bytes),
    };
    await resealBundle(forged, impostor, { now: new Date("2026-10-01T06:30:00.000Z") });
    const run = await runCli(
      "verify",
      forged,
      "--expect-key",
      kmsSigner.keyId,
      "--kms-endpoint",
      aws.endpoint,
    );
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^SIGNATURE VALID, SIGNER NOT TRUSTED/);
    expect(run.stdout).toContain(
      `--expect-key ${kmsSigner.keyId} (KMS GetPublicKey: ${kmsSigner.keyId}): the signing key`,
    );

    const genuine = await runCli(
      "verify",
      kmsBundle.archive,
      "--expect-key",
      kmsSigner.keyId,
      "--kms-endpoint",
      aws.endpoint,
    );
    expect(genuine.code, genuine.stdout).toBe(0);
    expect(genuine.stdout).toContain(
      `pinned by --expect-key ${kmsSigner.keyId} (KMS GetPublicKey: ${kmsSigner.keyId})`,
    );

    // An alias resolves to the key it points at (GetPublicKey + DescribeKey give its ARN).
    const alias = `alias/${uniqueName("kp-trust")}`;
    await kms.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: kmsSigner.keyId }));
    const byAlias = await runCli(
      "verify",
      kmsBundle.archive,
      "--expect-key",
      alias,
      "--region",
      REGION,
      "--kms-endpoint",
      aws.endpoint,
    );
    expect(byAlias.code, byAlias.stdout).toBe(0);
    expect(
      (
        await runCli(
          "verify",
          forged,
          "--expect-key",
          alias,
          "--region",
          REGION,
          "--kms-endpoint",
          aws.endpoint,
        )
      ).code,
    ).toBe(1);
  });

  it("offline, the ARN is trusted only next to a pinned public key, and says so when KMS cannot be asked", async () => {
    const pem = join(workspace, "kms.pub.pem");
    await writeFile(pem, kmsSigner.publicKeyPem);
    const closed = `http://127.0.0.1:${await closedPort()}`;
    const offline = await runCli(
      "verify",
      kmsBundle.archive,
      "--expect-key",
      kmsSigner.keyId,
      "--expect-public-key",
      pem,
      "--kms-endpoint",
      closed,
    );
    expect(offline.code, offline.stdout).toBe(0);

    const unreachable = await runCli(
      "verify",
      kmsBundle.archive,
      "--expect-key",
      kmsSigner.keyId,
      "--kms-endpoint",
      closed,
    );
    expect(unreachable.code).toBe(1);
    expect(unreachable.stdout).toContain("could not ask KMS for the public key of this key id");
    expect(unreachable.stdout).toContain("pin the public key offline with --expect-public-key or --trust");

    // Pinned public key of another key: the ARN matching is not enough.
    const otherPem = join(workspace, "attacker-kms.pub.pem");
    await writeFile(otherPem, kmsAttacker.publicKeyPem);
    const mismatch = await runCli(
      "verify",
      kmsBundle.archive,
      "--expect-key",
      kmsSigner.keyId,
      "--expect-public-key",
      otherPem,
    );
    expect(mismatch.code).toBe(1);
    expect(mismatch.stdout).toMatch(/^SIGNATURE VALID, SIGNER NOT TRUSTED/);
    // Which check failed: the offline one, against the pinned public key (KMS was not asked).
    expect(mismatch.stdout).toContain(
      `--expect-key ${kmsSigner.keyId}: checked offline against the pinned public key, which differs: the bundle names this key id, but was signed by key ${shortFingerprint(publicKeyFingerprint(kmsSigner.publicKeyPem))}`,
    );
    expect(mismatch.stdout).toContain(`--expect-public-key ${otherPem}: the signing key`);
    expect(mismatch.stdout).not.toContain("GetPublicKey:");
  });

  it("offline, an alias is not a pin, and verify says it was not compared", async () => {
    const alias = `alias/${uniqueName("kp-offline")}`;
    await kms.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: kmsSigner.keyId }));
    const pem = join(workspace, "kms-alias.pub.pem");
    await writeFile(pem, kmsSigner.publicKeyPem);
    const note = `note: --expect-key ${alias} was not compared: an alias or bare key id cannot be checked offline (the signature names the key ARN), so it is not a pin; the pinned public key alone decides`;

    const genuine = await runCli(
      "verify",
      kmsBundle.archive,
      "--expect-key",
      alias,
      "--expect-public-key",
      pem,
    );
    expect(genuine.code, genuine.stdout).toBe(0);
    expect(genuine.stdout).toContain(`trust: ok, pinned by --expect-public-key ${pem}`);
    expect(genuine.stdout).not.toContain(`pinned by --expect-key`);
    expect(genuine.stdout).toContain(note);

    // The alias points at the genuine key, yet a bundle by another key is refused by the public key pin
    // alone, and the note still says the alias played no part.
    const forged = await forgedBy(kmsBundle, kmsAttacker);
    const refused = await runCli("verify", forged, "--expect-key", alias, "--expect-public-key", pem);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain(note);

    const json = await runCli(
      "verify",
      kmsBundle.archive,
      "--expect-key",
      alias,
      "--expect-public-key",
      pem,
      "--json",
    );
    const result = JSON.parse(json.stdout) as VerifyResult;
    expect(result.signature.trust?.notes).toEqual([
      expect.stringContaining(`--expect-key ${alias} was not compared`),
    ]);
  });

  it("--config with signing.kmsKeyId pins the key KMS holds for it", async () => {
    const kmsConfig = join(workspace, "kms.yaml");
    await writeFile(
      kmsConfig,
      stringify({
        organization: "Example Corp",
        sources: [{ id: "aws-prod", type: "aws-kms", regions: [REGION], endpoint: aws.endpoint }],
        signing: { kmsKeyId: kmsSigner.keyId, region: REGION, endpoint: aws.endpoint },
      }),
    );
    expect((await runCli("verify", kmsBundle.archive, "--config", kmsConfig)).code).toBe(0);
    const forged = await forgedBy(kmsBundle, kmsAttacker);
    expect((await runCli("verify", forged, "--config", kmsConfig)).code).toBe(1);
  });
});

describe("signer export and rotate with a KMS signer (GetPublicKey on moto)", () => {
  /** A config whose signer is a KMS key, in a directory of its own (rotate writes beside the config). */
  async function kmsConfig(kmsKeyId: string): Promise<string> {
    const directory = join(workspace, `kms-config-${++counter}`);
    await mkdir(directory, { recursive: true });
    const file = join(directory, "keyproof.yaml");
    await writeFile(
      file,
      stringify({
        organization: "Example Corp",
        sources: [{ id: "aws-prod", type: "aws-kms", regions: [REGION], endpoint: aws.endpoint }],
        signing: { kmsKeyId, region: REGION, endpoint: aws.endpoint },
      }),
    );
    return file;
  }

  /** What KMS itself says the key's public key is, independent of keyproof's signer. */
  async function publicKeyFromKms(keyId: string): Promise<{ arn: string; pem: string; fingerprint: string }> {
    const response = await kms.send(new GetPublicKeyCommand({ KeyId: keyId }));
    const described = await kms.send(new DescribeKeyCommand({ KeyId: keyId }));
    if (response.PublicKey === undefined) throw new Error("GetPublicKey returned no key");
    const key = createPublicKey({ key: Buffer.from(response.PublicKey), format: "der", type: "spki" });
    const pem = key.export({ type: "spki", format: "pem" }).toString();
    return { arn: described.KeyMetadata?.Arn ?? "", pem, fingerprint: publicKeyFingerprint(key) };
  }

  it("signer export --config (kmsKeyId an alias) prints the PEM, the key ARN and the fingerprint, and writes a trust file matching GetPublicKey", async () => {
    const alias = `alias/${uniqueName("kp-export")}`;
    await kms.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: kmsSigner.keyId }));
    const config = await kmsConfig(alias);
    const trustFile = join(dirname(config), "trust.json");
    const exported = await runCli("signer", "export", "--config", config, "--out", trustFile);
    expect(exported.code, exported.stderr).toBe(0);

    const fromKms = await publicKeyFromKms(kmsSigner.keyId);
    expect(fromKms.arn).toBe(kmsSigner.keyId);
    expect(exported.stdout).toContain(fromKms.pem);
    expect(exported.stdout).toContain(`Key id: ${fromKms.arn}`);
    expect(exported.stdout).toContain("Algorithm: ECDSA_SHA_256");
    expect(exported.stdout).toContain(`Fingerprint (SHA-256 of SPKI DER): ${fromKms.fingerprint}`);
    const trust = JSON.parse(await readFile(trustFile, "utf8")) as {
      keys: Array<{ fingerprint: string; keyId?: string; publicKey: string }>;
    };
    expect(trust.keys).toHaveLength(1);
    expect(trust.keys[0]).toMatchObject({ fingerprint: fromKms.fingerprint, keyId: fromKms.arn });
    expect(publicKeyFingerprint(trust.keys[0]?.publicKey ?? "")).toBe(fromKms.fingerprint);

    // The trust file pins the KMS signer offline: its bundle verifies, one re-signed by another KMS key does not.
    const verified = await runCli("verify", kmsBundle.archive, "--trust", trustFile);
    expect(verified.code, verified.stdout).toBe(0);
    const forged = await runCli("verify", await forgedBy(kmsBundle, kmsAttacker), "--trust", trustFile);
    expect(forged.code).toBe(1);
    expect(forged.stdout).toMatch(/^SIGNATURE VALID, SIGNER NOT TRUSTED/);
  });

  it("signer rotate --next-kms-key (alias or ARN) announces the next key's fingerprint and ARN", async () => {
    const config = await kmsConfig(kmsSigner.keyId);
    const nextArn = await createKmsKey("ECC_NIST_P256");
    const alias = `alias/${uniqueName("kp-next")}`;
    await kms.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: nextArn }));
    const next = await publicKeyFromKms(nextArn);
    const announcement = join(dirname(config), "keyproof-next-signer.json");

    for (const reference of [alias, nextArn]) {
      await rm(announcement, { force: true });
      const rotate = await runCli("signer", "rotate", "--config", config, "--next-kms-key", reference);
      expect(rotate.code, `${reference}: ${rotate.stderr}`).toBe(0);
      expect(rotate.stdout).toContain(`announce the next signer ${next.fingerprint}`);
      const written = JSON.parse(await readFile(announcement, "utf8")) as Record<string, unknown>;
      expect(written, reference).toMatchObject({ fingerprint: next.fingerprint, keyId: next.arn });
    }
    // The configured KMS signer now carries the announcement into every manifest it seals.
    const announcing = await createSigner(
      { kmsKeyId: kmsSigner.keyId, region: REGION, endpoint: aws.endpoint },
      dirname(config),
    );
    if ("close" in announcing && typeof announcing.close === "function") (announcing.close as () => void)();
    expect(announcing.nextSigner).toEqual({ fingerprint: next.fingerprint, keyId: next.arn });

    // The current key as "next" is refused: nothing to announce.
    const same = await runCli("signer", "rotate", "--config", config, "--next-kms-key", kmsSigner.keyId);
    expect(same.code).toBe(2);
    expect(same.stderr).toContain("the next signer is the configured signer");
  });
});

describe("every byte of the signature file counts", () => {
  async function withStatement(edit: (statement: Record<string, unknown>) => void): Promise<string> {
    const directory = await copyOf(bundle);
    const record = SignatureRecordSchema.parse(
      JSON.parse(await readFile(join(directory, SIGNATURE_FILE), "utf8")),
    );
    const statement = { ...record.statement } as Record<string, unknown>;
    edit(statement);
    await writeFile(
      join(directory, SIGNATURE_FILE),
      signatureFileText({ ...record, statement } as typeof record),
    );
    return directory;
  }

  it('"signedAt":"not a date" is rejected, and so is a changed signedAt', async () => {
    const notADate = await runCli(
      "verify",
      await withStatement((s) => (s["signedAt"] = "not a date")),
      "--expect-key",
      signer.keyId,
    );
    expect(notADate.code).toBe(1);
    expect(notADate.stdout).toContain("signedAt: must be a UTC ISO-8601 time");
    const moved = await runCli(
      "verify",
      await withStatement((s) => (s["signedAt"] = "2026-10-01T07:00:00.000Z")),
      "--expect-key",
      signer.keyId,
    );
    expect(moved.code).toBe(1);
    expect(moved.stdout).toContain("signature does not match the signed statement");
  });

  it("a signedAt outside the capture window (±24 h) is rejected even when validly signed", async () => {
    const late = await copyOf(bundle);
    await resealBundle(late, signer, { now: new Date("2026-10-03T06:00:00.000Z") });
    const run = await runCli("verify", late, "--expect-key", signer.keyId);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(
      "is more than 24 hours outside the bundle's capture time 2026-10-01T06:00:00.000Z",
    );
  });

  it("a field the signature does not cover is rejected", async () => {
    const directory = await copyOf(bundle);
    const text = await readFile(join(directory, SIGNATURE_FILE), "utf8");
    await writeFile(
      join(directory, SIGNATURE_FILE),
      text.replace('  "version": 2,', '  "version": 2,\n  "note": "approved",'),
    );
    const run = await runCli("verify", directory, "--expect-key", signer.keyId);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(
      /signature: FAILED: manifest\.sig\.json is not a keyproof signature file \(.*note/,
    );
  });
});

describe("chains keep their signer", () => {
  async function chainOf(bundles: SealedBundle[]): Promise<string> {
    const directory = join(workspace, "chains", `${++counter}`);
    for (const [index, sealed] of bundles.entries())
      await cp(sealed.archive, join(directory, `${index + 1}.tar.gz`));
    return directory;
  }

  async function chained(
    runId: string,
    key: LocalEd25519Signer,
    previous?: SealedBundle,
  ): Promise<SealedBundle> {
    return seal(
      runId,
      key,
      previous === undefined
        ? {}
        : { previousBundle: { manifestSha256: previous.manifestSha256, location: previous.archive } },
    );
  }

  it("reports an unannounced change of signer and fails unless every signer is trusted", async () => {
    const first = await chained(`kp-chain-a-${counter}`, signer);
    const second = await chained(`kp-chain-b-${counter}`, attacker, first);
    const directory = await chainOf([first, second]);

    const onlyFirst = await runCli("verify", "--chain", directory, "--expect-key", signer.keyId, "--json");
    expect(onlyFirst.code).toBe(1);
    const result = JSON.parse(onlyFirst.stdout) as ChainVerifyResult;
    expect(result.problems).toEqual([expect.stringContaining("its signer (fingerprint")]);
    expect(result.signerChanges).toMatchObject([{ position: 1, announced: false }]);

    const trustFile = join(workspace, `both-${counter}.json`);
    await writeFile(
      trustFile,
      JSON.stringify({
        keys: [signer, attacker].map((key, index) => ({
          name: `key ${index}`,
          publicKey: key.publicKeyPem,
          fingerprint: publicKeyFingerprint(key.publicKeyPem),
        })),
      }),
    );
    const both = await runCli("verify", "--chain", directory, "--trust", trustFile);
    expect(both.code, both.stdout).toBe(0);
    expect(both.stdout).toContain("signer change at bundle 2");
    expect(both.stdout).toContain("NOT announced");
    expect(both.stdout).toMatch(/warning: .* without an announcement in the previous bundle's manifest/);
    // Link by link, the change is reported too.
    const link = await runCli("verify", second.archive, "--previous", first.archive, "--trust", trustFile);
    expect(link.code, link.stdout).toBe(0);
    expect(link.stdout).toContain("did NOT announce this signer");
  });

  it("accepts a rotation silently when keyproof signer rotate announced it in the previous bundle", async () => {
    const nextKeyFile = join(workspace, "next.pem");
    const next = await createLocalEd25519Signer((await generateSigningKey(nextKeyFile)).path, clock);
    const rotate = await runCli("signer", "rotate", "--config", configFile, "--next-public-key", nextKeyFile);
    expect(rotate.code, rotate.stderr).toBe(0);
    // The configured signer now announces the next one in every manifest it seals.
    const announcing = await createSigner({ localKeyFile: "./signing.pem" }, workspace);
    expect(announcing.nextSigner).toEqual({
      fingerprint: publicKeyFingerprint(next.publicKeyPem),
      keyId: next.keyId,
    });
    const first = await chained(`kp-rotate-a-${counter}`, {
      ...signer,
      nextSigner: announcing.nextSigner,
    } as LocalEd25519Signer);
    expect(first.manifest.nextSigner?.fingerprint).toBe(publicKeyFingerprint(next.publicKeyPem));
    const second = await chained(`kp-rotate-b-${counter}`, next, first);
    await rm(join(workspace, "keyproof-next-signer.json"));

    const trustFile = join(workspace, `rotation-${counter}.json`);
    await writeFile(
      trustFile,
      JSON.stringify({
        keys: [signer, next].map((key, index) => ({
          name: `key ${index}`,
          publicKey: key.publicKeyPem,
          fingerprint: publicKeyFingerprint(key.publicKeyPem),
        })),
      }),
    );
    const run = await runCli(
      "verify",
      "--chain",
      await chainOf([first, second]),
      "--trust",
      trustFile,
      "--json",
    );
    expect(run.code, run.stdout).toBe(0);
    const result = JSON.parse(run.stdout) as ChainVerifyResult;
    expect(result.signerChanges).toMatchObject([{ position: 1, announced: true }]);
    expect(result.warnings).toEqual([]);
    const entries = result.entries.map((entry) => (entry.bundle as VerifyResult).signature.trust?.trusted);
    expect(entries).toEqual([true, true]);
  });
});
