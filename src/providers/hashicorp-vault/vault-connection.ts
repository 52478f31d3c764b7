/** Token, CA and the node-vault clients of a Vault source: read once, lazily, by the provider. */
import { readFile } from "node:fs/promises";
import type { HashicorpVaultSourceConfig } from "../../config/sources/hashicorp-vault.schema.ts";
import { createVaultApi, type VaultApi } from "./vault-client.ts";
import { setupError } from "./vault-error.ts";

export interface VaultConnection {
  /** Requests in the source namespace. */
  api: VaultApi;
  /** Requests in the root namespace (audit devices, health). Same as `api` without a namespace. */
  rootApi: VaultApi;
  /**
   * Requests in any namespace (`""` root, `admin/team-a/`), with the same token and CA: one client per
   * namespace, made on first use (`namespaces: all` collects many namespaces with one connection).
   */
  apiFor(namespace: string): VaultApi;
}

export interface VaultConnectionOptions {
  env: Readonly<Record<string, string | undefined>>;
  /** Resolves `tokenFile` and `tlsCaFile` against the config file's directory. */
  resolve: (file: string) => string;
  timeoutMs: number;
  /** Address without a trailing slash. */
  address: string;
  /** Normalized namespace (`admin/`), `""` for root. */
  namespace: string;
}

/**
 * Reads the token (`tokenFile` or `VAULT_TOKEN`) and the CA, and builds the clients. Throws a
 * `CollectionError` (setupError) naming the file or variable, which the provider turns into a gap.
 */
export async function connectVault(
  config: Pick<HashicorpVaultSourceConfig, "tokenFile" | "tlsCaFile">,
  options: VaultConnectionOptions,
): Promise<VaultConnection> {
  const { env, resolve, timeoutMs, address, namespace } = options;
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
  const clients = new Map<string, VaultApi>();
  const apiFor = (target: string): VaultApi => {
    let client = clients.get(target);
    if (client === undefined) {
      client = createVaultApi({ ...common, namespace: target });
      clients.set(target, client);
    }
    return client;
  };
  return { api: apiFor(namespace), rootApi: apiFor(""), apiFor };
}
