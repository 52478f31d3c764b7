import type { AzureKeyVaultSourceConfig } from "../../config/sources/azure-key-vault.schema.ts";
import { configuredVaults, subscriptionsOf } from "../../config/sources/azure-key-vault.schema.ts";
import type { PermissionCheck } from "../source-doctor.ts";
import { createAzureClients, type AzureClientOptions, type AzureClients } from "./azure-clients.ts";
import { azureErrorCode, azureStatusCode } from "./azure-error.ts";
import { toListedVault, type VaultLocator } from "./vault-arm.collector.ts";
import { exclusionOf } from "./vault-discovery.ts";

/**
 * `keyproof doctor` for an Azure Key Vault source: the provider's ARM, data-plane and Log Analytics calls,
 * each made once (first page, first key). Permissions are named as Azure RBAC actions and data actions; the
 * README lists the built-in roles that grant them (Reader or Monitoring Reader, Key Vault Reader, Log Analytics
 * Reader).
 */

/** The role that carries each permission, for the fix line. */
const ROLE_OF: Record<string, string> = {
  "Microsoft.KeyVault/vaults/read": "Reader (or Key Vault Reader) on the vault",
  "Microsoft.KeyVault/vaults/read (list)": "Reader on the subscription (vaults: all lists every vault in it)",
  "Microsoft.KeyVault/managedHSMs/read": "Reader on the subscription (vaults: all lists its Managed HSMs)",
  "Microsoft.Authorization/roleAssignments/read": "Reader on the vault",
  "Microsoft.Authorization/roleDefinitions/read": "Reader on the vault",
  "Microsoft.Insights/diagnosticSettings/read": "Reader (or Monitoring Reader) on the vault",
  "Microsoft.Insights/activityLogAlerts/read": "Reader (or Monitoring Reader) on the subscription",
  "Microsoft.Insights/scheduledQueryRules/read": "Reader (or Monitoring Reader) on the subscription",
  "Microsoft.KeyVault/vaults/keys/read": "Key Vault Reader on the vault (data plane)",
  "Microsoft.KeyVault/vaults/keys/rotationpolicy/read": "Key Vault Reader on the vault (data plane)",
  "Microsoft.OperationalInsights/workspaces/query/read": "Log Analytics Reader on the workspace",
};

const UNREACHABLE = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "REQUEST_SEND_ERROR",
]);

function outcome(permission: string, where: string, error: unknown): PermissionCheck {
  if (error === undefined) return { permission, status: "ok", detail: where };
  const code = azureErrorCode(error);
  const message = error instanceof Error ? (error.message.split("\n")[0] ?? "") : String(error);
  const status = azureStatusCode(error);
  const detail = `${where}: ${code}: ${message}`;
  if (code === "CredentialUnavailableError" || code === "AggregateAuthenticationError" || status === 401) {
    return {
      permission,
      status: "missing",
      detail,
      fix: "no usable Azure credential: run `az login`, or set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET, or use a managed identity",
    };
  }
  if (code === "ForbiddenByFirewall") {
    return {
      permission,
      status: "missing",
      detail,
      fix: "allow this host through the vault's network firewall",
    };
  }
  if (status === 403) {
    return {
      permission,
      status: "missing",
      detail,
      fix: `assign ${ROLE_OF[permission] ?? "a role that grants it"}`,
    };
  }
  if (UNREACHABLE.has(code) || status === undefined) {
    return {
      permission,
      status: "unreachable",
      detail,
      fix: "check the endpoint (or endpoints.*) and the network path",
    };
  }
  if (status >= 500 || status === 429) return { permission, status: "error", detail };
  return { permission, status: "ok", detail: `${where}: allowed (answered ${code})` };
}

async function probe(
  permission: string,
  where: string,
  call: () => Promise<unknown>,
): Promise<PermissionCheck> {
  try {
    await call();
    return outcome(permission, where, undefined);
  } catch (error) {
    return outcome(permission, where, error);
  }
}

async function firstOf<T>(items: AsyncIterable<T>): Promise<T | undefined> {
  for await (const item of items) return item;
  return undefined;
}

export interface AzureDoctorOptions extends AzureClientOptions {
  /** Prebuilt clients; by default built from the config like the provider's. */
  clients?: AzureClients;
}

export async function diagnoseAzureKeyVaultSource(
  config: AzureKeyVaultSourceConfig,
  options: AzureDoctorOptions = {},
): Promise<PermissionCheck[]> {
  const clients = options.clients ?? createAzureClients(config, options);
  const checks: PermissionCheck[] = [];
  const index = new Map<string, VaultLocator>();
  const subscriptions = subscriptionsOf(config);
  const discovering = config.vaults === "all";
  let listed = true;
  for (const subscriptionId of subscriptions) {
    const arm = clients.arm(subscriptionId);
    const where = `subscription ${subscriptionId}`;
    // `vaults: all` names the listing as a permission of its own (Reader on the subscription): without it
    // discovery sees nothing of the subscription, while listed vaults only need Reader on each vault.
    const permission = discovering
      ? "Microsoft.KeyVault/vaults/read (list)"
      : "Microsoft.KeyVault/vaults/read";
    const listing = await probe(permission, where, async () => {
      for await (const vault of arm.vaults.vaults.listBySubscription()) {
        const found = toListedVault(vault);
        if (found === undefined) continue;
        index.set(found.vaultUrl, found.locator);
      }
    });
    checks.push(listing);
    listed &&= listing.status === "ok";
    if (listing.status === "missing" && listing.fix?.startsWith("no usable Azure credential") === true)
      return checks;
    if (discovering) {
      checks.push(
        await probe("Microsoft.KeyVault/managedHSMs/read", where, () =>
          firstOf(arm.vaults.managedHsms.listBySubscription()),
        ),
      );
    }
    // The alert rules on key deletion are listed once per subscription (alert-rules.collector.ts).
    checks.push(
      await probe("Microsoft.Insights/activityLogAlerts/read", where, () =>
        firstOf(arm.monitor.activityLogAlerts.listBySubscriptionId()),
      ),
      await probe("Microsoft.Insights/scheduledQueryRules/read", where, () =>
        firstOf(arm.monitor.scheduledQueryRules.listBySubscription()),
      ),
    );
  }

  // With `vaults: all`, every vault the listings found that the filters keep; else the configured ones.
  const vaultUrls = discovering
    ? [...index.entries()]
        .filter(([vaultUrl, locator]) => exclusionOf(config, { url: vaultUrl, ...locator }) === undefined)
        .map(([vaultUrl]) => vaultUrl)
        .sort()
    : configuredVaults(config);
  if (discovering && vaultUrls.length === 0 && listed) {
    checks.push({
      permission: "Microsoft.KeyVault/vaults/keys/read",
      status: "untested",
      detail: `no vault found in subscription ${subscriptions.join(", ")} (after include/exclude)`,
    });
  }
  for (const vaultUrl of vaultUrls) {
    const locator = index.get(vaultUrl);
    if (locator === undefined) {
      if (listed) {
        checks.push({
          permission: `vault ${vaultUrl}`,
          status: "missing",
          detail: `not in subscription ${subscriptions.join(", ")} (or not visible to this identity)`,
          fix: "check subscriptionId and vaults, and that the identity has Reader on the vault",
        });
      }
    } else {
      const scope = locator.resourceId.replace(/^\/+/, "");
      checks.push(
        await probe("Microsoft.KeyVault/vaults/read", locator.name, () =>
          clients.arm(locator.subscriptionId).vaults.vaults.get(locator.resourceGroup, locator.name),
        ),
      );
      let roleDefinitionId: string | undefined;
      checks.push(
        await probe("Microsoft.Authorization/roleAssignments/read", locator.name, async () => {
          const authorization = clients.arm(locator.subscriptionId).authorization;
          roleDefinitionId = (await firstOf(authorization.roleAssignments.listForScope(scope)))
            ?.roleDefinitionId;
        }),
      );
      const guid = roleDefinitionId?.split("/").at(-1);
      checks.push(
        guid === undefined
          ? {
              permission: "Microsoft.Authorization/roleDefinitions/read",
              status: "untested",
              detail: `${locator.name}: no role assignment to test on`,
            }
          : await probe("Microsoft.Authorization/roleDefinitions/read", locator.name, () =>
              clients.arm(locator.subscriptionId).authorization.roleDefinitions.get(scope, guid),
            ),
      );
      checks.push(
        await probe("Microsoft.Insights/diagnosticSettings/read", locator.name, () =>
          clients.arm(locator.subscriptionId).monitor.diagnosticSettings.list(scope),
        ),
      );
    }

    const keyClient = clients.keyClient(vaultUrl);
    let keyName: string | undefined;
    checks.push(
      await probe("Microsoft.KeyVault/vaults/keys/read", vaultUrl, async () => {
        keyName = (await firstOf(keyClient.listPropertiesOfKeys()))?.name;
      }),
    );
    const name = keyName;
    if (name === undefined) {
      checks.push({
        permission: "Microsoft.KeyVault/vaults/keys/rotationpolicy/read",
        status: "untested",
        detail: `${vaultUrl}: no key to test on`,
      });
    } else {
      const where = `${vaultUrl} key ${name}`;
      checks.push(
        await probe("Microsoft.KeyVault/vaults/keys/read", where, async () => {
          await keyClient.getKey(name);
          await firstOf(keyClient.listPropertiesOfKeyVersions(name));
        }),
      );
      checks.push(
        await probe("Microsoft.KeyVault/vaults/keys/rotationpolicy/read", where, () =>
          keyClient.getKeyRotationPolicy(name),
        ),
      );
    }
  }

  const workspaceId = config.logAnalyticsWorkspaceId;
  if (workspaceId === undefined) {
    checks.push({
      permission: "Microsoft.OperationalInsights/workspaces/query/read",
      status: "untested",
      detail: "no logAnalyticsWorkspaceId configured: usage events are not collected",
    });
  } else {
    checks.push(
      await probe(
        "Microsoft.OperationalInsights/workspaces/query/read",
        `workspace ${workspaceId}`,
        async () => {
          const result = await clients.logs.queryWorkspace(workspaceId, "AzureDiagnostics | take 1", {
            duration: "PT1H",
          });
          if (result.status !== "Success")
            throw Object.assign(new Error(result.partialError.message), { code: result.partialError.code });
        },
      ),
    );
  }
  return foldByPermission(checks);
}

/** One line per permission: the worst result, naming where; the first place for an all-ok permission. */
function foldByPermission(checks: PermissionCheck[]): PermissionCheck[] {
  const rank = { untested: -1, ok: 0, error: 2, unreachable: 3, missing: 4 } as const;
  const order: string[] = [];
  const folded = new Map<string, PermissionCheck>();
  for (const check of checks) {
    const seen = folded.get(check.permission);
    if (seen === undefined) {
      order.push(check.permission);
      folded.set(check.permission, check);
    } else if (rank[check.status] > rank[seen.status]) folded.set(check.permission, check);
  }
  return order.map((permission) => folded.get(permission) as PermissionCheck);
}
