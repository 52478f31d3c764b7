/**
 * The HashiCorp Vault / OpenBao source: transit keys, the ACL policies that reach them, audit devices, and
 * usage from a file audit device. Facts only; checks judge them.
 *
 * Locations: one per namespace, the Vault address (plus `/v1/<namespace>` for a namespace other than the root,
 * which is also the URL prefix that addresses that namespace). A source covers one namespace (`namespace`), a
 * configured list (`namespaces: [...]`), or its namespace and every one below it (`namespaces: all`, walked by
 * `discover()` in namespace-discovery.ts). Any instance serves any location of its source: the namespace is
 * read back from the location, so a worker that never discovered collects what the plan hands it. Transit
 * mounts are not locations: `listLocations()` is synchronous and mounts are only known after `sys/mounts`;
 * each key's `keyId` is `<mount>/<name>` instead, unique within its location.
 *
 * Calls, each named in errors as `vault:<VERB> <path>`: `GET sys/mounts`, `LIST <mount>/keys`,
 * `GET <mount>/keys/<name>`, `LIST sys/policies/acl`, `GET sys/policies/acl/<name>`, `GET sys/audit`
 * (root namespace: audit devices exist only there), `GET sys/health` (cluster name).
 *
 * Batches (issue #5): `listKeys` reads the mount table and LISTs each transit mount; a reference carries
 * `{ mount, name }`. `collectKeys` may run in a fresh instance on another machine, so what keys share (the
 * mount table entry, the ACL policies, each mount's key names for BYOK export grants) is read once per
 * instance and namespace, memoized, and reused by its later batches; a `listKeys` of the same instance seeds
 * it. Only each namespace's own policies are read; policies of parent namespaces that name child paths are
 * not evaluated.
 *
 * One file per concern, composed here: vault-connection.ts (token, CA, clients), mount-table.collector.ts
 * (mounts and key names), acl-policies.collector.ts (policies and a key's grants), transit-key.collector.ts
 * (one key's read and record), audit-device.normalizer.ts and audit-log.reader.ts (logging and usage).
 */
import path from "node:path";
import { z } from "zod";
import type { Collected, CollectionError, KeyRecord } from "../../model/key.ts";
import type { LoggingStatus } from "../../model/logging.ts";
import type { DateRange, SourceGap } from "../../model/snapshot.ts";
import type { UsageItem } from "../../model/usage.ts";
import type { HashicorpVaultSourceConfig } from "../../config/sources/hashicorp-vault.schema.ts";
import type { Clock, KeyBatch, KeyListing, KeyProvider, KeyRef } from "../key-provider.ts";
import { systemClock } from "../key-provider.ts";
import { mapWithConcurrency } from "../shared/concurrency.ts";
import { accessForKey, collectAclPolicies, type PolicyCollection } from "./acl-policies.collector.ts";
import { normalizeAuditDevices } from "./audit-device.normalizer.ts";
import { readAuditLog } from "./audit-log.reader.ts";
import {
  listKeyNames,
  mountEntry,
  readMountTable,
  transitMounts,
  type KeyNamesRead,
  type MountTableRead,
} from "./mount-table.collector.ts";
import {
  readTransitKey,
  toTransitKeyRecord,
  type TransitKeyContext,
  type TransitKeyName,
} from "./transit-key.collector.ts";
import { dataOf, type VaultApi } from "./vault-client.ts";
import { connectVault, type VaultConnection } from "./vault-connection.ts";
import { setupError, toVaultCollectionError, vaultHttpStatus } from "./vault-error.ts";
import { describeNamespace, discoverNamespaces, VAULT_NAMESPACES_METHOD } from "./namespace-discovery.ts";
import {
  isWithinNamespace,
  namespaceOfLocation,
  normalizeMount,
  normalizeNamespace,
  vaultCall,
  vaultLocation,
} from "./vault-paths.ts";
import type { SourceDiscovery } from "../../model/discovery.ts";

export interface HashicorpVaultProviderOptions {
  clock?: Clock;
  /** Where `VAULT_TOKEN` is read from; defaults to `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Directory relative `tokenFile`, `auditLogFile` and `tlsCaFile` resolve against (the config file's). Default: cwd. */
  baseDirectory?: string;
  /** Per-request timeout in milliseconds; default 15 000. An unreachable server fails after this. */
  requestTimeoutMs?: number;
  /** Concurrent Vault requests while reading keys and policies; default 8. */
  concurrency?: number;
}

// Re-exported: callers name the location and calls of a Vault source through the provider module.
export { normalizeMount, normalizeNamespace, vaultCall, vaultLocation } from "./vault-paths.ts";

type Connected = { ok: true; clients: VaultConnection } | { ok: false; error: CollectionError };

/**
 * `listed` of a Vault key reference. It comes back from a file another process wrote, so it is checked
 * rather than trusted: a reference that does not parse becomes a gap naming the key.
 */
const ListedTransitKeySchema = z.object({ mount: z.string().min(1), name: z.string().min(1) });

/** The call a malformed reference is reported under: keyproof's own reading, not a Vault request. */
const READ_KEY_REFERENCE = "keyproof:read key reference";

/** Code-unit order, so refs sort the same on every machine whatever its locale. */
function compareKeyIds(a: KeyRef, b: KeyRef): number {
  return a.keyId < b.keyId ? -1 : a.keyId > b.keyId ? 1 : 0;
}

export function createHashicorpVaultProvider(
  config: HashicorpVaultSourceConfig,
  options: HashicorpVaultProviderOptions = {},
): KeyProvider {
  const clock = options.clock ?? systemClock;
  const env = options.env ?? process.env;
  const baseDirectory = options.baseDirectory ?? process.cwd();
  const timeoutMs = options.requestTimeoutMs ?? 15_000;
  const concurrency = options.concurrency ?? 8;
  const address = config.address.replace(/\/+$/, "");
  // The configured namespace: the one collected, or where `namespaces: all` starts its walk.
  const namespace = normalizeNamespace(config.namespace);
  const location = vaultLocation(address, config.namespace);
  const namespaceMode = config.namespaces;
  const listed = Array.isArray(namespaceMode)
    ? [...new Set(namespaceMode.map(normalizeNamespace))].sort()
    : undefined;
  const configuredLocations =
    listed === undefined ? [location] : listed.map((entry) => vaultLocation(address, entry));
  const mountFilter = config.mounts === undefined ? undefined : new Set(config.mounts.map(normalizeMount));
  const resolve = (file: string): string => path.resolve(baseDirectory, file);
  const now = (): string => clock().toISOString();

  let connection: Promise<VaultConnection> | undefined;
  // Location-wide facts, memoized per instance and namespace (see the file comment). A failed read is
  // memoized too: it is data on every key of the instance, exactly as one collection of the location records it.
  const scopes = new Map<string, NamespaceScope>();
  // The namespace the token lives in (`""` root), undefined when it cannot say; asked once, when needed.
  let tokenNamespace: Promise<string | undefined> | undefined;

  /** Token and CA are read once, lazily: a missing token becomes a gap of this source, not a crash of the run. */
  const connect = (): Promise<VaultConnection> =>
    connectVault(config, { env, resolve, timeoutMs, address, namespace });

  /** The namespace a location of this source addresses, or undefined when the source does not cover it. */
  function namespaceOf(requested: string): string | undefined {
    if (namespaceMode === undefined) return requested === location ? namespace : undefined;
    const target = namespaceOfLocation(address, requested);
    if (target === undefined) return undefined;
    if (listed !== undefined) return listed.includes(target) ? target : undefined;
    return isWithinNamespace(namespace, target) ? target : undefined;
  }

  function scopeOf(requested: string): NamespaceScope | undefined {
    const target = namespaceOf(requested);
    if (target === undefined) return undefined;
    let scope = scopes.get(target);
    if (scope === undefined) {
      const scopeLocation = vaultLocation(address, target);
      // Relative to the configured namespace (the walk's start; the root for a list): see TransitKeyContext.
      const keyPrefix = target.startsWith(namespace) ? target.slice(namespace.length) : target;
      scope = {
        namespace: target,
        location: scopeLocation,
        keyNames: new Map(),
        keyContext: { sourceId: config.id, location: scopeLocation, address, namespace: target, keyPrefix },
      };
      scopes.set(target, scope);
    }
    return scope;
  }

  function gapIn(scope: NamespaceScope, error: CollectionError): SourceGap {
    return { source: config.id, location: scope.location, error };
  }

  async function openConnection(): Promise<Connected> {
    const pending = (connection ??= connect());
    try {
      return { ok: true, clients: await pending };
    } catch (error) {
      // Forget the failure so a later call (another batch, a retry) tries again.
      if (connection === pending) connection = undefined;
      return {
        ok: false,
        error: isCollectionError(error) ? error : toVaultCollectionError("keyproof:connect", error),
      };
    }
  }

  /** Why a location is not one of this source's (the message a gap carries). */
  function notCovered(): string {
    if (namespaceMode === "all")
      return `source ${config.id} covers ${describeNamespace(namespace)} and the namespaces below it at ${address}`;
    if (listed !== undefined)
      return `source ${config.id} covers these locations: ${configuredLocations.join(", ")}`;
    return `source ${config.id} has one location: ${location}`;
  }

  function unknownLocation(requested: string): SourceGap {
    return {
      source: config.id,
      location: requested,
      error: setupError("keyproof:collect", "UnknownLocation", notCovered()),
    };
  }

  /** The mount's key names, listed once per instance (by `listKeys`, or by the first batch that needs them). */
  function mountKeyNames(scope: NamespaceScope, api: VaultApi, mount: string): Promise<KeyNamesRead> {
    let names = scope.keyNames.get(mount);
    if (names === undefined) {
      names = listKeyNames(api, mount, now);
      scope.keyNames.set(mount, names);
    }
    return names;
  }

  /** `listed` checked against the reference's own key id (with its namespace prefix) and the configured mounts. */
  function readKeyRef(
    scope: NamespaceScope,
    ref: KeyRef,
  ): { ok: true; key: TransitKeyName } | { ok: false; error: CollectionError } {
    const keyId: unknown = (ref as { keyId?: unknown } | null)?.keyId;
    const named = typeof keyId === "string" ? JSON.stringify(keyId) : "without a key id";
    const malformed = (reason: string) => ({
      ok: false as const,
      error: setupError(READ_KEY_REFERENCE, "MalformedKeyRef", `key reference ${named}: ${reason}`),
    });
    if (typeof keyId !== "string") return malformed("keyId is not a string");
    const parsed = ListedTransitKeySchema.safeParse(ref.listed);
    if (!parsed.success) {
      const issues = parsed.error.issues
        .map((issue) => `${["listed", ...issue.path].join(".")}: ${issue.message}`)
        .join("; ");
      return malformed(issues);
    }
    const { mount, name } = parsed.data;
    if (normalizeMount(mount) !== mount)
      return malformed(`listed.mount "${mount}" has a leading or trailing slash`);
    if (name.includes("/")) return malformed(`listed.name "${name}" contains a slash`);
    const expected = `${scope.keyContext.keyPrefix}${mount}/${name}`;
    if (keyId !== expected) return malformed(`listed names "${expected}", not the key id`);
    if (mountFilter !== undefined && !mountFilter.has(mount)) {
      return malformed(`mount "${mount}" is not one of the configured mounts`);
    }
    return { ok: true, key: { mount, name } };
  }
  /**
   * Audit devices exist only in the root namespace (Vault Enterprise, OpenBao) and record the requests of
   * every namespace, so a child namespace's logging is the root's devices, read with the same token. A token
   * that lives in a child namespace can never read them (403 by design): the error stays, and
   * `auditDevicesOutOfReach` says why they are unknown from there, which the logging checks report as a
   * warn, never as absent. Whether the token lives in a child namespace is asked of the token itself
   * (`auth/token/lookup-self`, `namespace_path`; the `default` policy allows it). A root-namespace token
   * denied, a token that cannot say, and any other failure (timeout, 5xx) are a failed read: an error.
   */
  async function readAuditDevices(
    scope: NamespaceScope,
    clients: VaultConnection,
    status: LoggingStatus,
  ): Promise<LoggingStatus> {
    try {
      status.sinks = normalizeAuditDevices(dataOf(await clients.rootApi.read("sys/audit")), address);
    } catch (error) {
      const failure = toVaultCollectionError(vaultCall("GET", "sys/audit"), error);
      const home =
        scope.namespace.length === 0 || vaultHttpStatus(error) !== 403
          ? undefined
          : await (tokenNamespace ??= readTokenNamespace(clients.apiFor(scope.namespace)));
      if (home === undefined || home.length === 0) {
        status.errors.push(failure);
        return status;
      }
      const reason = `audit devices exist only in the root namespace and record every namespace's requests, ${scope.namespace} included; this token lives in namespace ${home} and cannot read them (${failure.call}: ${failure.message}), so confirm with the root namespace's operators that one is enabled, or give keyproof a root-namespace token that can read sys/audit`;
      status.errors.push({ ...failure, message: `${failure.message} (${reason})` });
      status.auditDevicesOutOfReach = { namespace: scope.namespace, call: failure.call, reason };
    }
    return status;
  }

  async function collectKey(
    scope: NamespaceScope,
    api: VaultApi,
    key: TransitKeyName,
    mount: Collected<unknown>,
    policies: PolicyCollection,
  ): Promise<KeyRecord> {
    const [read, names] = await Promise.all([
      readTransitKey(api, `${key.mount}/keys/${key.name}`, now),
      mountKeyNames(scope, api, key.mount),
    ]);
    // Export paths are enumerated per version, so the key's versions feed the grant computation.
    const target = {
      ...key,
      ...(read.ok && read.latestVersion !== undefined ? { latestVersion: read.latestVersion } : {}),
    };
    return toTransitKeyRecord(scope.keyContext, key, mount, read, accessForKey(policies, names, target));
  }

  /** A key of a batch whose instance could not connect: every fact of it carries the connection failure. */
  function unreachableKey(scope: NamespaceScope, key: TransitKeyName, error: CollectionError): KeyRecord {
    const capturedAt = now();
    const failed = { ok: false as const, error, capturedAt };
    return toTransitKeyRecord(scope.keyContext, key, failed, { ...failed, raw: failed }, failed);
  }

  /** `namespaces: all`: the walk, or, without a connection, the configured namespace as one gap. */
  async function discover(): Promise<SourceDiscovery> {
    const connected = await openConnection();
    if (!connected.ok) {
      const at = now();
      return {
        source: config.id,
        type: "hashicorp-vault",
        method: VAULT_NAMESPACES_METHOD,
        discoveredAt: at,
        calls: [],
        members: [],
        locations: [],
        gaps: [{ source: config.id, location, error: connected.error }],
      };
    }
    return discoverNamespaces({
      sourceId: config.id,
      address,
      root: namespace,
      apiFor: connected.clients.apiFor,
      now,
      concurrency,
    });
  }

  return {
    sourceId: config.id,
    type: "hashicorp-vault",

    listLocations() {
      return [...configuredLocations];
    },

    ...(namespaceMode === "all" ? { discover } : {}),

    async describeAccount() {
      try {
        const { rootApi } = await (connection ??= connect());
        const health = await rootApi.read("sys/health");
        const cluster = health["cluster_name"];
        if (typeof cluster !== "string" || cluster.length === 0) return undefined;
        return namespace.length === 0 ? cluster : `${cluster}/${namespace}`;
      } catch {
        // The account label is cosmetic; listKeys records the real failure as a gap.
        connection = undefined;
        return undefined;
      }
    },

    async listKeys(requested: string): Promise<KeyListing> {
      const scope = scopeOf(requested);
      if (scope === undefined) return { refs: [], gaps: [unknownLocation(requested)] };
      const gap = (error: CollectionError): SourceGap => gapIn(scope, error);
      const connected = await openConnection();
      if (!connected.ok) return { refs: [], gaps: [gap(connected.error)] };
      const api = connected.clients.apiFor(scope.namespace);
      // Always read afresh, and leave the reads for this instance's batches (the whole-location path).
      const table = readMountTable(api, now);
      scope.mountTable = table;
      const gaps: SourceGap[] = [];
      const mounts = transitMounts(await table, mountFilter, gaps, gap);
      const listings = await mapWithConcurrency(mounts, concurrency, (mount) => {
        const names = listKeyNames(api, mount, now);
        scope.keyNames.set(mount, names);
        return names;
      });
      const refs: KeyRef[] = [];
      mounts.forEach((mount, index) => {
        const listing = listings[index];
        if (listing === undefined) return;
        if (!listing.ok) {
          gaps.push(gap(listing.error));
          return;
        }
        for (const name of listing.names)
          refs.push({ keyId: `${scope.keyContext.keyPrefix}${mount}/${name}`, listed: { mount, name } });
      });
      return { refs: refs.sort(compareKeyIds), gaps };
    },

    async collectKeys(requested: string, refs: readonly KeyRef[]): Promise<KeyBatch> {
      if (refs.length === 0) return { keys: [], gaps: [] };
      const scope = scopeOf(requested);
      if (scope === undefined) return { keys: [], gaps: [unknownLocation(requested)] };
      const gaps: SourceGap[] = [];
      const wanted: TransitKeyName[] = [];
      for (const ref of refs) {
        const read = readKeyRef(scope, ref);
        if (read.ok) wanted.push(read.key);
        else gaps.push(gapIn(scope, read.error));
      }
      if (wanted.length === 0) return { keys: [], gaps };
      const connected = await openConnection();
      // The listing reported this failure for the location already; the keys still each say why they are empty.
      if (!connected.ok)
        return { keys: wanted.map((key) => unreachableKey(scope, key, connected.error)), gaps };
      const api = connected.clients.apiFor(scope.namespace);
      const [table, policyCollection] = await Promise.all([
        (scope.mountTable ??= readMountTable(api, now)),
        (scope.policies ??= collectAclPolicies(api, { now, concurrency })),
      ]);
      const keys = await mapWithConcurrency(wanted, concurrency, (key) =>
        collectKey(scope, api, key, mountEntry(table, key.mount), policyCollection),
      );
      return { keys, gaps };
    },

    async collectLogging(requested: string): Promise<LoggingStatus> {
      const status: LoggingStatus = {
        source: config.id,
        location: requested,
        capturedAt: now(),
        sinks: [],
        errors: [],
      };
      const scope = scopeOf(requested);
      if (scope === undefined) return status;
      const connected = await openConnection();
      if (!connected.ok) {
        status.errors.push(connected.error);
        return status;
      }
      return readAuditDevices(scope, connected.clients, status);
    },

    streamUsage(requested: string, range: DateRange): { method: string; items: AsyncIterable<UsageItem> } {
      if (config.auditLogFile === undefined) return { method: "none", items: emptyItems() };
      const file = resolve(config.auditLogFile);
      const scope = scopeOf(requested);
      if (scope === undefined) {
        return {
          method: "vault-audit-file",
          items: singleGap({
            kind: "gap",
            gap: {
              source: config.id,
              location: requested,
              object: file,
              code: "UnknownLocation",
              message: notCovered(),
            },
          }),
        };
      }
      return {
        method: "vault-audit-file",
        // Each record names the namespace it was made in (`request.namespace.path`): a location reads its own.
        items: readAuditLog(file, {
          source: config.id,
          location: scope.location,
          namespace: scope.namespace,
          keyPrefix: scope.keyContext.keyPrefix,
          ...(mountFilter === undefined ? {} : { mounts: mountFilter }),
          range,
        }),
      };
    },
  };
}

/** `namespace_path` of the token (`""` for the root namespace), or undefined when it may not look itself up. */
async function readTokenNamespace(api: VaultApi): Promise<string | undefined> {
  try {
    const path = dataOf(await api.read("auth/token/lookup-self"))["namespace_path"];
    return normalizeNamespace(typeof path === "string" ? path : undefined);
  } catch {
    // Unknown: the caller keeps the denial as a plain failed read.
    return undefined;
  }
}

/** One namespace's memoized reads (see the file comment). */
interface NamespaceScope {
  /** Normalized (`admin/`), `""` for the root namespace. */
  namespace: string;
  location: string;
  mountTable?: Promise<MountTableRead>;
  policies?: Promise<PolicyCollection>;
  keyNames: Map<string, Promise<KeyNamesRead>>;
  keyContext: TransitKeyContext;
}

function isCollectionError(value: unknown): value is CollectionError {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as CollectionError).call === "string" &&
    typeof (value as CollectionError).code === "string" &&
    typeof (value as CollectionError).retryable === "boolean"
  );
}

async function* emptyItems(): AsyncGenerator<UsageItem> {
  // No audit file configured: the method `none` says so; there is nothing to stream.
}

async function* singleGap(item: UsageItem): AsyncGenerator<UsageItem> {
  yield item;
}
