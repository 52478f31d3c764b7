import type { CollectionError, SourceType } from "./key.ts";
import type { SourceGap } from "./snapshot.ts";
import type { JsonValue } from "./json.ts";

/**
 * How a source's population was found (issue 15): the accounts of an AWS Organization, the vaults of Azure
 * subscriptions, the namespaces of a Vault cluster. Written to the bundle as `discovery.json` so an auditor
 * sees what was found, when, and through which call: the evidence that the population is complete.
 *
 * A source configured with a fixed list (regions, vault URLs, one namespace) discovers nothing; its record
 * says `method: "configured"` and lists the configured locations.
 */

/** One discovery call as it was made: what was asked, of whom, when, and what came back. */
export interface DiscoveryCall {
  /** The API call, e.g. `organizations:ListAccounts`, `arm:Microsoft.KeyVault/vaults:list`, `sys/namespaces:LIST`. */
  call: string;
  /** What the call was scoped to: an OU id, a subscription id, a namespace path. */
  scope?: string | undefined;
  /** UTC ISO-8601 when the call (its last page) answered. */
  at: string;
  /** Pages read (paged APIs); 1 for a single answer. */
  pages?: number | undefined;
  /** Items it returned, before include/exclude filters. */
  count?: number | undefined;
  /** Set when the call failed; the discovery then records a gap for what it could not see. */
  error?: CollectionError | undefined;
}

/** One member found: an account, a vault, a namespace, with whether it became a location. */
export interface DiscoveredMember {
  /** Account id, vault URL, namespace path. */
  id: string;
  /** Account name, vault name, namespace path: what a person recognizes. */
  name?: string | undefined;
  /** `included`: collected; `excluded`: left out by the config's filters (`reason` says which); `unreachable`: a gap. */
  status: "included" | "excluded" | "unreachable";
  reason?: string | undefined;
  /** The locations this member contributed (AWS: `<account>/<region>` per configured region). */
  locations: string[];
  /** Provider-specific facts about the member (account status, OU, ARM resource id, location...). */
  details?: { [field: string]: JsonValue } | undefined;
}

export interface SourceDiscovery {
  source: string;
  type: SourceType;
  /** `configured`: a fixed list from the config; otherwise what was walked, e.g. `aws-organizations`, `azure-resource-manager`, `vault-namespaces`. */
  method: string;
  /** UTC ISO-8601 when discovery finished. */
  discoveredAt: string;
  calls: DiscoveryCall[];
  members: DiscoveredMember[];
  /** Every location to collect, in a stable (sorted) order. */
  locations: string[];
  /** Members that were found but cannot be collected, and calls that failed: gaps in the population. */
  gaps: SourceGap[];
}

/** The bundle's `discovery.json`. */
export interface DiscoveryRecord {
  format: "keyproof-discovery/1";
  runId: string;
  sources: SourceDiscovery[];
}

/** The record of a source with a fixed, configured list of locations. */
export function configuredDiscovery(input: {
  source: string;
  type: SourceType;
  locations: readonly string[];
  at: string;
}): SourceDiscovery {
  return {
    source: input.source,
    type: input.type,
    method: "configured",
    discoveredAt: input.at,
    calls: [],
    members: input.locations.map((location) => ({ id: location, status: "included", locations: [location] })),
    locations: [...input.locations],
    gaps: [],
  };
}
