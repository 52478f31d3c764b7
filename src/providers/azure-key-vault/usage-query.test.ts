import { describe, expect, it } from "vitest";
import { buildUsageQuery, keyNameFromUri, toUsageEvent, usageWindows } from "./usage-query.ts";

const context = {
  source: "azure-prod",
  location: "https://kv.vault.azure.net",
  workspaceId: "ws",
  table: "AzureDiagnostics" as const,
};

describe("buildUsageQuery", () => {
  it("scopes to the vault and key operations, projects through column_ifexists and pages by row number", () => {
    const query = buildUsageQuery({
      table: "AzureDiagnostics",
      vaultResourceId: '/subscriptions/s/x"y',
      offset: 10,
      pageSize: 5,
    });
    expect(query).toContain(
      'union isfuzzy=true (AzureDiagnostics | where ResourceProvider == "MICROSOFT.KEYVAULT" | where _ResourceId =~ "/subscriptions/s/x\\"y"',
    );
    expect(query).toContain('"KeyDecrypt"');
    expect(query).not.toContain('"SecretGet"');
    expect(query).toContain('HttpStatusCode = toreal(column_ifexists("httpStatusCode_d", real(null)))');
    expect(query.split("\n").slice(-4)).toEqual([
      "| order by TimeGenerated asc, RecordId asc",
      "| extend Row = row_number()",
      "| where Row > 10",
      "| take 5",
    ]);
    expect(
      buildUsageQuery({ table: "AZKVAuditLogs", vaultResourceId: "v", offset: 0, pageSize: 5 }),
    ).toContain('column_ifexists("HttpStatusCode", real(null))');
  });
});

describe("usageWindows", () => {
  it("cuts the range into windows, the last one short", () => {
    const windows = usageWindows("2026-10-01T00:00:00.000Z", "2026-10-03T12:00:00.000Z", 24);
    expect(windows.map((window) => window.endTime.toISOString())).toEqual([
      "2026-10-02T00:00:00.000Z",
      "2026-10-03T00:00:00.000Z",
      "2026-10-03T12:00:00.000Z",
    ]);
  });
});

describe("toUsageEvent", () => {
  it("prefers the UPN, then the object id, then the app id, also from a dynamic Identity claim", () => {
    const time = new Date("2026-10-01T00:00:00Z");
    expect(
      toUsageEvent(
        { TimeGenerated: time, OperationName: "KeySign", CallerUpn: "a@b", CallerObjectId: "oid" },
        context,
      )?.principal,
    ).toBe("a@b");
    expect(
      toUsageEvent({ TimeGenerated: time, OperationName: "KeySign", CallerAppId: "app" }, context)?.principal,
    ).toBe("app");
    expect(
      toUsageEvent(
        {
          TimeGenerated: time,
          Identity: { claim: { "http://schemas.microsoft.com/identity/claims/objectidentifier": "oid2" } },
        },
        context,
      )?.principal,
    ).toBe("oid2");
    expect(toUsageEvent({ TimeGenerated: time }, context)?.principal).toBe("unknown");
  });

  it("judges the outcome on the HTTP status, or the result signature when there is none", () => {
    const base = { TimeGenerated: "2026-10-01T00:00:00Z", OperationName: "KeyGet" };
    expect(
      toUsageEvent({ ...base, HttpStatusCode: 401, ResultSignature: "Unauthorized" }, context),
    ).toMatchObject({ outcome: "failure", errorCode: "Unauthorized" });
    expect(toUsageEvent({ ...base, ResultSignature: "OK" }, context)?.outcome).toBe("success");
    expect(toUsageEvent({ ...base, ResultSignature: "TooManyRequests" }, context)?.outcome).toBe("failure");
  });

  it("names the key from the object URI against the vault location, and rejects rows without a time", () => {
    const event = toUsageEvent(
      {
        TimeGenerated: "2026-10-01T00:00:00Z",
        ObjectUri: "https://KV.vault.azure.net/keys/pay/123",
        RecordId: "r",
      },
      context,
    );
    expect(event).toMatchObject({
      keyId: "https://kv.vault.azure.net/keys/pay",
      keyReference: "https://KV.vault.azure.net/keys/pay/123",
      eventId: "r",
    });
    expect(keyNameFromUri("https://kv.vault.azure.net/secrets/pay")).toBeUndefined();
    expect(keyNameFromUri("not a url")).toBeUndefined();
    expect(toUsageEvent({ OperationName: "KeyGet" }, context)).toBeUndefined();
  });
});
