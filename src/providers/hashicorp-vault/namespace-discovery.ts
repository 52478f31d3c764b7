/**
 * `namespaces: all`: the namespace tree below the source's namespace, walked at planning time (issue 15).
 *
 * Each namespace is asked two things in its own namespace (`X-Vault-Namespace`): `LIST sys/namespaces` (its
 * children; `key_info` describes each) and `GET sys/mounts` (whether the token can read it at all, and its
 * transit mounts). A namespace whose mount table cannot be read is `unreachable`: not a location, and a gap
 * naming the namespace and the cause. A namespace whose children cannot be listed is still collected when its
 * mounts can be read, and the unknown children are a gap on it: unknown is never "no children". The walk goes
 * level by level, so a namespace is listed only after its parent answered; children of an unreachable
 * namespace whose listing did answer are still walked (a token may reach `a/b/` without reaching `a/`).
 */
import type { CollectionError } from "../../model/key.ts";
import type { DiscoveredMember, DiscoveryCall, SourceDiscovery } from "../../model/discovery.ts";
import type { SourceGap } from "../../model/snapshot.ts";
import { toJsonValue, type JsonValue } from "../../model/json.ts";
import { mapWithConcurrency } from "../shared/concurrency.ts";
import { dataOf, type VaultApi } from "./vault-client.ts";
import { toVaultCollectionError } from "./vault-error.ts";
import { childNamespace, vaultCall, vaultLocation } from "./vault-paths.ts";

export interface NamespaceWalk {
  sourceId: string;
  /** Address without a trailing slash. */
  address: string;
  /** Where the walk starts, normalized (`admin/`), `""` for the root namespace; it is a member itself. */
  root: string;
  apiFor(namespace: string): VaultApi;
  now(): string;
  concurrency: number;
  /**
   * Stops a runaway walk (a server that lists a namespace as its own child...). Vault limits nesting depth
   * itself; this only guards keyproof. Namespaces past the limit are a gap, never silently dropped.
   */
  maxNamespaces?: number;
}

/** The method `discovery.json` names for this walk. */
export const VAULT_NAMESPACES_METHOD = "vault-namespaces";

const LIST_NAMESPACES = vaultCall("LIST", "sys/namespaces");
const READ_MOUNTS = vaultCall("GET", "sys/mounts");

/** How a namespace is named to people: `root namespace`, `namespace admin/team-a/`. */
export function describeNamespace(namespace: string): string {
  return namespace.length === 0 ? "root namespace" : `namespace ${namespace}`;
}

interface Visit {
  namespace: string;
  /** What the parent's `key_info` said about it (id, uuid, custom_metadata, locked, tainted). */
  listed?: JsonValue | undefined;
}

interface VisitResult {
  member: DiscoveredMember;
  calls: DiscoveryCall[];
  gaps: SourceGap[];
  children: Visit[];
}

function namespaceGap(
  walk: NamespaceWalk,
  namespace: string,
  what: string,
  error: CollectionError,
): SourceGap {
  return {
    source: walk.sourceId,
    location: vaultLocation(walk.address, namespace),
    error: { ...error, message: `${describeNamespace(namespace)} ${what}: ${error.message}` },
  };
}

async function visitNamespace(walk: NamespaceWalk, visit: Visit): Promise<VisitResult> {
  const { namespace } = visit;
  const api = walk.apiFor(namespace);
  // The namespace path as Vault writes it (`request.namespace.path`): `""` is the root namespace.
  const scope = namespace;
  const location = vaultLocation(walk.address, namespace);
  const calls: DiscoveryCall[] = [];
  const gaps: SourceGap[] = [];
  const [listing, mounts] = await Promise.all([
    api.listDetailed("sys/namespaces").then(
      (value) => ({ ok: true as const, value, at: walk.now() }),
      (error: unknown) => ({
        ok: false as const,
        error: toVaultCollectionError(LIST_NAMESPACES, error),
        at: walk.now(),
      }),
    ),
    api.read("sys/mounts").then(
      (body) => ({ ok: true as const, table: dataOf(body), at: walk.now() }),
      (error: unknown) => ({
        ok: false as const,
        error: toVaultCollectionError(READ_MOUNTS, error),
        at: walk.now(),
      }),
    ),
  ]);

  const children: Visit[] = [];
  if (listing.ok) {
    calls.push({ call: LIST_NAMESPACES, scope, at: listing.at, pages: 1, count: listing.value.keys.length });
    for (const key of [...listing.value.keys].sort()) {
      children.push({
        namespace: childNamespace(namespace, key),
        listed: toJsonValue(listing.value.keyInfo[key]),
      });
    }
  } else {
    calls.push({ call: LIST_NAMESPACES, scope, at: listing.at, error: listing.error });
    gaps.push(namespaceGap(walk, namespace, "could not be listed for child namespaces", listing.error));
  }

  const details: { [field: string]: JsonValue } = {};
  if (visit.listed !== undefined) details["namespace"] = visit.listed;
  if (listing.ok) details["childNamespaces"] = children.map((child) => child.namespace);
  let member: DiscoveredMember;
  if (mounts.ok) {
    const entries = Object.entries(mounts.table);
    calls.push({ call: READ_MOUNTS, scope, at: mounts.at, pages: 1, count: entries.length });
    details["transitMounts"] = entries
      .filter(([, entry]) => (entry as { type?: unknown } | null)?.type === "transit")
      .map(([mount]) => mount)
      .sort();
    member = {
      id: namespace,
      name: namespace.length === 0 ? "root" : namespace,
      status: "included",
      ...(listing.ok ? {} : { reason: "its child namespaces could not be listed (a gap)" }),
      locations: [location],
      details,
    };
  } else {
    calls.push({ call: READ_MOUNTS, scope, at: mounts.at, error: mounts.error });
    gaps.push(namespaceGap(walk, namespace, "is unreadable", mounts.error));
    member = {
      id: namespace,
      name: namespace.length === 0 ? "root" : namespace,
      status: "unreachable",
      reason: `${mounts.error.code}: ${mounts.error.message} (${READ_MOUNTS})`,
      locations: [],
      details,
    };
  }
  return { member, calls, gaps, children };
}

/** Walks the tree; never rejects (every failed call is a gap and an `error` on the call). */
export async function discoverNamespaces(walk: NamespaceWalk): Promise<SourceDiscovery> {
  const maxNamespaces = walk.maxNamespaces ?? 10_000;
  const calls: DiscoveryCall[] = [];
  const members: DiscoveredMember[] = [];
  const gaps: SourceGap[] = [];
  const seen = new Set<string>([walk.root]);
  let level: Visit[] = [{ namespace: walk.root }];
  while (level.length > 0) {
    const results = await mapWithConcurrency(level, walk.concurrency, (visit) => visitNamespace(walk, visit));
    const next: Visit[] = [];
    for (const result of results) {
      calls.push(...result.calls);
      members.push(result.member);
      gaps.push(...result.gaps);
      for (const child of result.children) {
        // A child outside its parent or listed twice is not walked again (see maxNamespaces).
        if (seen.has(child.namespace) || !child.namespace.startsWith(result.member.id)) continue;
        if (seen.size >= maxNamespaces) {
          gaps.push({
            source: walk.sourceId,
            location: vaultLocation(walk.address, child.namespace),
            error: {
              call: LIST_NAMESPACES,
              code: "TooManyNamespaces",
              message: `${describeNamespace(child.namespace)} was not walked: more than ${maxNamespaces} namespaces`,
              retryable: false,
            },
          });
          continue;
        }
        seen.add(child.namespace);
        next.push(child);
      }
    }
    level = next;
  }
  members.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const locations = members.flatMap((member) => member.locations).sort();
  return {
    source: walk.sourceId,
    type: "hashicorp-vault",
    method: VAULT_NAMESPACES_METHOD,
    discoveredAt: walk.now(),
    calls,
    members,
    locations,
    gaps,
  };
}
