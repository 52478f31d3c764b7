import { readFileSync } from "node:fs";
import { Agent } from "node:https";
import { resolve } from "node:path";
import { rootCertificates } from "node:tls";
import type { TokenCredential } from "@azure/core-auth";
import type { PipelinePolicy } from "@azure/core-rest-pipeline";
import { DefaultAzureCredential } from "@azure/identity";
import { KeyClient } from "@azure/keyvault-keys";
import { KeyVaultManagementClient } from "@azure/arm-keyvault";
import { AuthorizationManagementClient } from "@azure/arm-authorization";
import { MonitorClient } from "@azure/arm-monitor";
import { LogsQueryClient } from "@azure/monitor-query-logs";
import type { AzureKeyVaultSourceConfig } from "../../config/sources/azure-key-vault.schema.ts";
import { KeyproofError } from "../../errors/errors.ts";

/**
 * The Azure SDK clients one source needs, built from the source config. Nothing here runs at import; clients
 * are created when a provider is created and open connections only when called.
 */

export const DEFAULT_RESOURCE_MANAGER = "https://management.azure.com";
/** Key Vault REST API version: 7.6 is GA in every cloud and served by Lowkey Vault 3.x and later. */
export const KEY_VAULT_SERVICE_VERSION = "7.6";
/**
 * Diagnostic settings api-version. `@azure/arm-monitor` 7 pins 2017-05-01-preview, which predates category
 * groups (`allLogs`, `audit`): a setting that sends `allLogs` would look like it logs nothing. The request is
 * upgraded to 2021-05-01-preview (research/apis.md §2.5) by a pipeline policy, and the raw body is read.
 */
export const DIAGNOSTIC_SETTINGS_API_VERSION = "2021-05-01-preview";
/**
 * Alert rule api-versions. `@azure/arm-monitor` 7 pins activity-log alerts to 2017-04-01 (no `containsAny` or
 * `anyOf` conditions) and scheduled query rules to 2018-04-16, the legacy Log Analytics alert schema
 * (`source.query`, `action.aznsAction`) that has no `scopes` or `criteria`; rules created with the current API
 * answer in the current schema. Both list requests are upgraded by the `keyproofAlertRuleLists` policy.
 */
export const ACTIVITY_LOG_ALERTS_API_VERSION = "2020-10-01";
export const SCHEDULED_QUERY_RULES_API_VERSION = "2021-08-01";

/** Data-plane suffixes of Azure's clouds; anything else is an emulator or a private name. */
const AZURE_KEY_VAULT_SUFFIXES = [
  ".vault.azure.net",
  ".vault.azure.cn",
  ".vault.usgovcloudapi.net",
  ".vault.microsoftazure.de",
  ".managedhsm.azure.net",
  ".managedhsm.azure.cn",
  ".managedhsm.usgovcloudapi.net",
];

export function isAzureKeyVaultHost(url: string): boolean {
  const host = new URL(url).hostname.toLowerCase();
  return AZURE_KEY_VAULT_SUFFIXES.some((suffix) => host.endsWith(suffix));
}

export interface AzureClientOptions {
  /** Defaults to `new DefaultAzureCredential()`. Tests inject a static-token credential. */
  credential?: TokenCredential;
  /**
   * Extra PEM trust anchors (an emulator's self-signed certificate, a TLS-inspecting proxy's CA). Public CAs
   * stay trusted. Without it, `NODE_EXTRA_CA_CERTS` works too.
   */
  trustedCertificates?: string[];
  /** Directory a relative `tlsCaFile` resolves against (the config file's). Default: cwd. */
  baseDirectory?: string;
  /** Retries per call on throttling and transient failures (default 3, with the SDK's exponential backoff). */
  maxRetries?: number;
}

/**
 * Lowkey Vault answers `GET /keys/{name}/rotationpolicy` with 200 and an empty body when no policy was ever
 * set (Azure returns a Notify-only default). `@azure/keyvault-keys` 4.10 then throws a TypeError in its
 * deserializer ("Cannot read properties of undefined (reading 'id')"). An empty JSON object reads as
 * "no policy" instead, which is what the emulator means.
 */
const emptyRotationPolicyBody: PipelinePolicy = {
  name: "keyproofEmptyRotationPolicyBody",
  async sendRequest(request, next) {
    const response = await next(request);
    if (
      request.method === "GET" &&
      /\/rotationpolicy\/?$/i.test(new URL(request.url).pathname) &&
      response.status === 200 &&
      (response.bodyAsText === undefined || response.bodyAsText === null || response.bodyAsText.trim() === "")
    ) {
      response.bodyAsText = "{}";
    }
    return response;
  },
};

/** Response headers carrying the service's error code and message past pagers that drop error bodies. */
export const ERROR_CODE_HEADER = "x-keyproof-error-code";
export const ERROR_MESSAGE_HEADER = "x-keyproof-error-message";

/**
 * The paging helpers of the Azure clients throw "Pagination failed with unexpected statusCode 403" with no
 * body, losing Key Vault's `innererror.code` (`ForbiddenByFirewall` vs `ForbiddenByRbac`) and ARM's error code.
 * The thrown error keeps the response headers, so the code and message are copied into headers here.
 */
const preserveErrorBody: PipelinePolicy = {
  name: "keyproofPreserveErrorBody",
  async sendRequest(request, next) {
    const response = await next(request);
    if (response.status >= 400 && typeof response.bodyAsText === "string" && response.bodyAsText.length > 0) {
      try {
        const body = JSON.parse(response.bodyAsText) as {
          error?: {
            code?: unknown;
            message?: unknown;
            innererror?: { code?: unknown };
            innerError?: { code?: unknown };
          };
        };
        const inner = body.error?.innererror?.code ?? body.error?.innerError?.code;
        const code = typeof inner === "string" ? inner : body.error?.code;
        if (typeof code === "string") response.headers.set(ERROR_CODE_HEADER, code);
        if (typeof body.error?.message === "string") {
          response.headers.set(
            ERROR_MESSAGE_HEADER,
            body.error.message.replace(/[\r\n]+/g, " ").slice(0, 500),
          );
        }
      } catch {
        // Not JSON: the status code is all there is.
      }
    }
    return response;
  },
};

const ALERT_RULE_LISTS = [
  {
    path: /\/providers\/microsoft\.insights\/activitylogalerts\/?$/i,
    apiVersion: ACTIVITY_LOG_ALERTS_API_VERSION,
  },
  {
    path: /\/providers\/microsoft\.insights\/scheduledqueryrules\/?$/i,
    apiVersion: SCHEDULED_QUERY_RULES_API_VERSION,
  },
];

/**
 * Alert rule lists, read by api-version and gathered across pages. The arm-monitor 7 pagers of these two
 * operations send one request and never follow `nextLink` (a subscription with more rules than one page would
 * look like it has fewer), and their api-versions are outdated (see above). This policy sets the api-version,
 * follows every `nextLink` (an absolute URL that carries its own api-version) and answers one body holding all
 * pages' `value`; the collector reads that body raw. A failed page is answered as is, so the call fails.
 */
const alertRuleLists: PipelinePolicy = {
  name: "keyproofAlertRuleLists",
  async sendRequest(request, next) {
    const list = ALERT_RULE_LISTS.find((entry) => entry.path.test(new URL(request.url).pathname));
    if (request.method !== "GET" || list === undefined) return next(request);
    const url = new URL(request.url);
    url.searchParams.set("api-version", list.apiVersion);
    request.url = url.toString();
    const first = await next(request);
    const items: unknown[] = [];
    let response = first;
    for (;;) {
      if (response.status !== 200) return response;
      const body = JSON.parse(response.bodyAsText ?? "{}") as { value?: unknown; nextLink?: unknown };
      if (Array.isArray(body.value)) items.push(...(body.value as unknown[]));
      if (typeof body.nextLink !== "string" || body.nextLink.length === 0) break;
      request.url = body.nextLink;
      response = await next(request);
    }
    first.bodyAsText = JSON.stringify({ value: items });
    return first;
  },
};

/**
 * The Resource Manager clients of one subscription. The SDK clients take the subscription at construction and
 * use it for subscription-scoped calls (vault and alert-rule listings); a source with `subscriptions` has one
 * set per subscription, built when first asked for.
 */
export interface ArmClients {
  vaults: KeyVaultManagementClient;
  authorization: AuthorizationManagementClient;
  monitor: MonitorClient;
}

export interface AzureClients {
  keyClient(vaultUrl: string): KeyClient;
  /** Resource Manager clients for a subscription (the vault's own, from its resource id). */
  arm(subscriptionId: string): ArmClients;
  logs: LogsQueryClient;
}

/** The source's `tlsCaFile`, read once when the provider is built: a missing file fails the run at start. */
function readTrustAnchors(config: AzureKeyVaultSourceConfig, baseDirectory: string): string[] {
  if (config.tlsCaFile === undefined) return [];
  const file = resolve(baseDirectory, config.tlsCaFile);
  try {
    return [readFileSync(file, "utf8")];
  } catch (error) {
    throw new KeyproofError("CONFIG_INVALID", `source ${config.id}: tlsCaFile ${file} cannot be read`, {
      cause: error,
      remediation: "point tlsCaFile at a PEM file (relative paths resolve beside the config file)",
    });
  }
}

export function createAzureClients(
  config: AzureKeyVaultSourceConfig,
  options: AzureClientOptions,
): AzureClients {
  const credential = options.credential ?? new DefaultAzureCredential();
  const anchors = [
    ...readTrustAnchors(config, options.baseDirectory ?? process.cwd()),
    ...(options.trustedCertificates ?? []),
  ];
  const agent =
    anchors.length === 0 ? undefined : new Agent({ ca: [...rootCertificates, ...anchors], keepAlive: true });
  const common = {
    ...(agent === undefined ? {} : { agent }),
    retryOptions: { maxRetries: options.maxRetries ?? 3 },
    additionalPolicies: [{ policy: preserveErrorBody, position: "perCall" as const }],
  };
  const armEndpoint = (config.endpoints?.resourceManager ?? DEFAULT_RESOURCE_MANAGER).replace(/\/+$/, "");
  const keyClients = new Map<string, KeyClient>();

  const armClients = new Map<string, ArmClients>();
  function createArmClients(subscriptionId: string): ArmClients {
    const monitor = new MonitorClient(credential, subscriptionId, {
      ...common,
      endpoint: armEndpoint,
      // AutoRest clients build URLs from `$host`; `endpoint` only sets the token scope.
      $host: armEndpoint,
    });
    monitor.pipeline.addPolicy({
      name: "keyproofDiagnosticSettingsApiVersion",
      sendRequest(request, next) {
        if (/\/providers\/microsoft\.insights\/diagnosticsettings(\?|$)/i.test(request.url)) {
          const url = new URL(request.url);
          url.searchParams.set("api-version", DIAGNOSTIC_SETTINGS_API_VERSION);
          request.url = url.toString();
        }
        return next(request);
      },
    });
    monitor.pipeline.addPolicy(alertRuleLists);
    return {
      vaults: new KeyVaultManagementClient(credential, subscriptionId, { ...common, endpoint: armEndpoint }),
      authorization: new AuthorizationManagementClient(credential, subscriptionId, {
        ...common,
        endpoint: armEndpoint,
        $host: armEndpoint,
      }),
      monitor,
    };
  }

  return {
    keyClient(vaultUrl) {
      const target = config.endpoints?.keyVault ?? vaultUrl;
      let client = keyClients.get(target);
      if (client === undefined) {
        client = new KeyClient(target, credential, {
          ...common,
          serviceVersion: KEY_VAULT_SERVICE_VERSION,
          // The challenge check refuses a resource that is not the vault's own Azure domain; an emulator or
          // private name can never pass it, and an Azure host always keeps it on.
          disableChallengeResourceVerification: !isAzureKeyVaultHost(target),
          additionalPolicies: [
            ...common.additionalPolicies,
            { policy: emptyRotationPolicyBody, position: "perCall" },
          ],
        });
        keyClients.set(target, client);
      }
      return client;
    },
    arm(subscriptionId) {
      const key = subscriptionId.toLowerCase();
      let clients = armClients.get(key);
      if (clients === undefined) {
        clients = createArmClients(subscriptionId);
        armClients.set(key, clients);
      }
      return clients;
    },
    logs: new LogsQueryClient(credential, {
      ...common,
      ...(config.endpoints?.logAnalytics === undefined
        ? {}
        : { endpoint: config.endpoints.logAnalytics.replace(/\/+$/, "") }),
    }),
  };
}
