import { describe, expect, it } from "vitest";
import type { ActivityLogAlertLeaf, AlertRuleTarget } from "./key-event-alerts.ts";
import { namedAuditOperations, toActivityLogAlert, toScheduledQueryRule } from "./key-event-alerts.ts";

const SUBSCRIPTION = "/subscriptions/0000-sub";
const GROUP = `${SUBSCRIPTION}/resourceGroups/rg-keys`;
const VAULT = `${GROUP}/providers/Microsoft.KeyVault/vaults/kv-payments`;
const WORKSPACE = `${SUBSCRIPTION}/resourceGroups/rg-sec/providers/Microsoft.OperationalInsights/workspaces/law`;
const ACTION_GROUP = `${SUBSCRIPTION}/resourceGroups/rg-sec/providers/microsoft.insights/actionGroups/custodians`;
const target: AlertRuleTarget = {
  vaultResourceId: VAULT,
  resourceGroupId: GROUP,
  subscriptionId: SUBSCRIPTION,
  workspaceIds: [WORKSPACE],
};

describe("namedAuditOperations", () => {
  it("reads the administrative operations a query names as literals, in ==, in (...), has and =~ forms", () => {
    expect(
      namedAuditOperations(
        `AzureDiagnostics | where ResourceProvider == "MICROSOFT.KEYVAULT" and OperationName in ("KeyPurge", 'KeyDelete')`,
      ),
    ).toEqual(["KeyDelete", "KeyPurge"]);
    expect(namedAuditOperations(`AZKVAuditLogs | where OperationName =~ "keydelete"`)).toEqual(["KeyDelete"]);
    expect(namedAuditOperations(`AzureDiagnostics | where OperationName has "VaultDelete"`)).toEqual([
      "VaultDelete",
    ]);
  });

  it("names nothing for usage operations, pattern matches or negated comparisons", () => {
    expect(namedAuditOperations(`AzureDiagnostics | where OperationName == "KeyDecrypt"`)).toEqual([]);
    expect(namedAuditOperations(`AzureDiagnostics | where OperationName startswith "Key"`)).toEqual([]);
    expect(
      namedAuditOperations(
        `AzureDiagnostics | where OperationName != "KeyDelete" and OperationName !in ("KeyPurge", "KeyCreate") and OperationName !has 'KeyRotate'`,
      ),
    ).toEqual([]);
  });
});

describe("toScheduledQueryRule", () => {
  const rule = (scopes: string[], query: string, extra: Record<string, unknown> = {}) => ({
    id: `${SUBSCRIPTION}/resourcegroups/rg-sec/providers/microsoft.insights/scheduledqueryrules/kv-key-deleted`,
    name: "kv-key-deleted",
    kind: "LogAlert",
    properties: {
      scopes,
      enabled: true,
      severity: 1,
      evaluationFrequency: "PT5M",
      windowSize: "PT5M",
      criteria: { allOf: [{ query }] },
      actions: { actionGroups: [ACTION_GROUP] },
      ...extra,
    },
  });
  const deletion = `AzureDiagnostics | where OperationName == "KeyDelete"`;

  it("keeps a rule scoped to the workspace receiving AuditEvent (any case), with its operations and action groups", () => {
    expect(toScheduledQueryRule(rule([WORKSPACE.toLowerCase()], deletion), target)).toEqual({
      kind: "azure-scheduled-query-rule",
      name: "kv-key-deleted",
      reference: `${SUBSCRIPTION}/resourcegroups/rg-sec/providers/microsoft.insights/scheduledqueryrules/kv-key-deleted`,
      enabled: true,
      actions: ["KeyDelete"],
      notifies: [ACTION_GROUP],
      detail: {
        scopes: [WORKSPACE.toLowerCase()],
        queries: [deletion],
        kind: "LogAlert",
        evaluationFrequency: "PT5M",
        windowSize: "PT5M",
        severity: 1,
      },
    });
  });

  it("keeps resource-centric rules on the vault, its resource group or subscription; drops other scopes", () => {
    for (const scope of [VAULT, GROUP, SUBSCRIPTION])
      expect(toScheduledQueryRule(rule([scope], deletion), target)?.actions).toEqual(["KeyDelete"]);
    const otherWorkspace = WORKSPACE.replace("/law", "/law-other");
    expect(toScheduledQueryRule(rule([otherWorkspace], deletion), target)).toBeUndefined();
    expect(
      toScheduledQueryRule(rule([`${SUBSCRIPTION}/resourceGroups/rg-other`], deletion), target),
    ).toBeUndefined();
  });

  it("drops a rule naming no administrative operation, and keeps enabled unknown when Azure omits it", () => {
    expect(toScheduledQueryRule(rule([WORKSPACE], "Perf | where CounterValue > 90"), target)).toBeUndefined();
    const partial = toScheduledQueryRule(
      rule([WORKSPACE], deletion, { enabled: null, actions: null }),
      target,
    );
    expect(partial).toMatchObject({ enabled: undefined, notifies: [] });
  });
});

describe("toActivityLogAlert", () => {
  const alert = (scopes: string[], allOf: ActivityLogAlertLeaf[], enabled: boolean | null = true) => ({
    id: `${GROUP}/providers/microsoft.insights/activityLogAlerts/vault-deleted`,
    name: "vault-deleted",
    properties: {
      scopes,
      enabled,
      condition: { allOf },
      actions: { actionGroups: [{ actionGroupId: ACTION_GROUP, webhookProperties: {} }] },
    },
  });
  const administrative = { field: "category", equals: "Administrative" };

  it("keeps an alert on vault deletion scoped to the subscription, with the operations its condition names", () => {
    expect(
      toActivityLogAlert(
        alert(
          [SUBSCRIPTION],
          [
            administrative,
            { field: "operationName", equals: "Microsoft.KeyVault/vaults/delete" },
            { anyOf: [{ field: "operationName", containsAny: ["Microsoft.KeyVault/vaults/write"] }] },
          ],
        ),
        target,
      ),
    ).toMatchObject({
      kind: "azure-activity-log-alert",
      name: "vault-deleted",
      enabled: true,
      actions: ["Microsoft.KeyVault/vaults/delete", "Microsoft.KeyVault/vaults/write"],
      notifies: [ACTION_GROUP],
    });
  });

  it("drops alerts narrowed to another vault or resource group, on other resource types, or scoped elsewhere", () => {
    const deletion = { field: "operationName", equals: "Microsoft.KeyVault/vaults/delete" };
    expect(
      toActivityLogAlert(
        alert(
          [SUBSCRIPTION],
          [deletion, { field: "resourceId", equals: VAULT.replace("kv-payments", "kv-other") }],
        ),
        target,
      ),
    ).toBeUndefined();
    expect(
      toActivityLogAlert(
        alert([SUBSCRIPTION], [deletion, { field: "resourceGroup", equals: "rg-other" }]),
        target,
      ),
    ).toBeUndefined();
    expect(
      toActivityLogAlert(
        alert([SUBSCRIPTION], [deletion, { field: "resourceId", equals: VAULT.toUpperCase() }]),
        target,
      )?.actions,
    ).toEqual(["Microsoft.KeyVault/vaults/delete"]);
    expect(
      toActivityLogAlert(
        alert(
          [SUBSCRIPTION],
          [{ field: "operationName", equals: "Microsoft.Compute/virtualMachines/delete" }],
        ),
        target,
      ),
    ).toBeUndefined();
    expect(toActivityLogAlert(alert(["/subscriptions/other"], [deletion]), target)).toBeUndefined();
  });
});
