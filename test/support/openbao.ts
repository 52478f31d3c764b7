/**
 * A real OpenBao server for tests, and seeding helpers that drive it through node-vault.
 *
 * `acquireOpenBao()` uses the dev server from `KEYPROOF_TEST_VAULT_ADDR`/`KEYPROOF_TEST_VAULT_TOKEN`
 * (scripts/services.sh exports them) when it can enable audit devices through the API; otherwise it starts
 * its own `bao server -dev` on a free port. OpenBao 2.x refuses `PUT sys/audit/<path>` ("cannot enable audit
 * device via API; use declarative, config-based audit device management instead") unless the server config
 * sets `unsafe_allow_api_audit_creation = true`, which the own server does through an extra `-config` file.
 *
 * Tests isolate themselves with unique names: a namespace per test (its own `default` policy), unique mount
 * and audit-device paths, and every audit device they enable is disabled again in cleanup, so a shared server
 * never keeps writing to a deleted temp file.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import os from "node:os";
import path from "node:path";
import NodeVault from "node-vault";

export interface OpenBaoServer {
  address: string;
  /** Root token of the dev server. */
  token: string;
  /** True when this process started the server (and `stop` ends it). */
  own: boolean;
  stop(): Promise<void>;
}

export type VaultClient = NodeVault.client;

const REPOSITORY_ROOT = path.resolve(import.meta.dirname, "../..");

/** `kp1a2b3c`: short, lowercase, valid as a namespace, mount, policy and key name. */
export function uniqueName(prefix = "kp"): string {
  return `${prefix}${randomBytes(4).toString("hex")}`;
}

/** A node-vault client with the root token, in `namespace` when given (`X-Vault-Namespace`). */
export function vaultClient(
  server: Pick<OpenBaoServer, "address" | "token">,
  namespace?: string,
  token?: string,
): VaultClient {
  const client = NodeVault({ endpoint: server.address, token: token ?? server.token });
  // node-vault falls back to VAULT_NAMESPACE when the option is empty; tests must not inherit it.
  Object.assign(client, { namespace: namespace ?? "", pathPrefix: "" });
  return client;
}

function binaryPath(): string {
  const candidates = [
    process.env["KEYPROOF_BAO_BIN"],
    path.join(REPOSITORY_ROOT, ".venv/bin/bao"),
    "/work/main/.venv/bin/bao",
  ];
  for (const candidate of candidates) if (candidate !== undefined && existsSync(candidate)) return candidate;
  return "bao";
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function healthy(address: string): Promise<boolean> {
  try {
    const response = await fetch(`${address}/v1/sys/health`, { signal: AbortSignal.timeout(2_000) });
    if (response.status !== 200) return false;
    const body = (await response.json()) as { sealed?: boolean };
    return body.sealed === false;
  } catch {
    return false;
  }
}

/** Whether the server lets a token enable audit devices through the API (see the file comment). */
async function allowsApiAuditDevices(server: Pick<OpenBaoServer, "address" | "token">): Promise<boolean> {
  const client = vaultClient(server);
  const probe = uniqueName("kp-probe-");
  try {
    await client.write(`sys/audit/${probe}`, { type: "file", options: { file_path: "discard" } });
  } catch {
    return false;
  }
  await client.delete(`sys/audit/${probe}`);
  return true;
}

async function startOwnServer(): Promise<OpenBaoServer> {
  const directory = await mkdtemp(path.join(os.tmpdir(), "keyproof-openbao-"));
  const configFile = path.join(directory, "extra.hcl");
  await writeFile(configFile, "unsafe_allow_api_audit_creation = true\n");
  const token = `kp-test-${randomBytes(8).toString("hex")}`;
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const address = `http://127.0.0.1:${port}`;
    const child: ChildProcess = spawn(
      binaryPath(),
      [
        "server",
        "-dev",
        "-dev-no-store-token",
        `-dev-root-token-id=${token}`,
        `-dev-listen-address=127.0.0.1:${port}`,
        `-config=${configFile}`,
      ],
      { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, HOME: directory } },
    );
    let stderr = "";
    child.stderr?.on("data", (chunk: Buffer) => {
      stderr = (stderr + chunk.toString("utf8")).slice(-4_000);
    });
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && child.exitCode === null) {
      if (await healthy(address)) {
        return {
          address,
          token,
          own: true,
          async stop() {
            if (child.exitCode === null) {
              child.kill("SIGTERM");
              await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5_000))]);
              if (child.exitCode === null) child.kill("SIGKILL");
            }
            await rm(directory, { recursive: true, force: true });
          },
        };
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    child.kill("SIGKILL");
    lastError = new Error(`bao server -dev did not become healthy on ${address}: ${stderr}`);
  }
  await rm(directory, { recursive: true, force: true });
  throw lastError;
}

/**
 * The shared dev server when it is configured and can enable audit devices, otherwise a server of our own.
 * Call `stop()` in `afterAll`; it leaves a shared server running.
 */
export async function acquireOpenBao(): Promise<OpenBaoServer> {
  const address = process.env["KEYPROOF_TEST_VAULT_ADDR"];
  const token = process.env["KEYPROOF_TEST_VAULT_TOKEN"];
  if (address !== undefined && address !== "" && token !== undefined && token !== "") {
    const shared = { address: address.replace(/\/+$/, ""), token };
    if ((await healthy(shared.address)) && (await allowsApiAuditDevices(shared))) {
      return { ...shared, own: false, stop: async () => {} };
    }
  }
  return startOwnServer();
}

// ---------------------------------------------------------------------------------------------------------
// Seeding

/** Creates a namespace at the root; returns its path with the trailing slash (`kp1a2b3c/`). */
export async function createNamespace(server: OpenBaoServer, name: string): Promise<string> {
  await vaultClient(server).write(`sys/namespaces/${name}`, {});
  return `${name}/`;
}

/** Deletes a namespace with everything in it (OpenBao removes its mounts, policies and tokens asynchronously). */
export async function deleteNamespace(server: OpenBaoServer, name: string): Promise<void> {
  await vaultClient(server)
    .delete(`sys/namespaces/${name}`)
    .catch(() => undefined);
}

export async function enableTransit(client: VaultClient, mount: string): Promise<void> {
  await client.write(`sys/mounts/${mount}`, { type: "transit" });
}

export interface TransitKeyOptions {
  type?: string;
  exportable?: boolean;
  allow_plaintext_backup?: boolean;
  auto_rotate_period?: string | number;
  key_size?: number;
}

export async function createTransitKey(
  client: VaultClient,
  mount: string,
  name: string,
  options: TransitKeyOptions = {},
): Promise<void> {
  await client.write(`${mount}/keys/${name}`, options);
}

export async function rotateTransitKey(client: VaultClient, mount: string, name: string): Promise<void> {
  await client.write(`${mount}/keys/${name}/rotate`, {});
}

export async function writePolicy(client: VaultClient, name: string, policy: string): Promise<void> {
  await client.write(`sys/policies/acl/${name}`, { policy });
}

export async function readPolicy(client: VaultClient, name: string): Promise<string> {
  const body = (await client.read(`sys/policies/acl/${name}`)) as { data: { policy: string } };
  return body.data.policy;
}

/** A service token with exactly these policies (no `default` unless listed), named `token-<displayName>`. */
export async function createToken(
  client: VaultClient,
  options: { policies: string[]; displayName: string; noDefaultPolicy?: boolean },
): Promise<string> {
  const body = (await client.write("auth/token/create", {
    policies: options.policies,
    display_name: options.displayName,
    no_default_policy: options.noDefaultPolicy ?? false,
    ttl: "1h",
  })) as { auth: { client_token: string } };
  return body.auth.client_token;
}

export interface FileAuditDevice {
  /** Device path without slash, e.g. `kp1a2b3c`. */
  path: string;
  file: string;
  disable(): Promise<void>;
}

/** Enables a file audit device writing JSON lines to `file` (root namespace: audit devices live there). */
export async function enableFileAudit(
  server: OpenBaoServer,
  devicePath: string,
  file: string,
): Promise<FileAuditDevice> {
  const client = vaultClient(server);
  await client.write(`sys/audit/${devicePath}`, {
    type: "file",
    options: { file_path: file, format: "json" },
  });
  return {
    path: devicePath,
    file,
    disable: async () => {
      await client.delete(`sys/audit/${devicePath}`).catch(() => undefined);
    },
  };
}

export async function encrypt(
  client: VaultClient,
  mount: string,
  key: string,
  plaintext: string,
): Promise<string> {
  const body = (await client.write(`${mount}/encrypt/${key}`, {
    plaintext: Buffer.from(plaintext).toString("base64"),
  })) as { data: { ciphertext: string } };
  return body.data.ciphertext;
}

export async function decrypt(
  client: VaultClient,
  mount: string,
  key: string,
  ciphertext: string,
): Promise<string> {
  const body = (await client.write(`${mount}/decrypt/${key}`, { ciphertext })) as {
    data: { plaintext: string };
  };
  return Buffer.from(body.data.plaintext, "base64").toString("utf8");
}
