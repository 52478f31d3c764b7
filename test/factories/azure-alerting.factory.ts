import type { KeyEventAlert, KeyEventAlerting } from "../../src/model/logging.ts";
import type { LocationSnapshot } from "../../src/model/snapshot.ts";
import type { CollectionError } from "../../src/model/key.ts";

const RULES = "/subscriptions/sub/resourceGroups/rg-sec/providers/microsoft.insights";
export const AZURE_ACTION_GROUP = `${RULES}/actionGroups/kv-custodians`;

/**
 * An enabled log search alert on KeyDelete and KeyPurge that notifies one action group, as the Azure provider
 * normalizes a scheduled query rule concerning the vault.
 */
export function makeAzureLogSearchAlert(
  name = "kv-key-deleted",
  overrides: Partial<KeyEventAlert> = {},
): KeyEventAlert {
  return {
    kind: "azure-scheduled-query-rule",
    name,
    reference: `${RULES}/scheduledqueryrules/${name}`,
    enabled: true,
    actions: ["KeyDelete", "KeyPurge"],
    notifies: [AZURE_ACTION_GROUP],
    detail: {},
    ...overrides,
  };
}

/** An enabled activity-log alert on vault deletion that notifies one action group. */
export function makeAzureActivityLogAlert(
  name = "kv-vault-deleted",
  overrides: Partial<KeyEventAlert> = {},
): KeyEventAlert {
  return {
    kind: "azure-activity-log-alert",
    name,
    reference: `${RULES}/activityLogAlerts/${name}`,
    enabled: true,
    actions: ["Microsoft.KeyVault/vaults/delete"],
    notifies: [AZURE_ACTION_GROUP],
    detail: {},
    ...overrides,
  };
}

/** The location with these alert rules (and failed alert reads, also listed in the logging errors). */
export function withKeyEventAlerting(
  location: LocationSnapshot,
  alerts: KeyEventAlert[],
  errors: CollectionError[] = [],
): LocationSnapshot {
  const keyEventAlerting: KeyEventAlerting = { alerts, errors };
  return {
    ...location,
    logging: { ...location.logging, errors: [...location.logging.errors, ...errors], keyEventAlerting },
  };
}
