/**
 * Issue #3, done-when: one run over AWS KMS (moto), HashiCorp Vault (OpenBao) and Azure Key Vault (local Azure
 * fakes) seals one bundle that `verify` accepts; a fourth source that cannot be reached becomes a recorded gap
 * with its cause while the other sources' evidence is complete.
 */
import { randomUUID } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { seedAwsDemoEstate } from "../../scripts/demo/seed-aws-estate.ts";
import { seedAzureDemoEstate, type SeededAzureDemoEstate } from "../../scripts/demo/seed-azure-estate.ts";
import { seedVaultDemoEstate } from "../../scripts/demo/seed-vault-estate.ts";
import type { Finding } from "../../src/model/finding.ts";
import type { DiscoveryRecord } from "../../src/model/discovery.ts";
import type { RunSummary } from "../../src/jobs/run-summary.ts";
import { generateSigningKey } from "../../src/signing/keygen.ts";
import { parseRange } from "../../src/time/date-range.ts";
import { runCli as cli } from "../support/cli.ts";
import { acquireOpenBao, uniqueName, type OpenBaoServer } from "../support/openbao.ts";

const AWS_ENDPOINT = process.env.KEYPROOF_TEST_AWS_ENDPOINT ?? "http://127.0.0.1:5000";
const FROM = "2026-07-01";
const TO = "2026-07-07";

let directory: string;
let vault: OpenBaoServer;
let azure: SeededAzureDemoEstate;
let bundle: string;
let summary: RunSummary;
let findings: Finding[];
let runOutput = "";

beforeAll(async () => {
  process.env.AWS_ACCESS_KEY_ID ??= "test";
  process.env.AWS_SECRET_ACCESS_KEY ??= "test";
  directory = await mkdtemp(path.join(tmpdir(), "keyproof-three-"));
  const range = parseRange(FROM, TO);
  const suffix = `t3${randomUUID().slice(0, 6)}`;
  const account = `4${String(Math.floor(Math.random() * 1e11)).padStart(11, "0")}`;
  const aws = await seedAwsDemoEstate({
    endpoint: AWS_ENDPOINT,
    suffix,
    quarter: range,
    roleArn: `arn:aws:iam::${account}:role/keyproof-audit`,
  });
  vault = await acquireOpenBao();
  const vaultEstate = await seedVaultDemoEstate({
    address: vault.address,
    token: vault.token,
    auditLogFile: path.join(directory, "vault-audit.log"),
    namespace: uniqueName("t3"),
    auditDevice: uniqueName("t3audit"),
    range,
  });
  // The provider reads the token from the environment, never from the config file.
  process.env.VAULT_TOKEN = vault.token;
  azure = await seedAzureDemoEstate({ suffix, range, caFile: path.join(directory, "azure-trust.pem") });

  await generateSigningKey(path.join(directory, "signing.pem"));
  const config = {
    organization: "Acme Corp (three sources)",
    sources: [
      aws.source,
      vaultEstate.source,
      azure.source,
      { id: "vault-unreachable", type: "hashicorp-vault", address: "http://127.0.0.1:9" },
    ],
    keys: [...aws.inventory, ...vaultEstate.inventory, ...azure.inventory],
    signing: { localKeyFile: "./signing.pem" },
  };
  const configFile = path.join(directory, "keyproof.yaml");
  await writeFile(configFile, stringify(config));
  const run = await cli(
    "run",
    "--inline",
    "--no-render",
    "--config",
    configFile,
    "--from",
    FROM,
    "--to",
    TO,
    "--out",
    path.join(directory, "out"),
    "--run-id",
    "three",
  );
  runOutput = run.stdout + run.stderr;
  // vault-unreachable is a gap: the bundle is sealed, and the run says it is incomplete (exit 3).
  expect(run.code, runOutput).toBe(3);
  expect(run.stdout).toMatch(/vault-unreachable \/ http:\/\/127\.0\.0\.1:9: .*failed: ECONNREFUSED/);
  bundle = path.join(directory, "out", "three");
  summary = JSON.parse(await readFile(path.join(bundle, "summary.json"), "utf8")) as RunSummary;
  findings = JSON.parse(await readFile(path.join(bundle, "findings.json"), "utf8")) as Finding[];
}, 300_000);

afterAll(async () => {
  await azure?.fakes.stop();
  await vault?.stop();
  delete process.env.VAULT_TOKEN;
  await rm(directory, { recursive: true, force: true });
});

describe("one run over all three key managers", () => {
  it("collects every reachable source completely, side by side", () => {
    const keys = Object.fromEntries(summary.sources.map((source) => [source.id, source.keys]));
    expect(keys).toMatchObject({ "aws-demo": 14, "vault-demo": 7, "azure-demo": 6, "vault-unreachable": 0 });
    const types = new Set(
      findings.filter((finding) => finding.keyId !== undefined).map((finding) => finding.source),
    );
    expect([...types].sort()).toEqual(["aws-demo", "azure-demo", "vault-demo"]);
  });

  it("records in discovery.json each source's population as configured (no source here discovers)", async () => {
    const record = JSON.parse(await readFile(path.join(bundle, "discovery.json"), "utf8")) as DiscoveryRecord;
    expect(record).toMatchObject({ format: "keyproof-discovery/1", runId: "three" });
    expect(record.sources.map((source) => [source.source, source.method])).toEqual(
      summary.sources.map((source) => [source.id, "configured"]),
    );
    const aws = record.sources.find((source) => source.source === "aws-demo");
    expect(aws?.locations).toEqual(
      summary.sources
        .find((source) => source.id === "aws-demo")
        ?.locations.map((location) => location.location),
    );
  });

  it("judges the same generic checks on all three (rotation off fails on each)", () => {
    for (const source of ["aws-demo", "vault-demo", "azure-demo"]) {
      const rotation = findings.filter(
        (finding) => finding.checkId === "key-rotation-enabled" && finding.source === source,
      );
      expect(rotation.length, source).toBeGreaterThan(0);
      expect(
        rotation.some((finding) => finding.status === "fail"),
        source,
      ).toBe(true);
    }
  });

  it("records the unreachable source as a gap with its cause, and its checks answer error, not pass", async () => {
    const gaps = JSON.parse(await readFile(path.join(bundle, "gaps.json"), "utf8")) as Array<{
      source?: string;
      error?: { message: string };
    }>;
    const unreachable = gaps.filter((gap) => gap.source === "vault-unreachable");
    expect(unreachable.length).toBeGreaterThan(0);
    expect(unreachable[0]?.error?.message).toMatch(/ECONNREFUSED|connect|refused/i);
    // Whether a signed access review covers the source is read from the review store, not from the source:
    // "no review covers it" is as true of an unreachable source as of any other (access-review-current).
    const judged = findings.filter(
      (finding) => finding.source === "vault-unreachable" && finding.checkId !== "access-review-current",
    );
    expect(judged.length).toBeGreaterThan(0);
    expect(
      findings.find(
        (finding) => finding.source === "vault-unreachable" && finding.checkId === "access-review-current",
      )?.status,
    ).toBe("fail");
    expect(
      judged
        .filter((finding) => finding.status !== "error")
        .map((finding) => `${finding.checkId}: ${finding.status}: ${finding.message}`),
    ).toEqual([]);
  });

  it("seals one bundle that verify accepts", async () => {
    const result = await cli(
      "verify",
      `${bundle}.tar.gz`,
      "--json",
      "--config",
      path.join(directory, "keyproof.yaml"),
    );
    expect(result.code).toBe(0);
    const verified = JSON.parse(result.stdout) as { ok: boolean; files: { checked: number } };
    expect(verified.ok).toBe(true);
    const manifest = JSON.parse(await readFile(path.join(bundle, "manifest.json"), "utf8")) as {
      sources: Array<{ id: string; type: string }>;
    };
    expect(manifest.sources.map((source) => source.type).sort()).toEqual([
      "aws-kms",
      "azure-key-vault",
      "hashicorp-vault",
      "hashicorp-vault",
    ]);
  });
});
