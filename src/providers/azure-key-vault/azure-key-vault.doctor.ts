import type { AzureKeyVaultSourceConfig } from "../../config/sources/azure-key-vault.schema.ts";
import { normalizeVaultUrl } from "../../config/sources/azure-key-vault.schema.ts";
import type { PermissionCheck } from "../source-doctor.ts";
import { createAzureClients, type AzureClientOptions, type AzureClients } from "./azure-clients.ts";
import { azureErrorCode, azureStatusCode } from "./azure-error.ts";

/**
 * `keyproof doctor` for an Azure Key Vault source: the provider's ARM, data-plane and Log Analytics calls,
 * each made once (first page, first key). Permissions are named as Azure RBAC actions and data actions; the
 * README lists the built-in roles that grant them (Reader or Monitoring Reader, Key Vault Reader, Log Analytics
 * Reader).
 */

const KEY_VAULT_ARM_ID =
  /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.KeyVault\/vaults\/([^/]+)$/i;

/** The role that carries each permission, for the fix line. */
const ROLE_OF: Record<string, string> = {
  "Microsoft.KeyVault/vaults/read": "Reader (or Key Vault Reader) on the vault",
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
  const index = new Map<string, { resourceId: string; resourceGroup: string; name: string }>();
  const listing = await probe(
    "Microsoft.KeyVault/vaults/read",
    `subscription ${config.subscriptionId}`,
    async () => {
      for await (const vault of clients.vaults.vaults.listBySubscription()) {
        const uri = vault.properties?.vaultUri;
        const match = vault.id === undefined ? null : KEY_VAULT_ARM_ID.exec(vault.id);
        if (uri === undefined || match === null) continue;
        index.set(normalizeVaultUrl(uri), {
          resourceId: vault.id as string,
          resourceGroup: match[2] as string,
          name: match[3] as string,
        });
      }
    },
  );
  checks.push(listing);
  if (listing.status === "missing" && listing.fix?.startsWith("no usable Azure credential") === true)
    return checks;

  // The alert rules on key deletion are listed once for the whole subscription (alert-rules.collector.ts).
  checks.push(
    await probe("Microsoft.Insights/activityLogAlerts/read", `subscription ${config.subscriptionId}`, () =>
      firstOf(clients.monitor.activityLogAlerts.listBySubscriptionId()),
    ),
    await probe("Microsoft.Insights/scheduledQueryRules/read", `subscription ${config.subscriptionId}`, () =>
      firstOf(clients.monitor.scheduledQueryRules.listBySubscription()),
    ),
  );

  for (const vaultUrl of config.vaults.map(normalizeVaultUrl)) {
    const locator = index.get(vaultUrl);
    if (locator === undefined) {
      if (listing.status === "ok") {
        checks.push({
          permission: `vault ${vaultUrl}`,
          status: "missing",
          detail: `not in subscription ${config.subscriptionId} (or not visible to this identity)`,
          fix: "check subscriptionId and vaults, and that the identity has Reader on the vault",
        });
      }
    } else {
      const scope = locator.resourceId.replace(/^\/+/, "");
      checks.push(
        await probe("Microsoft.KeyVault/vaults/read", locator.name, () =>
          clients.vaults.vaults.get(locator.resourceGroup, locator.name),
        ),
      );
      let roleDefinitionId: string | undefined;
      checks.push(
        await probe("Microsoft.Authorization/roleAssignments/read", locator.name, async () => {
          roleDefinitionId = (await firstOf(clients.authorization.roleAssignments.listForScope(scope)))
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
              clients.authorization.roleDefinitions.get(scope, guid),
            ),
      );
      checks.push(
        await probe("Microsoft.Insights/diagnosticSettings/read", locator.name, () =>
          clients.monitor.diagnosticSettings.list(scope),
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
