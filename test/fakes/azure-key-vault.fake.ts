/**
 * FAKE Azure Key Vault data plane (keys only), used because Lowkey Vault cannot be fetched on this machine
 * (Maven Central as served here answers 404 for `com.github.nagyesta.lowkey-vault:lowkey-vault-app`). It is
 * driven through the real `@azure/keyvault-keys` KeyClient and answers the documented wire format of the
 * Key Vault REST API 7.x (research/apis.md §2.1, azure-rest-api-specs `keys.json`):
 * - `api-version` required on every call; requests without `Authorization` get the 401 challenge
 *   `WWW-Authenticate: Bearer authorization="https://login.microsoftonline.com/<tenant>", resource="https://vault.azure.net"`;
 * - `POST /keys/{name}/create`, `GET /keys` and `GET /keys/{name}/versions` (absolute `nextLink` with
 *   `$skiptoken`, `maxresults` ≤ 25, last page `nextLink: null`), `GET /keys/{name}[/][/{version}]`,
 *   `PATCH /keys/{name}/{version}`, `POST /keys/{name}/rotate`, `GET`/`PUT /keys/{name}/rotationpolicy`;
 * - timestamps in unix seconds, every KeyBundle carries `key.kid`; RSA moduli and EC points are real
 *   (generated with node:crypto), `oct` material is never returned (as in Azure);
 * - a key without a rotation policy answers Azure's Notify-only default, or, per vault, Lowkey Vault's
 *   200-with-empty-body quirk (`unsetRotationPolicy: "empty-body"`);
 * - errors as `{"error":{"code","message","innererror":{"code"}}}`; a vault can be made to refuse every call
 *   (e.g. 403 `ForbiddenByFirewall`).
 * Vaults are told apart by the request authority, as Lowkey does; the fake serves two, on two ports of 127.0.0.1,
 * and `addVault` opens one more port per extra vault (discovery tests: every vault Resource Manager lists has its
 * own `vaultUri`, and the data plane is reached at it, with no endpoint override).
 */
import { generateKeyPair, randomBytes } from "node:crypto";
import { promisify } from "node:util";
import type { FakeRequest, FakeResponse, RunningFakeServer } from "./azure-fake-http.ts";
import { azureError, fakeTlsMaterial, startFakeHttpsServer } from "./azure-fake-http.ts";

export interface FakeVaultOptions {
  /** What `GET rotationpolicy` answers for a key that never had one. Default `azure-default`. */
  unsetRotationPolicy?: "azure-default" | "empty-body";
}

interface StoredVersion {
  version: string;
  kty: string;
  keyOps: string[];
  jwk: Record<string, string>;
  keySize?: number;
  curve?: string;
  enabled: boolean;
  nbf?: number;
  exp?: number;
  created: number;
  updated: number;
  tags: Record<string, string>;
}

interface StoredKey {
  name: string;
  versions: StoredVersion[];
  rotationPolicy?: Record<string, unknown>;
}

interface FakeVault {
  options: FakeVaultOptions;
  keys: Map<string, StoredKey>;
  failure?: FakeResponse;
}

export interface AzureKeyVaultFake {
  /** Two vaults: `https://127.0.0.1:<port1>` and `https://127.0.0.1:<port2>`. */
  vaultUrls: [string, string];
  /** PEM trust anchor for the fake's TLS certificate. */
  ca: string;
  server: RunningFakeServer;
  /** One more vault on a new port of 127.0.0.1; returns its URL `https://127.0.0.1:<port>`. */
  addVault(options?: FakeVaultOptions): Promise<string>;
  configureVault(vaultUrl: string, options: FakeVaultOptions): void;
  /** Every call to the vault answers this error until cleared (`undefined`). */
  failVault(vaultUrl: string, failure: FakeResponse | undefined): void;
  /** Moves the fake's clock (unix seconds used for `created`/`updated`). */
  setNow(now: () => Date): void;
  close(): Promise<void>;
}

const CHALLENGE =
  'Bearer authorization="https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000", resource="https://vault.azure.net"';

const CURVES: Record<string, "prime256v1" | "secp384r1" | "secp521r1" | "secp256k1"> = {
  "P-256": "prime256v1",
  "P-384": "secp384r1",
  "P-521": "secp521r1",
  "P-256K": "secp256k1",
};

const generateKeyPairAsync = promisify(generateKeyPair);

const DEFAULT_OPS: Record<string, string[]> = {
  RSA: ["encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey"],
  EC: ["sign", "verify"],
  OCT: ["encrypt", "decrypt", "wrapKey", "unwrapKey"],
};

function authorityOf(vaultUrl: string): string {
  return new URL(vaultUrl).host.toLowerCase();
}

function newVersionId(): string {
  return randomBytes(16).toString("hex");
}

/**
 * Public key material per (type, size/curve), generated once per process: a fake needs well-formed moduli
 * and points, not unique ones, and RSA 4096 generation takes seconds on a small machine.
 */
const materialCache = new Map<string, Promise<Record<string, string>>>();

function material(
  kty: string,
  keySize: number | undefined,
  curve: string | undefined,
): Promise<Record<string, string>> {
  const base = kty.replace(/-HSM$/i, "").toUpperCase();
  const cacheKey = `${base}:${keySize ?? ""}:${curve ?? ""}`;
  let pending = materialCache.get(cacheKey);
  if (pending === undefined) {
    pending = generateMaterial(base, keySize, curve);
    materialCache.set(cacheKey, pending);
  }
  return pending;
}

async function generateMaterial(
  base: string,
  keySize: number | undefined,
  curve: string | undefined,
): Promise<Record<string, string>> {
  if (base === "RSA") {
    const { publicKey } = await generateKeyPairAsync("rsa", { modulusLength: keySize ?? 2048 });
    const jwk = publicKey.export({ format: "jwk" });
    return { n: String(jwk.n), e: String(jwk.e) };
  }
  if (base === "EC") {
    const namedCurve = CURVES[curve ?? "P-256"];
    if (namedCurve === undefined) throw new Error(`unsupported curve ${curve}`);
    const { publicKey } = await generateKeyPairAsync("ec", { namedCurve });
    const jwk = publicKey.export({ format: "jwk" });
    return { crv: curve ?? "P-256", x: String(jwk.x), y: String(jwk.y) };
  }
  return {};
}

function validateCreate(
  kty: string,
  keySize: number | undefined,
  curve: string | undefined,
): string | undefined {
  const base = kty.replace(/-HSM$/i, "").toUpperCase();
  if (!["RSA", "EC", "OCT"].includes(base)) return `unsupported kty ${kty}`;
  if (base === "RSA" && keySize !== undefined && ![2048, 3072, 4096].includes(keySize))
    return `RSA key size ${keySize} is not supported (2048, 3072, 4096)`;
  if (base === "OCT" && keySize !== undefined && ![128, 192, 256].includes(keySize))
    return `oct key size ${keySize} is not supported (128, 192, 256)`;
  if (base === "EC" && curve !== undefined && CURVES[curve] === undefined)
    return `unsupported curve ${curve}`;
  return undefined;
}

export async function startAzureKeyVaultFake(): Promise<AzureKeyVaultFake> {
  const vaults = new Map<string, FakeVault>();
  let now = (): Date => new Date();
  const seconds = (): number => Math.floor(now().getTime() / 1000);

  function attributesOf(version: StoredVersion): Record<string, unknown> {
    return {
      enabled: version.enabled,
      ...(version.nbf === undefined ? {} : { nbf: version.nbf }),
      ...(version.exp === undefined ? {} : { exp: version.exp }),
      created: version.created,
      updated: version.updated,
      recoveryLevel: "Recoverable+Purgeable",
      recoverableDays: 90,
      exportable: false,
    };
  }

  function bundle(origin: string, key: StoredKey, version: StoredVersion): Record<string, unknown> {
    return {
      key: {
        kid: `${origin}/keys/${key.name}/${version.version}`,
        kty: version.kty,
        key_ops: version.keyOps,
        ...version.jwk,
      },
      attributes: attributesOf(version),
      tags: version.tags,
    };
  }

  function page(request: FakeRequest, items: unknown[]): FakeResponse {
    const requested = Number(request.url.searchParams.get("maxresults") ?? "25");
    const size = Math.min(Math.max(Number.isFinite(requested) ? requested : 25, 1), 25);
    const skip = Number(request.url.searchParams.get("$skiptoken") ?? "0");
    const slice = items.slice(skip, skip + size);
    let nextLink: string | null = null;
    if (skip + size < items.length) {
      const next = new URL(request.url.toString());
      next.searchParams.set("$skiptoken", String(skip + size));
      next.searchParams.set("maxresults", String(size));
      nextLink = next.toString();
    }
    return { status: 200, body: { value: slice, nextLink } };
  }

  async function createVersion(
    key: StoredKey,
    body: Record<string, unknown>,
    previous?: StoredVersion,
  ): Promise<StoredVersion | string> {
    const kty = typeof body["kty"] === "string" ? body["kty"] : previous?.kty;
    if (kty === undefined) return "kty is required";
    const keySize = typeof body["key_size"] === "number" ? body["key_size"] : previous?.keySize;
    const curve = typeof body["crv"] === "string" ? body["crv"] : previous?.curve;
    const invalid = validateCreate(kty, keySize, curve);
    if (invalid !== undefined) return invalid;
    const attributes = (body["attributes"] ?? {}) as Record<string, unknown>;
    const base = kty.replace(/-HSM$/i, "").toUpperCase();
    const created = seconds();
    const version: StoredVersion = {
      version: newVersionId(),
      kty,
      keyOps: Array.isArray(body["key_ops"])
        ? (body["key_ops"] as string[])
        : (previous?.keyOps ?? DEFAULT_OPS[base] ?? []),
      jwk: await material(kty, keySize, curve),
      enabled: typeof attributes["enabled"] === "boolean" ? attributes["enabled"] : true,
      created,
      updated: created,
      tags: (body["tags"] as Record<string, string> | undefined) ?? previous?.tags ?? {},
    };
    if (keySize !== undefined) version.keySize = keySize;
    if (curve !== undefined) version.curve = curve;
    if (typeof attributes["nbf"] === "number") version.nbf = attributes["nbf"];
    if (typeof attributes["exp"] === "number") version.exp = attributes["exp"];
    key.versions.push(version);
    return version;
  }

  async function handle(request: FakeRequest): Promise<FakeResponse> {
    const vault = vaults.get(request.url.host.toLowerCase());
    if (vault === undefined) return azureError(404, "VaultNotFound", `no vault at ${request.url.host}`);
    if (request.headers.authorization === undefined) {
      return {
        status: 401,
        headers: { "www-authenticate": CHALLENGE },
        body: azureError(401, "Unauthorized", "AKV10000: Request is missing a Bearer or PoP token.").body,
      };
    }
    if (!request.url.searchParams.has("api-version"))
      return azureError(400, "BadParameter", "The api-version query parameter is missing");
    if (vault.failure !== undefined) return vault.failure;
    const origin = `https://${request.url.host}`;
    const segments = request.url.pathname.split("/").filter((segment) => segment.length > 0);
    if (segments[0] !== "keys") return azureError(404, "NotFound", `no route for ${request.url.pathname}`);
    const name = segments[1];
    if (name === undefined) {
      if (request.method !== "GET") return azureError(405, "MethodNotAllowed", request.method);
      const items = [...vault.keys.values()]
        .filter((key) => key.versions.length > 0)
        .sort((left, right) => left.name.localeCompare(right.name))
        .map((key) => {
          const latest = key.versions.at(-1) as StoredVersion;
          return { kid: `${origin}/keys/${key.name}`, attributes: attributesOf(latest), tags: latest.tags };
        });
      return page(request, items);
    }
    const action = segments[2];
    let key = vault.keys.get(name);
    if (action === "create" && request.method === "POST") {
      if (key === undefined) {
        key = { name, versions: [] };
        vault.keys.set(name, key);
      }
      const created = await createVersion(key, (request.body ?? {}) as Record<string, unknown>);
      if (typeof created === "string") {
        if (key.versions.length === 0) vault.keys.delete(name);
        return azureError(400, "BadParameter", created);
      }
      return { status: 200, body: bundle(origin, key, created) };
    }
    if (key === undefined)
      return azureError(404, "KeyNotFound", `A key with (name/id) ${name} was not found in this key vault.`);
    if (action === "versions" && request.method === "GET") {
      return page(
        request,
        key.versions.map((version) => ({
          kid: `${origin}/keys/${key.name}/${version.version}`,
          attributes: attributesOf(version),
          tags: version.tags,
        })),
      );
    }
    if (action === "rotationpolicy") {
      if (request.method === "PUT") {
        const body = (request.body ?? {}) as Record<string, unknown>;
        const actions = body["lifetimeActions"];
        if (!Array.isArray(actions) || actions.length === 0 || actions.length > 2)
          return azureError(400, "BadParameter", "lifetimeActions must have 1 or 2 entries");
        const stamp = seconds();
        const attributes = (body["attributes"] ?? {}) as Record<string, unknown>;
        key.rotationPolicy = {
          id: `${origin}/keys/${key.name}/rotationpolicy`,
          lifetimeActions: actions,
          attributes: { ...attributes, created: stamp, updated: stamp },
        };
        return { status: 200, body: key.rotationPolicy };
      }
      if (key.rotationPolicy !== undefined) return { status: 200, body: key.rotationPolicy };
      if (vault.options.unsetRotationPolicy === "empty-body") return { status: 200 };
      return {
        status: 200,
        body: {
          id: `${origin}/keys/${key.name}/rotationpolicy`,
          lifetimeActions: [{ trigger: { timeBeforeExpiry: "P30D" }, action: { type: "Notify" } }],
          attributes: {},
        },
      };
    }
    if (action === "rotate" && request.method === "POST") {
      const rotated = await createVersion(key, {}, key.versions.at(-1));
      if (typeof rotated === "string") return azureError(400, "BadParameter", rotated);
      return { status: 200, body: bundle(origin, key, rotated) };
    }
    const version =
      action === undefined || action === ""
        ? key.versions.at(-1)
        : key.versions.find((entry) => entry.version === action);
    if (version === undefined)
      return azureError(404, "KeyNotFound", `version ${action ?? ""} of ${name} not found`);
    if (request.method === "GET") return { status: 200, body: bundle(origin, key, version) };
    if (request.method === "PATCH") {
      const body = (request.body ?? {}) as Record<string, unknown>;
      const attributes = (body["attributes"] ?? {}) as Record<string, unknown>;
      if (typeof attributes["enabled"] === "boolean") version.enabled = attributes["enabled"];
      if (typeof attributes["exp"] === "number") version.exp = attributes["exp"];
      if (typeof attributes["nbf"] === "number") version.nbf = attributes["nbf"];
      if (body["tags"] !== undefined) version.tags = body["tags"] as Record<string, string>;
      version.updated = seconds();
      return { status: 200, body: bundle(origin, key, version) };
    }
    return azureError(405, "MethodNotAllowed", `${request.method} ${request.url.pathname}`);
  }

  // Two listeners on 127.0.0.1 rather than `localhost`: on a shared machine `localhost` may resolve to ::1,
  // where another process can hold the same port number and answer in our place.
  const server = await startFakeHttpsServer(handle);
  const second = await startFakeHttpsServer(handle);
  const extra: RunningFakeServer[] = [];
  const vaultUrls: [string, string] = [server.url, second.url];
  for (const url of vaultUrls) vaults.set(authorityOf(url), { options: {}, keys: new Map() });

  function vaultOf(vaultUrl: string): FakeVault {
    const vault = vaults.get(authorityOf(vaultUrl));
    if (vault === undefined) throw new Error(`the fake serves no vault ${vaultUrl}`);
    return vault;
  }

  return {
    vaultUrls,
    ca: fakeTlsMaterial().cert,
    server,
    async addVault(options = {}) {
      const listener = await startFakeHttpsServer(handle);
      extra.push(listener);
      vaults.set(authorityOf(listener.url), { options, keys: new Map() });
      return listener.url;
    },
    configureVault(vaultUrl, options) {
      vaultOf(vaultUrl).options = { ...vaultOf(vaultUrl).options, ...options };
    },
    failVault(vaultUrl, failure) {
      const vault = vaultOf(vaultUrl);
      if (failure === undefined) delete vault.failure;
      else vault.failure = failure;
    },
    setNow(next) {
      now = next;
    },
    close: async () => {
      await Promise.all([server.close(), second.close(), ...extra.map((listener) => listener.close())]);
    },
  };
}
