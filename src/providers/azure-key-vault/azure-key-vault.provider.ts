import type { KeyProperties } from "@azure/keyvault-keys";
import type { DateRange, SourceGap } from "../../model/snapshot.ts";
import type { LoggingStatus } from "../../model/logging.ts";
import type { UsageItem } from "../../model/usage.ts";
import type { Clock, KeyBatch, KeyListing, KeyProvider, KeyRef } from "../key-provider.ts";
import { systemClock } from "../key-provider.ts";
import type { AzureKeyVaultSourceConfig } from "../../config/sources/azure-key-vault.schema.ts";
import { configuredVaults, subscriptionsOf } from "../../config/sources/azure-key-vault.schema.ts";
import type { AzureClientOptions, AzureClients } from "./azure-clients.ts";
import { createAzureClients } from "./azure-clients.ts";
import { missingFact, toCollectionError } from "./azure-error.ts";
import { byKeyId, keyIdOf, readKeyRef, toListedJson, type ListedKey } from "./key-ref.ts";
import { createKeyRecordCollector } from "./key-record.collector.ts";
import { streamLogAnalyticsUsage } from "./log-analytics.usage.ts";
import { createVaultArmCollector } from "./vault-arm.collector.ts";
import { createAlertRuleCollector, describeKeyEventAlerting } from "./alert-rules.collector.ts";
import { discoverVaults } from "./vault-discovery.ts";
import { mapWithConcurrency } from "../shared/concurrency.ts";

export type { VaultPropertiesFact } from "./vault-arm.collector.ts";

/**
 * Azure Key Vault behind the `KeyProvider` port. Per vault (the location is the vault URL): every key from the
 * data plane with its versions and rotation policy; from Azure Resource Manager the vault's properties (RBAC
 * or access-policy mode, soft delete, purge protection), its role assignments and its diagnostic settings;
 * usage events from Log Analytics. Facts only: checks judge them. A failed call is carried where its fact
 * would have been (`Collected` with `ok: false`, a key error, a gap), never dropped.
 * A vault is collected in parts that may run in different processes: `listKeys` (one `listPropertiesOfKeys`;
 * each reference carries the listed properties), `collectKeys` per batch (the ARM facts read once per vault
 * per provider instance), `collectLogging` (the same memoized ARM facts).
 *
 * One file per concern, composed here: vault-arm.collector.ts (ARM facts of a vault), key-record.collector.ts
 * (one key's data-plane reads and record), key-ref.ts (references across processes), log-analytics.usage.ts
 * (usage events), alert-rules.collector.ts (each subscription's alert rules), vault-discovery.ts
 * (`vaults: all`: the vaults of the source's subscriptions, found through ARM when a run is planned); pure
 * mappings in access-grants.ts, diagnostic-settings.ts, key-event-alerts.ts, key-spec.ts, rotation-policy.ts.
 */

export interface AzureKeyVaultProviderOptions extends AzureClientOptions {
  clock?: Clock;
  /** Rows per Log Analytics page (default 5,000; the service caps a result at 500,000 rows / 64 MB). */
  usagePageSize?: number;
  /** Hours per Log Analytics time window (default 24). */
  usageWindowHours?: number;
  /** Keys read in parallel per vault (default 4): Key Vault throttles at 4,000 calls per 10 s per vault. */
  keyConcurrency?: number;
  /** Prebuilt clients (tests of error paths); by default built from the config. */
  clients?: AzureClients;
  /**
   * `vaults: all`: milliseconds a discovered vault's data-plane probe may take before the vault is a gap
   * (default 30,000; a firewall that drops packets never answers).
   */
  discoveryProbeTimeoutMs?: number;
}

export function createAzureKeyVaultProvider(
  config: AzureKeyVaultSourceConfig,
  options: AzureKeyVaultProviderOptions = {},
): KeyProvider {
  const clock = options.clock ?? systemClock;
  const clients = options.clients ?? createAzureClients(config, options);
  const pageSize = options.usagePageSize ?? 5000;
  const windowHours = options.usageWindowHours ?? 24;
  const keyConcurrency = options.keyConcurrency ?? 4;
  const locations = configuredVaults(config);
  const subscriptions = subscriptionsOf(config);
  const now = (): string => clock().toISOString();

  const arm = createVaultArmCollector({ config, clients, now });
  const alertRules = createAlertRuleCollector({ clients, now });
  const keyRecords = createKeyRecordCollector({ config, now });
  const usageContext = { config, clients, locateVault: arm.locateVault, pageSize, windowHours };

  const provider: KeyProvider = {
    sourceId: config.id,
    type: "azure-key-vault",
    listLocations: () => [...locations],
    // The subscription(s) the evidence is about; with several, all of them in config order.
    describeAccount: async () => (subscriptions.length === 0 ? undefined : subscriptions.join(", ")),

    async listKeys(location): Promise<KeyListing> {
      const client = clients.keyClient(location);
      const listed: KeyProperties[] = [];
      try {
        for await (const properties of client.listPropertiesOfKeys()) listed.push(properties);
      } catch (error) {
        // A firewalled or unreachable vault is "not collected", never "no keys".
        const gap: SourceGap = {
          source: config.id,
          location,
          error: toCollectionError("keyvault:listPropertiesOfKeys", error),
        };
        return { refs: [], gaps: [gap] };
      }
      const refs = listed.map((properties): KeyRef => ({
        keyId: keyIdOf(location, properties.name),
        listed: toListedJson(properties),
      }));
      return { refs: refs.sort(byKeyId), gaps: [] };
    },

    async collectKeys(location, refs): Promise<KeyBatch> {
      if (refs.length === 0) return { keys: [], gaps: [] };
      const gaps: SourceGap[] = [];
      const readable: ListedKey[] = [];
      for (const ref of refs) {
        const read = readKeyRef(location, ref);
        if (read.ok) readable.push(read.listed);
        else {
          // Without a trustworthy name and listing there is nothing to describe: the key is a gap, so the
          // checks report the population as incomplete instead of judging a made-up record.
          gaps.push({
            source: config.id,
            location,
            error: missingFact(
              "keyproof:readKeyRef",
              "MalformedKeyRef",
              `key ${typeof ref.keyId === "string" ? ref.keyId : JSON.stringify(ref.keyId)}: ${read.message}`,
            ),
          });
        }
      }
      if (readable.length === 0) return { keys: [], gaps };
      // Memoized per vault: every batch this instance describes shares one read of the vault's ARM facts.
      const facts = await arm.collectArmFacts(location);
      const client = clients.keyClient(location);
      const keys = await mapWithConcurrency(readable, keyConcurrency, (listed) =>
        keyRecords.collectKey(client, location, listed, facts),
      );
      return { keys, gaps };
    },

    async collectLogging(location): Promise<LoggingStatus> {
      const [facts, located] = await Promise.all([arm.collectArmFacts(location), arm.locateVault(location)]);
      const status = arm.describeLogging(location, facts);
      // The alert rules of the vault's own subscription; an unlocated vault of a one-subscription source
      // still reports that subscription's listing failures beside the locating error.
      const subscription = located.ok
        ? located.value.subscriptionId
        : subscriptions.length === 1
          ? subscriptions[0]
          : undefined;
      const keyEventAlerting =
        subscription === undefined
          ? { alerts: [], errors: located.ok ? [] : [located.error] }
          : describeKeyEventAlerting(await alertRules.listAlertRules(subscription), located, status.sinks);
      // The locating error is already the diagnostic settings' error; the alert list failures are new.
      const known = new Set(status.errors.map((error) => `${error.call} ${error.code} ${error.message}`));
      const newErrors = keyEventAlerting.errors.filter(
        (error) => !known.has(`${error.call} ${error.code} ${error.message}`),
      );
      return { ...status, errors: [...status.errors, ...newErrors], keyEventAlerting };
    },

    streamUsage(location: string, range: DateRange) {
      const workspaceId = config.logAnalyticsWorkspaceId;
      if (workspaceId === undefined) {
        return {
          method: "none",
          items: (async function* (): AsyncGenerator<UsageItem> {
            yield {
              kind: "gap",
              gap: {
                source: config.id,
                location,
                object: "logAnalyticsWorkspaceId",
                code: "UsageSourceNotConfigured",
                message:
                  "no Log Analytics workspace is configured for this source: Key Vault AuditEvent records were not read",
              },
            };
          })(),
        };
      }
      return {
        method: "log-analytics",
        items: streamLogAnalyticsUsage(usageContext, location, range, workspaceId),
      };
    },
  };
  if (config.vaults === "all") {
    provider.discover = () =>
      discoverVaults({
        config,
        clients,
        arm,
        now,
        probeTimeoutMs: options.discoveryProbeTimeoutMs ?? 30_000,
        probeConcurrency: keyConcurrency,
      });
  }
  return provider;
}
