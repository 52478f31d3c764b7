import { constants } from "node:fs";
import { access, readFile } from "node:fs/promises";
import path from "node:path";
import type { HashicorpVaultSourceConfig } from "../../config/sources/hashicorp-vault.schema.ts";
import type { PermissionCheck } from "../source-doctor.ts";
import { createVaultApi, dataOf, type VaultApi } from "./vault-client.ts";
import { toVaultCollectionError, vaultHttpStatus } from "./vault-error.ts";
import { normalizeMount, normalizeNamespace } from "./hashicorp-vault.provider.ts";

/**
 * `keyproof doctor` for a HashiCorp Vault / OpenBao source: the provider's own requests, each made once on the
 * first item it would read (first transit key, first ACL policy). Permissions are named as a Vault policy
 * grants them, `<capability> <path>`, so a missing one is a line to paste into the token's policy.
 */

const POLICY_FILE = "docs/permissions/vault-policy.hcl";

export interface VaultDoctorOptions {
  env?: NodeJS.ProcessEnv;
  baseDirectory?: string;
  requestTimeoutMs?: number;
}

type Probe = { permission: string; run: (api: VaultApi) => Promise<unknown>; root?: boolean };

function capabilityOf(permission: string): { capability: string; apiPath: string } {
  const [capability = "read", ...rest] = permission.split(" ");
  return { capability, apiPath: rest.join(" ") };
}

function outcome(permission: string, error: unknown): PermissionCheck {
  if (error === undefined) return { permission, status: "ok" };
  const failure = toVaultCollectionError(permission, error);
  const status = vaultHttpStatus(error);
  const { capability, apiPath } = capabilityOf(permission);
  if (status === 403) {
    const capabilities = apiPath === "sys/audit" ? `["${capability}", "sudo"]` : `["${capability}"]`;
    return {
      permission,
      status: "missing",
      detail: `${failure.code}: ${failure.message}`,
      fix: `add path "${apiPath}" { capabilities = ${capabilities} } to the token's policy (${POLICY_FILE})`,
    };
  }
  if (status === undefined) {
    return {
      permission,
      status: "unreachable",
      detail: `${failure.code}: ${failure.message}`,
      fix: "check the source's address, tlsCaFile and the network path to Vault",
    };
  }
  if (status >= 500 || status === 429)
    return { permission, status: "error", detail: `${failure.code}: ${failure.message}` };
  // 404 on a read of a path the token may read: allowed, nothing there.
  return { permission, status: "ok", detail: `allowed (answered ${failure.code})` };
}

async function check(api: VaultApi, probe: Probe): Promise<PermissionCheck> {
  try {
    await probe.run(api);
    return { permission: probe.permission, status: "ok" };
  } catch (error) {
    return outcome(probe.permission, error);
  }
}

async function resolveToken(
  config: HashicorpVaultSourceConfig,
  env: NodeJS.ProcessEnv,
  baseDirectory: string,
): Promise<{ token?: string; problem?: PermissionCheck }> {
  if (config.tokenFile !== undefined) {
    const file = path.resolve(baseDirectory, config.tokenFile);
    try {
      const token = (await readFile(file, "utf8")).trim();
      if (token.length > 0) return { token };
      return {
        problem: {
          permission: "token",
          status: "missing",
          detail: `token file ${file} is empty`,
          fix: "write the token into tokenFile",
        },
      };
    } catch (error) {
      return {
        problem: {
          permission: "token",
          status: "missing",
          detail: `token file ${file} could not be read: ${(error as Error).message}`,
          fix: "point tokenFile at a readable file (relative paths resolve beside the config file)",
        },
      };
    }
  }
  const token = env["VAULT_TOKEN"]?.trim();
  if (token !== undefined && token.length > 0) return { token };
  return {
    problem: {
      permission: "token",
      status: "missing",
      detail: "no Vault token",
      fix: "set VAULT_TOKEN or the source's tokenFile",
    },
  };
}

export async function diagnoseHashicorpVaultSource(
  config: HashicorpVaultSourceConfig,
  options: VaultDoctorOptions = {},
): Promise<PermissionCheck[]> {
  const baseDirectory = options.baseDirectory ?? process.cwd();
  const env = options.env ?? process.env;
  // A list of namespaces is probed in its first one: the others need the same policy in theirs.
  const namespace = normalizeNamespace(
    Array.isArray(config.namespaces) ? config.namespaces[0] : config.namespace,
  );
  const address = config.address.replace(/\/+$/, "");
  let ca: string | undefined;
  if (config.tlsCaFile !== undefined) {
    const file = path.resolve(baseDirectory, config.tlsCaFile);
    try {
      ca = await readFile(file, "utf8");
    } catch (error) {
      return [
        {
          permission: "tlsCaFile",
          status: "missing",
          detail: `${file}: ${(error as Error).message}`,
          fix: "point tlsCaFile at a readable PEM file",
        },
      ];
    }
  }
  const timeoutMs = options.requestTimeoutMs ?? 10_000;
  // sys/health needs no token: it tells "unreachable" apart from "no token" before anything else.
  const anonymous = createVaultApi({
    address,
    token: "-",
    namespace: "",
    timeoutMs,
    ...(ca === undefined ? {} : { ca }),
  });
  const health = await check(anonymous, {
    permission: "reach sys/health",
    run: (api) => api.read("sys/health"),
  });
  const reach: PermissionCheck = { ...health, permission: "reachable" };
  if (health.status === "unreachable") return [reach];
  // A sealed or standby node answers sys/health with 5xx/429: reachable, but not usable.
  if (health.status === "error")
    return [{ ...reach, fix: "unseal Vault or point address at the active node" }];

  const token = await resolveToken(config, env, baseDirectory);
  if (token.problem !== undefined || token.token === undefined)
    return [reach, token.problem ?? { permission: "token", status: "missing" }];
  const common = { address, token: token.token, timeoutMs, ...(ca === undefined ? {} : { ca }) };
  const api = createVaultApi({ ...common, namespace });
  const rootApi = namespace.length === 0 ? api : createVaultApi({ ...common, namespace: "" });

  const checks: PermissionCheck[] = [{ ...reach, status: "ok" }];
  let mounts: string[] = [];
  const mountCheck = await check(api, {
    permission: "read sys/mounts",
    run: async (client) => {
      const table = dataOf(await client.read("sys/mounts"));
      mounts = Object.entries(table)
        .filter(([, entry]) => (entry as { type?: unknown } | null)?.type === "transit")
        .map(([mount]) => normalizeMount(mount))
        .sort((a, b) => a.localeCompare(b));
    },
  });
  checks.push(mountCheck);
  if (config.namespaces === "all") {
    // The walk lists child namespaces in every namespace it reaches; probed here where it starts. A child
    // whose listing is denied is a gap at run time (`discovery.json` names it).
    checks.push(
      await check(api, { permission: "list sys/namespaces", run: (client) => client.list("sys/namespaces") }),
    );
  }
  if (config.mounts !== undefined) mounts = config.mounts.map(normalizeMount);
  if (mounts.length === 0) {
    checks.push({
      permission: "list <transit mount>/keys",
      status: "untested",
      detail: "no transit mount to test on",
    });
  }
  for (const mount of mounts) {
    let first: string | undefined;
    checks.push(
      await check(api, {
        permission: `list ${mount}/keys`,
        run: async (client) => {
          first = (await client.list(`${mount}/keys`)).sort()[0];
        },
      }),
    );
    const name = first;
    if (name === undefined)
      checks.push({
        permission: `read ${mount}/keys/*`,
        status: "untested",
        detail: "no key in the mount to test on",
      });
    else {
      const result = await check(api, {
        permission: `read ${mount}/keys/*`,
        run: (client) => client.read(`${mount}/keys/${name}`),
      });
      checks.push({
        ...result,
        detail:
          result.detail === undefined
            ? `tested on ${mount}/keys/${name}`
            : `${mount}/keys/${name}: ${result.detail}`,
      });
    }
  }
  let policy: string | undefined;
  checks.push(
    await check(api, {
      permission: "list sys/policies/acl",
      run: async (client) => {
        policy = (await client.list("sys/policies/acl")).sort()[0];
      },
    }),
  );
  const policyName = policy ?? "default";
  const policyCheck = await check(api, {
    permission: "read sys/policies/acl/*",
    run: (client) => client.read(`sys/policies/acl/${policyName}`),
  });
  checks.push({
    ...policyCheck,
    ...(policyCheck.status === "ok" ? { detail: `tested on sys/policies/acl/${policyName}` } : {}),
  });
  // Audit devices exist in the root namespace only; reading them needs sudo.
  checks.push(
    await check(rootApi, { permission: "read sys/audit", run: (client) => client.read("sys/audit") }),
  );
  if (config.auditLogFile !== undefined) {
    const file = path.resolve(baseDirectory, config.auditLogFile);
    try {
      await access(file, constants.R_OK);
      checks.push({ permission: `read file ${file}`, status: "ok" });
    } catch (error) {
      checks.push({
        permission: `read file ${file}`,
        status: "missing",
        detail: (error as Error).message,
        fix: "make the audit device's file readable by keyproof (auditLogFile resolves beside the config file)",
      });
    }
  }
  return checks;
}
