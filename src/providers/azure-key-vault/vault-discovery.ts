/**
 * `vaults: all` (issue 15): every Key Vault and Managed HSM of the source's subscriptions, found through Azure
 * Resource Manager, each vault's data plane probed once. What is found is evidence (`discovery.json`): the
 * calls made per subscription, every member with its status, and a gap for whatever could not be seen or
 * reached, so a firewalled vault or a subscription the identity cannot list never reads as a clean pass.
 *
 * A vault whose data plane refuses the probe (403 `ForbiddenByFirewall` or `ForbiddenByRbac`, a private
 * endpoint name that does not resolve here, a refused connection, no answer in time) is `unreachable`: it
 * contributes no location, and its gap (naming the vault and the cause) becomes a source gap of the run. Not
 * planning it keeps the run from collecting ARM facts about a vault whose keys cannot be seen, and one
 * gap per vault says exactly what is missing; collection of a planned location would only find the same
 * refusal again.
 */
import type { ManagedHsm } from "@azure/arm-keyvault";
import type { CollectionError } from "../../model/key.ts";
import type { DiscoveredMember, DiscoveryCall, SourceDiscovery } from "../../model/discovery.ts";
import type { SourceGap } from "../../model/snapshot.ts";
import type { JsonValue } from "../../model/json.ts";
import type { AzureKeyVaultSourceConfig } from "../../config/sources/azure-key-vault.schema.ts";
import { normalizeVaultUrl, subscriptionsOf } from "../../config/sources/azure-key-vault.schema.ts";
import type { AzureClients } from "./azure-clients.ts";
import { toCollectionError } from "./azure-error.ts";
import type { ListedVault, VaultArmCollector } from "./vault-arm.collector.ts";
import { mapWithConcurrency } from "../shared/concurrency.ts";

/** Discovery call names as discovery.json records them. */
export const DISCOVERY_CALLS = {
  vaults: "arm:Microsoft.KeyVault/vaults:list",
  managedHsms: "arm:Microsoft.KeyVault/managedHSMs:list",
  probe: "keyvault:listPropertiesOfKeys",
} as const;

const MANAGED_HSM_ARM_ID =
  /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.KeyVault\/managedHSMs\/([^/]+)$/i;

export interface VaultDiscoveryContext {
  config: AzureKeyVaultSourceConfig;
  clients: AzureClients;
  arm: VaultArmCollector;
  now: () => string;
  /** Milliseconds a data-plane probe may take before the vault counts as unreachable. */
  probeTimeoutMs: number;
  /** Vaults probed at once. */
  probeConcurrency: number;
}

/** A resource found in a subscription, before filters and probing. */
interface FoundResource {
  kind: "vault" | "managedHsm";
  url: string;
  name: string;
  resourceId: string;
  subscriptionId: string;
  resourceGroup: string;
  region?: string | undefined;
}

export async function discoverVaults(context: VaultDiscoveryContext): Promise<SourceDiscovery> {
  const { config } = context;
  const calls: DiscoveryCall[] = [];
  const gaps: SourceGap[] = [];
  const found: FoundResource[] = [];

  const listings = await Promise.all(
    subscriptionsOf(config).map(async (subscriptionId) => ({
      subscriptionId,
      vaults: await listVaults(context, subscriptionId),
      hsms: await listManagedHsms(context, subscriptionId),
    })),
  );
  for (const listing of listings) {
    for (const result of [listing.vaults, listing.hsms]) {
      calls.push(result.call);
      if (result.call.error !== undefined) {
        // The subscription's population is unknown, not empty: a gap naming the subscription and the cause.
        gaps.push({ source: config.id, error: result.call.error });
      }
      const unusable = (result.call.count ?? 0) - result.found.length;
      if (unusable > 0) {
        // A listed resource without a usable id or data-plane URL cannot be collected: say so, never skip it.
        gaps.push({
          source: config.id,
          error: {
            call: result.call.call,
            code: "UnusableResource",
            message: `subscription ${listing.subscriptionId}: ${unusable} listed resource(s) without a usable id or data-plane URI were not collected`,
            retryable: false,
          },
        });
      }
      found.push(...result.found);
    }
  }

  // One resource per URL (ARM lists a vault once; a duplicate would only double its gap or location).
  const byUrl = new Map<string, FoundResource>();
  for (const resource of found) if (!byUrl.has(resource.url)) byUrl.set(resource.url, resource);
  const resources = [...byUrl.values()].sort((left, right) => left.url.localeCompare(right.url));

  const members = await mapWithConcurrency(resources, context.probeConcurrency, async (resource) => {
    const member = await judgeMember(context, resource);
    if (member.gap !== undefined) gaps.push(member.gap);
    return member.member;
  });
  const locations = members.flatMap((member) => member.locations).sort();
  return {
    source: config.id,
    type: "azure-key-vault",
    method: "azure-resource-manager",
    discoveredAt: context.now(),
    calls,
    members,
    locations,
    gaps,
  };
}

interface Listing {
  call: DiscoveryCall;
  found: FoundResource[];
}

async function listVaults(context: VaultDiscoveryContext, subscriptionId: string): Promise<Listing> {
  const listed = await context.arm.listSubscriptionVaults(subscriptionId);
  const base = { call: DISCOVERY_CALLS.vaults, scope: subscriptionId, at: listed.capturedAt };
  if (!listed.ok)
    return { call: { ...base, error: { ...listed.error, call: DISCOVERY_CALLS.vaults } }, found: [] };
  return {
    call: { ...base, pages: listed.value.pages, count: listed.value.count },
    found: listed.value.vaults.map((vault: ListedVault) => ({
      kind: "vault",
      url: vault.vaultUrl,
      name: vault.locator.name,
      resourceId: vault.locator.resourceId,
      subscriptionId: vault.locator.subscriptionId,
      resourceGroup: vault.locator.resourceGroup,
      region: vault.region,
    })),
  };
}

async function listManagedHsms(context: VaultDiscoveryContext, subscriptionId: string): Promise<Listing> {
  const call = DISCOVERY_CALLS.managedHsms;
  const found: FoundResource[] = [];
  let pages = 0;
  let count = 0;
  try {
    const pager = context.clients.arm(subscriptionId).vaults.managedHsms.listBySubscription();
    for await (const page of pager.byPage()) {
      pages += 1;
      for (const hsm of page) {
        count += 1;
        const resource = toManagedHsmResource(hsm);
        if (resource !== undefined) found.push(resource);
      }
    }
    return { call: { call, scope: subscriptionId, at: context.now(), pages, count }, found };
  } catch (error) {
    const failure = toCollectionError(call, error);
    return {
      call: {
        call,
        scope: subscriptionId,
        at: context.now(),
        error: { ...failure, message: `subscription ${subscriptionId}: ${failure.message}` },
      },
      found: [],
    };
  }
}

function toManagedHsmResource(hsm: ManagedHsm): FoundResource | undefined {
  const uri = hsm.properties?.hsmUri;
  const match = hsm.id === undefined ? null : MANAGED_HSM_ARM_ID.exec(hsm.id);
  if (uri === undefined || match === null || !URL.canParse(uri)) return undefined;
  return {
    kind: "managedHsm",
    url: normalizeVaultUrl(uri),
    name: match[3] as string,
    resourceId: hsm.id as string,
    subscriptionId: match[1] as string,
    resourceGroup: match[2] as string,
    region: hsm.location,
  };
}

/** Filters first (an excluded vault is not probed), then the HSM limitation, then the data-plane probe. */
async function judgeMember(
  context: VaultDiscoveryContext,
  resource: FoundResource,
): Promise<{ member: DiscoveredMember; gap?: SourceGap }> {
  const { config } = context;
  const details: { [field: string]: JsonValue } = {
    kind: resource.kind,
    resourceId: resource.resourceId,
    subscriptionId: resource.subscriptionId,
    resourceGroup: resource.resourceGroup,
    ...(resource.region === undefined ? {} : { region: resource.region }),
  };
  const base = { id: resource.url, name: resource.name, details };
  const excluded = exclusionOf(config, resource);
  if (excluded !== undefined)
    return { member: { ...base, status: "excluded", reason: excluded, locations: [] } };

  if (resource.kind === "managedHsm") {
    const reason =
      "Managed HSM found; keyproof does not collect Managed HSM keys yet (local RBAC and HSM properties are not read), so its keys are not in this evidence";
    return {
      member: { ...base, status: "unreachable", reason, locations: [] },
      gap: {
        source: config.id,
        location: resource.url,
        error: {
          call: "keyproof:discover",
          code: "ManagedHsmNotSupported",
          message: `${resource.url} (${resource.name}, subscription ${resource.subscriptionId}): ${reason}`,
          retryable: false,
        },
      },
    };
  }

  const refusal = await probeDataPlane(context, resource.url);
  if (refusal === undefined) return { member: { ...base, status: "included", locations: [resource.url] } };
  const message = `vault ${resource.url} (${resource.name}, subscription ${resource.subscriptionId}): data plane not reachable: ${refusal.code}: ${refusal.message}`;
  return {
    member: { ...base, status: "unreachable", reason: `${refusal.code}: ${refusal.message}`, locations: [] },
    gap: { source: config.id, location: resource.url, error: { ...refusal, message } },
  };
}

/**
 * One key listing page of one key: the cheapest data-plane call that needs the same network path and
 * permission as collection. Undefined when the vault answered; the cause otherwise.
 */
async function probeDataPlane(
  context: VaultDiscoveryContext,
  vaultUrl: string,
): Promise<CollectionError | undefined> {
  const abortSignal = AbortSignal.timeout(context.probeTimeoutMs);
  try {
    const client = context.clients.keyClient(vaultUrl);
    const pages = client.listPropertiesOfKeys({ abortSignal }).byPage({ maxPageSize: 1 });
    await pages.next();
    return undefined;
  } catch (error) {
    if (abortSignal.aborted) {
      return {
        call: DISCOVERY_CALLS.probe,
        code: "ProbeTimedOut",
        message: `no answer within ${context.probeTimeoutMs} ms (a private endpoint or a firewall that drops traffic)`,
        retryable: true,
      };
    }
    return toCollectionError(DISCOVERY_CALLS.probe, error);
  }
}

/** Why the config's filters leave the resource out, or undefined when it is collected. */
export function exclusionOf(
  config: Pick<AzureKeyVaultSourceConfig, "include" | "exclude">,
  resource: { url: string; name: string; resourceId: string },
): string | undefined {
  if (config.include !== undefined) {
    const included = config.include.some((filter) => matchesFilter(filter, resource));
    if (!included) return `matches no include entry (${config.include.join(", ")})`;
  }
  const excludedBy = config.exclude?.find((filter) => matchesFilter(filter, resource));
  return excludedBy === undefined ? undefined : `matches exclude entry ${excludedBy}`;
}

/** A vault URL, a resource group id (the resource is in it), or a vault name with `*` wildcards. */
export function matchesFilter(
  filter: string,
  resource: { url: string; name: string; resourceId: string },
): boolean {
  if (/^https:\/\//i.test(filter)) return normalizeVaultUrl(filter) === resource.url;
  if (filter.startsWith("/")) {
    const group = filter.replace(/\/+$/, "").toLowerCase();
    return resource.resourceId.toLowerCase().startsWith(`${group}/`);
  }
  const pattern = filter
    .split("*")
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
    .join(".*");
  return new RegExp(`^${pattern}$`, "i").test(resource.name);
}
