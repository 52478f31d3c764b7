import type { KeyEventAlert } from "../../model/logging.ts";

/**
 * Azure Monitor alert rules to the model's `KeyEventAlert`, kept only when they concern one vault and name an
 * administrative key or vault operation. Pure: the ARM reads are in alert-rules.collector.ts.
 *
 * Two kinds of rule can watch a vault, and they see different logs:
 * - an **activity-log alert** (`Microsoft.Insights/activityLogAlerts`) fires on control-plane operations in the
 *   Azure activity log, such as `Microsoft.KeyVault/vaults/delete`. Deleting or purging a key is a data-plane
 *   call (`KeyDelete`, `KeyPurge`) that the activity log never records (ARM has no key delete operation), so
 *   such a rule can only fire when the whole vault is deleted;
 * - a **log search alert** (`Microsoft.Insights/scheduledQueryRules`) runs KQL over the vault's AuditEvent
 *   records in Log Analytics (`AzureDiagnostics` or `AZKVAuditLogs`), where `KeyDelete` and `KeyPurge` are.
 * Which operations a rule fires on is read from its condition or query, never from its name.
 */

/** One leaf of an activity-log alert condition (api-version 2020-10-01; `containsAny` and `anyOf` are new in it). */
export interface ActivityLogAlertLeaf {
  field?: string | null;
  equals?: string | null;
  containsAny?: string[] | null;
  anyOf?: ActivityLogAlertLeaf[] | null;
}

/** The wire shape of one `Microsoft.Insights/activityLogAlerts` item (api-version 2020-10-01). */
export interface ActivityLogAlertResource {
  id?: string;
  name?: string;
  properties?: {
    scopes?: string[] | null;
    condition?: { allOf?: ActivityLogAlertLeaf[] | null } | null;
    actions?: { actionGroups?: Array<{ actionGroupId?: string | null }> | null } | null;
    enabled?: boolean | null;
    description?: string | null;
  } | null;
}

/** The wire shape of one `Microsoft.Insights/scheduledQueryRules` item (api-version 2021-08-01, `kind: LogAlert`). */
export interface ScheduledQueryRuleResource {
  id?: string;
  name?: string;
  kind?: string | null;
  properties?: {
    displayName?: string | null;
    scopes?: string[] | null;
    enabled?: boolean | null;
    severity?: number | null;
    evaluationFrequency?: string | null;
    windowSize?: string | null;
    criteria?: { allOf?: Array<{ query?: string | null }> | null } | null;
    actions?: { actionGroups?: string[] | null } | null;
  } | null;
}

/** What a rule must be scoped to, or name, to concern one vault. ARM ids compare case-insensitively. */
export interface AlertRuleTarget {
  vaultResourceId: string;
  /** `/subscriptions/{s}/resourceGroups/{rg}`. */
  resourceGroupId: string;
  /** `/subscriptions/{s}`. */
  subscriptionId: string;
  /**
   * The Log Analytics workspaces the vault's diagnostic settings send AuditEvent to: a log search alert scoped to
   * one of them reads the vault's records. A workspace receiving other categories only is not among them.
   */
  workspaceIds: string[];
}

/**
 * The AuditEvent `operationName` values that change or remove keys or the vault (research/apis.md §2.6), as a
 * query names them. Reads (`KeyGet`) and cryptographic operations (`KeyDecrypt`) are usage, not administration.
 */
const ADMINISTRATIVE_AUDIT_OPERATIONS = [
  "KeyCreate",
  "KeyImport",
  "KeyUpdate",
  "KeyDelete",
  "KeyPurge",
  "KeyRecover",
  "KeyRestore",
  "KeyRotate",
  "KeyRotationPolicySet",
  "VaultPut",
  "VaultPatch",
  "VaultDelete",
] as const;
const AUDIT_OPERATION_BY_LOWER = new Map(
  ADMINISTRATIVE_AUDIT_OPERATIONS.map((operation) => [operation.toLowerCase(), operation]),
);

/** `Microsoft.KeyVault/...` operations in an activity-log condition: the control plane of vaults. */
const KEY_VAULT_OPERATION = /^microsoft\.keyvault\//i;

function normalizeId(id: string): string {
  return `/${id
    .split("/")
    .filter((segment) => segment.length > 0)
    .join("/")}`.toLowerCase();
}

function present(value: string | null | undefined): value is string {
  return typeof value === "string" && value.length > 0;
}

/**
 * Negated comparisons name operations a rule does NOT fire on (`OperationName != "KeyDelete"`,
 * `OperationName !in ("KeyGet", "KeyList")`): they are removed before literals are read, so a rule excluding
 * KeyDelete is not mistaken for one about it. KQL's negated operators all start with `!`.
 */
const NEGATED_LIST = /!(?:in~?|has_any|has_all)\s*\([^)]*\)/gi;
const NEGATED_COMPARISON = /!(?:=|~|[a-z_]+~?)\s*(?:"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')/gi;
const STRING_LITERAL = /"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)'/g;

/**
 * The administrative Key Vault operations a KQL query names as string literals (`"KeyDelete"`, `'KeyPurge'`,
 * in `==`, `=~`, `in (...)`, `has`...), in the order of the table above. A query that only matches by pattern
 * (`OperationName startswith "Key"`) names none: coverage is never guessed.
 */
export function namedAuditOperations(query: string): string[] {
  const positive = query.replace(NEGATED_LIST, " ").replace(NEGATED_COMPARISON, " ");
  const named = new Set<string>();
  for (const match of positive.matchAll(STRING_LITERAL)) {
    const literal = (match[1] ?? match[2] ?? "").trim().toLowerCase();
    const operation = AUDIT_OPERATION_BY_LOWER.get(literal);
    if (operation !== undefined) named.add(operation);
  }
  return ADMINISTRATIVE_AUDIT_OPERATIONS.filter((operation) => named.has(operation));
}

function leavesOf(leaves: readonly ActivityLogAlertLeaf[]): ActivityLogAlertLeaf[] {
  return leaves.flatMap((leaf) => [leaf, ...leavesOf(leaf.anyOf ?? [])]);
}

function leafValues(leaf: ActivityLogAlertLeaf): string[] {
  return [...(present(leaf.equals) ? [leaf.equals] : []), ...(leaf.containsAny ?? []).filter(present)];
}

function fieldIs(leaf: ActivityLogAlertLeaf, field: string): boolean {
  return typeof leaf.field === "string" && leaf.field.toLowerCase() === field.toLowerCase();
}

function scopesConcern(scopes: readonly string[], concerning: ReadonlySet<string>): boolean {
  return scopes.some((scope) => concerning.has(normalizeId(scope)));
}

/**
 * An activity-log alert concerns the vault when one of its scopes is the vault, its resource group or its
 * subscription, and no `resourceId` / `resourceGroup` leaf narrows it to another resource. Its actions are the
 * `Microsoft.KeyVault/...` operations its `operationName` leaves name; a rule naming none is not kept.
 */
export function toActivityLogAlert(
  resource: ActivityLogAlertResource,
  target: AlertRuleTarget,
): KeyEventAlert | undefined {
  const properties = resource.properties ?? {};
  const scopes = (properties.scopes ?? []).filter(present);
  const concerning = new Set(
    [target.vaultResourceId, target.resourceGroupId, target.subscriptionId].map(normalizeId),
  );
  if (!scopesConcern(scopes, concerning)) return undefined;
  const leaves = leavesOf(properties.condition?.allOf ?? []);
  const narrowedElsewhere = leaves.some(
    (leaf) =>
      (fieldIs(leaf, "resourceId") &&
        leafValues(leaf).every((value) => normalizeId(value) !== normalizeId(target.vaultResourceId))) ||
      (fieldIs(leaf, "resourceGroup") &&
        leafValues(leaf).every(
          (value) => value.toLowerCase() !== (target.resourceGroupId.split("/").at(-1) ?? "").toLowerCase(),
        )),
  );
  if (narrowedElsewhere) return undefined;
  const actions = [
    ...new Set(
      leaves
        .filter((leaf) => fieldIs(leaf, "operationName"))
        .flatMap(leafValues)
        .filter((operation) => KEY_VAULT_OPERATION.test(operation)),
    ),
  ];
  if (actions.length === 0) return undefined;
  const reference = resource.id ?? resource.name ?? "(unknown)";
  return {
    kind: "azure-activity-log-alert",
    name: resource.name ?? reference,
    reference,
    enabled: typeof properties.enabled === "boolean" ? properties.enabled : undefined,
    actions,
    notifies: (properties.actions?.actionGroups ?? []).map((group) => group.actionGroupId).filter(present),
    detail: {
      scopes,
      condition: properties.condition ?? null,
      ...(present(properties.description) ? { description: properties.description } : {}),
    },
  };
}

/**
 * A log search alert concerns the vault when one of its scopes is the vault, its resource group or subscription
 * (resource-centric queries read that resource's logs in any workspace) or a workspace the vault sends
 * AuditEvent to. Its actions are the administrative operations its queries name; a rule naming none is not
 * kept. A query that narrows a shared workspace to another vault by name is not parsed (README: Known
 * limitations).
 */
export function toScheduledQueryRule(
  resource: ScheduledQueryRuleResource,
  target: AlertRuleTarget,
): KeyEventAlert | undefined {
  const properties = resource.properties ?? {};
  const scopes = (properties.scopes ?? []).filter(present);
  const concerning = new Set(
    [target.vaultResourceId, target.resourceGroupId, target.subscriptionId, ...target.workspaceIds].map(
      normalizeId,
    ),
  );
  if (!scopesConcern(scopes, concerning)) return undefined;
  const queries = (properties.criteria?.allOf ?? []).map((criterion) => criterion.query).filter(present);
  const actions = namedAuditOperations(queries.join("\n"));
  if (actions.length === 0) return undefined;
  const reference = resource.id ?? resource.name ?? "(unknown)";
  return {
    kind: "azure-scheduled-query-rule",
    name: resource.name ?? reference,
    reference,
    enabled: typeof properties.enabled === "boolean" ? properties.enabled : undefined,
    actions,
    notifies: (properties.actions?.actionGroups ?? []).filter(present),
    detail: {
      scopes,
      queries,
      ...(present(resource.kind) ? { kind: resource.kind } : {}),
      ...(present(properties.evaluationFrequency)
        ? { evaluationFrequency: properties.evaluationFrequency }
        : {}),
      ...(present(properties.windowSize) ? { windowSize: properties.windowSize } : {}),
      ...(typeof properties.severity === "number" ? { severity: properties.severity } : {}),
    },
  };
}
