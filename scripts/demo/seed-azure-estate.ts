/**
 * Seeds a small Azure Key Vault estate for the demo: two vaults with the usual audit findings built in, the
 * Azure Resource Manager view of them (vault properties, role assignments, diagnostic settings) and a quarter
 * of Key Vault audit records in Log Analytics, plus the key inventory that documents all but one key.
 *
 *   acme-payments (RBAC, purge protection on, AuditEvent → Log Analytics)
 *     compliant      payments-db   RSA-HSM 2048, rotates every 90 days, used by a managed identity at key scope
 *                    customer-pii  RSA-HSM 4096, rotates every 180 days
 *     non-compliant  jwt-signing   EC-HSM P-256, rotates every 400 days (policy maximum 365)
 *                    session-wrap  oct-HSM 256, no rotation policy
 *                    + a human user holds Key Vault Crypto Officer on the vault
 *   acme-legacy (access policies, purge protection off, no AuditEvent category)
 *     non-compliant  legacy-backup EC secp256k1 (not an approved curve), software key where HSM is required,
 *                                  no rotation, not in the inventory
 *                    archive-rsa   RSA 2048 software key where HSM is required
 *                    + an access policy grants `all` to a user
 *
 * The data plane is Lowkey Vault when `lowkeyUrl` is given (scripts/services.sh exports
 * KEYPROOF_TEST_LOWKEY_URL / KEYPROOF_TEST_LOWKEY_CA), otherwise the data-plane FAKE. ARM, Log Analytics and
 * the managed-identity token endpoint are always FAKES (test/fakes/), started in this process: the demo must run
 * `keyproof run` in the same process while they are up (run-demo.ts does: it calls the CLI's `main`).
 * Authentication goes through the provider's real `DefaultAzureCredential`, answered by the fake App Service
 * managed-identity endpoint (`IDENTITY_ENDPOINT`/`IDENTITY_HEADER`, set in this process by the seed).
 *
 * Run directly: `npx tsx scripts/demo/seed-azure-estate.ts [--period 2026-Q3]` (prints the source config).
 */
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { Agent } from "node:https";
import path from "node:path";
import { rootCertificates } from "node:tls";
import { pathToFileURL } from "node:url";
import type { TokenCredential } from "@azure/core-auth";
import { KeyClient } from "@azure/keyvault-keys";
import type { InventoryEntry } from "../../src/config/config.schema.ts";
import type { DateRange } from "../../src/model/snapshot.ts";
import type { AzureKeyVaultSourceConfig } from "../../src/config/sources/azure-key-vault.schema.ts";
import { AzureKeyVaultSourceSchema } from "../../src/config/sources/azure-key-vault.schema.ts";
import { daysOf, parsePeriod } from "../../src/time/date-range.ts";
import type { AzureKeyVaultFake } from "../../test/fakes/azure-key-vault.fake.ts";
import { startAzureKeyVaultFake } from "../../test/fakes/azure-key-vault.fake.ts";
import type { ManagedIdentityFake } from "../../test/fakes/azure-managed-identity.fake.ts";
import { startManagedIdentityFake } from "../../test/fakes/azure-managed-identity.fake.ts";
import type { AzureResourceManagerFake } from "../../test/fakes/azure-resource-manager.fake.ts";
import { startAzureResourceManagerFake } from "../../test/fakes/azure-resource-manager.fake.ts";
import type { LogAnalyticsFake, LogRow } from "../../test/fakes/log-analytics.fake.ts";
import { startLogAnalyticsFake } from "../../test/fakes/log-analytics.fake.ts";

export const AZURE_DEMO_SOURCE_ID = "azure-demo";
/** Documentation-style GUIDs: stable across runs so the bundle reads the same. */
export const AZURE_DEMO_SUBSCRIPTION = "5e1d0c2b-7a3f-4e6d-9b8a-0c1d2e3f4a5b";
export const AZURE_DEMO_WORKSPACE = "6f2e1d3c-8b4a-4f7e-8c9b-1d2e3f4a5b6c";
const PRINCIPALS = {
  /** A person holding Crypto Officer: the access finding. */
  janeDoe: "7a3f2e4d-9c5b-4a8f-9dac-2e3f4a5b6c7d",
  /** The payments app's managed identity (a service principal to ARM). */
  paymentsIdentity: "8b4a3f5e-ad6c-4b9a-8ebd-3f4a5b6c7d8e",
  securityReaders: "9c5b4a6f-be7d-4cab-9fce-4a5b6c7d8e9f",
  /** Legacy vault admin with `all` in an access policy. */
  legacyAdmin: "ad6c5b7a-cf8e-4dbc-8adf-5b6c7d8e9fa0",
  backupService: "be7d6c8b-da9f-4ecd-9be0-6c7d8e9fa0b1",
} as const;

const ROLES = {
  cryptoOfficer: "14b46e9e-c2b7-41b4-b07b-48a6ebf60603",
  serviceEncryptionUser: "e147488a-f6f5-4113-8e2d-b22465e65bf6",
  reader: "21090545-7ca7-4776-b22c-e363652d74d2",
} as const;

export interface AzureDemoFakes {
  arm: AzureResourceManagerFake;
  logs: LogAnalyticsFake;
  identity: ManagedIdentityFake;
  /** Present when no Lowkey Vault was given. */
  keyVault?: AzureKeyVaultFake;
  /** The two vault URLs on the data plane: `https://127.0.0.1:<port>`, `https://localhost:<port>`. */
  vaultUrls: [string, string];
  /** PEM trust anchors: the data plane's certificate and the fakes'. */
  trustAnchors: string[];
  /** Environment for `DefaultAzureCredential` to use the fake managed-identity endpoint. */
  environment: { IDENTITY_ENDPOINT: string; IDENTITY_HEADER: string };
  stop(): Promise<void>;
}

export interface StartAzureDemoFakesOptions {
  /** Lowkey Vault base URL, e.g. `https://127.0.0.1:8443`; without it the data-plane fake is started. */
  lowkeyUrl?: string;
  /** Lowkey's certificate: a PEM file path or PEM text. Required with `lowkeyUrl`. */
  ca?: string;
}

function readPem(value: string): string {
  return value.includes("-----BEGIN") ? value : readFileSync(value, "utf8");
}

export async function startAzureDemoFakes(options: StartAzureDemoFakesOptions = {}): Promise<AzureDemoFakes> {
  const [arm, logs, identity] = await Promise.all([
    startAzureResourceManagerFake(),
    startLogAnalyticsFake(),
    startManagedIdentityFake(),
  ]);
  let keyVault: AzureKeyVaultFake | undefined;
  let vaultUrls: [string, string];
  let dataPlaneCa: string;
  if (options.lowkeyUrl !== undefined && options.lowkeyUrl.length > 0) {
    if (options.ca === undefined)
      throw new Error("startAzureDemoFakes: lowkeyUrl needs ca (Lowkey's certificate)");
    const port = new URL(options.lowkeyUrl).port || "443";
    vaultUrls = [`https://127.0.0.1:${port}`, `https://localhost:${port}`];
    dataPlaneCa = readPem(options.ca);
  } else {
    keyVault = await startAzureKeyVaultFake();
    vaultUrls = keyVault.vaultUrls;
    dataPlaneCa = keyVault.ca;
  }
  return {
    arm,
    logs,
    identity,
    ...(keyVault === undefined ? {} : { keyVault }),
    vaultUrls,
    trustAnchors: [...new Set([dataPlaneCa, arm.ca])],
    environment: { IDENTITY_ENDPOINT: identity.endpoint, IDENTITY_HEADER: identity.header },
    stop: async () => {
      await Promise.all([arm.close(), logs.close(), identity.close(), keyVault?.close()]);
    },
  };
}

export interface SeedAzureDemoEstateOptions extends StartAzureDemoFakesOptions {
  /** Fakes already started; started here when absent. */
  fakes?: AzureDemoFakes;
  /** Appended to key names so re-runs against a long-lived Lowkey Vault do not collide. */
  suffix?: string;
  sourceId?: string;
  /** Range the demo reports on: audit records are spread across it. Default: the last 30 days. */
  range?: DateRange;
  /** Where to write the PEM bundle the source's `tlsCaFile` names. Default: `.keyproof/demo/azure-trust.pem`. */
  caFile?: string;
  /** Set `IDENTITY_ENDPOINT`/`IDENTITY_HEADER` in this process (default true). */
  setIdentityEnvironment?: boolean;
}

export interface SeededAzureDemoEstate {
  source: AzureKeyVaultSourceConfig;
  inventory: InventoryEntry[];
  fakes: AzureDemoFakes;
  /** The two vault URLs: payments (RBAC) and legacy (access policies). */
  vaults: { payments: string; legacy: string };
  warnings: string[];
}

/** A credential for seeding only: Lowkey and the fake accept any bearer token. */
const seedingCredential: TokenCredential = {
  getToken: async () => ({ token: "keyproof-demo-seed", expiresOnTimestamp: Date.now() + 3_600_000 }),
};

function lastThirtyDays(): DateRange {
  const end = new Date();
  end.setUTCHours(0, 0, 0, 0);
  const start = new Date(end.getTime() - 30 * 86_400_000);
  return {
    from: start.toISOString(),
    toExclusive: end.toISOString(),
    to: new Date(end.getTime() - 86_400_000).toISOString().slice(0, 10),
    label: "last-30-days",
  };
}

/**
 * Audit rows spread over the range: the app's managed identity wraps and unwraps daily, Jane decrypts now
 * and then and rotates one key once.
 */
function auditRows(
  vaultResourceId: string,
  vaultUrl: string,
  keys: Record<string, string>,
  range: DateRange,
): LogRow[] {
  const rows: LogRow[] = [];
  const base = {
    _ResourceId: vaultResourceId.toUpperCase(),
    ResourceProvider: "MICROSOFT.KEYVAULT",
    ResourceType: "VAULTS",
    Category: "AuditEvent",
  };
  const days = daysOf(range);
  days.forEach((day, index) => {
    rows.push({
      ...base,
      TimeGenerated: `${day}T02:15:00.000Z`,
      _ItemId: randomUUID(),
      OperationName: index % 2 === 0 ? "KeyUnwrap" : "KeyWrap",
      ResultSignature: "OK",
      httpStatusCode_d: 200,
      CallerIPAddress: "10.20.0.4",
      identity_claim_oid_g: PRINCIPALS.paymentsIdentity,
      identity_claim_appid_g: PRINCIPALS.paymentsIdentity,
      id_s: `${vaultUrl}/keys/${keys["payments"]}/current`,
      clientInfo_s: "azsdk-net-Security.KeyVault.Keys/4.6.0",
    });
    if (index % 7 === 3) {
      rows.push({
        ...base,
        TimeGenerated: `${day}T14:40:00.000Z`,
        _ItemId: randomUUID(),
        OperationName: "KeyDecrypt",
        ResultSignature: "OK",
        httpStatusCode_d: 200,
        CallerIPAddress: "203.0.113.24",
        identity_claim_oid_g: PRINCIPALS.janeDoe,
        identity_claim_upn_s: "jane.doe@acme.example",
        id_s: `${vaultUrl}/keys/${keys["pii"]}/current`,
        clientInfo_s: "AzureCLI/2.67.0",
      });
    }
    if (index % 11 === 5) {
      rows.push({
        ...base,
        TimeGenerated: `${day}T09:05:00.000Z`,
        _ItemId: randomUUID(),
        OperationName: "KeyGet",
        ResultSignature: "Forbidden",
        httpStatusCode_d: 403,
        CallerIPAddress: "198.51.100.7",
        identity_claim_oid_g: PRINCIPALS.backupService,
        id_s: `${vaultUrl}/keys/${keys["jwt"]}`,
      });
    }
  });
  // Mid-range, Jane rotates customer-pii on demand (issue 13's history: an Azure key rotation event).
  const middle = days[Math.floor(days.length / 2)];
  if (middle !== undefined) {
    rows.push({
      ...base,
      TimeGenerated: `${middle}T11:20:00.000Z`,
      _ItemId: randomUUID(),
      OperationName: "KeyRotate",
      ResultSignature: "OK",
      httpStatusCode_d: 200,
      CallerIPAddress: "203.0.113.24",
      identity_claim_oid_g: PRINCIPALS.janeDoe,
      identity_claim_upn_s: "jane.doe@acme.example",
      id_s: `${vaultUrl}/keys/${keys["pii"]}/rotate`,
      clientInfo_s: "AzureCLI/2.67.0",
    });
  }
  return rows;
}

export async function seedAzureDemoEstate(
  options: SeedAzureDemoEstateOptions = {},
): Promise<SeededAzureDemoEstate> {
  const fakes = options.fakes ?? (await startAzureDemoFakes(options));
  const suffix = options.suffix ?? Date.now().toString(36);
  const sourceId = options.sourceId ?? AZURE_DEMO_SOURCE_ID;
  const range = options.range ?? lastThirtyDays();
  const warnings: string[] = [];
  const [payments, legacy] = fakes.vaultUrls;
  const names = {
    payments: `payments-db-${suffix}`,
    pii: `customer-pii-${suffix}`,
    jwt: `jwt-signing-${suffix}`,
    session: `session-wrap-${suffix}`,
    backup: `legacy-backup-${suffix}`,
    archive: `archive-rsa-${suffix}`,
  };

  // Data plane, through the real KeyClient.
  const agent = new Agent({ ca: [...rootCertificates, ...fakes.trustAnchors] });
  const clientOptions = { agent, serviceVersion: "7.6", disableChallengeResourceVerification: true };
  const paymentsClient = new KeyClient(payments, seedingCredential, clientOptions);
  const legacyClient = new KeyClient(legacy, seedingCredential, clientOptions);
  const yearFromNow = new Date(Date.now() + 400 * 86_400_000);
  await paymentsClient.createRsaKey(names.payments, {
    keySize: 2048,
    hsm: true,
    tags: { system: "payments-db" },
  });
  await paymentsClient.updateKeyRotationPolicy(names.payments, {
    expiresIn: "P1Y",
    lifetimeActions: [{ action: "Rotate", timeAfterCreate: "P90D" }],
  });
  await paymentsClient.rotateKey(names.payments);
  await paymentsClient.createRsaKey(names.pii, { keySize: 4096, hsm: true, tags: { system: "crm" } });
  await paymentsClient.updateKeyRotationPolicy(names.pii, {
    expiresIn: "P1Y",
    lifetimeActions: [{ action: "Rotate", timeAfterCreate: "P180D" }],
  });
  await paymentsClient.createEcKey(names.jwt, { curve: "P-256", hsm: true });
  await paymentsClient.updateKeyRotationPolicy(names.jwt, {
    expiresIn: "P2Y",
    lifetimeActions: [{ action: "Rotate", timeAfterCreate: "P400D" }],
  });
  await paymentsClient.createOctKey(names.session, { hsm: true, keySize: 256 });
  await legacyClient.createEcKey(names.backup, { curve: "P-256K" });
  await legacyClient.createRsaKey(names.archive, { keySize: 2048, expiresOn: yearFromNow });
  await legacyClient.updateKeyRotationPolicy(names.archive, {
    expiresIn: "P400D",
    lifetimeActions: [{ action: "Rotate", timeBeforeExpiry: "P30D" }],
  });

  // Azure Resource Manager view of the two vaults.
  const subscriptionId = AZURE_DEMO_SUBSCRIPTION;
  const paymentsId = fakes.arm.addVault({
    subscriptionId,
    resourceGroup: "rg-payments",
    name: "acme-payments",
    vaultUri: payments,
    sku: "premium",
    enableRbacAuthorization: true,
    enablePurgeProtection: true,
  });
  const legacyId = fakes.arm.addVault({
    subscriptionId,
    resourceGroup: "rg-legacy",
    name: "acme-legacy",
    vaultUri: legacy,
    accessPolicies: [
      { objectId: PRINCIPALS.legacyAdmin, keys: ["all"], secrets: ["all"] },
      { objectId: PRINCIPALS.backupService, keys: ["get", "wrapKey", "unwrapKey"] },
    ],
  });
  fakes.arm.addRoleAssignment({
    scope: paymentsId,
    principalId: PRINCIPALS.janeDoe,
    principalType: "User",
    roleDefinitionGuid: ROLES.cryptoOfficer,
  });
  fakes.arm.addRoleAssignment({
    scope: `${paymentsId}/keys/${names.payments}`,
    principalId: PRINCIPALS.paymentsIdentity,
    principalType: "ServicePrincipal",
    roleDefinitionGuid: ROLES.serviceEncryptionUser,
  });
  fakes.arm.addRoleAssignment({
    scope: `/subscriptions/${subscriptionId}`,
    principalId: PRINCIPALS.securityReaders,
    principalType: "Group",
    roleDefinitionGuid: ROLES.reader,
  });
  // Reveals that the legacy admin object id is a person (access policies do not say).
  fakes.arm.addRoleAssignment({
    scope: legacyId,
    principalId: PRINCIPALS.legacyAdmin,
    principalType: "User",
    roleDefinitionGuid: ROLES.reader,
  });
  const workspaceArmId = `/subscriptions/${subscriptionId}/resourceGroups/rg-security/providers/Microsoft.OperationalInsights/workspaces/acme-security`;
  fakes.arm.setDiagnosticSettings(paymentsId, [
    {
      name: "audit-to-security-workspace",
      workspaceId: workspaceArmId,
      logs: [{ category: "AuditEvent", enabled: true }],
    },
  ]);
  fakes.arm.setDiagnosticSettings(legacyId, [
    {
      name: "policy-evaluations",
      workspaceId: workspaceArmId,
      logs: [
        { category: "AzurePolicyEvaluationDetails", enabled: true },
        { category: "AuditEvent", enabled: false },
      ],
    },
  ]);
  // A log search alert on key deletion over the security workspace: it covers the payments vault, whose
  // AuditEvent lands there; the legacy vault sends none, so azure-key-deletion-alerted fails it.
  fakes.arm.addScheduledQueryRule({
    subscriptionId,
    resourceGroup: "rg-security",
    name: "kv-key-deleted",
    scopes: [workspaceArmId],
    query:
      'AzureDiagnostics | where ResourceProvider == "MICROSOFT.KEYVAULT" and OperationName in ("KeyDelete", "KeyPurge")',
    actionGroups: [
      `/subscriptions/${subscriptionId}/resourceGroups/rg-security/providers/microsoft.insights/actionGroups/key-custodians`,
    ],
  });

  // A quarter of audit records for the payments vault; the legacy vault sends none.
  fakes.logs.addWorkspace(AZURE_DEMO_WORKSPACE);
  fakes.logs.addRows(AZURE_DEMO_WORKSPACE, "AzureDiagnostics", auditRows(paymentsId, payments, names, range));

  const caFile = options.caFile ?? path.resolve(import.meta.dirname, "../../.keyproof/demo/azure-trust.pem");
  await mkdir(path.dirname(caFile), { recursive: true });
  await writeFile(caFile, fakes.trustAnchors.join("\n"));

  if (options.setIdentityEnvironment !== false) {
    // DefaultAzureCredential reads these when it is constructed, i.e. when the provider is created.
    process.env["IDENTITY_ENDPOINT"] = fakes.environment.IDENTITY_ENDPOINT;
    process.env["IDENTITY_HEADER"] = fakes.environment.IDENTITY_HEADER;
  }
  if (fakes.keyVault !== undefined) {
    warnings.push("Azure Key Vault data plane: Lowkey Vault not available, using the local data-plane fake");
  }

  const source = AzureKeyVaultSourceSchema.parse({
    id: sourceId,
    type: "azure-key-vault",
    subscriptionId,
    vaults: [payments, legacy],
    logAnalyticsWorkspaceId: AZURE_DEMO_WORKSPACE,
    endpoints: { resourceManager: fakes.arm.url, logAnalytics: fakes.logs.url },
    requireHsm: true,
    tlsCaFile: caFile,
  });
  const entry = (
    name: string,
    owner: string,
    usage: InventoryEntry["usage"],
    systems: string[],
  ): InventoryEntry => ({
    source: sourceId,
    match: name,
    owner,
    usage,
    systems,
  });
  const inventory: InventoryEntry[] = [
    entry(names.payments, "payments-team@acme.example", "data-at-rest", ["payments-db"]),
    entry(names.pii, "crm-team@acme.example", "data-at-rest", ["crm", "customer-exports"]),
    entry(names.jwt, "identity-team@acme.example", "application", ["auth-service"]),
    entry(names.session, "platform-team@acme.example", "data-in-transit", ["session-store"]),
    entry(names.archive, "it-ops@acme.example", "data-at-rest", ["tape-archive"]),
  ];
  return { source, inventory, fakes, vaults: { payments, legacy }, warnings };
}

async function runFromCommandLine(): Promise<void> {
  const periodIndex = process.argv.indexOf("--period");
  const period = periodIndex === -1 ? undefined : process.argv[periodIndex + 1];
  const seeded = await seedAzureDemoEstate({
    ...(process.env["KEYPROOF_TEST_LOWKEY_URL"] === undefined
      ? {}
      : { lowkeyUrl: process.env["KEYPROOF_TEST_LOWKEY_URL"] }),
    ...(process.env["KEYPROOF_TEST_LOWKEY_CA"] === undefined
      ? {}
      : { ca: process.env["KEYPROOF_TEST_LOWKEY_CA"] }),
    ...(period === undefined ? {} : { range: parsePeriod(period) }),
  });
  process.stdout.write(
    `${JSON.stringify({ source: seeded.source, inventory: seeded.inventory, warnings: seeded.warnings }, null, 2)}\n`,
  );
  await seeded.fakes.stop();
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await runFromCommandLine();
}
