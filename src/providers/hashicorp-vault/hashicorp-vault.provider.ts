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
 *
 * Batches (issue #5): `listKeys` reads the mount table and LISTs each transit mount; a reference carries
 * `{ mount, name }`. `collectKeys` may run in a fresh instance on another machine, so what keys share (the
 * mount table entry, the ACL policies, each mount's key names for BYOK export grants) is read once per
 * instance, memoized, and reused by its later batches; a `listKeys` of the same instance seeds it.
 * Only the source namespace's own policies are read; policies of parent namespaces that name child paths
 * are not evaluated.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import type { AccessPolicy, Collected, CollectionError, KeyRecord } from "../../model/key.ts";
import { UNKNOWN_KEY_SPEC } from "../../model/key.ts";
import type { LoggingStatus } from "../../model/logging.ts";
import type { DateRange, SourceGap } from "../../model/snapshot.ts";
import type { UsageItem } from "../../model/usage.ts";
import type { Clock, KeyBatch, KeyListing, KeyProvider, KeyRef } from "../key-provider.ts";
import { systemClock } from "../key-provider.ts";
import { normalizeAuditDevices } from "./audit-device.normalizer.ts";
import { readAuditLog } from "./audit-log.reader.ts";
import type { HashicorpVaultSourceConfig } from "../../config/sources/hashicorp-vault.schema.ts";
import {
  normalizeTransitKey,
  TransitKeyDataSchema,
  type NormalizedTransitKey,
} from "./transit-key.normalizer.ts";
import { compilePolicy, grantsForKey, type CompiledPolicy } from "../../policy/vault-acl.ts";
import { createVaultApi, dataOf, type VaultApi } from "./vault-client.ts";
import { setupError, toVaultCollectionError } from "./vault-error.ts";
import { parseVaultPolicy, PolicyParseError } from "../../policy/vault-policy.parser.ts";
import { mapWithConcurrency } from "../shared/concurrency.ts";

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

/** `GET sys/mounts`, read once: the table, or why there is none. */
type MountTableRead =
  | { ok: true; table: Record<string, unknown>; call: string; capturedAt: string }
  | { ok: false; error: CollectionError; capturedAt: string };

/** `LIST <mount>/keys`, sorted: the names, or why there are none. */
type KeyNamesRead = { ok: true; names: string[] } | { ok: false; error: CollectionError; capturedAt: string };

type Connected = { ok: true; clients: Connection } | { ok: false; error: CollectionError };

/** A key as a reference names it: the transit mount (no trailing slash) and the key's name. */
interface TransitKeyName {
  mount: string;
  name: string;
}

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
  const namespace = normalizeNamespace(config.namespace);
  const location = vaultLocation(address, config.namespace);
  const mountFilter = config.mounts === undefined ? undefined : new Set(config.mounts.map(normalizeMount));
  const resolve = (file: string): string => path.resolve(baseDirectory, file);
  const now = (): string => clock().toISOString();

  let connection: Promise<Connection> | undefined;
  // Location-wide facts, memoized per instance (see the file comment). A failed read is memoized too: it is
  // data on every key of the instance, exactly as one collection of the whole location records it.
  let mountTable: Promise<MountTableRead> | undefined;
  let policies: Promise<PolicyCollection> | undefined;
  const keyNames = new Map<string, Promise<KeyNamesRead>>();

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

  function unknownLocation(requested: string): SourceGap {
    return {
      source: config.id,
      location: requested,
      error: setupError(
        "keyproof:collect",
        "UnknownLocation",
        `source ${config.id} has one location: ${location}`,
      ),
    };
  }

  async function readMountTable(api: VaultApi): Promise<MountTableRead> {
    const call = vaultCall("GET", "sys/mounts");
    try {
      const table = dataOf(await api.read("sys/mounts"));
      return { ok: true, table, call, capturedAt: now() };
    } catch (error) {
      return { ok: false, error: toVaultCollectionError(call, error), capturedAt: now() };
    }
  }

  /** The transit mounts to list, sorted; configured mounts that are missing or not transit become gaps. */
  function transitMounts(read: MountTableRead, gaps: SourceGap[]): string[] {
    if (!read.ok) {
      // Without the mount table only configured mounts can be listed. Their keys are then complete (a mount
      // that cannot be listed becomes its own gap), so the failure is kept on each key's raw mount entry;
      // without configured mounts nothing can be enumerated and the whole location is a gap.
      if (mountFilter === undefined) gaps.push(gap(read.error));
      return [...(mountFilter ?? [])];
    }
    const transit = Object.entries(read.table)
      .filter(([, entry]) => (entry as { type?: unknown } | null)?.type === "transit")
      .map(([mountPath]) => normalizeMount(mountPath));
    if (mountFilter === undefined) return transit.sort((a, b) => a.localeCompare(b));
    for (const wanted of mountFilter) {
      if (transit.includes(wanted)) continue;
      const other = read.table[`${wanted}/`] as { type?: unknown } | undefined;
      gaps.push(
        gap({
          call: read.call,
          code: "MountNotFound",
          message:
            other === undefined
              ? `configured mount "${wanted}" does not exist`
              : `configured mount "${wanted}" is a ${String(other.type)} mount, not transit`,
          retryable: false,
        }),
      );
    }
    return transit.filter((mount) => mountFilter.has(mount)).sort((a, b) => a.localeCompare(b));
  }

  /** The mount's `sys/mounts` entry, kept as raw evidence on each of its keys. */
  function mountEntry(read: MountTableRead, mount: string): Collected<unknown> {
    if (!read.ok) return { ok: false, error: read.error, capturedAt: read.capturedAt };
    const entry = read.table[`${mount}/`];
    // Only when the mount went away between the listing and this batch (another instance's listing).
    if (entry === undefined) {
      return {
        ok: false,
        error: setupError(read.call, "MountNotFound", `mount "${mount}" is not in the mount table`),
        capturedAt: read.capturedAt,
      };
    }
    return { ok: true, value: entry, call: read.call, capturedAt: read.capturedAt };
  }

  async function listKeyNames(api: VaultApi, mount: string): Promise<KeyNamesRead> {
    try {
      return { ok: true, names: [...(await api.list(`${mount}/keys`))].sort() };
    } catch (error) {
      return {
        ok: false,
        error: toVaultCollectionError(vaultCall("LIST", `${mount}/keys`), error),
        capturedAt: now(),
      };
    }
  }

  /** The mount's key names, listed once per instance (by `listKeys`, or by the first batch that needs them). */
  function mountKeyNames(api: VaultApi, mount: string): Promise<KeyNamesRead> {
    let names = keyNames.get(mount);
    if (names === undefined) {
      names = listKeyNames(api, mount);
      keyNames.set(mount, names);
    }
    return names;
  }

  /** `listed` checked against the reference's own key id and the configured mounts. */
  function readKeyRef(
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
    if (keyId !== `${mount}/${name}`) return malformed(`listed names "${mount}/${name}", not the key id`);
    if (mountFilter !== undefined && !mountFilter.has(mount)) {
      return malformed(`mount "${mount}" is not one of the configured mounts`);
    }
    return { ok: true, key: { mount, name } };
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

  async function readAuditDevices(rootApi: VaultApi, status: LoggingStatus): Promise<LoggingStatus> {
    try {
      status.sinks = normalizeAuditDevices(dataOf(await rootApi.read("sys/audit")), address);
    } catch (error) {
      status.errors.push(toVaultCollectionError(vaultCall("GET", "sys/audit"), error));
    }
    return status;
  }
  function accessFor(
    policies: PolicyCollection,
    names: KeyNamesRead,
    target: { mount: string; name: string; latestVersion?: number },
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
    // `byok-export/<destination>/<key>` names another key of the mount: without the mount's key names the
    // grants would silently miss those paths, so access is unknown rather than incomplete.
    if (!names.ok) return { ok: false, error: names.error, capturedAt: names.capturedAt };
    const documents: AccessPolicy["documents"] = [];
    const grants = policies.policies.flatMap((policy) => {
      const found = grantsForKey(policy.compiled, { ...target, siblingNames: names.names });
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

  type KeyRead = Awaited<ReturnType<typeof readKey>>;

  function keyRecord(
    key: TransitKeyName,
    mount: Collected<unknown>,
    read: KeyRead,
    access: Collected<AccessPolicy>,
  ): KeyRecord {
    const keyPath = `${key.mount}/keys/${key.name}`;
    const call = vaultCall("GET", keyPath);
    const record: KeyRecord = {
      source: config.id,
      sourceType: "hashicorp-vault",
      location,
      keyId: `${key.mount}/${key.name}`,
      arn: `${address}/v1/${namespace}${keyPath}`,
      aliases: [key.name],
      // The read failed: the spec is not known (the failure is in `errors`), and checks answer `error`.
      keySpec: UNKNOWN_KEY_SPEC,
      rawKeyType: UNKNOWN_KEY_SPEC,
      origin: "platform",
      manager: "customer",
      state: "unavailable",
      tags: {},
      rotation: read.ok
        ? { ok: true, value: read.key.rotation, call, capturedAt: read.capturedAt }
        : { ok: false, error: read.error, capturedAt: read.capturedAt },
      access,
      raw: { [vaultCall("GET", "sys/mounts")]: mount },
      errors: read.ok ? [] : [read.error],
    };
    if (read.raw !== undefined) record.raw[call] = read.raw;
    if (!read.ok) return record;
    const normalized = read.key;
    record.keySpec = normalized.keySpec;
    record.rawKeyType = normalized.rawKeyType;
    record.keyUsage = normalized.keyUsage;
    record.origin = normalized.origin;
    record.state = normalized.state;
    record.hsmBacked = normalized.hsmBacked;
    if (normalized.exportable !== undefined) record.exportable = normalized.exportable;
    if (normalized.allowPlaintextBackup !== undefined)
      record.allowPlaintextBackup = normalized.allowPlaintextBackup;
    if (normalized.createdAt !== undefined) record.createdAt = normalized.createdAt;
    return record;
  }

  async function collectKey(
    api: VaultApi,
    key: TransitKeyName,
    mount: Collected<unknown>,
    policies: PolicyCollection,
  ): Promise<KeyRecord> {
    const [read, names] = await Promise.all([
      readKey(api, `${key.mount}/keys/${key.name}`),
      mountKeyNames(api, key.mount),
    ]);
    // Export paths are enumerated per version, so the key's versions feed the grant computation.
    const target = {
      ...key,
      ...(read.ok && read.latestVersion !== undefined ? { latestVersion: read.latestVersion } : {}),
    };
    return keyRecord(key, mount, read, accessFor(policies, names, target));
  }

  /** A key of a batch whose instance could not connect: every fact of it carries the connection failure. */
  function unreachableKey(key: TransitKeyName, error: CollectionError): KeyRecord {
    const capturedAt = now();
    const failed = { ok: false as const, error, capturedAt };
    return keyRecord(key, failed, { ...failed, raw: failed }, failed);
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
        // The account label is cosmetic; listKeys records the real failure as a gap.
        connection = undefined;
        return undefined;
      }
    },

    async listKeys(requested: string): Promise<KeyListing> {
      if (requested !== location) return { refs: [], gaps: [unknownLocation(requested)] };
      const connected = await openConnection();
      if (!connected.ok) return { refs: [], gaps: [gap(connected.error)] };
      const { api } = connected.clients;
      // Always read afresh, and leave the reads for this instance's batches (the whole-location path).
      const table = readMountTable(api);
      mountTable = table;
      const gaps: SourceGap[] = [];
      const mounts = transitMounts(await table, gaps);
      const listings = await mapWithConcurrency(mounts, concurrency, (mount) => {
        const names = listKeyNames(api, mount);
        keyNames.set(mount, names);
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
        for (const name of listing.names) refs.push({ keyId: `${mount}/${name}`, listed: { mount, name } });
      });
      return { refs: refs.sort(compareKeyIds), gaps };
    },

    async collectKeys(requested: string, refs: readonly KeyRef[]): Promise<KeyBatch> {
      if (refs.length === 0) return { keys: [], gaps: [] };
      if (requested !== location) return { keys: [], gaps: [unknownLocation(requested)] };
      const gaps: SourceGap[] = [];
      const wanted: TransitKeyName[] = [];
      for (const ref of refs) {
        const read = readKeyRef(ref);
        if (read.ok) wanted.push(read.key);
        else gaps.push(gap(read.error));
      }
      if (wanted.length === 0) return { keys: [], gaps };
      const connected = await openConnection();
      // The listing reported this failure for the location already; the keys still each say why they are empty.
      if (!connected.ok) return { keys: wanted.map((key) => unreachableKey(key, connected.error)), gaps };
      const { api } = connected.clients;
      const [table, policyCollection] = await Promise.all([
        (mountTable ??= readMountTable(api)),
        (policies ??= collectPolicies(api)),
      ]);
      const keys = await mapWithConcurrency(wanted, concurrency, (key) =>
        collectKey(api, key, mountEntry(table, key.mount), policyCollection),
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
      if (requested !== location) return status;
      const connected = await openConnection();
      if (!connected.ok) {
        status.errors.push(connected.error);
        return status;
      }
      return readAuditDevices(connected.clients.rootApi, status);
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
