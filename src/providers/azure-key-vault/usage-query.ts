import type { UsageEvent } from "../../model/usage.ts";

/**
 * Key Vault audit events from Log Analytics. Diagnostic settings write them either to the legacy
 * `AzureDiagnostics` table (Azure-diagnostics mode) or to the resource-specific `AZKVAuditLogs` table
 * (`logAnalyticsDestinationType: Dedicated`), with different column names; a vault may even have both.
 * Each table is queried on its own, wrapped in `union isfuzzy=true` so a table the workspace never received
 * reads as empty instead of failing, and projected to one column set. Optional dynamic-schema columns are read
 * through `column_ifexists`, since not every workspace has every `_s`/`_g`/`_d` column.
 *
 * Memory stays bounded by paging: the range is cut into time windows (the query API's `timespan`), and each
 * window is read in pages of `pageSize` rows ordered by (TimeGenerated, _ItemId) and numbered with
 * `row_number()`, so page N is `Row > offset | take pageSize`.
 */

export const USAGE_TABLES = ["AzureDiagnostics", "AZKVAuditLogs"] as const;
export type UsageTable = (typeof USAGE_TABLES)[number];

/** Key operations (research/apis.md §2.6): crypto use, lifecycle, reads and rotation. Secrets/certificates excluded. */
export const KEY_OPERATIONS = [
  "KeyCreate",
  "KeyImport",
  "KeyUpdate",
  "KeyDelete",
  "KeyPurge",
  "KeyBackup",
  "KeyRestore",
  "KeyRecover",
  "KeyGet",
  "KeyList",
  "KeyListVersions",
  "KeyGetDeleted",
  "KeyListDeleted",
  "KeySign",
  "KeyVerify",
  "KeyWrap",
  "KeyUnwrap",
  "KeyEncrypt",
  "KeyDecrypt",
  "KeyRelease",
  "KeyRotate",
  "KeyRotateIfDue",
  "KeyRotationPolicyGet",
  "KeyRotationPolicySet",
  "KeyNearExpiryEventGridNotification",
  "KeyExpiredEventGridNotification",
] as const;

/**
 * Vault-resource writes through ARM that Key Vault logs in the same AuditEvent category (apis.md,
 * "operationName values"): they carry the vault's access policies and permission model, so they change
 * who may use every key of the vault, and belong to the configuration history. Vault reads are left out.
 */
export const VAULT_ACCESS_OPERATIONS = ["VaultPut", "VaultPatch"] as const;

/** Every operation the audit query reads: key operations and the vault's access changes. */
export const AUDITED_OPERATIONS = [...KEY_OPERATIONS, ...VAULT_ACCESS_OPERATIONS] as const;

/** Output column → (raw column per table, KQL default literal that fixes the output type). */
const PROJECTION: ReadonlyArray<{ name: string; columns: Record<UsageTable, string>; fallback: string }> = [
  {
    name: "ResultSignature",
    columns: { AzureDiagnostics: "ResultSignature", AZKVAuditLogs: "ResultSignature" },
    fallback: '""',
  },
  {
    name: "ResultType",
    columns: { AzureDiagnostics: "ResultType", AZKVAuditLogs: "ResultType" },
    fallback: '""',
  },
  {
    name: "HttpStatusCode",
    columns: { AzureDiagnostics: "httpStatusCode_d", AZKVAuditLogs: "HttpStatusCode" },
    fallback: "real(null)",
  },
  {
    name: "CallerIpAddress",
    columns: { AzureDiagnostics: "CallerIPAddress", AZKVAuditLogs: "CallerIpAddress" },
    fallback: '""',
  },
  {
    name: "CallerObjectId",
    columns: { AzureDiagnostics: "identity_claim_oid_g", AZKVAuditLogs: "CallerObjectId" },
    fallback: '""',
  },
  {
    name: "CallerUpn",
    columns: { AzureDiagnostics: "identity_claim_upn_s", AZKVAuditLogs: "CallerUpn" },
    fallback: '""',
  },
  {
    name: "CallerAppId",
    columns: { AzureDiagnostics: "identity_claim_appid_g", AZKVAuditLogs: "CallerAppId" },
    fallback: '""',
  },
  {
    name: "Identity",
    columns: { AzureDiagnostics: "Identity", AZKVAuditLogs: "Identity" },
    fallback: "dynamic(null)",
  },
  { name: "ObjectUri", columns: { AzureDiagnostics: "id_s", AZKVAuditLogs: "Id" }, fallback: '""' },
  {
    name: "RequestUri",
    columns: { AzureDiagnostics: "requestUri_s", AZKVAuditLogs: "RequestUri" },
    fallback: '""',
  },
  {
    name: "ClientInfo",
    columns: { AzureDiagnostics: "clientInfo_s", AZKVAuditLogs: "ClientInfo" },
    fallback: '""',
  },
  {
    name: "CorrelationId",
    columns: { AzureDiagnostics: "CorrelationId", AZKVAuditLogs: "CorrelationId" },
    fallback: '""',
  },
  { name: "RecordId", columns: { AzureDiagnostics: "_ItemId", AZKVAuditLogs: "_ItemId" }, fallback: '""' },
];

/** A KQL string literal; KQL strings use backslash escapes like JSON. */
function kqlString(value: string): string {
  return JSON.stringify(value);
}

function castFor(fallback: string): string {
  if (fallback.startsWith("real")) return "toreal";
  if (fallback.startsWith("dynamic")) return "todynamic";
  return "tostring";
}

export interface UsageQueryOptions {
  table: UsageTable;
  /** ARM id of the vault; records are matched on `_ResourceId` (which Azure writes upper-case) case-insensitively. */
  vaultResourceId: string;
  offset: number;
  pageSize: number;
}

export function buildUsageQuery(options: UsageQueryOptions): string {
  const { table } = options;
  const projection = PROJECTION.map(
    (column) =>
      `${column.name} = ${castFor(column.fallback)}(column_ifexists(${kqlString(column.columns[table])}, ${column.fallback}))`,
  );
  const operations = AUDITED_OPERATIONS.map(kqlString).join(", ");
  const providerFilter =
    table === "AzureDiagnostics" ? ` | where ResourceProvider == "MICROSOFT.KEYVAULT"` : "";
  return [
    `union isfuzzy=true (${table}${providerFilter} | where _ResourceId =~ ${kqlString(options.vaultResourceId)} | where OperationName in~ (${operations}))`,
    `| project TimeGenerated, OperationName, ${projection.join(", ")}`,
    `| order by TimeGenerated asc, RecordId asc`,
    `| extend Row = row_number()`,
    `| where Row > ${options.offset}`,
    `| take ${options.pageSize}`,
  ].join("\n");
}

export interface TimeWindow {
  startTime: Date;
  endTime: Date;
}

/** Consecutive windows of at most `windowHours` covering [from, toExclusive). */
export function usageWindows(from: string, toExclusive: string, windowHours: number): TimeWindow[] {
  const windows: TimeWindow[] = [];
  const end = Date.parse(toExclusive);
  const step = windowHours * 3_600_000;
  for (let start = Date.parse(from); start < end; start += step) {
    windows.push({ startTime: new Date(start), endTime: new Date(Math.min(start + step, end)) });
  }
  return windows;
}

/** A returned row, keyed by column name. */
export type UsageRow = Record<string, unknown>;

function text(row: UsageRow, column: string): string | undefined {
  const value = row[column];
  if (typeof value === "string") return value.length > 0 ? value : undefined;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return undefined;
}

/** `{"claim": {"oid": …, "upn": …, "appid": …}}` as AZKVAuditLogs' dynamic `Identity` column carries it. */
function claim(identity: unknown, names: string[]): string | undefined {
  if (typeof identity !== "object" || identity === null) return undefined;
  const claims = (identity as Record<string, unknown>)["claim"];
  if (typeof claims !== "object" || claims === null) return undefined;
  for (const name of names) {
    const value = (claims as Record<string, unknown>)[name];
    if (typeof value === "string" && value.length > 0) return value;
  }
  return undefined;
}

const OID_CLAIMS = ["oid", "http://schemas.microsoft.com/identity/claims/objectidentifier"];
const UPN_CLAIMS = ["upn", "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn", "unique_name"];
const APPID_CLAIMS = ["appid", "azp"];

/**
 * `https://kv.vault.azure.net/keys/payments/0123…` → `payments`. The object URI names the key when the
 * operation is on a key; `KeyList` and vault-level calls have none.
 */
export function keyNameFromUri(uri: string | undefined): string | undefined {
  if (uri === undefined) return undefined;
  try {
    const segments = new URL(uri).pathname.split("/").filter((segment) => segment.length > 0);
    return segments[0]?.toLowerCase() === "keys" && segments[1] !== undefined ? segments[1] : undefined;
  } catch {
    return undefined;
  }
}

function isoTime(value: unknown): string | undefined {
  if (value instanceof Date && !Number.isNaN(value.getTime())) return value.toISOString();
  if (typeof value === "string" && !Number.isNaN(Date.parse(value))) return new Date(value).toISOString();
  return undefined;
}

export interface UsageRowContext {
  source: string;
  /** The vault URL: location of the event and base of its key id. */
  location: string;
  workspaceId: string;
  table: UsageTable;
}

/** One audit record to a usage event; undefined when the row has no usable time (reported as a gap by the caller). */
export function toUsageEvent(row: UsageRow, context: UsageRowContext): UsageEvent | undefined {
  const time = isoTime(row["TimeGenerated"]);
  if (time === undefined) return undefined;
  const identity = row["Identity"];
  const principal =
    text(row, "CallerUpn") ??
    claim(identity, UPN_CLAIMS) ??
    text(row, "CallerObjectId") ??
    claim(identity, OID_CLAIMS) ??
    text(row, "CallerAppId") ??
    claim(identity, APPID_CLAIMS) ??
    "unknown";
  const status = row["HttpStatusCode"];
  const signature = text(row, "ResultSignature");
  const failed =
    typeof status === "number"
      ? status >= 400
      : signature !== undefined && !/^(ok|success|accepted|created|nocontent)$/i.test(signature);
  const objectUri = text(row, "ObjectUri");
  const keyName = keyNameFromUri(objectUri) ?? keyNameFromUri(text(row, "RequestUri"));
  const event: UsageEvent = {
    time,
    source: context.source,
    location: context.location,
    action: text(row, "OperationName") ?? "unknown",
    principal,
    outcome: failed ? "failure" : "success",
    eventId:
      text(row, "RecordId") ?? text(row, "CorrelationId") ?? `${time}/${text(row, "OperationName") ?? ""}`,
    origin: `log-analytics:${context.workspaceId}/${context.table}`,
  };
  if (keyName !== undefined) event.keyId = `${context.location}/keys/${keyName}`;
  const reference = objectUri ?? text(row, "RequestUri");
  if (reference !== undefined) event.keyReference = reference;
  const address = text(row, "CallerIpAddress");
  if (address !== undefined) event.sourceAddress = address;
  const agent = text(row, "ClientInfo");
  if (agent !== undefined) event.userAgent = agent;
  if (failed) event.errorCode = signature ?? (typeof status === "number" ? String(status) : "failure");
  return event;
}
