/**
 * Issue #10 §4, "never silent", through the real bin (`node bin/keyproof.js`, a separate process, the exit
 * code as the shell sees it): a run with no AWS credentials, an unreachable endpoint, no VAULT_TOKEN or a
 * denied call seals a bundle and exits 3, listing each gap first with the call, the cause and the fix;
 * `--fail-on high` exits 4 on a complete run with a high fail. Against moto (a fresh account per file, through
 * an assumed role), OpenBao, and the KMS error proxy fake for the denied call.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { gzipSync } from "node:zlib";
import { CloudTrailClient, CreateTrailCommand, StartLoggingCommand } from "@aws-sdk/client-cloudtrail";
import { CreateKeyCommand, KMSClient } from "@aws-sdk/client-kms";
import { CreateBucketCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { fromTemporaryCredentials } from "@aws-sdk/credential-providers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import type { RunSummary } from "../../src/jobs/run-summary.ts";
import { generateSigningKey } from "../../src/signing/keygen.ts";
import { startKmsErrorProxy, type KmsErrorProxy } from "../fakes/kms-error-proxy.fake.ts";
import { testAwsEndpoint, testVaultAddress, testVaultToken, uniqueName } from "../support/test-env.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");
const ENDPOINT = testAwsEndpoint();
const ACCOUNT = `7${String(Math.floor(Math.random() * 1e11)).padStart(11, "0")}`;
const ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/keyproof-audit`;
const execFileAsync = promisify(execFile);

interface BinRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Environment with no AWS credentials anywhere in the default chain, and no Vault token. */
function bareEnvironment(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (name.startsWith("AWS_") || name === "VAULT_TOKEN") continue;
    env[name] = value;
  }
  return {
    ...env,
    AWS_CONFIG_FILE: "/nonexistent/keyproof-test-config",
    AWS_SHARED_CREDENTIALS_FILE: "/nonexistent/keyproof-test-credentials",
    AWS_EC2_METADATA_DISABLED: "true",
    NODE_NO_WARNINGS: "1",
  };
}

const WITH_CREDENTIALS = { AWS_ACCESS_KEY_ID: "test", AWS_SECRET_ACCESS_KEY: "test" };

async function keyproof(env: NodeJS.ProcessEnv, ...args: string[]): Promise<BinRun> {
  try {
    const { stdout, stderr } = await execFileAsync(
      process.execPath,
      [path.join(ROOT, "bin/keyproof.js"), ...args],
      {
        cwd: ROOT,
        env,
      },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? "", stderr: failed.stderr ?? "" };
  }
}

let directory: string;
let trailBucket: string;
let proxy: KmsErrorProxy;

function awsSource(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: "aws-exit",
    type: "aws-kms",
    regions: ["us-east-1"],
    endpoint: ENDPOINT,
    roleArn: ROLE_ARN,
    cloudtrail: { bucket: trailBucket, prefix: "", region: "us-east-1" },
    ...overrides,
  };
}

async function runWith(name: string, sources: unknown[], env: NodeJS.ProcessEnv, ...extra: string[]) {
  const configFile = path.join(directory, `${name}.yaml`);
  await writeFile(
    configFile,
    stringify({ organization: "Exit codes", sources, signing: { localKeyFile: "./signing.pem" } }),
  );
  const run = await keyproof(
    env,
    "run",
    "--inline",
    "--no-render",
    "--config",
    configFile,
    "--period",
    "2026-07",
    "--out",
    path.join(directory, "out"),
    "--run-id",
    name,
    ...extra,
  );
  const bundle = path.join(directory, "out", name);
  let summary: RunSummary | undefined;
  try {
    summary = JSON.parse(await readFile(path.join(bundle, "summary.json"), "utf8")) as RunSummary;
  } catch {
    summary = undefined;
  }
  return { ...run, summary, output: `${run.stdout}\n${run.stderr}` };
}

beforeAll(async () => {
  directory = await mkdtemp(path.join(tmpdir(), "keyproof-exit-"));
  await generateSigningKey(path.join(directory, "signing.pem"));
  // A fresh moto account holding one symmetric key without rotation (a high fail) and a logging trail.
  const credentials = fromTemporaryCredentials({
    masterCredentials: { accessKeyId: "test", secretAccessKey: "test" },
    params: { RoleArn: ROLE_ARN, RoleSessionName: "keyproof-exit-seed" },
    clientConfig: { endpoint: ENDPOINT, region: "us-east-1" },
  });
  const base = { endpoint: ENDPOINT, region: "us-east-1", credentials };
  trailBucket = uniqueName("kp-exit-trail");
  await new S3Client({ ...base, forcePathStyle: true }).send(
    new CreateBucketCommand({ Bucket: trailBucket }),
  );
  const cloudTrail = new CloudTrailClient(base);
  const trail = uniqueName("kp-exit");
  await cloudTrail.send(
    new CreateTrailCommand({ Name: trail, S3BucketName: trailBucket, IsMultiRegionTrail: true }),
  );
  await cloudTrail.send(new StartLoggingCommand({ Name: trail }));
  // A logging trail delivers a file every day; an empty day folder is a gap (NoLogObjects), so the
  // "complete" estate has one (empty) log file per day of the period.
  const s3 = new S3Client({ ...base, forcePathStyle: true });
  for (let day = 1; day <= 31; day++) {
    const dd = String(day).padStart(2, "0");
    await s3.send(
      new PutObjectCommand({
        Bucket: trailBucket,
        Key: `AWSLogs/${ACCOUNT}/CloudTrail/us-east-1/2026/07/${dd}/${ACCOUNT}_CloudTrail_us-east-1_202607${dd}T0000Z_exit.json.gz`,
        Body: gzipSync(JSON.stringify({ Records: [] })),
      }),
    );
  }
  await new KMSClient(base).send(
    new CreateKeyCommand({
      KeyUsage: "ENCRYPT_DECRYPT",
      KeySpec: "SYMMETRIC_DEFAULT",
      Description: "exit codes",
    }),
  );
  proxy = await startKmsErrorProxy({ upstream: ENDPOINT, failures: [{ operation: "GetKeyPolicy" }] });
}, 120_000);

afterAll(async () => {
  await proxy?.close();
  await rm(directory, { recursive: true, force: true });
});

describe("keyproof run exit codes (real bin)", () => {
  it("a complete run exits 0; with --fail-on high and a high fail it exits 4; --fail-on critical stays 0", async () => {
    const env = { ...bareEnvironment(), ...WITH_CREDENTIALS };
    const plain = await runWith("complete", [awsSource()], env);
    expect(plain.code, plain.output).toBe(0);
    expect(plain.summary).toMatchObject({ complete: true, gaps: 0 });
    expect(plain.stdout).toContain("Evidence complete");
    expect(plain.summary?.findings.failBySeverity.high).toBeGreaterThan(0);

    const gated = await runWith("gated", [awsSource()], env, "--fail-on", "high");
    expect(gated.code, gated.output).toBe(4);
    const critical = await runWith("critical", [awsSource()], env, "--fail-on", "critical");
    expect(critical.summary?.findings.failBySeverity.critical).toBe(0);
    expect(critical.code, critical.output).toBe(0);
  }, 240_000);

  it("no AWS credentials: the bundle is sealed, exit 3, the gap and its fix are printed first", async () => {
    const run = await runWith("no-credentials", [awsSource({ roleArn: undefined })], bareEnvironment());
    expect(run.code, run.output).toBe(3);
    expect(run.stdout.startsWith("INCOMPLETE EVIDENCE")).toBe(true);
    expect(run.stdout).toContain("aws-exit / us-east-1: kms:ListKeys failed: CredentialsProviderError");
    expect(run.stdout).toContain("fix: no AWS credentials: set AWS_PROFILE");
    expect(run.stdout.indexOf("CredentialsProviderError")).toBeLessThan(run.stdout.indexOf("Bundle:"));
    expect(run.summary?.complete).toBe(false);
    const source = run.summary?.sources[0];
    expect(source?.gaps).toBe(source?.locations.reduce((sum, location) => sum + location.gaps, 0));
    expect(source?.gaps).toBeGreaterThan(0);
  }, 120_000);

  it("an unreachable endpoint exits 3 and names the refused connection", async () => {
    const run = await runWith(
      "unreachable",
      [awsSource({ roleArn: undefined, endpoint: "http://127.0.0.1:9" })],
      { ...bareEnvironment(), ...WITH_CREDENTIALS },
    );
    expect(run.code, run.output).toBe(3);
    expect(run.stdout).toMatch(/aws-exit \/ us-east-1: kms:ListKeys failed: ECONNREFUSED/);
    expect(run.stdout).toContain("fix: endpoint unreachable");
  }, 120_000);

  it("a Vault source without VAULT_TOKEN exits 3 with the token fix", async () => {
    const run = await runWith(
      "no-token",
      [{ id: "vault-exit", type: "hashicorp-vault", address: testVaultAddress() }],
      bareEnvironment(),
    );
    expect(run.code, run.output).toBe(3);
    expect(run.stdout).toContain("TokenMissing");
    expect(run.stdout).toContain("fix: no Vault token: set VAULT_TOKEN or the source's tokenFile");
  }, 120_000);

  it("a denied call (kms:GetKeyPolicy refused by the proxy) exits 3 and names the call; it wins over --fail-on", async () => {
    const run = await runWith(
      "denied",
      [awsSource({ endpoints: { kms: proxy.endpoint } })],
      { ...bareEnvironment(), ...WITH_CREDENTIALS },
      "--fail-on",
      "high",
    );
    expect(run.code, run.output).toBe(3);
    expect(run.stdout).toMatch(/kms:GetKeyPolicy failed.*AccessDeniedException/);
    expect(run.stdout).toContain("fix: the identity may not call kms:GetKeyPolicy");
  }, 120_000);

  it("with a token, a configured Vault mount that does not exist is a gap: exit 3", async () => {
    const run = await runWith(
      "vault-token",
      [
        {
          id: "vault-exit",
          type: "hashicorp-vault",
          address: testVaultAddress(),
          mounts: [uniqueName("none")],
        },
      ],
      { ...bareEnvironment(), VAULT_TOKEN: testVaultToken() },
    );
    expect(run.stdout).not.toContain("TokenMissing");
    // The configured mount does not exist: a gap, so 3, said with the mount's name.
    expect(run.code, run.output).toBe(3);
  }, 120_000);
});
