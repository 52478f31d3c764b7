import { KeyproofError } from "../../errors/errors.ts";
import type { RedisSettings } from "../../config/queue.schema.ts";

/**
 * Where Redis is, as one string: the value of REDIS_URL, `--redis-url` and `queue.redisUrl`, and what
 * `queue.redis` is turned into. One string because it has to reach worker processes that read no config
 * file (only their environment), and because it never holds a secret that was not typed into it: passwords
 * travel as names of environment variables (`passwordEnv=`), read by each process when it connects.
 *
 * - `redis://[user:password@]host:port[/db]`, `rediss://…` (TLS): a single Redis, exactly as ioredis reads it.
 * - `redis+sentinel://[user:password@]host:port,host:port/<master name>[/db]`: ask these sentinels for the
 *   master (user and password are the data nodes'; the sentinels' come from `sentinelUsername=`,
 *   `sentinelPasswordEnv=`). `rediss+sentinel://` speaks TLS to the sentinels and the nodes.
 * - `redis+cluster://[user:password@]host:port,host:port`: a Redis Cluster (some seed nodes).
 *   `rediss+cluster://` for TLS.
 *
 * Query parameters of keyproof's own (removed before ioredis sees the URL): `tlsCaFile`, `tlsCertFile`,
 * `tlsKeyFile`, `tlsServername`, `passwordEnv`, `sentinelUsername`, `sentinelPasswordEnv`. A standalone URL
 * keeps any other parameter for ioredis (`?family=6`), as before.
 */
export type RedisTopology = "standalone" | "sentinel" | "cluster";

export interface RedisEndpoint {
  host: string;
  port: number;
}

export interface RedisTlsFiles {
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  servername?: string;
}

interface RedisTargetCommon {
  username?: string;
  /** Typed into the URL (as before). */
  password?: string;
  /** Name of the environment variable with the password; wins over nothing, refused together with `password`. */
  passwordEnv?: string;
  /** Undefined: no TLS. */
  tls?: RedisTlsFiles;
}

export type RedisTarget =
  | (RedisTargetCommon & {
      topology: "standalone";
      /** The URL for ioredis, without keyproof's own parameters. */
      url: string;
    })
  | (RedisTargetCommon & {
      topology: "sentinel";
      sentinels: RedisEndpoint[];
      name: string;
      db?: number;
      sentinelUsername?: string;
      sentinelPasswordEnv?: string;
    })
  | (RedisTargetCommon & { topology: "cluster"; nodes: RedisEndpoint[] });

const OWN_PARAMETERS = [
  "tlsCaFile",
  "tlsCertFile",
  "tlsKeyFile",
  "tlsServername",
  "passwordEnv",
  "sentinelUsername",
  "sentinelPasswordEnv",
] as const;
type OwnParameter = (typeof OWN_PARAMETERS)[number];

const SCHEME = /^(rediss?)(\+sentinel|\+cluster)?:\/\//i;

function invalid(message: string): KeyproofError {
  return new KeyproofError("CONFIG_INVALID", `Redis connection: ${message}`, {
    remediation:
      "use redis://host:port, rediss://host:port, redis+sentinel://host:port,host:port/<master>, or redis+cluster://host:port,host:port (or queue.redis in keyproof.yaml)",
  });
}

/** The topology of a connection string, without parsing the rest (undefined: not a Redis URL). */
export function redisTopologyOf(spec: string): RedisTopology | undefined {
  const match = SCHEME.exec(spec);
  if (match === null) return undefined;
  const kind = match[2]?.toLowerCase();
  return kind === "+sentinel" ? "sentinel" : kind === "+cluster" ? "cluster" : "standalone";
}

/** Parses a connection string. Throws CONFIG_INVALID naming the problem (never the password). */
export function parseRedisTarget(spec: string): RedisTarget {
  const match = SCHEME.exec(spec);
  if (match === null)
    throw invalid(
      `"${redactRedisUrl(spec)}" is not a redis://, rediss://, redis+sentinel:// or redis+cluster:// URL`,
    );
  const tlsScheme = match[1]?.toLowerCase() === "rediss";
  const topology = redisTopologyOf(spec) ?? "standalone";
  const rest = spec.slice(match[0].length);
  const queryAt = rest.indexOf("?");
  const beforeQuery = queryAt === -1 ? rest : rest.slice(0, queryAt);
  const query = new URLSearchParams(queryAt === -1 ? "" : rest.slice(queryAt + 1));
  const own = takeOwnParameters(query);
  const tls = tlsOf(tlsScheme, own);
  const common: RedisTargetCommon = {
    ...(own.passwordEnv === undefined ? {} : { passwordEnv: checkedEnvName("passwordEnv", own.passwordEnv) }),
    ...(tls === undefined ? {} : { tls }),
  };

  if (topology === "standalone") {
    const remaining = query.toString();
    const url = `${match[1] ?? "redis"}://${beforeQuery}${remaining === "" ? "" : `?${remaining}`}`;
    try {
      new URL(url);
    } catch {
      throw invalid(`"${redactRedisUrl(spec)}" is not a valid URL`);
    }
    if (own.sentinelUsername !== undefined || own.sentinelPasswordEnv !== undefined) {
      throw invalid("sentinelUsername / sentinelPasswordEnv only go with redis+sentinel://");
    }
    return { topology, url, ...common };
  }

  if ([...query.keys()].length > 0) {
    throw invalid(
      `unknown parameter(s) ${[...query.keys()].join(", ")}; known: ${OWN_PARAMETERS.join(", ")}`,
    );
  }
  const at = beforeQuery.lastIndexOf("@");
  const userinfo = at === -1 ? undefined : beforeQuery.slice(0, at);
  const hostsAndPath = at === -1 ? beforeQuery : beforeQuery.slice(at + 1);
  const slash = hostsAndPath.indexOf("/");
  const hostList = slash === -1 ? hostsAndPath : hostsAndPath.slice(0, slash);
  const path = slash === -1 ? "" : hostsAndPath.slice(slash + 1);
  const endpoints = parseEndpoints(hostList, topology === "sentinel" ? 26379 : 6379);
  const credentials = credentialsOf(userinfo);
  if (credentials.password !== undefined && common.passwordEnv !== undefined) {
    throw invalid("a password in the URL and passwordEnv: choose one");
  }
  const withCredentials = { ...common, ...credentials };

  if (topology === "cluster") {
    if (path !== "" && path !== "0") throw invalid("a Redis Cluster has only database 0; remove the path");
    if (own.sentinelUsername !== undefined || own.sentinelPasswordEnv !== undefined) {
      throw invalid("sentinelUsername / sentinelPasswordEnv only go with redis+sentinel://");
    }
    return { topology, nodes: endpoints, ...withCredentials };
  }

  const [name, db, ...extra] = path.split("/");
  if (name === undefined || !/^[A-Za-z0-9._-]{1,128}$/.test(name) || extra.length > 0) {
    throw invalid(
      "redis+sentinel:// needs the master name as its path: redis+sentinel://host:26379,host:26380/mymaster[/db]",
    );
  }
  let database: number | undefined;
  if (db !== undefined && db !== "") {
    database = Number(db);
    if (!Number.isInteger(database) || database < 0) throw invalid(`database "${db}" is not a number`);
  }
  return {
    topology,
    sentinels: endpoints,
    name,
    ...(database === undefined ? {} : { db: database }),
    ...(own.sentinelUsername === undefined ? {} : { sentinelUsername: own.sentinelUsername }),
    ...(own.sentinelPasswordEnv === undefined
      ? {}
      : { sentinelPasswordEnv: checkedEnvName("sentinelPasswordEnv", own.sentinelPasswordEnv) }),
    ...withCredentials,
  };
}

function takeOwnParameters(query: URLSearchParams): Partial<Record<OwnParameter, string>> {
  const own: Partial<Record<OwnParameter, string>> = {};
  for (const name of OWN_PARAMETERS) {
    const value = query.get(name);
    if (value !== null) {
      if (value === "") throw invalid(`parameter ${name} is empty`);
      own[name] = value;
      query.delete(name);
    }
  }
  return own;
}

function tlsOf(tlsScheme: boolean, own: Partial<Record<OwnParameter, string>>): RedisTlsFiles | undefined {
  const files: RedisTlsFiles = {
    ...(own.tlsCaFile === undefined ? {} : { caFile: own.tlsCaFile }),
    ...(own.tlsCertFile === undefined ? {} : { certFile: own.tlsCertFile }),
    ...(own.tlsKeyFile === undefined ? {} : { keyFile: own.tlsKeyFile }),
    ...(own.tlsServername === undefined ? {} : { servername: own.tlsServername }),
  };
  if (!tlsScheme) {
    if (Object.keys(files).length > 0) {
      throw invalid("tls parameters need a TLS scheme (rediss://, rediss+sentinel://, rediss+cluster://)");
    }
    return undefined;
  }
  if ((files.certFile === undefined) !== (files.keyFile === undefined)) {
    throw invalid("tlsCertFile and tlsKeyFile go together");
  }
  return files;
}

function checkedEnvName(parameter: string, name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,127}$/.test(name)) {
    throw invalid(`${parameter} must name an environment variable, got "${name.slice(0, 40)}"`);
  }
  return name;
}

function credentialsOf(userinfo: string | undefined): { username?: string; password?: string } {
  if (userinfo === undefined || userinfo === "") return {};
  const colon = userinfo.indexOf(":");
  const username = decodeURIComponent(colon === -1 ? userinfo : userinfo.slice(0, colon));
  const password = colon === -1 ? "" : decodeURIComponent(userinfo.slice(colon + 1));
  return {
    ...(username === "" ? {} : { username }),
    ...(password === "" ? {} : { password }),
  };
}

function parseEndpoints(list: string, defaultPort: number): RedisEndpoint[] {
  if (list.trim() === "") throw invalid("no host:port given");
  return list.split(",").map((item) => {
    const bracketed = /^\[([0-9A-Fa-f:.]+)\](?::(\d+))?$/.exec(item);
    const plain = /^([^:[\]\s]+)(?::(\d+))?$/.exec(item);
    const found = bracketed ?? plain;
    if (found === null || found[1] === undefined) throw invalid(`"${item}" is not host:port`);
    const port = found[2] === undefined ? defaultPort : Number(found[2]);
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw invalid(`"${item}": port out of range`);
    return { host: found[1], port };
  });
}

/**
 * `queue.redis` as a connection string (the reverse of parseRedisTarget; validated by the schema already).
 */
export function formatRedisTarget(settings: RedisSettings): string {
  const tlsScheme = settings.tls !== undefined || settings.url?.startsWith("rediss://") === true;
  const parameters = new URLSearchParams();
  if (settings.tls?.caFile !== undefined) parameters.set("tlsCaFile", settings.tls.caFile);
  if (settings.tls?.certFile !== undefined) parameters.set("tlsCertFile", settings.tls.certFile);
  if (settings.tls?.keyFile !== undefined) parameters.set("tlsKeyFile", settings.tls.keyFile);
  if (settings.tls?.servername !== undefined) parameters.set("tlsServername", settings.tls.servername);
  if (settings.passwordEnv !== undefined) parameters.set("passwordEnv", settings.passwordEnv);
  if (settings.sentinelUsername !== undefined) parameters.set("sentinelUsername", settings.sentinelUsername);
  if (settings.sentinelPasswordEnv !== undefined) {
    parameters.set("sentinelPasswordEnv", settings.sentinelPasswordEnv);
  }
  if (settings.url !== undefined) {
    const url = new URL(settings.url);
    if (tlsScheme) url.protocol = "rediss:";
    if (settings.username !== undefined) url.username = settings.username; // the setter percent-encodes
    for (const [key, value] of parameters) url.searchParams.set(key, value);
    return url.toString();
  }
  const query = parameters.toString() === "" ? "" : `?${parameters.toString()}`;
  const user = settings.username === undefined ? "" : `${encodeURIComponent(settings.username)}@`;
  const hosts = (endpoints: ReadonlyArray<RedisEndpoint>): string =>
    endpoints
      .map(
        (endpoint) =>
          `${endpoint.host.includes(":") ? `[${endpoint.host}]` : endpoint.host}:${endpoint.port}`,
      )
      .join(",");
  const scheme = tlsScheme ? "rediss" : "redis";
  if (settings.sentinels !== undefined) {
    const db = settings.db === undefined ? "" : `/${settings.db}`;
    return `${scheme}+sentinel://${user}${hosts(settings.sentinels)}/${settings.name ?? ""}${db}${query}`;
  }
  return `${scheme}+cluster://${user}${hosts(settings.cluster?.nodes ?? [])}${query}`;
}

/**
 * The queue prefix to use with this connection. A Redis Cluster runs a script only when all its keys are in
 * one hash slot; BullMQ's scripts touch several keys of a queue, and keyproof's own (run-store, access log)
 * several of its own, so the prefix is hash-tagged (`keyproof` → `{keyproof}`): every key of a deployment
 * then hashes on the same tag (BullMQ "Redis Cluster" guide). Elsewhere the prefix stays as configured, so
 * the keys of an existing deployment keep their names.
 */
export function queuePrefixFor(spec: string, prefix: string): string {
  if (redisTopologyOf(spec) !== "cluster") return prefix;
  return hashTaggedPrefix(prefix);
}

export function isHashTagged(prefix: string): boolean {
  return /^\{[^{}]+\}$/.test(prefix);
}

export function hashTaggedPrefix(prefix: string): string {
  if (isHashTagged(prefix)) return prefix;
  if (prefix.includes("{") || prefix.includes("}")) {
    throw new KeyproofError(
      "CONFIG_INVALID",
      `queue prefix "${prefix}" has braces but is not one hash tag; with Redis Cluster use "name" or "{name}"`,
    );
  }
  return `{${prefix}}`;
}

/**
 * `redis://user:secret@host` → `redis://user:***@host`: URLs end up in logs and errors. Works on every
 * scheme above (the sentinel and cluster forms are not WHATWG URLs: several hosts).
 */
export function redactRedisUrl(redisUrl: string): string {
  if (/^rediss?:\/\//i.test(redisUrl)) {
    try {
      const url = new URL(redisUrl);
      if (url.password !== "") url.password = "***";
      return url.toString();
    } catch {
      return "(unparseable Redis URL)";
    }
  }
  const match = /^([A-Za-z+]+:\/\/)([^/]*)@(.*)$/s.exec(redisUrl);
  if (match === null) return redisUrl.length > 200 ? "(unparseable Redis URL)" : redisUrl;
  const userinfo = match[2] ?? "";
  const colon = userinfo.indexOf(":");
  const user = colon === -1 ? userinfo : `${userinfo.slice(0, colon)}:***`;
  return `${match[1] ?? ""}${user}@${match[3] ?? ""}`;
}
