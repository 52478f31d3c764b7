import { describe, expect, it } from "vitest";
import type { CollectionError } from "../../model/key.ts";
import type { KeyEventAlert } from "../../model/logging.ts";
import type { LocationSnapshot, MonitoringDestination } from "../../model/snapshot.ts";
import {
  loggingSnapshotParts,
  makeAzureActivityLogAlert,
  makeAzureLogSearchAlert,
  makeCollectionError,
  makeDiagnosticSetting,
  makeGap,
  makeLoggingLocation,
  makeLoggingStatus,
  makeSnapshot,
  makeSourceGap,
  makeVaultAuditDevice,
  withKeyEventAlerting,
} from "../../../test/factories/index.ts";
import { loggingStatusPath } from "../../evidence/paths.ts";
import { check } from "./azure-key-deletion-alerted.check.ts";

const SOURCE = "azure-prod";
const VAULT = "https://kv-payments.vault.azure.net";
const WORKSPACE =
  "/subscriptions/sub/resourceGroups/rg-sec/providers/Microsoft.OperationalInsights/workspaces/law";

function vaultLocation(
  alerts: KeyEventAlert[],
  errors: CollectionError[] = [],
  location = VAULT,
  source = SOURCE,
): LocationSnapshot {
  return withKeyEventAlerting(
    makeLoggingLocation(source, location, [makeDiagnosticSetting("kv-to-law", { workspaceId: WORKSPACE })]),
    alerts,
    errors,
  );
}

function judge(location: LocationSnapshot, destinations: MonitoringDestination[] = []) {
  return check.run(makeSnapshot(loggingSnapshotParts("azure-key-vault", [location], destinations)));
}

describe("azure-key-deletion-alerted", () => {
  it("has nothing to judge without an Azure source (not applicable to AWS and Vault)", () => {
    expect(check.run(makeSnapshot())).toEqual([]);
    expect(check.run(makeSnapshot({ logging: [makeLoggingStatus()] }))).toEqual([]);
    expect(
      check.run(
        makeSnapshot(
          loggingSnapshotParts("hashicorp-vault", [
            makeLoggingLocation("vault-prod", "https://vault:8200", [makeVaultAuditDevice("file", "file")]),
          ]),
        ),
      ),
    ).toEqual([]);
  });

  it("passes an enabled log search alert on KeyDelete that notifies an action group, naming both", () => {
    expect(judge(vaultLocation([makeAzureLogSearchAlert(), makeAzureActivityLogAlert()]))).toEqual([
      {
        checkId: "azure-key-deletion-alerted",
        status: "pass",
        severity: "info",
        source: SOURCE,
        location: VAULT,
        resource: `${SOURCE}/${VAULT}`,
        message:
          "key deletion is alerted: log search alert kv-key-deleted fires on KeyDelete, KeyPurge and notifies action group kv-custodians",
        evidence: [loggingStatusPath(SOURCE, VAULT)],
      },
    ]);
  });

  it("passes on a declared alert (a Sentinel analytics rule), saying it is declared, even when the reads failed", () => {
    const denied = makeCollectionError({
      call: "arm:ScheduledQueryRules.listBySubscription",
      code: "AuthorizationFailed",
    });
    const [finding] = judge(vaultLocation([], [denied]), [
      { source: SOURCE, name: "Sentinel: Key Vault key deleted", kind: "alert" },
      { source: SOURCE, name: "Splunk", kind: "siem" },
    ]);
    expect(finding).toMatchObject({
      status: "pass",
      message:
        "key deletion is alerted by declared alert Sentinel: Key Vault key deleted (declared in policy.monitoring, not read from Azure)",
    });
  });

  it("fails on a vault-deletion activity-log alert alone, explaining that key deletion never reaches the activity log", () => {
    const [finding] = judge(vaultLocation([makeAzureActivityLogAlert()]));
    expect(finding).toMatchObject({
      status: "fail",
      severity: "medium",
      message:
        "no enabled alert rule notifies anyone when a key of this vault is deleted (KeyDelete): activity-log alert kv-vault-deleted fires when the vault is deleted, not a key (key deletion is a data-plane operation the activity log does not record); create a log search alert on KeyDelete over the vault's AuditEvent, or declare the equivalent rule in policy.monitoring as kind alert",
    });
  });

  it("fails naming rules on KeyDelete that are disabled or notify no one, and a rule on KeyPurge only", () => {
    const [finding] = judge(
      vaultLocation([
        makeAzureLogSearchAlert("off", { enabled: false }),
        makeAzureLogSearchAlert("silent", { notifies: [] }),
        makeAzureLogSearchAlert("purge-only", { actions: ["KeyPurge"] }),
        makeAzureLogSearchAlert("rotation", { actions: ["KeyRotate"] }),
      ]),
      [{ source: SOURCE, name: "Splunk", kind: "siem" }],
    );
    expect(finding?.status).toBe("fail");
    expect(finding?.message).toContain(
      ": log search alert off fires on KeyDelete but is disabled, log search alert silent fires on KeyDelete but notifies no action group, log search alert purge-only fires on KeyPurge only, after the deletion, when the key can no longer be recovered;",
    );
    expect(finding?.message).not.toContain("rotation");
    expect(judge(vaultLocation([]))[0]?.message).toMatch(
      /^no enabled alert rule notifies anyone when a key of this vault is deleted \(KeyDelete\); create/,
    );
  });

  it("warns when a notifying rule on KeyDelete does not say whether it is enabled, or alerting was not reported", () => {
    expect(
      judge(vaultLocation([makeAzureLogSearchAlert("unknown", { enabled: undefined })]))[0],
    ).toMatchObject({
      status: "warn",
      message: "log search alert unknown fires on KeyDelete, but Azure does not say whether it is enabled",
    });
    const unreported = makeLoggingLocation(SOURCE, VAULT, [
      makeDiagnosticSetting("s", { workspaceId: WORKSPACE }),
    ]);
    expect(judge(unreported)[0]).toMatchObject({
      status: "warn",
      message: expect.stringContaining("the source did not report the vault's alert rules"),
    });
  });

  it("errors when a rule list or the diagnostic settings could not be read and nothing covers, naming each cause once", () => {
    const denied = makeCollectionError({
      call: "arm:ActivityLogAlerts.listBySubscriptionId",
      code: "AuthorizationFailed",
      message: "does not have authorization to perform action 'Microsoft.Insights/activityLogAlerts/read'",
    });
    expect(judge(vaultLocation([makeAzureActivityLogAlert()], [denied]))[0]).toMatchObject({
      status: "error",
      message:
        "the alert rules on this vault could not all be read, so a rule on key deletion may be missed: arm:ActivityLogAlerts.listBySubscriptionId failed (AuthorizationFailed): does not have authorization to perform action 'Microsoft.Insights/activityLogAlerts/read'",
    });
    // Unknown workspaces: a workspace-scoped rule cannot be related to the vault.
    const settingsDenied = makeCollectionError({
      call: "arm:DiagnosticSettings.list",
      code: "AuthorizationFailed",
    });
    const location = withKeyEventAlerting(makeLoggingLocation(SOURCE, VAULT, [], [settingsDenied]), []);
    expect(judge(location)[0]).toMatchObject({
      status: "error",
      message: expect.stringContaining("arm:DiagnosticSettings.list failed (AuthorizationFailed)"),
    });
    // A covering rule found by the list that answered is proof enough.
    expect(judge(vaultLocation([makeAzureLogSearchAlert()], [denied]))[0]?.status).toBe("pass");
  });

  it("gives every vault, and every vault lost to a gap, exactly one finding", () => {
    const findings = check.run(
      makeSnapshot(
        loggingSnapshotParts(
          "azure-key-vault",
          [
            vaultLocation([makeAzureLogSearchAlert()]),
            vaultLocation([], [], "https://kv-bare.vault.azure.net"),
            vaultLocation([], [], "https://kv-eu.vault.azure.net", "azure-eu"),
          ],
          [{ source: "azure-eu", name: "Sentinel rule", kind: "alert" }],
          [
            makeGap({ source: SOURCE, location: "https://kv-gone.vault.azure.net" }),
            makeSourceGap({ source: "azure-down" }),
          ],
        ),
      ),
    );
    expect(
      findings.map((finding) => `${finding.source} ${finding.location ?? "-"} ${finding.status}`),
    ).toEqual([
      `${SOURCE} ${VAULT} pass`,
      `${SOURCE} https://kv-bare.vault.azure.net fail`,
      `${SOURCE} https://kv-gone.vault.azure.net error`,
      "azure-eu https://kv-eu.vault.azure.net pass",
      "azure-down - error",
    ]);
  });
});
