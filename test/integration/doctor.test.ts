/**
 * Issue #10 §4: `keyproof doctor --config <file>` against the real servers, through the CLI: moto behind the
 * KMS error proxy fake (one action denied), OpenBao with a token whose policy is the documented one (all ok)
 * and the same policy minus one capability, and the Azure fakes answering 403 for one call. Each missing
 * permission is one line naming the exact action with its fix, and the exit code is 3; all ok is 0.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { CloudTrailClient, CreateTrailCommand } from "@aws-sdk/client-cloudtrail";
import { CreateKeyCommand, KMSClient } from "@aws-sdk/client-kms";
import { CreateBucketCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { fromTemporaryCredentials } from "@aws-sdk/credential-providers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { seedAzureDemoEstate, type SeededAzureDemoEstate } from "../../scripts/demo/seed-azure-estate.ts";
import { azureError } from "../fakes/azure-fake-http.ts";
import { startKmsErrorProxy, type KmsErrorProxy } from "../fakes/kms-error-proxy.fake.ts";
import { runCli, type CliRun } from "../support/cli.ts";
import {
  acquireOpenBao,
  createToken,
  createTransitKey,
  enableTransit,
  uniqueName as uniqueVaultName,
  vaultClient,
  writePolicy,
  type OpenBaoServer,
} from "../support/openbao.ts";
import { testAwsEndpoint, uniqueName } from "../support/test-env.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");
const ENDPOINT = testAwsEndpoint();
const ACCOUNT = `8${String(Math.floor(Math.random() * 1e11)).padStart(11, "0")}`;
const ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/keyproof-audit`;

let directory: string;

async function doctor(name: string, sources: unknown[]): Promise<CliRun> {
  const file = path.join(directory, `${name}.yaml`);
  await writeFile(file, stringify({ organization: "Doctor", sources, signing: { localKeyFile: "./k.pem" } }));
  return runCli("doctor", "--config", file);
}

/** The line doctor printed for one permission of one source. */
function lineOf(run: CliRun, source: string, permission: string): string {
  const line = run.stdout
    .split("\n")
    .find((candidate) => candidate.startsWith(`${source} (`) && candidate.includes(` ${permission} `));
  if (line === undefined) throw new Error(`no line for ${source} ${permission} in:\n${run.stdout}`);
  return line;
}

function statusesOf(run: CliRun, source: string): string[] {
  return run.stdout
    .split("\n")
    .filter((line) => line.startsWith(`${source} (`))
    .map((line) => /\s{2}(ok|MISSING|UNREACHABLE|ERROR|untested)(\s|$)/.exec(line)?.[1] ?? line);
}

beforeAll(async () => {
  directory = await mkdtemp(path.join(tmpdir(), "keyproof-doctor-"));
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

describe("doctor against moto (AWS KMS source)", () => {
  let proxy: KmsErrorProxy;
  let source: Record<string, unknown>;

  beforeAll(async () => {
    const credentials = fromTemporaryCredentials({
      masterCredentials: { accessKeyId: "test", secretAccessKey: "test" },
      params: { RoleArn: ROLE_ARN, RoleSessionName: "keyproof-doctor-seed" },
      clientConfig: { endpoint: ENDPOINT, region: "us-east-1" },
    });
    const base = { endpoint: ENDPOINT, region: "us-east-1", credentials };
    const bucket = uniqueName("kp-doctor-trail");
    const s3 = new S3Client({ ...base, forcePathStyle: true });
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: `AWSLogs/${ACCOUNT}/CloudTrail/us-east-1/2026/07/01/a.json.gz`,
        Body: "x",
      }),
    );
    await new CloudTrailClient(base).send(
      new CreateTrailCommand({
        Name: uniqueName("kp-doctor"),
        S3BucketName: bucket,
        IsMultiRegionTrail: true,
      }),
    );
    await new KMSClient(base).send(
      new CreateKeyCommand({ KeyUsage: "ENCRYPT_DECRYPT", Description: "doctor" }),
    );
    proxy = await startKmsErrorProxy({ upstream: ENDPOINT, failures: [{ operation: "ListGrants" }] });
    source = {
      id: "aws-doc",
      type: "aws-kms",
      regions: ["us-east-1"],
      endpoint: ENDPOINT,
      roleArn: ROLE_ARN,
      cloudtrail: { bucket, prefix: "", region: "us-east-1" },
    };
    process.env.AWS_ACCESS_KEY_ID ??= "test";
    process.env.AWS_SECRET_ACCESS_KEY ??= "test";
  }, 120_000);
  afterAll(async () => {
    await proxy?.close();
  });

  it("every permission ok: exit 0, one line per IAM action", async () => {
    const run = await doctor("aws-ok", [source]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(lineOf(run, "aws-doc", "kms:GetKeyPolicy")).toMatch(/\sok$/);
    expect(lineOf(run, "aws-doc", "s3:GetObject")).toMatch(/\sok$/);
    expect(lineOf(run, "aws-doc", "iam:GetAccountAuthorizationDetails")).toMatch(/\sok$/);
    expect(statusesOf(run, "aws-doc").filter((status) => status !== "ok" && status !== "untested")).toEqual(
      [],
    );
  }, 120_000);

  it("a denied kms:ListGrants is MISSING with the exact action and fix: exit 3", async () => {
    const run = await doctor("aws-denied", [{ ...source, endpoints: { kms: proxy.endpoint } }]);
    expect(run.code, run.stdout).toBe(3);
    expect(lineOf(run, "aws-doc", "kms:ListGrants")).toMatch(/MISSING .*AccessDeniedException/);
    expect(run.stdout).toContain(
      "fix: allow kms:ListGrants to this identity (docs/permissions/aws-iam-policy.json)",
    );
    expect(lineOf(run, "aws-doc", "kms:GetKeyPolicy")).toMatch(/\sok$/);
    expect(statusesOf(run, "aws-doc").filter((status) => status === "MISSING")).toHaveLength(1);
  }, 120_000);

  it("an unreachable endpoint is UNREACHABLE: exit 3", async () => {
    const run = await doctor("aws-down", [{ ...source, roleArn: undefined, endpoint: "http://127.0.0.1:9" }]);
    expect(run.code).toBe(3);
    expect(lineOf(run, "aws-doc", "sts:GetCallerIdentity")).toMatch(/UNREACHABLE .*ECONNREFUSED/);
  }, 60_000);
});

describe("doctor against OpenBao (HashiCorp Vault source)", () => {
  let server: OpenBaoServer;
  let mount: string;
  const policies: string[] = [];

  async function tokenWith(policyText: string): Promise<string> {
    const client = vaultClient(server);
    const name = uniqueVaultName("kpdoc");
    policies.push(name);
    await writePolicy(client, name, policyText);
    return createToken(client, { policies: [name], displayName: name, noDefaultPolicy: true });
  }

  beforeAll(async () => {
    server = await acquireOpenBao();
    mount = uniqueVaultName("kpdoctransit");
    const client = vaultClient(server);
    await enableTransit(client, mount);
    await createTransitKey(client, mount, "payments");
  }, 120_000);
  afterAll(async () => {
    const client = vaultClient(server);
    for (const name of policies) await client.delete(`sys/policies/acl/${name}`).catch(() => undefined);
    await client.delete(`sys/mounts/${mount}`).catch(() => undefined);
    delete process.env.VAULT_TOKEN;
    await server?.stop();
  });

  async function documentedPolicy(): Promise<string> {
    const text = await readFile(path.join(ROOT, "docs/permissions/vault-policy.hcl"), "utf8");
    return text.replaceAll('"transit/', `"${mount}/`);
  }

  it("a token with exactly the documented policy has every permission: exit 0", async () => {
    process.env.VAULT_TOKEN = await tokenWith(await documentedPolicy());
    const run = await doctor("vault-ok", [
      { id: "vault-doc", type: "hashicorp-vault", address: server.address, mounts: [mount] },
    ]);
    expect(run.code, run.stdout).toBe(0);
    expect(lineOf(run, "vault-doc", `list ${mount}/keys`)).toMatch(/\sok$/);
    expect(lineOf(run, "vault-doc", "read sys/audit")).toMatch(/\sok$/);
  }, 120_000);

  it("the documented policy without read on sys/policies/acl/*: MISSING with the policy line to add, exit 3", async () => {
    const policy = (await documentedPolicy()).replace(
      /path "sys\/policies\/acl\/\*" \{\s*capabilities = \["read"\]\s*\}/,
      "",
    );
    expect(policy).not.toContain('"sys/policies/acl/*"');
    process.env.VAULT_TOKEN = await tokenWith(policy);
    const run = await doctor("vault-missing", [
      { id: "vault-doc", type: "hashicorp-vault", address: server.address, mounts: [mount] },
    ]);
    expect(run.code, run.stdout).toBe(3);
    expect(lineOf(run, "vault-doc", "read sys/policies/acl/*")).toMatch(/MISSING .*permission denied/);
    expect(run.stdout).toContain('fix: add path "sys/policies/acl/*" { capabilities = ["read"] }');
    expect(lineOf(run, "vault-doc", "list sys/policies/acl")).toMatch(/\sok$/);
  }, 120_000);

  it("no token at all: MISSING token, exit 3", async () => {
    delete process.env.VAULT_TOKEN;
    const run = await doctor("vault-no-token", [
      { id: "vault-doc", type: "hashicorp-vault", address: server.address },
    ]);
    expect(run.code).toBe(3);
    expect(lineOf(run, "vault-doc", "token")).toMatch(/MISSING\s+no Vault token/);
    expect(run.stdout).toContain("fix: set VAULT_TOKEN or the source's tokenFile");
  }, 60_000);
});

describe("doctor against the Azure fakes (Azure Key Vault source)", () => {
  let azure: SeededAzureDemoEstate;

  beforeAll(async () => {
    azure = await seedAzureDemoEstate({
      suffix: uniqueName("doc"),
      caFile: path.join(directory, "azure-trust.pem"),
    });
  }, 120_000);
  afterAll(async () => {
    await azure?.fakes.stop();
  });

  it("every permission ok: exit 0", async () => {
    const run = await doctor("azure-ok", [azure.source]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(lineOf(run, azure.source.id, "Microsoft.KeyVault/vaults/keys/read")).toMatch(/\sok$/);
    expect(lineOf(run, azure.source.id, "Microsoft.Authorization/roleAssignments/read")).toMatch(/\sok$/);
    expect(lineOf(run, azure.source.id, "Microsoft.Insights/activityLogAlerts/read")).toMatch(/\sok$/);
    expect(lineOf(run, azure.source.id, "Microsoft.Insights/scheduledQueryRules/read")).toMatch(/\sok$/);
  }, 120_000);

  it("403 on log search alert rules: MISSING Microsoft.Insights/scheduledQueryRules/read on the subscription, exit 3", async () => {
    azure.fakes.arm.failRoute(
      /scheduledQueryRules$/i,
      azureError(403, "AuthorizationFailed", "The client does not have authorization to perform action"),
    );
    try {
      const run = await doctor("azure-alerts-denied", [azure.source]);
      expect(run.code, run.stdout).toBe(3);
      expect(lineOf(run, azure.source.id, "Microsoft.Insights/scheduledQueryRules/read")).toMatch(
        /MISSING .*AuthorizationFailed/,
      );
      expect(run.stdout).toContain("fix: assign Reader (or Monitoring Reader) on the subscription");
      expect(lineOf(run, azure.source.id, "Microsoft.Insights/activityLogAlerts/read")).toMatch(/\sok$/);
    } finally {
      azure.fakes.arm.clearFailures();
    }
  }, 120_000);

  it("403 on role assignments: MISSING Microsoft.Authorization/roleAssignments/read with the role to assign, exit 3", async () => {
    azure.fakes.arm.failRoute(
      /roleAssignments$/i,
      azureError(403, "AuthorizationFailed", "The client does not have authorization to perform action"),
    );
    try {
      const run = await doctor("azure-denied", [azure.source]);
      expect(run.code, run.stdout).toBe(3);
      expect(lineOf(run, azure.source.id, "Microsoft.Authorization/roleAssignments/read")).toMatch(
        /MISSING .*AuthorizationFailed/,
      );
      expect(run.stdout).toContain("fix: assign Reader on the vault");
      expect(lineOf(run, azure.source.id, "Microsoft.KeyVault/vaults/keys/read")).toMatch(/\sok$/);
    } finally {
      azure.fakes.arm.clearFailures();
    }
  }, 120_000);
});
