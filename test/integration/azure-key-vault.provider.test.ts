/**
 * The Azure Key Vault provider end to end: keys created through the real KeyClient on the data plane
 * (Lowkey Vault when available, else the data-plane FAKE; see test/support/lowkey.ts), vault properties,
 * role assignments and diagnostic settings from the ARM FAKE, audit rows from the Log Analytics FAKE, all
 * read through the real Azure SDK clients. Only the credential is a test double (a static token).
 */
import { randomUUID } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Agent } from "node:https";
import { rootCertificates } from "node:tls";
import type { TokenCredential } from "@azure/core-auth";
import { KeyClient } from "@azure/keyvault-keys";
import type { KeyRotationPolicyAction } from "@azure/keyvault-keys";
import type { KeyRecord } from "../../src/model/key.ts";
import type { LocationSnapshot, MonitoringDestination } from "../../src/model/snapshot.ts";
import type { UsageEvent, UsageGap } from "../../src/model/usage.ts";
import { AzureKeyVaultSourceSchema } from "../../src/config/sources/azure-key-vault.schema.ts";
import type { AzureKeyVaultSourceConfig } from "../../src/config/sources/azure-key-vault.schema.ts";
import { createAzureKeyVaultProvider } from "../../src/providers/azure-key-vault/azure-key-vault.provider.ts";
import { collectLocation } from "../../src/providers/collect-location.ts";
import type { KeyRef } from "../../src/providers/key-provider.ts";
import { parseRange } from "../../src/time/date-range.ts";
import { startKeyVaultDataPlane } from "../support/lowkey.ts";
import type { KeyVaultDataPlane } from "../support/lowkey.ts";
import { startAzureResourceManagerFake } from "../fakes/azure-resource-manager.fake.ts";
import type {
  AzureResourceManagerFake,
  FakeDiagnosticSettingSeed,
  FakeVaultSeed,
} from "../fakes/azure-resource-manager.fake.ts";
import { startLogAnalyticsFake } from "../fakes/log-analytics.fake.ts";
import { makeSnapshot, makeSource } from "../factories/index.ts";
import { AZURE_DEMO_SUBSCRIPTION, seedAzureDemoEstate } from "../../scripts/demo/seed-azure-estate.ts";
import { check as purgeProtection } from "../../src/checks/azure-vault-purge-protection/azure-vault-purge-protection.check.ts";
import { check as accessTooBroad } from "../../src/checks/azure-access-too-broad/azure-access-too-broad.check.ts";
import { check as diagnosticsMonitored } from "../../src/checks/azure-diagnostics-monitored/azure-diagnostics-monitored.check.ts";
import { check as keyDeletionAlerted } from "../../src/checks/azure-key-deletion-alerted/azure-key-deletion-alerted.check.ts";
import {
  ACTIVITY_LOG_ALERTS_API_VERSION,
  SCHEDULED_QUERY_RULES_API_VERSION,
} from "../../src/providers/azure-key-vault/azure-clients.ts";
import { check as keySpecApproved } from "../../src/checks/key-spec-approved/key-spec-approved.check.ts";
import type { LogAnalyticsFake } from "../fakes/log-analytics.fake.ts";

const credential: TokenCredential = {
  getToken: async () => ({ token: "static-test-token", expiresOnTimestamp: Date.now() + 3_600_000 }),
};

const ROLE = {
  cryptoOfficer: "14b46e9e-c2b7-41b4-b07b-48a6ebf60603",
  serviceEncryptionUser: "e147488a-f6f5-4113-8e2d-b22465e65bf6",
  reader: "21090545-7ca7-4776-b22c-e363652d74d2",
  owner: "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
};

const suffix = randomUUID().slice(0, 8);
const subscriptionId = randomUUID();
const workspaceId = randomUUID();
const humanUser = randomUUID();
const paymentsApp = randomUUID();
const analystsGroup = randomUUID();
const legacyAdmin = randomUUID();
const legacyService = randomUUID();
const decryptOnlyRole = randomUUID();
const names = {
  payments: `payments-${suffix}`,
  signing: `signing-${suffix}`,
  wrapping: `wrapping-${suffix}`,
  legacy: `legacy-${suffix}`,
  archive: `archive-${suffix}`,
};

let dataPlane: KeyVaultDataPlane;
let arm: AzureResourceManagerFake;
let logs: LogAnalyticsFake;
let rbacVault: string;
let policyVault: string;
let rbacVaultId: string;
let policyVaultId: string;
let policyVaultSeed: FakeVaultSeed;
let closedPort: number;
let rbacDiagnostics: FakeDiagnosticSettingSeed[];

function sourceConfig(
  vaults: string[],
  overrides: Partial<AzureKeyVaultSourceConfig> = {},
): AzureKeyVaultSourceConfig {
  return AzureKeyVaultSourceSchema.parse({
    id: "azure-test",
    type: "azure-key-vault",
    subscriptionId,
    vaults,
    logAnalyticsWorkspaceId: workspaceId,
    endpoints: { resourceManager: arm.url, logAnalytics: logs.url },
    ...overrides,
  });
}

function provider(vaults: string[], overrides: Partial<AzureKeyVaultSourceConfig> = {}) {
  return createAzureKeyVaultProvider(sourceConfig(vaults, overrides), {
    credential,
    trustedCertificates: [dataPlane.ca, arm.ca],
    maxRetries: 0,
    usagePageSize: 2,
    usageWindowHours: 24 * 7,
    clock: () => new Date("2026-11-01T00:00:00.000Z"),
  });
}

/** The azure-diagnostics-monitored verdict on one collected vault, with these declared destinations. */
function judgeMonitoring(location: LocationSnapshot, destinations: MonitoringDestination[] = []) {
  return diagnosticsMonitored.run(
    makeSnapshot({
      sources: [makeSource({ source: "azure-test", type: "azure-key-vault", locations: [location] })],
      policy: { monitoring: { destinations } },
    }),
  );
}

/** The azure-key-deletion-alerted verdict on one collected vault, with these declared destinations. */
function judgeDeletionAlerting(location: LocationSnapshot, destinations: MonitoringDestination[] = []) {
  return keyDeletionAlerted.run(
    makeSnapshot({
      sources: [makeSource({ source: "azure-test", type: "azure-key-vault", locations: [location] })],
      policy: { monitoring: { destinations } },
    }),
  );
}

function keyNamed(snapshot: LocationSnapshot, name: string): KeyRecord {
  const key = snapshot.keys.find((candidate) => candidate.aliases.includes(name));
  if (key === undefined)
    throw new Error(`key ${name} not collected; got ${snapshot.keys.map((k) => k.aliases[0]).join(", ")}`);
  return key;
}

beforeAll(async () => {
  dataPlane = await startKeyVaultDataPlane();
  arm = await startAzureResourceManagerFake();
  logs = await startLogAnalyticsFake();
  [rbacVault, policyVault] = dataPlane.vaultUrls;
  // Port 1 (tcpmux) is privileged and never served here: connecting is refused at once, and no other test's
  // server can take it between this line and the request, as a "free" port could be.
  closedPort = 1;
  if (dataPlane.fake !== undefined)
    dataPlane.fake.configureVault(policyVault, { unsetRotationPolicy: "empty-body" });

  const agent = new Agent({ ca: [...rootCertificates, dataPlane.ca] });
  const clientOptions = { agent, serviceVersion: "7.6", disableChallengeResourceVerification: true };
  const rbac = new KeyClient(rbacVault, credential, clientOptions);
  const legacy = new KeyClient(policyVault, credential, clientOptions);
  await rbac.createRsaKey(names.payments, { keySize: 2048, tags: { owner: "payments-team" } });
  await rbac.updateKeyRotationPolicy(names.payments, {
    expiresIn: "P2Y",
    lifetimeActions: [{ action: "Rotate", timeAfterCreate: "P90D" }],
  });
  await rbac.rotateKey(names.payments);
  await rbac.createEcKey(names.signing, { curve: "P-256" });
  await rbac.createOctKey(names.wrapping, { hsm: true, keySize: 256 });
  // RSA 1024 is refused by Key Vault (and by the emulators), so the unapproved key is a secp256k1 one.
  await legacy.createEcKey(names.legacy, { curve: "P-256K", enabled: false });
  // Lowkey requires an expiry on the key before a time-before-expiry trigger is accepted.
  await legacy.createRsaKey(names.archive, {
    keySize: 3072,
    hsm: true,
    expiresOn: new Date(Date.now() + 400 * 86_400_000),
  });
  await legacy.updateKeyRotationPolicy(names.archive, {
    expiresIn: "P400D",
    // ARM and Bicep write the action in lower case (the SDK's type only knows "Rotate"); Lowkey may insist on
    // the data-plane casing, so lower case is sent to the fake only.
    lifetimeActions: [
      {
        action: (dataPlane.fake === undefined ? "Rotate" : "rotate") as KeyRotationPolicyAction,
        timeBeforeExpiry: "P30D",
      },
    ],
  });

  rbacVaultId = arm.addVault({
    subscriptionId,
    resourceGroup: "rg-payments",
    name: "kv-payments",
    vaultUri: rbacVault,
    enableRbacAuthorization: true,
    enablePurgeProtection: true,
    // Stale: ignored by the data plane in RBAC mode, so it must not become a grant.
    accessPolicies: [{ objectId: legacyAdmin, keys: ["all"] }],
  });
  policyVaultSeed = {
    subscriptionId,
    resourceGroup: "rg-legacy",
    name: "kv-legacy",
    vaultUri: policyVault,
    accessPolicies: [
      { objectId: legacyAdmin, keys: ["all"] },
      { objectId: legacyService, keys: ["Get", "WrapKey", "UnwrapKey"] },
    ],
  };
  policyVaultId = arm.addVault(policyVaultSeed);
  arm.addVault({
    subscriptionId,
    resourceGroup: "rg-payments",
    name: "kv-unreachable",
    vaultUri: `https://127.0.0.1:${closedPort}`,
    enableRbacAuthorization: true,
  });
  arm.addRoleAssignment({
    scope: rbacVaultId,
    principalId: humanUser,
    principalType: "User",
    roleDefinitionGuid: ROLE.cryptoOfficer,
  });
  arm.addRoleAssignment({
    scope: `${rbacVaultId}/keys/${names.payments}`,
    principalId: paymentsApp,
    principalType: "ServicePrincipal",
    roleDefinitionGuid: ROLE.serviceEncryptionUser,
  });
  arm.addRoleAssignment({
    scope: `/subscriptions/${subscriptionId}/resourceGroups/rg-payments`,
    principalId: analystsGroup,
    principalType: "Group",
    roleDefinitionGuid: ROLE.reader,
  });
  arm.addRoleAssignment({
    scope: `/subscriptions/${subscriptionId}`,
    principalId: humanUser,
    principalType: "User",
    roleDefinitionGuid: ROLE.owner,
  });
  arm.addRoleDefinition({
    guid: decryptOnlyRole,
    roleName: "Payments Decrypt Only",
    dataActions: ["Microsoft.KeyVault/vaults/keys/decrypt/action"],
  });
  arm.addRoleAssignment({
    scope: rbacVaultId,
    principalId: paymentsApp,
    principalType: "ServicePrincipal",
    roleDefinitionGuid: decryptOnlyRole,
  });
  // Another subscription's assignment must never leak in.
  arm.addRoleAssignment({
    scope: `/subscriptions/${randomUUID()}`,
    principalId: randomUUID(),
    principalType: "User",
    roleDefinitionGuid: ROLE.cryptoOfficer,
  });
  // Tells us the legacy admin is a person (access policies do not say).
  arm.addRoleAssignment({
    scope: policyVaultId,
    principalId: legacyAdmin,
    principalType: "User",
    roleDefinitionGuid: ROLE.reader,
  });

  const workspaceArmId = `/subscriptions/${subscriptionId}/resourceGroups/rg-sec/providers/Microsoft.OperationalInsights/workspaces/law-sec`;
  const storageArmId = `/subscriptions/${subscriptionId}/resourceGroups/rg-sec/providers/Microsoft.Storage/storageAccounts/kvlogs`;
  const eventHubRuleArmId = `/subscriptions/${subscriptionId}/resourceGroups/rg-sec/providers/Microsoft.EventHub/namespaces/ehns-sec/authorizationRules/RootManageSharedAccessKey`;
  rbacDiagnostics = [
    { name: "kv-to-law", workspaceId: workspaceArmId, logs: [{ category: "AuditEvent", enabled: true }] },
    {
      name: "all-to-storage",
      storageAccountId: storageArmId,
      logs: [{ categoryGroup: "allLogs", enabled: true, retentionDays: 30 }],
    },
    {
      name: "audit-to-hub",
      eventHubAuthorizationRuleId: eventHubRuleArmId,
      eventHubName: "kv-audit",
      logs: [{ categoryGroup: "audit", enabled: true }],
    },
  ];
  arm.setDiagnosticSettings(rbacVaultId, rbacDiagnostics);
  arm.setDiagnosticSettings(policyVaultId, [
    {
      name: "policy-only",
      workspaceId: workspaceArmId,
      logs: [
        { category: "AzurePolicyEvaluationDetails", enabled: true },
        { categoryGroup: "allLogs", enabled: false },
      ],
    },
  ]);

  // Alert rules, more than one page of each (page size 2). Only the RBAC vault sends AuditEvent to law-sec, so
  // only it is covered by the workspace-scoped rule; the subscription-wide activity-log alert concerns both.
  const actionGroup = `/subscriptions/${subscriptionId}/resourceGroups/rg-sec/providers/microsoft.insights/actionGroups/kv-custodians`;
  const rules = { subscriptionId, resourceGroup: "rg-sec" };
  arm.addScheduledQueryRule({
    ...rules,
    name: "kv-key-deleted",
    scopes: [workspaceArmId],
    query:
      'AzureDiagnostics | where ResourceProvider == "MICROSOFT.KEYVAULT" and OperationName in ("KeyDelete", "KeyPurge")',
    actionGroups: [actionGroup],
  });
  arm.addScheduledQueryRule({
    ...rules,
    name: "law-cpu",
    scopes: [workspaceArmId],
    query: "Perf | where CounterName == '% Processor Time' and CounterValue > 90",
    actionGroups: [actionGroup],
  });
  arm.addScheduledQueryRule({
    ...rules,
    name: "other-workspace-key-deleted",
    scopes: [workspaceArmId.replace("law-sec", "law-other")],
    query: 'AZKVAuditLogs | where OperationName == "KeyDelete"',
    actionGroups: [actionGroup],
  });
  arm.addActivityLogAlert({
    ...rules,
    name: "kv-vault-deleted",
    scopes: [`/subscriptions/${subscriptionId}`],
    condition: [
      { field: "category", equals: "Administrative" },
      { field: "operationName", equals: "Microsoft.KeyVault/vaults/delete" },
    ],
    actionGroups: [actionGroup],
  });
  arm.addActivityLogAlert({
    ...rules,
    name: "vm-deleted",
    scopes: [`/subscriptions/${subscriptionId}`],
    condition: [{ field: "operationName", equals: "Microsoft.Compute/virtualMachines/delete" }],
  });
  arm.addActivityLogAlert({
    ...rules,
    name: "legacy-vault-write",
    scopes: [policyVaultId],
    condition: [{ field: "operationName", containsAny: ["Microsoft.KeyVault/vaults/write"] }],
    enabled: false,
  });
  // Another subscription's rule must never leak in.
  arm.addScheduledQueryRule({
    subscriptionId: randomUUID(),
    resourceGroup: "rg-sec",
    name: "elsewhere",
    scopes: [workspaceArmId],
    query: 'AzureDiagnostics | where OperationName == "KeyDelete"',
    actionGroups: [actionGroup],
  });

  const upper = rbacVaultId.toUpperCase();
  logs.addRows(workspaceId, "AzureDiagnostics", [
    {
      TimeGenerated: "2026-10-03T10:00:00.000Z",
      _ItemId: "row-1",
      _ResourceId: upper,
      ResourceProvider: "MICROSOFT.KEYVAULT",
      Category: "AuditEvent",
      OperationName: "KeyDecrypt",
      ResultSignature: "OK",
      httpStatusCode_d: 200,
      CallerIPAddress: "10.0.0.4",
      identity_claim_upn_s: "jane@example.com",
      identity_claim_oid_g: humanUser,
      id_s: `${rbacVault}/keys/${names.payments}/0123`,
      clientInfo_s: "azsdk-js-keyvault-keys/4.10.2",
    },
    {
      TimeGenerated: "2026-10-03T10:00:00.000Z",
      _ItemId: "row-2",
      _ResourceId: upper,
      ResourceProvider: "MICROSOFT.KEYVAULT",
      Category: "AuditEvent",
      OperationName: "KeyGet",
      ResultSignature: "Forbidden",
      httpStatusCode_d: 403,
      CallerIPAddress: "10.0.0.9",
      identity_claim_appid_g: paymentsApp,
      id_s: `${rbacVault}/keys/${names.signing}`,
    },
    {
      TimeGenerated: "2026-10-20T08:30:00.000Z",
      _ItemId: "row-3",
      _ResourceId: upper,
      ResourceProvider: "MICROSOFT.KEYVAULT",
      Category: "AuditEvent",
      OperationName: "KeyList",
      ResultSignature: "OK",
      httpStatusCode_d: 200,
      identity_claim_oid_g: paymentsApp,
      requestUri_s: `${rbacVault}/keys?api-version=7.6`,
    },
    {
      TimeGenerated: "2026-10-25T00:00:00.000Z",
      _ItemId: "row-4",
      _ResourceId: upper,
      ResourceProvider: "MICROSOFT.KEYVAULT",
      Category: "AuditEvent",
      OperationName: "SecretGet",
      ResultSignature: "OK",
      httpStatusCode_d: 200,
    },
    {
      TimeGenerated: "2026-11-02T00:00:00.000Z",
      _ItemId: "row-5",
      _ResourceId: upper,
      ResourceProvider: "MICROSOFT.KEYVAULT",
      Category: "AuditEvent",
      OperationName: "KeyDecrypt",
      ResultSignature: "OK",
      httpStatusCode_d: 200,
    },
    {
      TimeGenerated: "2026-10-04T00:00:00.000Z",
      _ItemId: "row-6",
      _ResourceId: policyVaultId.toUpperCase(),
      ResourceProvider: "MICROSOFT.KEYVAULT",
      Category: "AuditEvent",
      OperationName: "KeyDecrypt",
      ResultSignature: "OK",
      httpStatusCode_d: 200,
    },
  ]);
  logs.addRows(workspaceId, "AZKVAuditLogs", [
    {
      TimeGenerated: "2026-10-05T12:00:00.000Z",
      _ItemId: "dedicated-1",
      _ResourceId: upper,
      OperationName: "KeyUnwrap",
      ResultSignature: "OK",
      HttpStatusCode: 200,
      CallerIpAddress: "10.1.0.7",
      Identity: { claim: { oid: paymentsApp, appid: paymentsApp } },
      Id: `${rbacVault}/keys/${names.payments}/0123`,
    },
  ]);
}, 120_000);

afterAll(async () => {
  await Promise.all([dataPlane?.stop(), arm?.close(), logs?.close()]);
});

describe("Azure Key Vault provider", () => {
  it("collects every key of an RBAC vault with spec, rotation, access and the vault's logging", async () => {
    const snapshot = await collectLocation(provider([rbacVault]), rbacVault);
    expect(snapshot.gaps).toEqual([]);
    expect(snapshot.location).toBe(rbacVault);
    const ours = snapshot.keys.filter((key) => key.aliases[0]?.endsWith(suffix));
    expect(ours.map((key) => key.aliases[0]).sort()).toEqual(
      [names.payments, names.signing, names.wrapping].sort(),
    );

    const payments = keyNamed(snapshot, names.payments);
    expect(payments).toMatchObject({
      source: "azure-test",
      sourceType: "azure-key-vault",
      keyId: `${rbacVault}/keys/${names.payments}`,
      keySpec: "RSA_2048",
      rawKeyType: "RSA",
      hsmBacked: false,
      state: "enabled",
      manager: "customer",
      tags: { owner: "payments-team" },
      errors: [],
    });
    expect(payments.arn).toBe(`${rbacVault}/keys/${names.payments}`);
    expect(payments.createdAt).toMatch(/^\d{4}-\d{2}-\d{2}T/);
    if (!payments.rotation.ok) throw new Error(JSON.stringify(payments.rotation.error));
    expect(payments.rotation.value).toMatchObject({ enabled: true, periodDays: 90 });
    expect(payments.rotation.value.history).toHaveLength(1);
    expect(payments.rotation.value.detail).toMatchObject({
      policy: "set",
      expiryTime: "P2Y",
      expiryDays: 730,
      versionCount: 2,
    });

    const signing = keyNamed(snapshot, names.signing);
    expect(signing).toMatchObject({ keySpec: "EC_P256", hsmBacked: false });
    if (!signing.rotation.ok) throw new Error("rotation not collected");
    expect(signing.rotation.value.enabled).toBe(false);
    expect(signing.rotation.value.periodDays).toBeUndefined();

    const wrapping = keyNamed(snapshot, names.wrapping);
    expect(wrapping).toMatchObject({ rawKeyType: "oct-HSM", hsmBacked: true });
    // Key Vault never returns the size of an oct key (the material stays in the HSM).
    expect(wrapping.keySpec).toMatch(/^OCT_/);

    if (!payments.access.ok) throw new Error(JSON.stringify(payments.access.error));
    const grants = payments.access.value.grants;
    expect(grants.every((grant) => grant.via === "rbac-role")).toBe(true);
    const officer = grants.find((grant) => grant.principal === humanUser);
    expect(officer).toMatchObject({ principalKind: "human-user", effect: "allow" });
    expect(officer?.reference).toMatch(/^Key Vault Crypto Officer \(\/subscriptions\/.*roleAssignments\//);
    expect(officer?.actions).toContain("Microsoft.KeyVault/vaults/keys/decrypt/action");
    expect(officer?.actions).toContain("Microsoft.KeyVault/vaults/keys/purge/action");
    const appGrants = grants.filter((grant) => grant.principal === paymentsApp);
    expect(appGrants.map((grant) => grant.reference.split(" (")[0]).sort()).toEqual([
      "Key Vault Crypto Service Encryption User",
      "Payments Decrypt Only",
    ]);
    expect(appGrants.every((grant) => grant.principalKind === "service-principal")).toBe(true);
    expect(grants.find((grant) => grant.principal === analystsGroup)).toMatchObject({
      principalKind: "group",
    });
    // The stale access policy and the subscription Owner (no key data actions) grant nothing on the key.
    expect(grants.some((grant) => grant.principal === legacyAdmin)).toBe(false);
    expect(grants.filter((grant) => grant.principal === humanUser)).toHaveLength(1);
    // The key-scoped assignment reaches only its key.
    if (!signing.access.ok) throw new Error("access not collected");
    expect(
      signing.access.value.grants.some((grant) =>
        grant.reference.startsWith("Key Vault Crypto Service Encryption User"),
      ),
    ).toBe(false);

    expect(payments.raw["arm:vaultProperties"]).toMatchObject({
      ok: true,
      value: {
        name: "kv-payments",
        resourceGroup: "rg-payments",
        rbacAuthorization: true,
        purgeProtectionEnabled: true,
        softDeleteEnabled: true,
      },
    });
    // The typed fact the purge-protection check judges, on every key of the vault.
    expect(payments.vaultProtection).toMatchObject({
      ok: true,
      call: "arm:Vaults.get",
      value: { vault: "kv-payments", softDelete: true, softDeleteRetentionDays: 90, purgeProtection: true },
    });

    expect(snapshot.logging.errors).toEqual([]);
    const sinks = Object.fromEntries(snapshot.logging.sinks.map((sink) => [sink.name, sink]));
    expect(sinks["kv-to-law"]).toMatchObject({
      kind: "azure-diagnostic-setting",
      active: true,
      coversKeyEvents: true,
      retention: { kind: "unknown" },
    });
    expect(sinks["kv-to-law"]?.destination).toContain("Microsoft.OperationalInsights/workspaces/law-sec");
    // `allLogs` is a category group the 2017 api-version cannot express: it must still count.
    expect(sinks["all-to-storage"]).toMatchObject({
      coversKeyEvents: true,
      coverageReason: "enabled: category group allLogs",
    });
    // The typed destinations the monitoring check judges: only what the setting sets (ARM sends null otherwise).
    expect(sinks["kv-to-law"]?.diagnosticDestinations).toEqual({
      workspaceId: expect.stringMatching(/\/Microsoft\.OperationalInsights\/workspaces\/law-sec$/),
    });
    expect(sinks["all-to-storage"]?.diagnosticDestinations).toEqual({
      storageAccountId: expect.stringMatching(/\/Microsoft\.Storage\/storageAccounts\/kvlogs$/),
    });
    expect(sinks["audit-to-hub"]).toMatchObject({
      coversKeyEvents: true,
      coverageReason: "enabled: category group audit",
      diagnosticDestinations: {
        eventHubAuthorizationRuleId: expect.stringMatching(/\/namespaces\/ehns-sec\/authorizationRules\//),
        eventHubName: "kv-audit",
      },
    });
    expect(judgeMonitoring(snapshot)).toEqual([
      expect.objectContaining({
        status: "pass",
        message:
          "AuditEvent is sent to monitoring: setting kv-to-law → Log Analytics workspace law-sec, setting audit-to-hub → Event Hub ehns-sec/kv-audit",
      }),
    ]);
  });

  it("judges AuditEvent archived to storage only as a warn, and a declared SIEM reading it as a declared pass", async () => {
    const storageOnly = rbacDiagnostics.filter((setting) => setting.name === "all-to-storage");
    arm.setDiagnosticSettings(rbacVaultId, storageOnly);
    try {
      const snapshot = await collectLocation(provider([rbacVault]), rbacVault);
      expect(snapshot.logging.sinks.map((sink) => sink.name)).toEqual(["all-to-storage"]);
      expect(judgeMonitoring(snapshot)).toEqual([
        expect.objectContaining({
          status: "warn",
          message: expect.stringContaining(
            "AuditEvent reaches an archive only, not a monitoring system (setting all-to-storage → storage account kvlogs)",
          ),
        }),
      ]);
      expect(judgeMonitoring(snapshot, [{ source: "azure-test", name: "Splunk", kind: "siem" }])).toEqual([
        expect.objectContaining({
          status: "pass",
          message: expect.stringContaining("monitored by declared siem Splunk"),
        }),
      ]);
    } finally {
      arm.setDiagnosticSettings(rbacVaultId, rbacDiagnostics);
    }
  });

  describe("alert rules on key deletion (activity-log alerts and log search alerts, listed per subscription)", () => {
    it("keeps the rules concerning each vault across every page, at the documented api-versions, and judges them", async () => {
      const before = arm.server.requests.length;
      const azure = provider([rbacVault, policyVault]);
      const [rbac, legacy] = await Promise.all([
        collectLocation(azure, rbacVault),
        collectLocation(azure, policyVault),
      ]);
      const lists = arm.server.requests
        .slice(before)
        .map((request) => new URL(request.url, arm.url))
        .filter((url) => /\/(activityLogAlerts|scheduledQueryRules)$/i.test(url.pathname));
      // One listing per kind for both vaults, every nextLink page followed (3 and 4 rules, pages of 2).
      expect(
        lists.map((url) => [
          url.pathname.split("/").at(-1),
          url.searchParams.get("api-version"),
          url.searchParams.get("$skipToken"),
        ]),
      ).toEqual(
        expect.arrayContaining([
          ["activityLogAlerts", ACTIVITY_LOG_ALERTS_API_VERSION, null],
          ["activityLogAlerts", ACTIVITY_LOG_ALERTS_API_VERSION, "2"],
          ["scheduledQueryRules", SCHEDULED_QUERY_RULES_API_VERSION, null],
          ["scheduledQueryRules", SCHEDULED_QUERY_RULES_API_VERSION, "2"],
        ]),
      );
      expect(lists).toHaveLength(4);

      expect(rbac.logging.errors).toEqual([]);
      expect(rbac.logging.keyEventAlerting?.errors).toEqual([]);
      const alerts = rbac.logging.keyEventAlerting?.alerts ?? [];
      expect(alerts.map((alert) => [alert.kind, alert.name, alert.enabled, alert.actions])).toEqual([
        ["azure-activity-log-alert", "kv-vault-deleted", true, ["Microsoft.KeyVault/vaults/delete"]],
        ["azure-scheduled-query-rule", "kv-key-deleted", true, ["KeyDelete", "KeyPurge"]],
      ]);
      expect(alerts[1]?.notifies).toEqual([expect.stringMatching(/\/actionGroups\/kv-custodians$/)]);
      expect(alerts[1]?.detail).toMatchObject({
        kind: "LogAlert",
        scopes: [expect.stringContaining("law-sec")],
      });
      expect(judgeDeletionAlerting(rbac)).toEqual([
        expect.objectContaining({
          status: "pass",
          message:
            "key deletion is alerted: log search alert kv-key-deleted fires on KeyDelete, KeyPurge and notifies action group kv-custodians",
        }),
      ]);

      // The legacy vault sends no AuditEvent to law-sec: the workspace rule is not its; a disabled rule on
      // vault writes and the vault-deletion alert are, and neither fires on a key deletion.
      expect(
        legacy.logging.keyEventAlerting?.alerts.map((alert) => [
          alert.name,
          alert.enabled,
          alert.notifies.length,
        ]),
      ).toEqual([
        ["kv-vault-deleted", true, 1],
        ["legacy-vault-write", false, 0],
      ]);
      expect(judgeDeletionAlerting(legacy)).toEqual([
        expect.objectContaining({
          status: "fail",
          message: expect.stringContaining(
            "activity-log alert kv-vault-deleted fires when the vault is deleted, not a key",
          ),
        }),
      ]);
      expect(
        judgeDeletionAlerting(legacy, [
          { source: "azure-test", name: "Sentinel key deletion", kind: "alert" },
        ])[0],
      ).toMatchObject({
        status: "pass",
        message: expect.stringContaining("declared alert Sentinel key deletion"),
      });
    });

    it("records a denied rule listing on the alerting and the logging errors, and the check answers error", async () => {
      arm.failRoute(/scheduledQueryRules$/i, {
        status: 403,
        body: {
          error: {
            code: "AuthorizationFailed",
            message:
              "The client does not have authorization to perform action 'Microsoft.Insights/scheduledQueryRules/read'",
          },
        },
      });
      try {
        const snapshot = await collectLocation(provider([rbacVault]), rbacVault);
        const denied = {
          call: "arm:ScheduledQueryRules.listBySubscription",
          code: "AuthorizationFailed",
          message:
            "The client does not have authorization to perform action 'Microsoft.Insights/scheduledQueryRules/read'",
          retryable: false,
        };
        expect(snapshot.logging.keyEventAlerting?.errors).toEqual([denied]);
        expect(snapshot.logging.errors).toEqual([denied]);
        // The activity-log list answered: its rule is still reported.
        expect(snapshot.logging.keyEventAlerting?.alerts.map((alert) => alert.name)).toEqual([
          "kv-vault-deleted",
        ]);
        expect(judgeDeletionAlerting(snapshot)).toEqual([
          expect.objectContaining({
            status: "error",
            message: expect.stringContaining(
              "arm:ScheduledQueryRules.listBySubscription failed (AuthorizationFailed): The client does not have authorization",
            ),
          }),
        ]);
        // The diagnostic settings were read: their check is not thrown off by the alert listing.
        expect(judgeMonitoring(snapshot)[0]?.status).toBe("pass");
      } finally {
        arm.clearFailures();
      }
    });
  });

  it("collects an access-policy vault: policies become grants, purge protection off, no audit category", async () => {
    const snapshot = await collectLocation(provider([policyVault]), policyVault);
    expect(snapshot.gaps).toEqual([]);
    const legacy = keyNamed(snapshot, names.legacy);
    expect(legacy).toMatchObject({ keySpec: "EC_P256K", state: "disabled", hsmBacked: false });
    // Lowkey (and the fake in Lowkey mode) answers an empty body for a key without policy: that is "no policy".
    if (!legacy.rotation.ok) throw new Error(JSON.stringify(legacy.rotation.error));
    expect(legacy.rotation.value.enabled).toBe(false);
    expect(legacy.rotation.value.detail).toMatchObject({ policy: "none" });

    const archive = keyNamed(snapshot, names.archive);
    expect(archive).toMatchObject({ keySpec: "RSA_3072", hsmBacked: true, rawKeyType: "RSA-HSM" });
    if (!archive.rotation.ok) throw new Error("rotation not collected");
    // Rotate 30 days before a 400-day expiry, lower-case action as ARM writes it.
    expect(archive.rotation.value).toMatchObject({ enabled: true, periodDays: 370 });

    if (!archive.access.ok) throw new Error(JSON.stringify(archive.access.error));
    const grants = archive.access.value.grants;
    expect(grants).toHaveLength(2);
    expect(grants[0]).toMatchObject({
      principal: legacyAdmin,
      principalKind: "human-user",
      actions: ["all"],
      via: "access-policy",
    });
    expect(grants[1]).toMatchObject({
      principal: legacyService,
      principalKind: "unknown",
      actions: ["get", "wrapkey", "unwrapkey"],
    });
    expect(archive.raw["arm:vaultProperties"]).toMatchObject({
      ok: true,
      value: { rbacAuthorization: false, purgeProtectionEnabled: false },
    });
    // ARM omits enablePurgeProtection when it was never enabled: that is "off", a known fact.
    expect(archive.vaultProtection).toMatchObject({
      ok: true,
      value: { vault: "kv-legacy", softDelete: true, purgeProtection: false },
    });
    const rawVault = archive.raw["arm:Vaults.get"];
    expect(
      rawVault?.ok && (rawVault.value as { properties: Record<string, unknown> }).properties,
    ).not.toHaveProperty("enablePurgeProtection");

    expect(snapshot.logging.sinks).toHaveLength(1);
    expect(snapshot.logging.sinks[0]).toMatchObject({
      name: "policy-only",
      active: true,
      coversKeyEvents: false,
      coverageReason: "AuditEvent is not enabled (enabled: category AzurePolicyEvaluationDetails)",
    });
    expect(judgeMonitoring(snapshot)).toEqual([
      expect.objectContaining({ status: "fail", message: "no diagnostic setting sends AuditEvent anywhere" }),
    ]);
  });

  describe("in batches (listKeys, then collectKeys per batch in any process)", () => {
    /** What a batch job gets: references written to the run's work store as JSON and read back. */
    function roundTrip(refs: readonly KeyRef[]): KeyRef[] {
      return JSON.parse(JSON.stringify(refs)) as KeyRef[];
    }
    const idOf = (vault: string, name: string): string => `${vault}/keys/${name}`;
    const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    /** ARM requests after `from`, by kind; paged lists count their first page only. */
    function armReadsSince(from: number): string[] {
      return arm.server.requests
        .slice(from)
        .map((request) => new URL(request.url))
        .filter((url) => !url.searchParams.has("$skiptoken") && !url.searchParams.has("$skipToken"))
        .map((url) => url.pathname.replace(/^.*\/providers\//, ""));
    }

    it("lists a vault as references sorted by key id, carrying the listed properties as plain JSON", async () => {
      const listing = await provider([policyVault]).listKeys(policyVault);
      expect(listing.gaps).toEqual([]);
      const ids = listing.refs.map((ref) => ref.keyId);
      expect(ids).toEqual([...ids].sort());
      expect(ids).toEqual(
        expect.arrayContaining([idOf(policyVault, names.legacy), idOf(policyVault, names.archive)]),
      );
      // No Date, no undefined, no SDK class: the references come back from JSON unchanged.
      expect(roundTrip(listing.refs)).toStrictEqual(listing.refs);
      const listed = Object.fromEntries(listing.refs.map((ref) => [ref.keyId, ref.listed]));
      expect(listed[idOf(policyVault, names.legacy)]).toMatchObject({
        name: names.legacy,
        id: idOf(policyVault, names.legacy),
        enabled: false,
        tags: {},
        createdOn: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/),
      });
      expect(listed[idOf(policyVault, names.archive)]).toMatchObject({
        name: names.archive,
        enabled: true,
        expiresOn: expect.stringMatching(/Z$/),
      });
    });

    it("describes two halves in two fresh instances byte for byte as the whole vault at once", async () => {
      // The two vaults differ in authorization mode and rotation-policy quirk; they are independent, so in parallel.
      await Promise.all(
        [rbacVault, policyVault].map(async (vault) => {
          const whole = await collectLocation(provider([vault]), vault);
          const refs = roundTrip((await provider([vault]).listKeys(vault)).refs);
          expect(refs.length).toBeGreaterThanOrEqual(2);
          const middle = Math.ceil(refs.length / 2);
          const [first, second] = await Promise.all([
            provider([vault]).collectKeys(vault, roundTrip(refs.slice(0, middle))),
            provider([vault]).collectKeys(vault, roundTrip(refs.slice(middle))),
          ]);
          expect([...first.gaps, ...second.gaps]).toEqual([]);
          expect(whole.keys.map((key) => key.keyId)).toEqual(refs.map((ref) => ref.keyId));
          expect(JSON.stringify([...first.keys, ...second.keys])).toBe(JSON.stringify(whole.keys));
        }),
      );
    });

    it("reads the vault's ARM facts once per instance, whatever the number of batches, and never re-lists keys", async () => {
      const refs = roundTrip((await provider([rbacVault]).listKeys(rbacVault)).refs);
      const azure = provider([rbacVault]);
      const start = arm.server.requests.length;
      const dataPlaneStart = dataPlane.fake?.server.requests.length ?? 0;
      const first = await azure.collectKeys(rbacVault, refs.slice(0, 1));
      const firstReads = armReadsSince(start);
      expect(firstReads.filter((path) => /^Microsoft\.KeyVault\/vaults$/i.test(path))).toHaveLength(1);
      expect(
        firstReads.filter((path) => /^Microsoft\.KeyVault\/vaults\/kv-payments$/i.test(path)),
      ).toHaveLength(1);
      expect(firstReads.filter((path) => /roleAssignments$/i.test(path))).toHaveLength(1);
      expect(firstReads.filter((path) => /roleDefinitions\//i.test(path))).toHaveLength(1);

      const afterFirst = arm.server.requests.length;
      const second = await azure.collectKeys(rbacVault, refs.slice(1));
      await azure.collectLogging(rbacVault);
      // Logging adds only the subscription's alert rule lists, which key batches never need.
      expect(armReadsSince(afterFirst).sort()).toEqual([
        "Microsoft.Insights/scheduledQueryRules",
        "microsoft.insights/activityLogAlerts",
      ]);
      const afterLogging = arm.server.requests.length;
      await azure.collectLogging(rbacVault);
      expect(armReadsSince(afterLogging)).toEqual([]);
      expect([...first.keys, ...second.keys].map((key) => key.keyId)).toEqual(refs.map((ref) => ref.keyId));
      expect(second.keys.every((key) => key.access.ok)).toBe(true);

      // A fresh instance (another worker) reads them again, once.
      const afterSecond = arm.server.requests.length;
      await provider([rbacVault]).collectKeys(rbacVault, refs.slice(1));
      expect(armReadsSince(afterSecond).filter((path) => /roleAssignments$/i.test(path))).toHaveLength(1);

      const fake = dataPlane.fake;
      if (fake !== undefined) {
        const listings = fake.server.requests
          .slice(dataPlaneStart)
          .filter((request) => /\/keys\/?$/.test(new URL(request.url).pathname));
        expect(listings).toEqual([]);
      }
    });

    it("turns a malformed reference into a gap naming its key, and still describes the others", async () => {
      const refs = roundTrip((await provider([rbacVault]).listKeys(rbacVault)).refs);
      const good = refs.find((ref) => ref.keyId === idOf(rbacVault, names.payments));
      if (good === undefined) throw new Error("payments key not listed");
      const malformed: KeyRef[] = [
        { keyId: idOf(rbacVault, names.signing), listed: { name: names.signing, createdOn: "yesterday" } },
        { keyId: idOf(rbacVault, names.wrapping) },
        good,
        { keyId: idOf(rbacVault, names.wrapping), listed: { name: names.payments } },
        { keyId: idOf(rbacVault, "numeric"), listed: { name: 42 } },
        JSON.parse('{"keyId":7,"listed":{"name":"seven"}}') as KeyRef,
      ];
      const batch = await provider([rbacVault]).collectKeys(rbacVault, malformed);
      expect(batch.keys.map((key) => key.keyId)).toEqual([good.keyId]);
      expect(batch.keys[0]?.errors).toEqual([]);
      const gap = (keyId: string, detail: string) => ({
        source: "azure-test",
        location: rbacVault,
        error: {
          call: "keyproof:readKeyRef",
          code: "MalformedKeyRef",
          retryable: false,
          message: expect.stringMatching(new RegExp(`^${escapeRegExp(`key ${keyId}: ${detail}`)}`)),
        },
      });
      expect(batch.gaps).toEqual([
        gap(idOf(rbacVault, names.signing), "listed.createdOn: not an ISO-8601 instant"),
        gap(idOf(rbacVault, names.wrapping), "listed: "),
        gap(
          idOf(rbacVault, names.wrapping),
          `listed name ${names.payments} in ${rbacVault} is key ${idOf(rbacVault, names.payments)}`,
        ),
        gap(idOf(rbacVault, "numeric"), "listed.name: "),
        gap("7", "keyId is not a string"),
      ]);
    });

    it("falls back to the round-tripped listing when the key itself cannot be read", async () => {
      const fake = dataPlane.fake;
      if (fake === undefined) {
        // Lowkey cannot be made to refuse calls after the listing; the fake can.
        expect(dataPlane.kind).not.toBe("fake");
        return;
      }
      // RBAC vault: tags; access-policy vault: a disabled key and an expiry. Independent, so in parallel.
      await Promise.all(
        [rbacVault, policyVault].map(async (vault) => {
          const whole = await collectLocation(provider([vault]), vault);
          const refs = roundTrip((await provider([vault]).listKeys(vault)).refs);
          fake.failVault(vault, {
            status: 403,
            body: {
              error: { code: "Forbidden", message: "denied", innererror: { code: "ForbiddenByRbac" } },
            },
          });
          try {
            const batch = await provider([vault]).collectKeys(vault, refs);
            expect(batch.gaps).toEqual([]);
            // createdAt is left out: a whole read dates a rotated key by its oldest version, while the
            // listing only knows the current version's date (for a never-rotated key the two are equal).
            const pick = ({ keyId, arn, aliases, manager, state, tags, expiresAt }: KeyRecord) => ({
              keyId,
              arn,
              aliases,
              manager,
              state,
              tags,
              expiresAt,
            });
            expect(batch.keys.map(pick)).toEqual(whole.keys.map(pick));
            for (const key of batch.keys) {
              const read = whole.keys.find((candidate) => candidate.keyId === key.keyId);
              expect(key.createdAt, key.keyId).toBeDefined();
              expect((key.createdAt ?? "") >= (read?.createdAt ?? ""), key.keyId).toBe(true);
            }
            expect(
              batch.keys.every((key) => key.errors.some((error) => error.code === "ForbiddenByRbac")),
            ).toBe(true);
          } finally {
            fake.failVault(vault, undefined);
          }
        }),
      );
    });
  });

  it("records an unreachable vault as a gap with its cause while the other vault is complete", async () => {
    const unreachable = `https://127.0.0.1:${closedPort}`;
    const azure = provider([rbacVault, unreachable]);
    expect(azure.listLocations()).toEqual([rbacVault, unreachable]);
    const [good, bad] = await Promise.all([
      collectLocation(azure, rbacVault),
      collectLocation(azure, unreachable),
    ]);
    expect(good.gaps).toEqual([]);
    expect(good.keys.filter((key) => key.aliases[0]?.endsWith(suffix))).toHaveLength(3);
    expect(bad.keys).toEqual([]);
    expect(bad.gaps).toHaveLength(1);
    expect(bad.gaps[0]).toMatchObject({
      source: "azure-test",
      location: unreachable,
      error: { call: "keyvault:listPropertiesOfKeys", code: "ECONNREFUSED", retryable: true },
    });
    // ARM still answered for that vault: its logging status is there, with no sinks.
    expect(bad.logging).toMatchObject({ location: unreachable, sinks: [], errors: [] });
  });

  it("keeps keys but records ARM failures on access and logging, naming the call", async () => {
    arm.failRoute(/roleAssignments$/i, {
      status: 403,
      body: {
        error: {
          code: "AuthorizationFailed",
          message:
            "The client does not have authorization to perform action 'Microsoft.Authorization/roleAssignments/read'",
        },
      },
    });
    arm.failRoute(/diagnosticSettings$/i, {
      status: 429,
      headers: { "retry-after": "0" },
      body: { error: { code: "TooManyRequests", message: "throttled" } },
    });
    try {
      const snapshot = await collectLocation(provider([rbacVault]), rbacVault);
      expect(snapshot.gaps).toEqual([]);
      const payments = keyNamed(snapshot, names.payments);
      expect(payments.rotation.ok).toBe(true);
      expect(payments.access).toMatchObject({
        ok: false,
        error: { call: "arm:RoleAssignments.listForScope", code: "AuthorizationFailed", retryable: false },
      });
      expect(snapshot.logging.errors).toEqual([
        expect.objectContaining({
          call: "arm:DiagnosticSettings.list",
          code: "TooManyRequests",
          retryable: true,
        }),
      ]);
      expect(judgeMonitoring(snapshot)).toEqual([
        expect.objectContaining({
          status: "error",
          message: expect.stringContaining(
            "the diagnostic settings could not be read: arm:DiagnosticSettings.list failed (TooManyRequests)",
          ),
        }),
      ]);
    } finally {
      arm.clearFailures();
    }
  });

  it("leaves soft delete unknown when ARM does not report it, and the check warns instead of failing", async () => {
    policyVaultSeed.enableSoftDelete = null;
    try {
      const snapshot = await collectLocation(provider([policyVault]), policyVault);
      const archive = keyNamed(snapshot, names.archive);
      if (archive.vaultProtection?.ok !== true) throw new Error("vault protection not collected");
      expect(archive.vaultProtection.value).not.toHaveProperty("softDelete");
      // Purge protection is off and known, so the vault still fails; with it on, unknown soft delete warns.
      const judged = (location: LocationSnapshot) =>
        purgeProtection
          .run(
            makeSnapshot({
              sources: [makeSource({ source: "azure-test", type: "azure-key-vault", locations: [location] })],
            }),
          )
          .map((finding) => finding.status);
      expect(judged(snapshot)).toEqual(["fail"]);
      const withPurgeProtection = {
        ...snapshot,
        keys: snapshot.keys.map((key) => ({
          ...key,
          vaultProtection: {
            ...archive.vaultProtection,
            value: { vault: "kv-legacy", purgeProtection: true },
          },
        })) as KeyRecord[],
      };
      expect(judged(withPurgeProtection)).toEqual(["warn"]);
    } finally {
      delete policyVaultSeed.enableSoftDelete;
    }
  });

  it("records a failed vault read on every key's vaultProtection, and the check answers error with the cause", async () => {
    arm.failRoute(/\/vaults\/kv-legacy$/i, {
      status: 403,
      body: { error: { code: "AuthorizationFailed", message: "no Microsoft.KeyVault/vaults/read" } },
    });
    try {
      const snapshot = await collectLocation(provider([policyVault]), policyVault);
      expect(snapshot.keys.length).toBeGreaterThan(0);
      for (const key of snapshot.keys) {
        expect(key.vaultProtection).toMatchObject({
          ok: false,
          error: { call: "arm:Vaults.get", code: "AuthorizationFailed" },
        });
      }
      const findings = purgeProtection.run(
        makeSnapshot({
          sources: [makeSource({ source: "azure-test", type: "azure-key-vault", locations: [snapshot] })],
        }),
      );
      expect(findings.map((finding) => [finding.status, finding.message])).toEqual([
        ["error", expect.stringContaining("arm:Vaults.get failed (AuthorizationFailed)")],
      ]);
    } finally {
      arm.clearFailures();
    }
  });

  it("names a vault missing from the subscription on every ARM-derived fact", async () => {
    const stray = `https://localhost:${closedPort}`;
    const snapshot = await collectLocation(provider([stray]), stray);
    expect(snapshot.gaps[0]?.error.code).toBe("ECONNREFUSED");
    expect(snapshot.logging.errors).toEqual([
      expect.objectContaining({ code: "VaultNotFoundInSubscription" }),
    ]);
  });

  it("reports a firewalled vault (403 ForbiddenByFirewall) as a gap, not as an empty vault", async () => {
    const fake = dataPlane.fake;
    if (fake === undefined) {
      // Lowkey cannot emulate a firewall; the unreachable-vault test covers the gap path there.
      expect(dataPlane.kind).not.toBe("fake");
      return;
    }
    fake.failVault(policyVault, {
      status: 403,
      body: {
        error: {
          code: "Forbidden",
          message: "Client address is not authorized",
          innererror: { code: "ForbiddenByFirewall" },
        },
      },
    });
    try {
      const snapshot = await collectLocation(provider([policyVault]), policyVault);
      expect(snapshot.keys).toEqual([]);
      expect(snapshot.gaps[0]?.error).toMatchObject({
        call: "keyvault:listPropertiesOfKeys",
        code: "ForbiddenByFirewall",
      });
    } finally {
      fake.failVault(policyVault, undefined);
    }
  });

  it("streams the range's key events from both audit tables, paged, scoped to the vault", async () => {
    const range = parseRange("2026-10-01", "2026-10-31");
    const usage = provider([rbacVault]).streamUsage(rbacVault, range);
    expect(usage.method).toBe("log-analytics");
    const events: UsageEvent[] = [];
    const gaps: UsageGap[] = [];
    for await (const item of usage.items) {
      if (item.kind === "event") events.push(item.event);
      else gaps.push(item.gap);
    }
    expect(gaps).toEqual([]);
    expect(events.map((event) => event.eventId)).toEqual(["row-1", "row-2", "row-3", "dedicated-1"]);
    expect(events[0]).toEqual({
      time: "2026-10-03T10:00:00.000Z",
      source: "azure-test",
      location: rbacVault,
      keyId: `${rbacVault}/keys/${names.payments}`,
      keyReference: `${rbacVault}/keys/${names.payments}/0123`,
      action: "KeyDecrypt",
      principal: "jane@example.com",
      sourceAddress: "10.0.0.4",
      userAgent: "azsdk-js-keyvault-keys/4.10.2",
      outcome: "success",
      eventId: "row-1",
      origin: `log-analytics:${workspaceId}/AzureDiagnostics`,
    });
    expect(events[1]).toMatchObject({
      action: "KeyGet",
      outcome: "failure",
      errorCode: "Forbidden",
      principal: paymentsApp,
    });
    expect(events[2]).not.toHaveProperty("keyId");
    expect(events[3]).toMatchObject({
      action: "KeyUnwrap",
      principal: paymentsApp,
      keyId: `${rbacVault}/keys/${names.payments}`,
      origin: `log-analytics:${workspaceId}/AZKVAuditLogs`,
    });
    // Paged: page size 2 means the first window's three AzureDiagnostics rows took two queries.
    expect(logs.queries.some((query) => /where Row > 2\b/.test(query))).toBe(true);
  });

  it("turns a failed or partial query into gaps and goes on with the next window", async () => {
    logs.failQueries(
      /AzureDiagnostics/,
      { status: 400, body: { error: { code: "BadArgumentError", message: "query failed" } } },
      1,
    );
    logs.partialQueries(/AZKVAuditLogs/, "query exceeded the result size limit");
    try {
      const items = [];
      for await (const item of provider([rbacVault]).streamUsage(
        rbacVault,
        parseRange("2026-10-01", "2026-10-31"),
      ).items)
        items.push(item);
      const gaps = items.flatMap((item) => (item.kind === "gap" ? [item.gap] : []));
      const events = items.flatMap((item) => (item.kind === "event" ? [item.event.eventId] : []));
      expect(gaps[0]).toMatchObject({
        code: "BadArgumentError",
        object: expect.stringMatching(
          /^AzureDiagnostics 2026-10-01T00:00:00.000Z\/2026-10-08T00:00:00.000Z rows 1-2$/,
        ),
      });
      // The first window failed; row-3 is in a later window and still arrives.
      expect(events).toEqual(["row-3", "dedicated-1"]);
      expect(gaps.filter((gap) => gap.code === "PartialError").length).toBeGreaterThan(0);
    } finally {
      logs.clearFailures();
    }
  });

  it("records a gap instead of events when no workspace is configured", async () => {
    const config = sourceConfig([rbacVault]);
    delete config.logAnalyticsWorkspaceId;
    const usage = createAzureKeyVaultProvider(config, {
      credential,
      trustedCertificates: [dataPlane.ca, arm.ca],
    }).streamUsage(rbacVault, parseRange("2026-10-01", "2026-10-31"));
    expect(usage.method).toBe("none");
    const items = [];
    for await (const item of usage.items) items.push(item);
    expect(items).toEqual([
      {
        kind: "gap",
        gap: expect.objectContaining({ code: "UsageSourceNotConfigured", location: rbacVault }),
      },
    ]);
  });
});

describe("the Azure demo estate", () => {
  it("is collected through DefaultAzureCredential (fake managed identity) and tlsCaFile, and judged by the Azure checks", async () => {
    const saved = { endpoint: process.env["IDENTITY_ENDPOINT"], header: process.env["IDENTITY_HEADER"] };
    const seeded = await seedAzureDemoEstate({
      ...(dataPlane.kind === "fake" ? {} : { lowkeyUrl: dataPlane.vaultUrls[0], ca: dataPlane.ca }),
      suffix: `t${suffix}`,
      range: parseRange("2026-10-01", "2026-10-31"),
      caFile: path.join(mkdtempSync(path.join(tmpdir(), "keyproof-azure-demo-")), "trust.pem"),
    });
    try {
      // No injected credential or certificates: what the CLI does with the seeded config.
      const azure = createAzureKeyVaultProvider(seeded.source, { maxRetries: 0 });
      const locations = await Promise.all(
        azure.listLocations().map((location) => collectLocation(azure, location)),
      );
      expect(seeded.fakes.identity.issuedFor).toEqual(
        expect.arrayContaining(["https://management.azure.com", "https://vault.azure.net"]),
      );
      const ours = (snapshot: LocationSnapshot) =>
        snapshot.keys.filter((key) => key.aliases[0]?.endsWith(`t${suffix}`));
      expect(locations.map((snapshot) => [snapshot.gaps.length, ours(snapshot).length])).toEqual([
        [0, 4],
        [0, 2],
      ]);
      const snapshot = makeSnapshot({
        sources: [
          makeSource({
            source: seeded.source.id,
            type: "azure-key-vault",
            account: AZURE_DEMO_SUBSCRIPTION,
            locations: locations.map((location) => ({ ...location, keys: ours(location) })),
          }),
        ],
      });
      expect(purgeProtection.run(snapshot).map((finding) => finding.status)).toEqual(["pass", "fail"]);
      expect(keyDeletionAlerted.run(snapshot).map((finding) => finding.status)).toEqual(["pass", "fail"]);
      // Issue 10: the data plane does not report an oct-HSM key's size; that is a warn with the reason.
      const specs = Object.fromEntries(
        keySpecApproved
          .run(snapshot)
          .map((finding) => [finding.resource.split("/keys/")[1]?.replace(`-t${suffix}`, ""), finding]),
      );
      expect(specs["session-wrap"]).toMatchObject({
        status: "warn",
        message:
          "Azure does not report the size of oct-HSM keys; confirm it in the portal; approved OCT_* specs are OCT_256",
      });
      expect(specs["payments-db"]?.status).toBe("pass");
      const access = Object.fromEntries(
        accessTooBroad
          .run(snapshot)
          .map((finding) => [
            finding.resource.split("/keys/")[1]?.replace(`-t${suffix}`, ""),
            finding.status,
          ]),
      );
      expect(access).toEqual({
        "payments-db": "pass",
        "customer-pii": "pass",
        "jwt-signing": "pass",
        "session-wrap": "pass",
        "legacy-backup": "fail",
        "archive-rsa": "fail",
      });

      const events = [];
      for await (const item of azure.streamUsage(
        seeded.vaults.payments,
        parseRange("2026-10-01", "2026-10-31"),
      ).items) {
        if (item.kind === "event") events.push(item.event);
      }
      expect(
        events.filter((event) => event.action === "KeyUnwrap" || event.action === "KeyWrap"),
      ).toHaveLength(31);
      expect(events.some((event) => event.principal === "jane.doe@acme.example")).toBe(true);
    } finally {
      await seeded.fakes.stop();
      if (saved.endpoint === undefined) delete process.env["IDENTITY_ENDPOINT"];
      else process.env["IDENTITY_ENDPOINT"] = saved.endpoint;
      if (saved.header === undefined) delete process.env["IDENTITY_HEADER"];
      else process.env["IDENTITY_HEADER"] = saved.header;
    }
  });
});
