/**
 * VERIFY.md's commands, run exactly as written (parsed out of the file) with sh, sha256sum and openssl,
 * on fresh bundles sealed by a local Ed25519 key and by AWS KMS ECDSA and RSA-PSS keys (moto), and on
 * tampered ones: each tampering makes the commands exit non-zero.
 */
import { spawn } from "node:child_process";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateKeyCommand, KMSClient } from "@aws-sdk/client-kms";
import type { KeySpec } from "@aws-sdk/client-kms";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BundleWriter } from "../../src/evidence/bundle-writer.ts";
import type { SealedBundle } from "../../src/evidence/bundle-writer.ts";
import {
  FINDINGS_FILE,
  MANIFEST_FILE,
  SIGNATURE_FILE,
  VERIFY_INSTRUCTIONS_FILE,
} from "../../src/evidence/paths.ts";
import { createAwsKmsSigner } from "../../src/signing/aws-kms.signer.ts";
import type { AwsKmsSigner } from "../../src/signing/aws-kms.signer.ts";
import { publicKeyFingerprint } from "../../src/signing/fingerprint.ts";
import { generateSigningKey } from "../../src/signing/keygen.ts";
import { createLocalEd25519Signer } from "../../src/signing/local-ed25519.signer.ts";
import type { Signer } from "../../src/signing/signer.ts";
import { SignatureRecordSchema, signatureFileText } from "../../src/signing/verify-signature.ts";
import { resealBundle } from "../support/reseal-bundle.ts";
import { awsTestClientConfig } from "../support/test-env.ts";

const REGION = "eu-south-1";
const aws = awsTestClientConfig(REGION);
const kms = new KMSClient(aws);
const clock = { now: () => new Date("2026-10-01T06:05:00.000Z") };

let workspace: string;
let counter = 0;
const kmsSigners: AwsKmsSigner[] = [];
const sealed = new Map<string, { bundle: SealedBundle; signer: Signer }>();

/** The one ```sh block of VERIFY.md, verbatim. */
function commandsOf(markdown: string): string {
  const match = /^```sh\n([\s\S]*?)\n```$/m.exec(markdown);
  if (match?.[1] === undefined) throw new Error("VERIFY.md has no ```sh block");
  return match[1];
}

async function runInstructions(
  directory: string,
  publishedFingerprint: string,
): Promise<{ code: number | null; output: string }> {
  const commands = commandsOf(await readFile(join(directory, VERIFY_INSTRUCTIONS_FILE), "utf8"));
  const child = spawn("sh", ["-c", commands], {
    cwd: directory,
    env: {
      PATH: process.env["PATH"] ?? "/usr/bin:/bin",
      PUBLISHED_FINGERPRINT: publishedFingerprint,
      LC_ALL: "C",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
  const code = await new Promise<number | null>((exited) => child.on("close", exited));
  return { code, output };
}

async function seal(name: string, signer: Signer): Promise<SealedBundle> {
  const writer = await BundleWriter.open(join(workspace, "runs", name));
  await writer.writeJson(FINDINGS_FILE, [{ checkId: "key-rotation-enabled", status: "fail", keyId: "k-1" }]);
  await writer.writeText(
    "sources/aws-prod/eu-south-1/keys/k 1/configuration.json",
    '{"KeyRotationEnabled":false}\n',
  );
  return writer.seal({
    manifestFields: {
      runId: name,
      organization: "Example Corp",
      period: {
        label: "2026-Q3",
        from: "2026-07-01T00:00:00.000Z",
        to: "2026-09-30",
        toExclusive: "2026-10-01T00:00:00.000Z",
      },
      capturedAt: "2026-10-01T06:00:00.000Z",
      keyproofVersion: "0.1.0",
      sources: [],
    },
    signer,
  });
}

async function kmsSigner(spec: KeySpec): Promise<AwsKmsSigner> {
  const created = await kms.send(new CreateKeyCommand({ KeySpec: spec, KeyUsage: "SIGN_VERIFY" }));
  const signer = await createAwsKmsSigner({
    kmsKeyId: created.KeyMetadata?.Arn ?? "",
    region: REGION,
    endpoint: aws.endpoint,
    credentials: aws.credentials,
    ...clock,
  });
  kmsSigners.push(signer);
  return signer;
}

async function copyOf(bundle: SealedBundle): Promise<string> {
  const copy = join(workspace, "copies", `${++counter}`);
  await cp(bundle.directory, copy, { recursive: true });
  return copy;
}

beforeAll(async () => {
  workspace = await mkdtemp(join(tmpdir(), "keyproof-verify-md-"));
  const local = await createLocalEd25519Signer(
    (await generateSigningKey(join(workspace, "signing.pem"))).path,
    clock,
  );
  for (const [name, signer] of [
    ["Ed25519", local],
    ["ECDSA_SHA_256", await kmsSigner("ECC_NIST_P256")],
    ["RSASSA_PSS_SHA_256", await kmsSigner("RSA_2048")],
  ] as const) {
    sealed.set(name, { bundle: await seal(`kp-verify-md-${name}`, signer), signer });
  }
}, 60_000);

afterAll(async () => {
  for (const signer of kmsSigners) signer.close();
  kms.destroy();
  await rm(workspace, { recursive: true, force: true });
});

describe.each(["Ed25519", "ECDSA_SHA_256", "RSASSA_PSS_SHA_256"])(
  "VERIFY.md of a bundle signed with %s",
  (name) => {
    const get = (): { bundle: SealedBundle; signer: Signer; fingerprint: string } => {
      const entry = sealed.get(name);
      if (entry === undefined) throw new Error(`no ${name} bundle`);
      return { ...entry, fingerprint: publicKeyFingerprint(entry.signer.publicKeyPem) };
    };

    it("its commands pass on the fresh bundle", async () => {
      const { bundle, fingerprint } = get();
      const text = await readFile(join(bundle.directory, VERIFY_INSTRUCTIONS_FILE), "utf8");
      expect(text).toContain(`fingerprint: \`${fingerprint}\``);
      const run = await runInstructions(bundle.directory, fingerprint);
      expect(run.code, run.output).toBe(0);
      expect(run.output).toMatch(/Signature Verified Successfully|Verified OK/);
      expect(run.output.trim().split("\n").at(-1)).toBe("all files: digests match");
    });

    it("they fail when the published fingerprint is another key's", async () => {
      const { bundle } = get();
      const run = await runInstructions(bundle.directory, "0".repeat(64));
      expect(run.code).not.toBe(0);
      expect(run.output).not.toContain("all files: digests match");
    });

    it("they fail on an edited evidence file", async () => {
      const { bundle, fingerprint } = get();
      const directory = await copyOf(bundle);
      const path = join(directory, FINDINGS_FILE);
      await writeFile(path, (await readFile(path, "utf8")).replace('"fail"', '"pass"'));
      const run = await runInstructions(directory, fingerprint);
      expect(run.code).not.toBe(0);
      expect(run.output).toContain("findings.json: FAILED");
    });

    it("they fail on an edited manifest, a changed signedAt, and a flipped signature byte", async () => {
      const { bundle, fingerprint } = get();
      const manifest = await copyOf(bundle);
      const manifestPath = join(manifest, MANIFEST_FILE);
      await writeFile(
        manifestPath,
        (await readFile(manifestPath, "utf8")).replace("Example Corp", "Example Inc."),
      );
      const edited = await runInstructions(manifest, fingerprint);
      expect(edited.code).not.toBe(0);
      expect(edited.output).toContain("manifest.json: FAILED");

      const signedAt = await copyOf(bundle);
      const record = SignatureRecordSchema.parse(
        JSON.parse(await readFile(join(signedAt, SIGNATURE_FILE), "utf8")),
      );
      await writeFile(
        join(signedAt, SIGNATURE_FILE),
        signatureFileText({
          ...record,
          statement: { ...record.statement, signedAt: "2026-10-01T06:04:00.000Z" },
        }),
      );
      const moved = await runInstructions(signedAt, fingerprint);
      expect(moved.code).not.toBe(0);
      expect(moved.output).toMatch(/Signature Verification Failure|Verification failure/);

      const flipped = await copyOf(bundle);
      const signature = Buffer.from(record.signature, "base64");
      const at = signature.length - 3;
      signature[at] = (signature[at] ?? 0) ^ 0x01;
      await writeFile(
        join(flipped, SIGNATURE_FILE),
        signatureFileText({ ...record, signature: signature.toString("base64") }),
      );
      expect((await runInstructions(flipped, fingerprint)).code).not.toBe(0);
    });

    it("an edited bundle wholly re-signed by an attacker's key passes every digest but fails the fingerprint", async () => {
      const { bundle, fingerprint } = get();
      const directory = await copyOf(bundle);
      const attacker = await createLocalEd25519Signer(
        (await generateSigningKey(join(workspace, `attacker-${++counter}.pem`))).path,
        clock,
      );
      await resealBundle(directory, attacker, {
        edit: async (root) => {
          const path = join(root, FINDINGS_FILE);
          await writeFile(path, (await readFile(path, "utf8")).replace('"fail"', '"pass"'));
        },
      });
      const run = await runInstructions(directory, fingerprint);
      expect(run.code).not.toBe(0);
      // Against the attacker's own fingerprint the Ed25519 commands would pass: the published one is the pin.
      expect(run.output).not.toContain("public key: fingerprint is the published one");
    });
  },
);
