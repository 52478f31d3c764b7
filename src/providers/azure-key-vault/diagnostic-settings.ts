import type { DiagnosticDestinations, LoggingSink, Retention } from "../../model/logging.ts";

/**
 * A vault's diagnostic settings to logging sinks. Key Vault writes its audit trail (every key operation,
 * authenticated or not) as the `AuditEvent` log category; the `audit` and `allLogs` category groups include it.
 * A setting covers key events only when such an entry is enabled AND the setting sends somewhere
 * (workspace, storage account, event hub or partner solution).
 */

export interface DiagnosticLogEntry {
  category?: string | null;
  categoryGroup?: string | null;
  enabled: boolean;
  retentionPolicy?: { enabled?: boolean; days?: number } | null;
}

/** The wire shape of one `Microsoft.Insights/diagnosticSettings` item (api-version 2021-05-01-preview). */
export interface DiagnosticSettingResource {
  id?: string;
  name?: string;
  properties?: {
    storageAccountId?: string | null;
    serviceBusRuleId?: string | null;
    eventHubAuthorizationRuleId?: string | null;
    eventHubName?: string | null;
    workspaceId?: string | null;
    marketplacePartnerId?: string | null;
    logAnalyticsDestinationType?: string | null;
    logs?: DiagnosticLogEntry[] | null;
  };
}

const AUDIT_CATEGORY = "auditevent";
const AUDIT_GROUPS = new Set(["audit", "alllogs"]);

function present(value: string | null | undefined): value is string {
  return typeof value === "string" && value.length > 0;
}

function describeEntry(entry: DiagnosticLogEntry): string {
  return present(entry.category)
    ? `category ${entry.category}`
    : `category group ${entry.categoryGroup ?? "?"}`;
}

/**
 * Retention is never read from the setting itself: `retentionPolicy` applied only to storage accounts, was
 * deprecated in 2023 and is no longer honoured since September 2025 (Azure Monitor's migration notice), so a
 * stated `days` proves nothing. Where retention really lives is named instead; the stated policy stays in `detail`.
 */
function retentionOf(setting: DiagnosticSettingResource): Retention {
  const properties = setting.properties ?? {};
  if (present(properties.workspaceId)) {
    return {
      kind: "unknown",
      reason:
        "retention is set on the Log Analytics workspace (or table), which the diagnostic setting does not report",
    };
  }
  if (present(properties.storageAccountId)) {
    return {
      kind: "unknown",
      reason: "retention of a storage account destination is its lifecycle management policy, not read here",
    };
  }
  return {
    kind: "unknown",
    reason: "the destination (event hub or partner) keeps records as its consumer decides",
  };
}

/** The typed destinations a check judges (monitoring versus archive); only fields the setting sets. */
function destinationsOf(setting: DiagnosticSettingResource): DiagnosticDestinations {
  const properties = setting.properties ?? {};
  const destinations: DiagnosticDestinations = {};
  if (present(properties.workspaceId)) destinations.workspaceId = properties.workspaceId;
  if (present(properties.eventHubAuthorizationRuleId)) {
    destinations.eventHubAuthorizationRuleId = properties.eventHubAuthorizationRuleId;
    if (present(properties.eventHubName)) destinations.eventHubName = properties.eventHubName;
  }
  if (present(properties.storageAccountId)) destinations.storageAccountId = properties.storageAccountId;
  if (present(properties.marketplacePartnerId))
    destinations.marketplacePartnerId = properties.marketplacePartnerId;
  return destinations;
}

export function toLoggingSink(setting: DiagnosticSettingResource): LoggingSink {
  const properties = setting.properties ?? {};
  const destinations: Record<string, string> = {};
  if (present(properties.workspaceId)) destinations["workspace"] = properties.workspaceId;
  if (present(properties.storageAccountId)) destinations["storageAccount"] = properties.storageAccountId;
  if (present(properties.eventHubAuthorizationRuleId)) {
    destinations["eventHub"] =
      `${properties.eventHubAuthorizationRuleId}${present(properties.eventHubName) ? `/${properties.eventHubName}` : ""}`;
  }
  if (present(properties.marketplacePartnerId)) destinations["partner"] = properties.marketplacePartnerId;
  const logs = properties.logs ?? [];
  const enabledEntries = logs.filter((entry) => entry.enabled);
  const covering = enabledEntries.filter(
    (entry) =>
      (present(entry.category) && entry.category.toLowerCase() === AUDIT_CATEGORY) ||
      (present(entry.categoryGroup) && AUDIT_GROUPS.has(entry.categoryGroup.toLowerCase())),
  );
  const hasDestination = Object.keys(destinations).length > 0;
  let coverageReason: string;
  if (!hasDestination) coverageReason = "the setting has no destination";
  else if (covering.length > 0) coverageReason = `enabled: ${covering.map(describeEntry).join(", ")}`;
  else if (enabledEntries.length > 0)
    coverageReason = `AuditEvent is not enabled (enabled: ${enabledEntries.map(describeEntry).join(", ")})`;
  else coverageReason = "no log category is enabled";

  const sink: LoggingSink = {
    kind: "azure-diagnostic-setting",
    name: setting.name ?? "(unnamed)",
    reference: setting.id ?? setting.name ?? "(unknown)",
    active: hasDestination && enabledEntries.length > 0,
    coversKeyEvents: hasDestination && covering.length > 0,
    coverageReason,
    retention: retentionOf(setting),
    diagnosticDestinations: destinationsOf(setting),
    detail: {
      destinations,
      logAnalyticsDestinationType: properties.logAnalyticsDestinationType ?? null,
      logs: logs.map((entry) => ({
        category: entry.category ?? null,
        categoryGroup: entry.categoryGroup ?? null,
        enabled: entry.enabled,
        ...(entry.retentionPolicy ? { retentionPolicy: entry.retentionPolicy } : {}),
      })),
    },
  };
  if (hasDestination) sink.destination = Object.values(destinations).join(", ");
  return sink;
}
