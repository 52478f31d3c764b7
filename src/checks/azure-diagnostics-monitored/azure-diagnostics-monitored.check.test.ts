import { describe, expect, it } from "vitest";
import type { CollectionError } from "../../model/key.ts";
import type { LoggingSink } from "../../model/logging.ts";
import type { LocationSnapshot, MonitoringDestination, SourceGap } from "../../model/snapshot.ts";
import {
  loggingSnapshotParts,
  makeCollectionError,
  makeDiagnosticSetting as setting,
  makeGap,
  makeLoggingLocation,
  makeLoggingStatus,
  makeSnapshot,
  makeSourceGap,
  makeVaultAuditDevice,
} from "../../../test/factories/index.ts";
import { loggingStatusPath } from "../../evidence/paths.ts";
import { check } from "./azure-diagnostics-monitored.check.ts";

const SOURCE = "azure-prod";
const VAULT = "https://kv-payments.vault.azure.net";
const RG = "/subscriptions/sub/resourceGroups/rg-sec/providers";
const WORKSPACE = `${RG}/Microsoft.OperationalInsights/workspaces/law-sec`;
const STORAGE = `${RG}/Microsoft.Storage/storageAccounts/kvlogs`;
const HUB_RULE = `${RG}/Microsoft.EventHub/namespaces/ehns-sec/authorizationRules/RootManageSharedAccessKey`;

function judge(
  sinks: LoggingSink[],
  destinations: MonitoringDestination[] = [],
  errors: CollectionError[] = [],
) {
  return check.run(
    makeSnapshot(
      loggingSnapshotParts(
        "azure-key-vault",
        [makeLoggingLocation(SOURCE, VAULT, sinks, errors)],
        destinations,
      ),
    ),
  );
}

describe("azure-diagnostics-monitored", () => {
  it("has nothing to judge without an Azure source", () => {
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

  it("passes AuditEvent sent to a Log Analytics workspace, naming the setting and the workspace", () => {
    expect(judge([setting("kv-to-law", { workspaceId: WORKSPACE })])).toEqual([
      {
        checkId: "azure-diagnostics-monitored",
        status: "pass",
        severity: "info",
        source: SOURCE,
        location: VAULT,
        resource: `${SOURCE}/${VAULT}`,
        message: "AuditEvent is sent to monitoring: setting kv-to-law → Log Analytics workspace law-sec",
        evidence: [loggingStatusPath(SOURCE, VAULT)],
      },
    ]);
  });

  it("passes AuditEvent sent to an Event Hub (or a partner solution) beside a storage archive", () => {
    expect(
      judge([
        setting("archive", { storageAccountId: STORAGE }),
        setting("to-hub", {
          eventHubAuthorizationRuleId: HUB_RULE,
          eventHubName: "kv-audit",
          storageAccountId: STORAGE,
        }),
      ])[0],
    ).toMatchObject({
      status: "pass",
      message: "AuditEvent is sent to monitoring: setting to-hub → Event Hub ehns-sec/kv-audit",
    });
    expect(
      judge([
        setting("to-datadog", {
          marketplacePartnerId:
            "/subscriptions/sub/resourceGroups/rg/providers/Microsoft.Datadog/monitors/dd",
        }),
      ])[0],
    ).toMatchObject({ status: "pass", message: expect.stringContaining("partner solution dd") });
  });

  it("warns when AuditEvent reaches a storage account only: an archive, not monitoring", () => {
    expect(judge([setting("all-to-storage", { storageAccountId: STORAGE })])[0]).toMatchObject({
      status: "warn",
      severity: "medium",
      message:
        "AuditEvent reaches an archive only, not a monitoring system (setting all-to-storage → storage account kvlogs); send it to a Log Analytics workspace or an Event Hub, or declare the SIEM that reads it in policy.monitoring",
    });
  });

  it("passes storage only with a SIEM declared for the source, saying it is declared (a shipper does not count)", () => {
    const [finding] = judge(
      [setting("all-to-storage", { storageAccountId: STORAGE })],
      [
        { source: SOURCE, name: "log shipper", kind: "shipper" },
        { source: SOURCE, name: "Splunk (storage account via Azure add-on)", kind: "siem" },
      ],
    );
    expect(finding).toMatchObject({
      status: "pass",
      message:
        "AuditEvent is archived (setting all-to-storage → storage account kvlogs) and monitored by declared siem Splunk (storage account via Azure add-on)",
    });
    expect(
      judge(
        [setting("s", { storageAccountId: STORAGE })],
        [{ source: SOURCE, name: "x", kind: "shipper" }],
      )[0]?.status,
    ).toBe("warn");
  });

  it("fails without a setting sending AuditEvent, even when a SIEM is declared (it cannot receive them)", () => {
    expect(judge([])[0]).toMatchObject({
      status: "fail",
      message: "no diagnostic setting sends AuditEvent anywhere",
    });
    const [finding] = judge(
      [setting("policy-only", { workspaceId: WORKSPACE }, { coversKeyEvents: false })],
      [{ source: SOURCE, name: "Sentinel", kind: "siem" }],
    );
    expect(finding).toMatchObject({
      status: "fail",
      message:
        "no diagnostic setting sends AuditEvent anywhere; declared siem Sentinel cannot receive events the vault does not export",
    });
  });

  it("errors when the diagnostic settings could not be read, naming the call and the cause", () => {
    const denied = makeCollectionError({
      call: "arm:DiagnosticSettings.list",
      code: "AuthorizationFailed",
      message: "does not have authorization to perform action 'Microsoft.Insights/diagnosticSettings/read'",
    });
    expect(judge([], [{ source: SOURCE, name: "Sentinel", kind: "siem" }], [denied])[0]).toMatchObject({
      status: "error",
      message:
        "the diagnostic settings could not be read: arm:DiagnosticSettings.list failed (AuthorizationFailed): does not have authorization to perform action 'Microsoft.Insights/diagnosticSettings/read'",
    });
  });

  it("fails, not errors, when only an alert rule listing failed (it hides no diagnostic setting)", () => {
    const alertsDenied = makeCollectionError({ call: "arm:ScheduledQueryRules.listBySubscription" });
    const location = makeLoggingLocation(SOURCE, VAULT, [], [alertsDenied]);
    location.logging.keyEventAlerting = { alerts: [], errors: [alertsDenied] };
    expect(check.run(makeSnapshot(loggingSnapshotParts("azure-key-vault", [location])))[0]).toMatchObject({
      status: "fail",
      message: "no diagnostic setting sends AuditEvent anywhere",
    });
  });

  it("gives every vault, and every vault lost to a gap, exactly one finding", () => {
    const locations: LocationSnapshot[] = [
      makeLoggingLocation(SOURCE, VAULT, [setting("law", { workspaceId: WORKSPACE })]),
      makeLoggingLocation(SOURCE, "https://kv-archive.vault.azure.net", [
        setting("sa", { storageAccountId: STORAGE }),
      ]),
      makeLoggingLocation(SOURCE, "https://kv-dark.vault.azure.net", []),
      makeLoggingLocation("azure-eu", "https://kv-eu.vault.azure.net", [
        setting("sa", { storageAccountId: STORAGE }),
      ]),
    ];
    const gaps: SourceGap[] = [
      makeGap({ source: SOURCE, location: "https://kv-gone.vault.azure.net" }),
      makeSourceGap({ source: "azure-down" }),
    ];
    const findings = check.run(
      makeSnapshot(
        loggingSnapshotParts(
          "azure-key-vault",
          locations,
          [{ source: "azure-eu", name: "Sentinel", kind: "siem" }],
          gaps,
        ),
      ),
    );
    expect(
      findings.map((finding) => `${finding.source} ${finding.location ?? "-"} ${finding.status}`),
    ).toEqual([
      `${SOURCE} ${VAULT} pass`,
      `${SOURCE} https://kv-archive.vault.azure.net warn`,
      `${SOURCE} https://kv-dark.vault.azure.net fail`,
      `${SOURCE} https://kv-gone.vault.azure.net error`,
      "azure-eu https://kv-eu.vault.azure.net pass",
      "azure-down - error",
    ]);
    expect(findings.every((finding) => finding.keyId === undefined)).toBe(true);
  });
});
