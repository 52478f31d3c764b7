import { describe, expect, it } from "vitest";
import { toLoggingSink } from "./diagnostic-settings.ts";

const workspace = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.OperationalInsights/workspaces/law";

describe("toLoggingSink", () => {
  it("covers key events when AuditEvent is enabled and sent to a workspace", () => {
    const sink = toLoggingSink({
      id: "ds-1",
      name: "to-law",
      properties: { workspaceId: workspace, logs: [{ category: "AuditEvent", enabled: true }] },
    });
    expect(sink).toMatchObject({
      kind: "azure-diagnostic-setting",
      name: "to-law",
      reference: "ds-1",
      active: true,
      coversKeyEvents: true,
      coverageReason: "enabled: category AuditEvent",
      destination: workspace,
      retention: { kind: "unknown" },
    });
  });

  it.each(["allLogs", "audit", "AllLogs"])("counts the %s category group", (group) => {
    expect(
      toLoggingSink({
        name: "g",
        properties: { storageAccountId: "sa", logs: [{ categoryGroup: group, enabled: true }] },
      }).coversKeyEvents,
    ).toBe(true);
  });

  it("does not cover key events with only other categories, disabled entries or no destination", () => {
    expect(
      toLoggingSink({
        name: "p",
        properties: {
          workspaceId: workspace,
          logs: [
            { category: "AzurePolicyEvaluationDetails", enabled: true },
            { category: "AuditEvent", enabled: false },
          ],
        },
      }),
    ).toMatchObject({
      active: true,
      coversKeyEvents: false,
      coverageReason: "AuditEvent is not enabled (enabled: category AzurePolicyEvaluationDetails)",
    });
    expect(toLoggingSink({ name: "n", properties: { workspaceId: workspace, logs: [] } })).toMatchObject({
      active: false,
      coverageReason: "no log category is enabled",
    });
    const nowhere = toLoggingSink({
      name: "x",
      properties: { logs: [{ category: "AuditEvent", enabled: true }] },
    });
    expect(nowhere).toMatchObject({
      active: false,
      coversKeyEvents: false,
      coverageReason: "the setting has no destination",
    });
    expect(nowhere).not.toHaveProperty("destination");
  });

  it("never reads retention from the deprecated retentionPolicy, but keeps it in the detail", () => {
    const sink = toLoggingSink({
      name: "s",
      properties: {
        storageAccountId: "sa",
        eventHubAuthorizationRuleId: "rule",
        eventHubName: "hub",
        logs: [{ category: "AuditEvent", enabled: true, retentionPolicy: { enabled: true, days: 30 } }],
      },
    });
    expect(sink.retention.kind).toBe("unknown");
    expect(sink.destination).toBe("sa, rule/hub");
    expect(sink.detail["logs"]).toEqual([
      {
        category: "AuditEvent",
        categoryGroup: null,
        enabled: true,
        retentionPolicy: { enabled: true, days: 30 },
      },
    ]);
  });

  it("types each destination the setting sends to, leaving out those it does not (null on the wire)", () => {
    const sink = toLoggingSink({
      name: "all",
      properties: {
        workspaceId: workspace,
        storageAccountId: "sa",
        eventHubAuthorizationRuleId: "rule",
        eventHubName: "hub",
        marketplacePartnerId: null,
        logs: [{ category: "AuditEvent", enabled: true }],
      },
    });
    expect(sink.diagnosticDestinations).toEqual({
      workspaceId: workspace,
      storageAccountId: "sa",
      eventHubAuthorizationRuleId: "rule",
      eventHubName: "hub",
    });
    expect(
      toLoggingSink({ name: "none", properties: { storageAccountId: null, logs: [] } })
        .diagnosticDestinations,
    ).toEqual({});
  });
});
