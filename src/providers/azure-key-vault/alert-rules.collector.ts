/**
 * The Azure Monitor alert rules of a vault's subscription, listed once per subscription per provider instance
 * and shared by every vault of that subscription: activity-log alerts and log search alerts (scheduled query rules). Each list is its own call: a
 * failed one is carried as `ok: false` with its cause, and the vaults' `keyEventAlerting` report it as an
 * error, so a denied listing is never read as "no rule".
 */
import type { FullOperationResponse } from "@azure/core-client";
import type { Collected, CollectionError } from "../../model/key.ts";
import type { KeyEventAlert, KeyEventAlerting, LoggingSink } from "../../model/logging.ts";
import type { AzureClients } from "./azure-clients.ts";
import { toCollectionError } from "./azure-error.ts";
import type {
  ActivityLogAlertResource,
  AlertRuleTarget,
  ScheduledQueryRuleResource,
} from "./key-event-alerts.ts";
import { toActivityLogAlert, toScheduledQueryRule } from "./key-event-alerts.ts";
import type { VaultLocator } from "./vault-arm.collector.ts";

export interface SubscriptionAlertRules {
  activityLogAlerts: Collected<ActivityLogAlertResource[]>;
  scheduledQueryRules: Collected<ScheduledQueryRuleResource[]>;
}

export interface AlertRuleCollector {
  /** Both subscription-level lists of one subscription, read once per provider instance. */
  listAlertRules(subscriptionId: string): Promise<SubscriptionAlertRules>;
}

/** Anything the SDK's list pagers accept as options and iterate: only `onResponse` is used. */
type RawList = (options: { onResponse: (response: FullOperationResponse) => void }) => AsyncIterable<unknown>;

/**
 * Reads one subscription-level list as ARM sent it. The `@azure/arm-monitor` 7 models predate the api-versions
 * keyproof reads (activity-log alerts 2017-04-01 without `containsAny`/`anyOf`; scheduled query rules
 * 2018-04-16, the legacy schema without `scopes`/`criteria`), and its pagers stop after the first page: the
 * `keyproofAlertRuleLists` policy (azure-clients.ts) upgrades the api-version and gathers every `nextLink`
 * page into one body, which is read raw here.
 */
async function readRawList<T>(call: string, list: RawList, now: () => string): Promise<Collected<T[]>> {
  try {
    let raw: unknown;
    const onResponse = (response: FullOperationResponse): void => {
      raw =
        typeof response.bodyAsText === "string" && response.bodyAsText.length > 0
          ? (JSON.parse(response.bodyAsText) as unknown)
          : undefined;
    };
    // The typed items are discarded: only iterating sends the request.
    for await (const item of list({ onResponse })) void item;
    const value = (raw as { value?: unknown } | undefined)?.value;
    return { ok: true, value: Array.isArray(value) ? (value as T[]) : [], call, capturedAt: now() };
  } catch (error) {
    return { ok: false, error: toCollectionError(call, error), capturedAt: now() };
  }
}

export function createAlertRuleCollector(context: {
  clients: AzureClients;
  now: () => string;
}): AlertRuleCollector {
  const { clients, now } = context;
  const listed = new Map<string, Promise<SubscriptionAlertRules>>();
  return {
    listAlertRules(subscriptionId) {
      const key = subscriptionId.toLowerCase();
      const known = listed.get(key);
      if (known !== undefined) return known;
      const monitor = clients.arm(subscriptionId).monitor;
      const pending = (async () => {
        const [activityLogAlerts, scheduledQueryRules] = await Promise.all([
          readRawList<ActivityLogAlertResource>(
            "arm:ActivityLogAlerts.listBySubscriptionId",
            (options) => monitor.activityLogAlerts.listBySubscriptionId(options),
            now,
          ),
          readRawList<ScheduledQueryRuleResource>(
            "arm:ScheduledQueryRules.listBySubscription",
            (options) => monitor.scheduledQueryRules.listBySubscription(options),
            now,
          ),
        ]);
        return { activityLogAlerts, scheduledQueryRules };
      })();
      listed.set(key, pending);
      return pending;
    },
  };
}

/**
 * The alert rules that concern one vault. `sinks` are the vault's diagnostic settings: the workspaces that
 * receive AuditEvent relate workspace-scoped log search alerts to the vault. A vault that could not be located
 * has no scopes to compare: its alerting carries the locating error.
 */
export function describeKeyEventAlerting(
  rules: SubscriptionAlertRules,
  located: Collected<VaultLocator>,
  sinks: readonly LoggingSink[],
): KeyEventAlerting {
  const errors: CollectionError[] = [];
  if (!rules.activityLogAlerts.ok) errors.push(rules.activityLogAlerts.error);
  if (!rules.scheduledQueryRules.ok) errors.push(rules.scheduledQueryRules.error);
  if (!located.ok) return { alerts: [], errors: [located.error, ...errors] };
  // `/subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.KeyVault/vaults/{name}`: its two ancestors.
  const segments = located.value.resourceId.split("/").filter((segment) => segment.length > 0);
  const target: AlertRuleTarget = {
    vaultResourceId: located.value.resourceId,
    resourceGroupId: `/${segments.slice(0, 4).join("/")}`,
    subscriptionId: `/${segments.slice(0, 2).join("/")}`,
    workspaceIds: sinks
      .filter((sink) => sink.kind === "azure-diagnostic-setting" && sink.coversKeyEvents)
      .map((sink) => sink.diagnosticDestinations?.workspaceId)
      .filter((workspaceId): workspaceId is string => workspaceId !== undefined),
  };
  const alerts: KeyEventAlert[] = [
    ...(rules.activityLogAlerts.ok ? rules.activityLogAlerts.value : []).map((rule) =>
      toActivityLogAlert(rule, target),
    ),
    ...(rules.scheduledQueryRules.ok ? rules.scheduledQueryRules.value : []).map((rule) =>
      toScheduledQueryRule(rule, target),
    ),
  ].filter((alert): alert is KeyEventAlert => alert !== undefined);
  return { alerts, errors };
}
