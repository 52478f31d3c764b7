import NodeVault from "node-vault";
import { isEmptyListResponse } from "./vault-error.ts";

/**
 * The few Vault calls the provider makes, over node-vault 0.12 (axios). No SDK type leaves this file.
 *
 * node-vault reads `VAULT_NAMESPACE`, `VAULT_PREFIX` and `VAULT_SKIP_VERIFY` from the environment when an
 * option is falsy; for evidence the config must be the only input, so namespace and prefix are overwritten
 * after creation (the client reads them per request) and `strictSSL` is forced on.
 */
export interface VaultApi {
  /** `GET /v1/<path>`; resolves with the JSON body. */
  read(path: string): Promise<Record<string, unknown>>;
  /** `LIST /v1/<path>` → `data.keys`; Vault's `404 {"errors":[]}` for an empty list resolves to `[]`. */
  list(path: string): Promise<string[]>;
  /** `LIST` with `data.key_info` too (`sys/namespaces` describes each child there); an empty list is `{}`. */
  listDetailed(path: string): Promise<{ keys: string[]; keyInfo: Record<string, unknown> }>;
}

export interface VaultApiOptions {
  address: string;
  token: string;
  /** Namespace path such as `admin/`; empty for the root namespace. */
  namespace: string;
  /** PEM CA bundle for a private TLS CA. */
  ca?: string;
  timeoutMs: number;
}

/** Each path segment URL-encoded, slashes kept: node-vault concatenates the path into the URL as is. */
export function encodeVaultPath(path: string): string {
  return path
    .split("/")
    .map((segment) => encodeURIComponent(segment))
    .join("/");
}

function asObject(value: unknown): Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

export function createVaultApi(options: VaultApiOptions): VaultApi {
  const requestOptions: Record<string, unknown> = { timeout: options.timeoutMs };
  if (options.ca !== undefined) requestOptions["ca"] = options.ca;
  // `rpDefaults` is read by node-vault 0.12 (src/index.js) but missing from its typings.
  const vaultOptions: NodeVault.VaultOptions & { rpDefaults: { strictSSL: boolean } } = {
    endpoint: options.address.replace(/\/+$/, ""),
    token: options.token,
    rpDefaults: { strictSSL: true },
    requestOptions,
  };
  const client = NodeVault(vaultOptions);
  Object.assign(client, { namespace: options.namespace, pathPrefix: "" });

  async function listDetailed(path: string): Promise<{ keys: string[]; keyInfo: Record<string, unknown> }> {
    try {
      const data = asObject(asObject(await client.list(encodeVaultPath(path)))["data"]);
      const keys = data["keys"];
      return {
        keys: Array.isArray(keys) ? keys.filter((key): key is string => typeof key === "string") : [],
        keyInfo: asObject(data["key_info"]),
      };
    } catch (error) {
      if (isEmptyListResponse(error)) return { keys: [], keyInfo: {} };
      throw error;
    }
  }

  return {
    async read(path) {
      return asObject(await client.read(encodeVaultPath(path)));
    },
    async list(path) {
      return (await listDetailed(path)).keys;
    },
    listDetailed,
  };
}

/** `data` of a Vault response body (`sys/mounts` and `sys/audit` also copy it to the top level; `data` wins). */
export function dataOf(body: Record<string, unknown>): Record<string, unknown> {
  return asObject(body["data"]);
}
