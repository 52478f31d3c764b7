/**
 * The configuration history of Azure Key Vault and Vault (issue 13), from the same log sources as the usage
 * extract: a real OpenBao writing its own file audit log while an ACL policy is written and a transit key is
 * configured, rotated, created and deleted; and Key Vault AuditEvent rows served by the Log Analytics fake
 * (FAKE, test/fakes/log-analytics.fake.ts) through the real query client. Both are written by the extract
 * writer the run uses, and changes.ndjson and the change summary are read back.
 */
import { randomUUID } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { TokenCredential } from "@azure/core-auth";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AzureKeyVaultSourceSchema } from "../../src/config/sources/azure-key-vault.schema.ts";
import { HashicorpVaultSourceSchema } from "../../src/config/sources/hashicorp-vault.schema.ts";
import { BundleWriter } from "../../src/evidence/bundle-writer.ts";
import { changesExtractPath } from "../../src/evidence/paths.ts";
import { writeUsageAndChangeExtracts, type EventExtracts } from "../../src/evidence/usage-extract.writer.ts";
import type { SourceType } from "../../src/model/key.ts";
import type { DateRange } from "../../src/model/snapshot.ts";
import type { UsageEvent, UsageItem } from "../../src/model/usage.ts";
import { createAzureKeyVaultProvider } from "../../src/providers/azure-key-vault/azure-key-vault.provider.ts";
import { createHashicorpVaultProvider } from "../../src/providers/hashicorp-vault/hashicorp-vault.provider.ts";
import { parseRange } from "../../src/time/date-range.ts";
import {
  startAzureResourceManagerFake,
  type AzureResourceManagerFake,
} from "../fakes/azure-resource-manager.fake.ts";
import { startLogAnalyticsFake, type LogAnalyticsFake } from "../fakes/log-analytics.fake.ts";
import {
  acquireOpenBao,
  createNamespace,
  createTransitKey,
  deleteNamespace,
  enableFileAudit,
  enableTransit,
  rotateTransitKey,
  uniqueName,
  vaultClient,
  writePolicy,
  type FileAuditDevice,
  type OpenBaoServer,
} from "../support/openbao.ts";

let directory: string;

beforeAll(async () => {
  directory = await mkdtemp(path.join(os.tmpdir(), "keyproof-history-sources-"));
});

afterAll(async () => {
  if (directory !== undefined) await rm(directory, { recursive: true, force: true });
});

/** Runs the extract writer over a location's stream and reads changes.ndjson back. */
async function extractHistory(
  stream: AsyncIterable<UsageItem>,
  target: { source: string; sourceType: SourceType; location: string; method: string; range: DateRange },
): Promise<{ extracts: EventExtracts; changes: UsageEvent[] }> {
  const bundle = path.join(directory, uniqueName("historyrun"));
  const writer = await BundleWriter.open(bundle);
  const extracts = await writeUsageAndChangeExtracts(writer, stream, target);
  const text = await readFile(
    path.join(bundle, changesExtractPath(target.source, target.location, "ndjson")),
    "utf8",
  );
  const changes = text
    .split("\n")
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as UsageEvent);
  return { extracts, changes };
}

describe("Vault configuration history from the file audit device OpenBao wrote", () => {
  let server: OpenBaoServer;
  let namespace: string;
  let namespacePath: string;
  let audit: FileAuditDevice;
  let extracted: { extracts: EventExtracts; changes: UsageEvent[] };

  beforeAll(async () => {
    server = await acquireOpenBao();
    namespace = uniqueName("kphistory");
    namespacePath = await createNamespace(server, namespace);
    const admin = vaultClient(server, namespace);
    await enableTransit(admin, "transit");
    audit = await enableFileAudit(server, uniqueName("kphistoryaudit"), path.join(directory, "audit.log"));

    await createTransitKey(admin, "transit", "payments", { type: "aes256-gcm96" });
    await writePolicy(admin, "payments-app", 'path "transit/encrypt/payments" { capabilities = ["update"] }');
    await admin.write("transit/keys/payments/config", { auto_rotate_period: "720h" });
    await admin.write("transit/keys/payments/config", { deletion_allowed: true });
    await rotateTransitKey(admin, "transit", "payments");
    await admin.write("transit/encrypt/payments", { plaintext: Buffer.from("card").toString("base64") });
    await admin.read("transit/keys/payments");
    await admin.delete("transit/keys/payments");
    await admin.delete("sys/policies/acl/payments-app");

    const config = HashicorpVaultSourceSchema.parse({
      id: "vault-history",
      type: "hashicorp-vault",
      address: server.address,
      namespace: namespacePath,
      auditLogFile: audit.file,
    });
    const vault = createHashicorpVaultProvider(config, { env: { VAULT_TOKEN: server.token } });
    const location = vault.listLocations()[0] ?? "";
    const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);
    const range = parseRange(day(-1), day(1));
    const usage = vault.streamUsage(location, range);
    extracted = await extractHistory(usage.items, {
      source: "vault-history",
      sourceType: "hashicorp-vault",
      location,
      method: await usage.method,
      range,
    });
  }, 120_000);

  afterAll(async () => {
    await audit?.disable();
    if (namespace !== undefined) await deleteNamespace(server, namespace);
    await server?.stop();
  });

  it("writes every key and policy change to changes.ndjson, in order, and leaves usage and reads out", () => {
    expect(extracted.changes.map((event) => `${event.action} ${event.keyId ?? event.keyReference}`)).toEqual([
      "transit/create-key transit/payments",
      `sys/policy-write ${namespacePath}sys/policies/acl/payments-app`,
      "transit/configure-key transit/payments",
      "transit/configure-key transit/payments",
      "transit/rotate-key transit/payments",
      "transit/delete-key transit/payments",
      `sys/policy-delete ${namespacePath}sys/policies/acl/payments-app`,
    ]);
    // The usage extract still has the encrypt and the read; the history does not.
    expect(extracted.extracts.usage.byAction).toMatchObject({ "transit/encrypt": 1, "transit/read-key": 1 });
    expect(extracted.extracts.changes.changeCount).toBe(7);
  });

  it("keeps the request as logged: field names in clear, values HMACed by the audit device", () => {
    const [, policyWrite, rotationConfig] = extracted.changes;
    // The dev server's root token is named `token`.
    expect(policyWrite).toMatchObject({ principal: "token", outcome: "success", sourceAddress: "127.0.0.1" });
    expect(policyWrite?.requestParameters).toEqual({ policy: expect.stringMatching(/^hmac-sha256:/) });
    expect(rotationConfig?.requestParameters).toEqual({
      auto_rotate_period: expect.stringMatching(/^hmac-sha256:/),
    });
  });

  it("summarizes the auto_rotate_period write as a rotation change of unknown state, and the policy writes once for the namespace", () => {
    const { changes } = extracted.extracts;
    expect(changes.keys).toEqual([
      expect.objectContaining({
        key: "transit/payments",
        rotationDisabledCount: 0,
        rotationUnknownCount: 1,
        rotationToggles: [
          expect.objectContaining({ action: "transit/configure-key", rotationState: "unknown" }),
        ],
        accessChanges: [],
      }),
    ]);
    expect(changes.locationAccessChanges.map((change) => change.action)).toEqual([
      "sys/policy-write",
      "sys/policy-delete",
    ]);
  });
});

describe("Azure Key Vault configuration history from AuditEvent rows (Log Analytics FAKE)", () => {
  const credential: TokenCredential = {
    getToken: () => Promise.resolve({ token: "fake-token", expiresOnTimestamp: Date.now() + 3_600_000 }),
  };
  const subscriptionId = randomUUID();
  const workspaceId = randomUUID();
  const vaultUrl = `https://kp-history-${randomUUID().slice(0, 8)}.vault.azure.net`;
  const range = parseRange("2026-10-01", "2026-10-31");
  let arm: AzureResourceManagerFake;
  let logs: LogAnalyticsFake;
  let extracted: { extracts: EventExtracts; changes: UsageEvent[] };

  beforeAll(async () => {
    arm = await startAzureResourceManagerFake();
    logs = await startLogAnalyticsFake();
    const resourceId = arm.addVault({
      subscriptionId,
      resourceGroup: "rg-history",
      name: "kv-history",
      vaultUri: vaultUrl,
      enableRbacAuthorization: true,
    });
    logs.addWorkspace(workspaceId);
    const row = (
      id: string,
      time: string,
      operation: string,
      extra: Record<string, string | number> = {},
    ) => ({
      TimeGenerated: time,
      _ItemId: id,
      _ResourceId: resourceId.toUpperCase(),
      ResourceProvider: "MICROSOFT.KEYVAULT",
      Category: "AuditEvent",
      OperationName: operation,
      ResultSignature: "OK",
      httpStatusCode_d: 200,
      CallerIPAddress: "203.0.113.20",
      identity_claim_upn_s: "ops@example.com",
      ...extra,
    });
    logs.addRows(workspaceId, "AzureDiagnostics", [
      row("r-1", "2026-10-02T09:00:00.000Z", "KeyRotationPolicySet", {
        id_s: `${vaultUrl}/keys/payments/rotationpolicy`,
      }),
      row("r-2", "2026-10-03T09:00:00.000Z", "KeyRotate", { id_s: `${vaultUrl}/keys/payments/0a1b` }),
      row("r-3", "2026-10-04T09:00:00.000Z", "KeyDecrypt", { id_s: `${vaultUrl}/keys/payments/0a1b` }),
      row("r-4", "2026-10-05T09:00:00.000Z", "VaultPatch", {
        requestUri_s: `${resourceId}?api-version=2023-07-01`,
      }),
      row("r-5", "2026-10-06T09:00:00.000Z", "KeyDelete", {
        id_s: `${vaultUrl}/keys/legacy`,
        ResultSignature: "Forbidden",
        httpStatusCode_d: 403,
      }),
      row("r-6", "2026-10-07T09:00:00.000Z", "KeyBackup", { id_s: `${vaultUrl}/keys/payments` }),
    ]);
    const config = AzureKeyVaultSourceSchema.parse({
      id: "azure-history",
      type: "azure-key-vault",
      subscriptionId,
      vaults: [vaultUrl],
      logAnalyticsWorkspaceId: workspaceId,
      endpoints: { resourceManager: arm.url, logAnalytics: logs.url },
    });
    const azure = createAzureKeyVaultProvider(config, {
      credential,
      trustedCertificates: [arm.ca, logs.ca],
      maxRetries: 0,
      usageWindowHours: 24 * 31,
      clock: () => new Date("2026-11-01T00:00:00.000Z"),
    });
    const usage = azure.streamUsage(vaultUrl, range);
    extracted = await extractHistory(usage.items, {
      source: "azure-history",
      sourceType: "azure-key-vault",
      location: vaultUrl,
      method: await usage.method,
      range,
    });
  }, 120_000);

  afterAll(async () => {
    await Promise.all([arm?.close(), logs?.close()]);
  });

  it("writes the rotation-policy, rotate, vault access and delete events to changes.ndjson, not decrypt or backup", () => {
    expect(extracted.extracts.usage.gaps).toEqual([]);
    expect(extracted.changes.map((event) => `${event.eventId} ${event.action} ${event.outcome}`)).toEqual([
      "r-1 KeyRotationPolicySet success",
      "r-2 KeyRotate success",
      "r-4 VaultPatch success",
      "r-5 KeyDelete failure",
    ]);
    expect(extracted.changes[0]).toMatchObject({
      keyId: `${vaultUrl}/keys/payments`,
      principal: "ops@example.com",
      sourceAddress: "203.0.113.20",
    });
    expect(extracted.extracts.usage.byAction).toMatchObject({ KeyDecrypt: 1, KeyBackup: 1 });
  });

  it("summarizes the rotation-policy change as unknown state (the log does not carry the policy) and the vault patch on the vault", () => {
    const { changes } = extracted.extracts;
    expect(changes.byAction).toEqual({ KeyDelete: 1, KeyRotate: 1, KeyRotationPolicySet: 1, VaultPatch: 1 });
    expect(changes.keys).toEqual([
      expect.objectContaining({
        key: `${vaultUrl}/keys/payments`,
        rotationDisabledCount: 0,
        rotationUnknownCount: 1,
        accessChanges: [],
      }),
    ]);
    expect(changes.locationAccessChanges).toEqual([
      expect.objectContaining({ action: "VaultPatch", principal: "ops@example.com", eventId: "r-4" }),
    ]);
  });
});
