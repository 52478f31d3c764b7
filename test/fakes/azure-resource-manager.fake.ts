/**
 * FAKE Azure Resource Manager, for the Key Vault source's control-plane reads. Driven through the real
 * `@azure/arm-keyvault` 5 (modular), `@azure/arm-authorization` 9 and `@azure/arm-monitor` 7 (AutoRest)
 * clients with `endpoint`/`$host` pointed here. It answers the documented wire formats
 * (research/apis.md §2.2, §2.3, §2.5; azure-rest-api-specs):
 * - `GET /subscriptions/{s}/providers/Microsoft.KeyVault/vaults` and
 *   `GET /subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.KeyVault/vaults/{name}`: vault resources
 *   with `properties` (sku, tenantId, accessPolicies, enableSoftDelete, softDeleteRetentionInDays,
 *   enableRbacAuthorization, enablePurgeProtection — omitted, not false, when never enabled — vaultUri with
 *   its trailing slash);
 * - `GET /subscriptions/{s}/providers/Microsoft.KeyVault/managedHSMs`: Managed HSM resources (`sku` family `B`,
 *   `properties.hsmUri` with its trailing slash, `provisioningState`, `securityDomainProperties`), as the
 *   `ManagedHsm_ListBySubscription` example of the 2023-07-01 spec shows;
 * - `GET /{scope}/providers/Microsoft.Authorization/roleAssignments` (api-version 2022-04-01): without a
 *   filter the assignments at, above and below the scope; `$filter=atScope()` at or above; `principalId eq '…'`;
 *   `roleDefinitionId` prefixes vary with the assignment's scope;
 * - `GET /{scope}/providers/Microsoft.Authorization/roleDefinitions/{guid}`: seeded custom roles;
 * - `GET /{resourceUri}/providers/Microsoft.Insights/diagnosticSettings`: `{ value: [...] }`, no paging;
 * - `GET /subscriptions/{s}/providers/Microsoft.Insights/activityLogAlerts` (api-version 2020-10-01): rules with
 *   `location: "Global"` and `properties` `scopes`, `condition.allOf[{field, equals | containsAny}]`,
 *   `actions.actionGroups[{actionGroupId, webhookProperties}]`, `enabled`, `description`; paged with `$skipToken`;
 * - `GET /subscriptions/{s}/providers/Microsoft.Insights/scheduledQueryRules` (api-version 2021-08-01): log search
 *   alert rules with `kind: "LogAlert"` and `properties` `scopes`, `enabled`, `evaluationFrequency`,
 *   `windowSize`, `severity`, `criteria.allOf[{query, timeAggregation, operator, threshold, failingPeriods}]`,
 *   `actions.actionGroups[]` (plain ids); paged with `$skipToken`;
 * - `{ value, nextLink }` paging with absolute `nextLink` (`$skiptoken`/`$skipToken`), `api-version` required
 *   (400 `MissingApiVersionParameter`), bearer token required (401), errors as `{"error":{"code","message"}}`;
 *   ARM paths are case-insensitive and tolerate the `//` AutoRest produces from a leading-slash scope.
 * Seedable from tests; failures can be injected per route.
 */
import { randomUUID } from "node:crypto";
import type { FakeRequest, FakeResponse, RunningFakeServer } from "./azure-fake-http.ts";
import { azureError, fakeTlsMaterial, requireBearer, startFakeHttpsServer } from "./azure-fake-http.ts";

export interface FakeAccessPolicy {
  objectId: string;
  tenantId?: string;
  applicationId?: string;
  keys?: string[];
  secrets?: string[];
}

export interface FakeVaultSeed {
  subscriptionId: string;
  resourceGroup: string;
  name: string;
  /** Data-plane URL; ARM returns it with a trailing slash. */
  vaultUri: string;
  location?: string;
  sku?: "standard" | "premium";
  enableRbacAuthorization?: boolean;
  /** `undefined` = never enabled: the property is omitted from the response, as ARM does. */
  enablePurgeProtection?: true;
  /** `null`: omitted from the response, as ARM may answer for a vault created before soft delete existed. */
  enableSoftDelete?: boolean | null;
  softDeleteRetentionInDays?: number;
  accessPolicies?: FakeAccessPolicy[];
  tenantId?: string;
}

export interface FakeManagedHsmSeed {
  subscriptionId: string;
  resourceGroup: string;
  name: string;
  /** Data-plane URL, e.g. `https://<name>.managedhsm.azure.net`; ARM returns it with a trailing slash. */
  hsmUri: string;
  location?: string;
  tenantId?: string;
}

export interface FakeRoleAssignmentSeed {
  scope: string;
  principalId: string;
  principalType: "User" | "Group" | "ServicePrincipal" | "ForeignGroup" | "Device";
  /** Role definition GUID; the full id is built with a prefix that depends on the scope, as ARM does. */
  roleDefinitionGuid: string;
  name?: string;
  condition?: string;
}

export interface FakeRoleDefinitionSeed {
  guid: string;
  roleName: string;
  type?: "BuiltInRole" | "CustomRole";
  actions?: string[];
  dataActions?: string[];
  notDataActions?: string[];
}

export interface FakeDiagnosticLog {
  category?: string;
  categoryGroup?: string;
  enabled: boolean;
  retentionDays?: number;
}

export interface FakeDiagnosticSettingSeed {
  name: string;
  workspaceId?: string;
  storageAccountId?: string;
  eventHubAuthorizationRuleId?: string;
  eventHubName?: string;
  logAnalyticsDestinationType?: "Dedicated";
  logs: FakeDiagnosticLog[];
}

/** One leaf of an activity-log alert condition (`field` + `equals`, or `containsAny` since 2020-10-01). */
export interface FakeAlertConditionLeaf {
  field: string;
  equals?: string;
  containsAny?: string[];
}

export interface FakeActivityLogAlertSeed {
  subscriptionId: string;
  resourceGroup: string;
  name: string;
  scopes: string[];
  condition: FakeAlertConditionLeaf[];
  /** Action group resource ids. */
  actionGroups?: string[];
  enabled?: boolean;
}

export interface FakeScheduledQueryRuleSeed {
  subscriptionId: string;
  resourceGroup: string;
  name: string;
  scopes: string[];
  /** KQL of the single criterion. */
  query: string;
  /** Action group resource ids. */
  actionGroups?: string[];
  enabled?: boolean;
}

export interface AzureResourceManagerFake {
  /** `https://127.0.0.1:<port>`: pass as `endpoints.resourceManager`. */
  url: string;
  ca: string;
  server: RunningFakeServer;
  /** Returns the vault's ARM resource id. */
  addVault(seed: FakeVaultSeed): string;
  /** Returns the Managed HSM's ARM resource id. */
  addManagedHsm(seed: FakeManagedHsmSeed): string;
  addRoleAssignment(seed: FakeRoleAssignmentSeed): string;
  addRoleDefinition(seed: FakeRoleDefinitionSeed): void;
  setDiagnosticSettings(resourceId: string, settings: FakeDiagnosticSettingSeed[]): void;
  /** Returns the rule's ARM resource id. */
  addActivityLogAlert(seed: FakeActivityLogAlertSeed): string;
  /** Returns the rule's ARM resource id. */
  addScheduledQueryRule(seed: FakeScheduledQueryRuleSeed): string;
  /** Requests whose path matches `pattern` (case-insensitive) answer `response` until cleared. */
  failRoute(pattern: RegExp, response: FakeResponse): void;
  clearFailures(): void;
  /** Items per page for every list (default 2, so paging is always exercised). */
  setPageSize(size: number): void;
  close(): Promise<void>;
}

function normalizePath(path: string): string {
  return `/${path
    .split("/")
    .filter((segment) => segment.length > 0)
    .join("/")}`;
}

function lower(value: string): string {
  return normalizePath(value).toLowerCase();
}

function isAncestorOrSelf(ancestor: string, scope: string): boolean {
  const parent = lower(ancestor);
  const child = lower(scope);
  return parent === "/" || parent === child || child.startsWith(`${parent}/`);
}

function roleDefinitionIdFor(scope: string, guid: string): string {
  const subscription = /^\/subscriptions\/([^/]+)/i.exec(normalizePath(scope));
  // Management-group and root assignments carry the tenant-level id; anything in a subscription the subscription one.
  return subscription === null
    ? `/providers/Microsoft.Authorization/roleDefinitions/${guid}`
    : `/subscriptions/${subscription[1]}/providers/Microsoft.Authorization/roleDefinitions/${guid}`;
}

export async function startAzureResourceManagerFake(): Promise<AzureResourceManagerFake> {
  const vaults: FakeVaultSeed[] = [];
  const managedHsms: FakeManagedHsmSeed[] = [];
  const assignments: Array<FakeRoleAssignmentSeed & { id: string; name: string; createdOn: string }> = [];
  const definitions = new Map<string, FakeRoleDefinitionSeed>();
  const diagnostics = new Map<string, FakeDiagnosticSettingSeed[]>();
  const activityLogAlerts: FakeActivityLogAlertSeed[] = [];
  const scheduledQueryRules: FakeScheduledQueryRuleSeed[] = [];
  const failures: Array<{ pattern: RegExp; response: FakeResponse }> = [];
  let pageSize = 2;

  // ARM returns alert rule ids with a lower-case provider segment, as the documented samples show.
  function activityLogAlertId(seed: FakeActivityLogAlertSeed): string {
    return `/subscriptions/${seed.subscriptionId}/resourceGroups/${seed.resourceGroup}/providers/microsoft.insights/activityLogAlerts/${seed.name}`;
  }

  function scheduledQueryRuleId(seed: FakeScheduledQueryRuleSeed): string {
    return `/subscriptions/${seed.subscriptionId}/resourcegroups/${seed.resourceGroup}/providers/microsoft.insights/scheduledqueryrules/${seed.name}`;
  }

  function activityLogAlertJson(seed: FakeActivityLogAlertSeed): Record<string, unknown> {
    return {
      id: activityLogAlertId(seed),
      type: "Microsoft.Insights/ActivityLogAlerts",
      name: seed.name,
      location: "Global",
      tags: {},
      properties: {
        scopes: seed.scopes,
        condition: { allOf: seed.condition.map((leaf) => ({ ...leaf })) },
        actions: {
          actionGroups: (seed.actionGroups ?? []).map((actionGroupId) => ({
            actionGroupId,
            webhookProperties: {},
          })),
        },
        enabled: seed.enabled ?? true,
        description: "",
      },
    };
  }

  function scheduledQueryRuleJson(seed: FakeScheduledQueryRuleSeed): Record<string, unknown> {
    return {
      id: scheduledQueryRuleId(seed),
      name: seed.name,
      type: "microsoft.insights/scheduledqueryrules",
      location: "westeurope",
      kind: "LogAlert",
      tags: {},
      properties: {
        description: "",
        severity: 1,
        enabled: seed.enabled ?? true,
        evaluationFrequency: "PT5M",
        scopes: seed.scopes,
        windowSize: "PT5M",
        criteria: {
          allOf: [
            {
              query: seed.query,
              timeAggregation: "Count",
              dimensions: [],
              operator: "GreaterThan",
              threshold: 0,
              failingPeriods: { numberOfEvaluationPeriods: 1, minFailingPeriodsToAlert: 1 },
            },
          ],
        },
        autoMitigate: false,
        actions: { actionGroups: seed.actionGroups ?? [], customProperties: {} },
      },
    };
  }

  function inSubscription(subscriptionId: string, path: RegExpExecArray): boolean {
    return subscriptionId.toLowerCase() === (path[1] as string).toLowerCase();
  }

  function vaultId(vault: FakeVaultSeed): string {
    return `/subscriptions/${vault.subscriptionId}/resourceGroups/${vault.resourceGroup}/providers/Microsoft.KeyVault/vaults/${vault.name}`;
  }

  function vaultJson(vault: FakeVaultSeed): Record<string, unknown> {
    const tenantId = vault.tenantId ?? "00000000-0000-0000-0000-0000000000aa";
    const uri = vault.vaultUri.endsWith("/") ? vault.vaultUri : `${vault.vaultUri}/`;
    return {
      id: vaultId(vault),
      name: vault.name,
      type: "Microsoft.KeyVault/vaults",
      location: vault.location ?? "westeurope",
      tags: {},
      properties: {
        sku: { family: "A", name: vault.sku ?? "standard" },
        tenantId,
        accessPolicies: (vault.accessPolicies ?? []).map((policy) => ({
          tenantId: policy.tenantId ?? tenantId,
          objectId: policy.objectId,
          ...(policy.applicationId === undefined ? {} : { applicationId: policy.applicationId }),
          permissions: {
            keys: policy.keys ?? [],
            secrets: policy.secrets ?? [],
            certificates: [],
            storage: [],
          },
        })),
        enabledForDeployment: false,
        enabledForDiskEncryption: false,
        enabledForTemplateDeployment: false,
        ...(vault.enableSoftDelete === null ? {} : { enableSoftDelete: vault.enableSoftDelete ?? true }),
        softDeleteRetentionInDays: vault.softDeleteRetentionInDays ?? 90,
        enableRbacAuthorization: vault.enableRbacAuthorization ?? false,
        ...(vault.enablePurgeProtection === true ? { enablePurgeProtection: true } : {}),
        networkAcls: {
          bypass: "AzureServices",
          defaultAction: "Allow",
          ipRules: [],
          virtualNetworkRules: [],
        },
        publicNetworkAccess: "Enabled",
        vaultUri: uri,
        provisioningState: "Succeeded",
      },
    };
  }

  function managedHsmId(hsm: FakeManagedHsmSeed): string {
    return `/subscriptions/${hsm.subscriptionId}/resourceGroups/${hsm.resourceGroup}/providers/Microsoft.KeyVault/managedHSMs/${hsm.name}`;
  }

  function managedHsmJson(hsm: FakeManagedHsmSeed): Record<string, unknown> {
    const tenantId = hsm.tenantId ?? "00000000-0000-0000-0000-0000000000aa";
    return {
      id: managedHsmId(hsm),
      name: hsm.name,
      type: "Microsoft.KeyVault/managedHSMs",
      location: hsm.location ?? "westus",
      sku: { family: "B", name: "Standard_B1" },
      tags: {},
      properties: {
        tenantId,
        hsmUri: hsm.hsmUri.endsWith("/") ? hsm.hsmUri : `${hsm.hsmUri}/`,
        initialAdminObjectIds: ["00000000-0000-0000-0000-000000000000"],
        enableSoftDelete: true,
        softDeleteRetentionInDays: 90,
        enablePurgeProtection: true,
        provisioningState: "Succeeded",
        statusMessage: "The Managed HSM is provisioned and ready to use.",
        securityDomainProperties: {
          activationStatus: "Active",
          activationStatusMessage: "Your HSM has been activated.",
        },
        publicNetworkAccess: "Enabled",
        networkAcls: {
          bypass: "AzureServices",
          defaultAction: "Allow",
          ipRules: [],
          virtualNetworkRules: [],
        },
      },
    };
  }

  function assignmentJson(assignment: (typeof assignments)[number]): Record<string, unknown> {
    return {
      id: assignment.id,
      type: "Microsoft.Authorization/roleAssignments",
      name: assignment.name,
      properties: {
        roleDefinitionId: roleDefinitionIdFor(assignment.scope, assignment.roleDefinitionGuid),
        principalId: assignment.principalId,
        principalType: assignment.principalType,
        scope: assignment.scope,
        condition: assignment.condition ?? null,
        conditionVersion: assignment.condition === undefined ? null : "2.0",
        description: null,
        createdOn: assignment.createdOn,
        updatedOn: assignment.createdOn,
        createdBy: null,
        updatedBy: null,
        delegatedManagedIdentityResourceId: null,
      },
    };
  }

  function page(
    request: FakeRequest,
    items: unknown[],
    tokenName: "$skiptoken" | "$skipToken",
  ): FakeResponse {
    const skip = Number(request.url.searchParams.get(tokenName) ?? "0");
    const slice = items.slice(skip, skip + pageSize);
    const body: Record<string, unknown> = { value: slice };
    if (skip + pageSize < items.length) {
      const next = new URL(request.url.toString());
      next.searchParams.set(tokenName, String(skip + pageSize));
      body["nextLink"] = next.toString();
    }
    return { status: 200, body };
  }

  function handle(request: FakeRequest): FakeResponse {
    const unauthenticated = requireBearer(request);
    if (unauthenticated !== undefined) return unauthenticated;
    const path = normalizePath(request.url.pathname);
    const failure = failures.find((entry) => entry.pattern.test(path));
    if (failure !== undefined) return failure.response;
    if (!request.url.searchParams.has("api-version")) {
      return azureError(
        400,
        "MissingApiVersionParameter",
        "The api-version query parameter (?api-version=) is required for all requests.",
      );
    }
    if (request.method !== "GET")
      return azureError(405, "MethodNotAllowed", `${request.method} is not served by the fake`);

    const listVaults = /^\/subscriptions\/([^/]+)\/providers\/Microsoft\.KeyVault\/vaults$/i.exec(path);
    if (listVaults !== null) {
      const subscription = (listVaults[1] as string).toLowerCase();
      return page(
        request,
        vaults.filter((vault) => vault.subscriptionId.toLowerCase() === subscription).map(vaultJson),
        "$skiptoken",
      );
    }
    const listManagedHsms = /^\/subscriptions\/([^/]+)\/providers\/Microsoft\.KeyVault\/managedHSMs$/i.exec(
      path,
    );
    if (listManagedHsms !== null) {
      return page(
        request,
        managedHsms.filter((hsm) => inSubscription(hsm.subscriptionId, listManagedHsms)).map(managedHsmJson),
        "$skiptoken",
      );
    }
    const getVault =
      /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.KeyVault\/vaults\/([^/]+)$/i.exec(
        path,
      );
    if (getVault !== null) {
      const vault = vaults.find((entry) => lower(vaultId(entry)) === path.toLowerCase());
      if (vault === undefined) {
        return azureError(
          404,
          "ResourceNotFound",
          `The Resource 'Microsoft.KeyVault/vaults/${getVault[3]}' under resource group '${getVault[2]}' was not found.`,
        );
      }
      return { status: 200, body: vaultJson(vault) };
    }
    const listAssignments = /^(.*)\/providers\/Microsoft\.Authorization\/roleAssignments$/i.exec(path);
    if (listAssignments !== null) {
      const scope = listAssignments[1] === "" ? "/" : (listAssignments[1] as string);
      const filter = request.url.searchParams.get("$filter");
      let matching = assignments.filter(
        (assignment) =>
          isAncestorOrSelf(assignment.scope, scope) || isAncestorOrSelf(scope, assignment.scope),
      );
      if (filter !== null) {
        const principal = /^principalId eq '([^']+)'$/i.exec(filter.trim());
        if (/^atScope\(\)$/i.test(filter.trim())) {
          matching = matching.filter((assignment) => isAncestorOrSelf(assignment.scope, scope));
        } else if (principal !== null) {
          matching = matching.filter(
            (assignment) => assignment.principalId.toLowerCase() === (principal[1] as string).toLowerCase(),
          );
        } else {
          return azureError(400, "InvalidFilter", `The filter '${filter}' is not supported by the fake`);
        }
      }
      return page(request, matching.map(assignmentJson), "$skipToken");
    }
    const getDefinition = /^(.*)\/providers\/Microsoft\.Authorization\/roleDefinitions\/([^/]+)$/i.exec(path);
    if (getDefinition !== null) {
      const guid = (getDefinition[2] as string).toLowerCase();
      const definition = definitions.get(guid);
      if (definition === undefined)
        return azureError(404, "RoleDefinitionDoesNotExist", "The specified role definition does not exist.");
      return {
        status: 200,
        body: {
          id: `/providers/Microsoft.Authorization/roleDefinitions/${guid}`,
          type: "Microsoft.Authorization/roleDefinitions",
          name: guid,
          properties: {
            roleName: definition.roleName,
            type: definition.type ?? "CustomRole",
            description: "",
            assignableScopes: ["/"],
            permissions: [
              {
                actions: definition.actions ?? [],
                notActions: [],
                dataActions: definition.dataActions ?? [],
                notDataActions: definition.notDataActions ?? [],
              },
            ],
          },
        },
      };
    }
    const listDiagnostics = /^(.*)\/providers\/Microsoft\.Insights\/diagnosticSettings$/i.exec(path);
    if (listDiagnostics !== null) {
      const resourceId = listDiagnostics[1] as string;
      const settings = diagnostics.get(lower(resourceId)) ?? [];
      return {
        status: 200,
        body: {
          value: settings.map((setting) => ({
            id: `${normalizePath(resourceId)}/providers/microsoft.insights/diagnosticSettings/${setting.name}`,
            type: "Microsoft.Insights/diagnosticSettings",
            name: setting.name,
            properties: {
              storageAccountId: setting.storageAccountId ?? null,
              serviceBusRuleId: null,
              eventHubAuthorizationRuleId: setting.eventHubAuthorizationRuleId ?? null,
              eventHubName: setting.eventHubName ?? null,
              workspaceId: setting.workspaceId ?? null,
              marketplacePartnerId: null,
              logAnalyticsDestinationType: setting.logAnalyticsDestinationType ?? null,
              metrics: [
                {
                  category: "AllMetrics",
                  enabled: true,
                  timeGrain: null,
                  retentionPolicy: { enabled: false, days: 0 },
                },
              ],
              logs: setting.logs.map((log) => ({
                category: log.category ?? null,
                categoryGroup: log.categoryGroup ?? null,
                enabled: log.enabled,
                retentionPolicy: { enabled: log.retentionDays !== undefined, days: log.retentionDays ?? 0 },
              })),
            },
            systemData: null,
          })),
        },
      };
    }
    const listActivityLogAlerts =
      /^\/subscriptions\/([^/]+)\/providers\/Microsoft\.Insights\/activityLogAlerts$/i.exec(path);
    if (listActivityLogAlerts !== null) {
      return page(
        request,
        activityLogAlerts
          .filter((seed) => inSubscription(seed.subscriptionId, listActivityLogAlerts))
          .map(activityLogAlertJson),
        "$skipToken",
      );
    }
    const listScheduledQueryRules =
      /^\/subscriptions\/([^/]+)\/providers\/Microsoft\.Insights\/scheduledQueryRules$/i.exec(path);
    if (listScheduledQueryRules !== null) {
      return page(
        request,
        scheduledQueryRules
          .filter((seed) => inSubscription(seed.subscriptionId, listScheduledQueryRules))
          .map(scheduledQueryRuleJson),
        "$skipToken",
      );
    }
    return azureError(404, "NoRegisteredProviderFound", `The fake serves no route ${path}`);
  }

  const server = await startFakeHttpsServer(handle);
  return {
    url: server.url,
    ca: fakeTlsMaterial().cert,
    server,
    addVault(seed) {
      vaults.push(seed);
      return vaultId(seed);
    },
    addManagedHsm(seed) {
      managedHsms.push(seed);
      return managedHsmId(seed);
    },
    addRoleAssignment(seed) {
      const name = seed.name ?? randomUUID();
      const id = `${normalizePath(seed.scope)}/providers/Microsoft.Authorization/roleAssignments/${name}`;
      assignments.push({ ...seed, id, name, createdOn: new Date().toISOString() });
      return id;
    },
    addRoleDefinition(seed) {
      definitions.set(seed.guid.toLowerCase(), seed);
    },
    setDiagnosticSettings(resourceId, settings) {
      diagnostics.set(lower(resourceId), settings);
    },
    addActivityLogAlert(seed) {
      activityLogAlerts.push(seed);
      return activityLogAlertId(seed);
    },
    addScheduledQueryRule(seed) {
      scheduledQueryRules.push(seed);
      return scheduledQueryRuleId(seed);
    },
    failRoute(pattern, response) {
      failures.push({ pattern, response });
    },
    clearFailures() {
      failures.length = 0;
    },
    setPageSize(size) {
      pageSize = size;
    },
    close: () => server.close(),
  };
}
