/**
 * Key Vault usage from Log Analytics: `AzureDiagnostics` and the dedicated `AZKVAuditLogs` table, scoped to
 * the vault's resource id, queried in time windows and pages (usage-query.ts builds the queries). Unreadable
 * windows, pages or rows come out as gaps and the stream goes on.
 */
import type { Collected } from "../../model/key.ts";
import type { DateRange } from "../../model/snapshot.ts";
import type { UsageItem } from "../../model/usage.ts";
import type { AzureKeyVaultSourceConfig } from "../../config/sources/azure-key-vault.schema.ts";
import type { AzureClients } from "./azure-clients.ts";
import { toCollectionError } from "./azure-error.ts";
import type { UsageRow, UsageTable } from "./usage-query.ts";
import { USAGE_TABLES, buildUsageQuery, toUsageEvent, usageWindows } from "./usage-query.ts";
import type { VaultLocator } from "./vault-arm.collector.ts";

export interface LogAnalyticsUsageContext {
  config: AzureKeyVaultSourceConfig;
  clients: AzureClients;
  locateVault(location: string): Promise<Collected<VaultLocator>>;
  /** Rows per page. */
  pageSize: number;
  /** Hours per time window. */
  windowHours: number;
}

/** Usage events of one vault for the range, streamed window by window and page by page. */
export function streamLogAnalyticsUsage(
  context: LogAnalyticsUsageContext,
  location: string,
  range: DateRange,
  workspaceId: string,
): AsyncGenerator<UsageItem> {
  const { config, clients, locateVault, pageSize, windowHours } = context;
  async function* streamLogAnalytics(
    location: string,
    range: DateRange,
    workspaceId: string,
  ): AsyncGenerator<UsageItem> {
    const located = await locateVault(location);
    if (!located.ok) {
      yield {
        kind: "gap",
        gap: {
          source: config.id,
          location,
          object: "vault resource id",
          code: located.error.code,
          message: `cannot scope the audit query to the vault: ${located.error.message}`,
        },
      };
      return;
    }
    for (const table of USAGE_TABLES) {
      for (const window of usageWindows(range.from, range.toExclusive, windowHours)) {
        yield* streamWindow(
          location,
          workspaceId,
          located.value.resourceId,
          table,
          window.startTime,
          window.endTime,
        );
      }
    }
  }

  async function* streamWindow(
    location: string,
    workspaceId: string,
    vaultResourceId: string,
    table: UsageTable,
    startTime: Date,
    endTime: Date,
  ): AsyncGenerator<UsageItem> {
    const context = { source: config.id, location, workspaceId, table };
    for (let offset = 0; ; offset += pageSize) {
      const object = `${table} ${startTime.toISOString()}/${endTime.toISOString()} rows ${offset + 1}-${offset + pageSize}`;
      let rows: UsageRow[];
      let partialError: string | undefined;
      try {
        const query = buildUsageQuery({ table, vaultResourceId, offset, pageSize });
        const result = await clients.logs.queryWorkspace(workspaceId, query, { startTime, endTime });
        const tables = result.status === "Success" ? result.tables : result.partialTables;
        if (result.status !== "Success") {
          partialError = `${result.partialError.code ?? "PartialError"}: ${result.partialError.message}`;
        }
        const first = tables[0];
        rows = (first?.rows ?? []).map((cells) => {
          const row: UsageRow = {};
          first?.columnDescriptors.forEach((column, index) => {
            if (column.name !== undefined) row[column.name] = cells[index];
          });
          return row;
        });
      } catch (error) {
        const failure = toCollectionError("loganalytics:queryWorkspace", error);
        yield {
          kind: "gap",
          gap: { source: config.id, location, object, code: failure.code, message: failure.message },
        };
        return;
      }
      for (const row of rows) {
        const event = toUsageEvent(row, context);
        if (event === undefined) {
          yield {
            kind: "gap",
            gap: {
              source: config.id,
              location,
              object,
              code: "UnreadableRecord",
              message: `a ${table} row has no TimeGenerated: ${JSON.stringify(row).slice(0, 300)}`,
            },
          };
        } else yield { kind: "event", event };
      }
      if (partialError !== undefined) {
        // The service returned what it could; the rest of the window is unknown, so say so and move on.
        yield {
          kind: "gap",
          gap: { source: config.id, location, object, code: "PartialError", message: partialError },
        };
        return;
      }
      if (rows.length < pageSize) return;
    }
  }
  return streamLogAnalytics(location, range, workspaceId);
}
