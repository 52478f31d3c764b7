/**
 * The HashiCorp Vault / OpenBao source: transit keys, the ACL policies that reach them, audit devices, and
 * usage from a file audit device. Facts only; checks judge them.
 *
 * Locations: one per source, the Vault address (plus `/v1/<namespace>` when a namespace is configured, which is
 * also the URL prefix that addresses that namespace). Transit mounts are not locations: `listLocations()` is
 * synchronous and mounts are only known after `sys/mounts`; each key's `keyId` is `<mount>/<name>` instead.
 *
 * Calls, each named in errors as `vault:<VERB> <path>`: `GET sys/mounts`, `LIST <mount>/keys`,
 * `GET <mount>/keys/<name>`, `LIST sys/policies/acl`, `GET sys/policies/acl/<name>`, `GET sys/audit`
 * (root namespace: audit devices exist only there), `GET sys/health` (cluster name).
 * Only the source namespace's own policies are read; policies of parent namespaces that name child paths
 * are not evaluated.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import type { AccessPolicy, Collected, CollectionError, KeyRecord } from "../../model/key.ts";
import type { LoggingStatus } from "../../model/logging.ts";
import type { DateRange, LocationSnapshot, SourceGap } from "../../model/snapshot.ts";
import type { UsageItem } from "../../model/usage.ts";
import type { Clock, KeyProvider } from "../key-provider.ts";
import { systemClock } from "../key-provider.ts";
import { normalizeAuditDevices } from "./audit-device.normalizer.ts";
import { readAuditLog } from "./audit-log.reader.ts";
import type { HashicorpVaultSourceConfig } from "./hashicorp-vault.config.ts";
import {
  normalizeTransitKey,
  TransitKeyDataSchema,
  type NormalizedTransitKey,
} from "./transit-key.normalizer.ts";
import { compilePolicy, grantsForKey, type CompiledPolicy } from "./vault-acl.ts";
import { createVaultApi, dataOf, type VaultApi } from "./vault-client.ts";
import { setupError, toVaultCollectionError } from "./vault-error.ts";
import { parseVaultPolicy, PolicyParseError } from "./vault-policy.parser.ts";

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

/** `admin` / `/admin/` → `admin/`; undefined or empty → `""` (root namespace). */
export function normalizeNamespace(namespace: string | undefined): string {
  const trimmed = (namespace ?? "").replace(/^\/+|\/+$/g, "");
  return trimmed.length === 0 ? "" : `${trimmed}/`;
}

/** `team-a/transit/` → `team-a/transit`. */
export function normalizeMount(mount: string): string {
  return mount.replace(/^\/+|\/+$/g, "");
}

/** The single location of a source: the address, plus `/v1/<namespace>` for a namespace. */
export function vaultLocation(address: string, namespace: string | undefined): string {
  const base = address.replace(/\/+$/, "");
  const ns = normalizeNamespace(namespace);
  return ns.length === 0 ? base : `${base}/v1/${ns.replace(/\/$/, "")}`;
}

/** Calls are named like `vault:GET sys/policies/acl/app`, so a gap says exactly what failed. */
export function vaultCall(verb: "GET" | "LIST", apiPath: string): string {
  return `vault:${verb} ${apiPath}`;
}

async function mapWithConcurrency<T, R>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(Math.max(1, limit), items.length) }, async () => {
    while (next < items.length) {
      const index = next;
      next += 1;
      results[index] = await task(items[index] as T);
    }
  });
  await Promise.all(workers);
  return results;
}

interface Connection {
  /** Requests in the source namespace. */
  api: VaultApi;
  /** Requests in the root namespace (audit devices, health). Same as `api` without a namespace. */
  rootApi: VaultApi;
}

type PolicyCollection =
  | {
      ok: true;
      policies: Array<{ name: string; text: string; compiled: CompiledPolicy }>;
      capturedAt: string;
    }
  | { ok: false; errors: CollectionError[]; capturedAt: string };

interface TransitMount {
  /** Without trailing slash. */
  path: string;
  /** The `sys/mounts` entry, kept as raw evidence on each key. */
  entry: Collected<unknown>;
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
  const namespace = normalizeNamespace(config.namespace);
  const location = vaultLocation(address, config.namespace);
  const mountFilter = config.mounts === undefined ? undefined : new Set(config.mounts.map(normalizeMount));
  const resolve = (file: string): string => path.resolve(baseDirectory, file);
  const now = (): string => clock().toISOString();

  let connection: Promise<Connection> | undefined;

  /** Token and CA are read once, lazily: a missing token becomes a gap of this source, not a crash of the run. */
  async function connect(): Promise<Connection> {
    let token: string | undefined;
    if (config.tokenFile !== undefined) {
      try {
        token = (await readFile(resolve(config.tokenFile), "utf8")).trim();
      } catch (error) {
        throw setupError(
          "keyproof:read tokenFile",
          (error as NodeJS.ErrnoException).code ?? "ReadError",
          `token file ${resolve(config.tokenFile)} could not be read: ${(error as Error).message}`,
        );
      }
    } else {
      token = env["VAULT_TOKEN"]?.trim();
    }
    if (token === undefined || token.length === 0) {
      throw setupError(
        "keyproof:resolve token",
        "TokenMissing",
        config.tokenFile === undefined
          ? "no Vault token: set VAULT_TOKEN or configure tokenFile"
          : `token file ${resolve(config.tokenFile)} is empty`,
      );
    }
    let ca: string | undefined;
    if (config.tlsCaFile !== undefined) {
      try {
        ca = await readFile(resolve(config.tlsCaFile), "utf8");
      } catch (error) {
        throw setupError(
          "keyproof:read tlsCaFile",
          (error as NodeJS.ErrnoException).code ?? "ReadError",
          `CA file ${resolve(config.tlsCaFile)} could not be read: ${(error as Error).message}`,
        );
      }
    }
    const common = { address, token, timeoutMs, ...(ca === undefined ? {} : { ca }) };
    const api = createVaultApi({ ...common, namespace });
    return { api, rootApi: namespace.length === 0 ? api : createVaultApi({ ...common, namespace: "" }) };
  }

  function gap(error: CollectionError): SourceGap {
    return { source: config.id, location, error };
  }

  async function collectMounts(api: VaultApi, gaps: SourceGap[]): Promise<TransitMount[]> {
    const call = vaultCall("GET", "sys/mounts");
    let table: Record<string, unknown>;
    try {
      table = dataOf(await api.read("sys/mounts"));
    } catch (error) {
      const failure = toVaultCollectionError(call, error);
      // Without the mount table only configured mounts can be listed. Their keys are then complete (a mount
      // that cannot be listed becomes its own gap), so the failure is kept on each key's raw mount entry;
      // without configured mounts nothing can be enumerated and the whole location is a gap.
      if (mountFilter === undefined) gaps.push(gap(failure));
      return [...(mountFilter ?? [])].map((mount) => ({
        path: mount,
        entry: { ok: false, error: failure, capturedAt: now() },
      }));
    }
    const capturedAt = now();
    const transit = Object.entries(table)
      .filter(([, entry]) => (entry as { type?: unknown } | null)?.type === "transit")
      .map(([mountPath, entry]) => ({
        path: normalizeMount(mountPath),
        entry: { ok: true as const, value: entry, call, capturedAt },
      }));
    if (mountFilter === undefined) return transit.sort((a, b) => a.path.localeCompare(b.path));
    for (const wanted of mountFilter) {
      if (transit.some((mount) => mount.path === wanted)) continue;
      const other = table[`${wanted}/`] as { type?: unknown } | undefined;
      gaps.push(
        gap({
          call,
          code: "MountNotFound",
          message:
            other === undefined
              ? `configured mount "${wanted}" does not exist`
              : `configured mount "${wanted}" is a ${String(other.type)} mount, not transit`,
          retryable: false,
        }),
      );
    }
    return transit
      .filter((mount) => mountFilter.has(mount.path))
      .sort((a, b) => a.path.localeCompare(b.path));
  }

  async function collectPolicies(api: VaultApi): Promise<PolicyCollection> {
    let names: string[];
    try {
      names = await api.list("sys/policies/acl");
    } catch (error) {
      return {
        ok: false,
        errors: [toVaultCollectionError(vaultCall("LIST", "sys/policies/acl"), error)],
        capturedAt: now(),
      };
    }
    const errors: CollectionError[] = [];
    const policies: Array<{ name: string; text: string; compiled: CompiledPolicy }> = [];
    // `root` is built in, has no rules and allows everything; it is not an ACL to evaluate (see the check's docs).
    const readable = names.filter((name) => name !== "root").sort();
    await mapWithConcurrency(readable, concurrency, async (name) => {
      const call = vaultCall("GET", `sys/policies/acl/${name}`);
      try {
        const text = dataOf(await api.read(`sys/policies/acl/${name}`))["policy"];
        if (typeof text !== "string") {
          errors.push({
            call,
            code: "UnexpectedResponse",
            message: "response has no data.policy text",
            retryable: false,
          });
          return;
        }
        const parsed = parseVaultPolicy(text);
        policies.push({ name, text, compiled: compilePolicy(name, parsed.rules) });
      } catch (error) {
        errors.push(
          error instanceof PolicyParseError
            ? { call, code: "PolicyUnparsable", message: error.message, retryable: false }
            : toVaultCollectionError(call, error),
        );
      }
    });
    if (errors.length > 0) return { ok: false, errors, capturedAt: now() };
    return { ok: true, policies: policies.sort((a, b) => a.name.localeCompare(b.name)), capturedAt: now() };
  }

  async function collectLogging(rootApi: VaultApi): Promise<LoggingStatus> {
    const status: LoggingStatus = { source: config.id, location, capturedAt: now(), sinks: [], errors: [] };
    try {
      status.sinks = normalizeAuditDevices(dataOf(await rootApi.read("sys/audit")), address);
    } catch (error) {
      status.errors.push(toVaultCollectionError(vaultCall("GET", "sys/audit"), error));
    }
    return status;
  }

  function accessFor(
    policies: PolicyCollection,
    target: { mount: string; name: string; latestVersion?: number; siblingNames: string[] },
  ): Collected<AccessPolicy> {
    if (!policies.ok) {
      const [first, ...rest] = policies.errors;
      const error =
        first ?? setupError(vaultCall("LIST", "sys/policies/acl"), "Unknown", "policies not collected");
      const more =
        rest.length === 0 ? "" : ` (and ${rest.length} more: ${rest.map((entry) => entry.call).join(", ")})`;
      return {
        ok: false,
        error: { ...error, message: `${error.message}${more}` },
        capturedAt: policies.capturedAt,
      };
    }
    const documents: AccessPolicy["documents"] = [];
    const grants = policies.policies.flatMap((policy) => {
      const found = grantsForKey(policy.compiled, target);
      if (found.length > 0) documents.push({ name: policy.name, document: policy.text });
      return found;
    });
    return {
      ok: true,
      value: { documents, grants },
      call: vaultCall("LIST", "sys/policies/acl"),
      capturedAt: policies.capturedAt,
    };
  }

  /** `GET <mount>/keys/<name>`: the raw response, and the normalized key or why there is none. */
  async function readKey(
    api: VaultApi,
    keyPath: string,
  ): Promise<
    | {
        ok: true;
        raw: Collected<unknown>;
        key: NormalizedTransitKey;
        latestVersion?: number;
        capturedAt: string;
      }
    | { ok: false; raw?: Collected<unknown>; error: CollectionError; capturedAt: string }
  > {
    const call = vaultCall("GET", keyPath);
    let data: Record<string, unknown>;
    try {
      data = dataOf(await api.read(keyPath));
    } catch (error) {
      const failure = toVaultCollectionError(call, error);
      const capturedAt = now();
      return { ok: false, raw: { ok: false, error: failure, capturedAt }, error: failure, capturedAt };
    }
    const capturedAt = now();
    const raw: Collected<unknown> = { ok: true, value: data, call, capturedAt };
    const parsed = TransitKeyDataSchema.safeParse(data);
    if (!parsed.success) {
      const issues = parsed.error.issues
        .map((issue) => `${issue.path.join(".")}: ${issue.message}`)
        .join("; ");
      const error = setupError(call, "UnexpectedResponse", `transit key response not understood: ${issues}`);
      return { ok: false, raw, error, capturedAt };
    }
    const latestVersion = parsed.data.latest_version;
    return {
      ok: true,
      raw,
      key: normalizeTransitKey(parsed.data),
      capturedAt,
      ...(latestVersion === undefined ? {} : { latestVersion }),
    };
  }

  async function collectKey(
    api: VaultApi,
    mount: TransitMount,
    name: string,
    siblingNames: string[],
    policies: PolicyCollection,
  ): Promise<KeyRecord> {
    const keyPath = `${mount.path}/keys/${name}`;
    const call = vaultCall("GET", keyPath);
    const read = await readKey(api, keyPath);
    // Export paths are enumerated per version, so the key's versions feed the grant computation.
    const target = {
      mount: mount.path,
      name,
      siblingNames,
      ...(read.ok && read.latestVersion !== undefined ? { latestVersion: read.latestVersion } : {}),
    };
    const record: KeyRecord = {
      source: config.id,
      sourceType: "hashicorp-vault",
      location,
      keyId: `${mount.path}/${name}`,
      arn: `${address}/v1/${namespace}${keyPath}`,
      aliases: [name],
      keySpec: "unknown",
      rawKeyType: "unknown",
      origin: "platform",
      manager: "customer",
      state: "unavailable",
      tags: {},
      rotation: read.ok
        ? { ok: true, value: read.key.rotation, call, capturedAt: read.capturedAt }
        : { ok: false, error: read.error, capturedAt: read.capturedAt },
      access: accessFor(policies, target),
      raw: { [vaultCall("GET", "sys/mounts")]: mount.entry },
      errors: read.ok ? [] : [read.error],
    };
    if (read.raw !== undefined) record.raw[call] = read.raw;
    if (!read.ok) return record;
    const key = read.key;
    record.keySpec = key.keySpec;
    record.rawKeyType = key.rawKeyType;
    record.keyUsage = key.keyUsage;
    record.origin = key.origin;
    record.state = key.state;
    record.hsmBacked = key.hsmBacked;
    if (key.createdAt !== undefined) record.createdAt = key.createdAt;
    return record;
  }

  async function collectMountKeys(
    api: VaultApi,
    mount: TransitMount,
    policies: PolicyCollection,
    gaps: SourceGap[],
  ): Promise<KeyRecord[]> {
    let names: string[];
    try {
      names = await api.list(`${mount.path}/keys`);
    } catch (error) {
      gaps.push(gap(toVaultCollectionError(vaultCall("LIST", `${mount.path}/keys`), error)));
      return [];
    }
    const sorted = [...names].sort();
    return mapWithConcurrency(sorted, concurrency, (name) => collectKey(api, mount, name, sorted, policies));
  }

  return {
    sourceId: config.id,
    type: "hashicorp-vault",

    listLocations() {
      return [location];
    },

    async describeAccount() {
      try {
        const { rootApi } = await (connection ??= connect());
        const health = await rootApi.read("sys/health");
        const cluster = health["cluster_name"];
        if (typeof cluster !== "string" || cluster.length === 0) return undefined;
        return namespace.length === 0 ? cluster : `${cluster}/${namespace}`;
      } catch {
        // The account label is cosmetic; collectLocation records the real failure as a gap.
        connection = undefined;
        return undefined;
      }
    },

    async collectLocation(requested: string): Promise<LocationSnapshot> {
      const gaps: SourceGap[] = [];
      const logging: LoggingStatus = {
        source: config.id,
        location: requested,
        capturedAt: now(),
        sinks: [],
        errors: [],
      };
      if (requested !== location) {
        gaps.push({
          source: config.id,
          location: requested,
          error: setupError(
            "keyproof:collect",
            "UnknownLocation",
            `source ${config.id} has one location: ${location}`,
          ),
        });
        return { source: config.id, location: requested, keys: [], logging, gaps };
      }
      let clients: Connection;
      try {
        clients = await (connection ??= connect());
      } catch (error) {
        connection = undefined;
        const failure = isCollectionError(error) ? error : toVaultCollectionError("keyproof:connect", error);
        logging.errors.push(failure);
        return { source: config.id, location, keys: [], logging, gaps: [gap(failure)] };
      }
      const [mounts, policies, loggingStatus] = await Promise.all([
        collectMounts(clients.api, gaps),
        collectPolicies(clients.api),
        collectLogging(clients.rootApi),
      ]);
      const keys: KeyRecord[] = [];
      for (const mount of mounts) keys.push(...(await collectMountKeys(clients.api, mount, policies, gaps)));
      return { source: config.id, location, keys, logging: loggingStatus, gaps };
    },

    streamUsage(requested: string, range: DateRange): { method: string; items: AsyncIterable<UsageItem> } {
      if (config.auditLogFile === undefined) return { method: "none", items: emptyItems() };
      const file = resolve(config.auditLogFile);
      if (requested !== location) {
        return {
          method: "vault-audit-file",
          items: singleGap({
            kind: "gap",
            gap: {
              source: config.id,
              location: requested,
              object: file,
              code: "UnknownLocation",
              message: `source ${config.id} has one location: ${location}`,
            },
          }),
        };
      }
      return {
        method: "vault-audit-file",
        items: readAuditLog(file, {
          source: config.id,
          location,
          namespace,
          ...(mountFilter === undefined ? {} : { mounts: mountFilter }),
          range,
        }),
      };
    },
  };
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
