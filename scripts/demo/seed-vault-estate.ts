/**
 * Seeds a small HashiCorp Vault (OpenBao) transit estate for the demo, through node-vault: a namespace with
 * two transit mounts, seven keys with the usual audit findings built in, the ACL policies that reach them,
 * a file audit device, real traffic from application tokens, and the key inventory that documents all but
 * one key.
 *
 *   compliant      transit/payments-db (AES-256, 90-day rotation, one app policy naming it)
 *                  transit/customer-pii (AES-256, 180-day rotation), transit/session-tokens (HMAC, 30 days)
 *   non-compliant  transit/legacy-backups   rotation off, exportable + plaintext backup, sudo/delete policy
 *                  transit/jwt-signing      rotates every 400 days (policy maximum 365)
 *                  team-data/transit/analytics  AES-128, reached through a `decrypt/*` glob
 *                  team-data/transit/reports    rotation off, decrypt granted by `default`, not in the inventory
 *
 * Dev servers only: it writes the namespace's `default` policy. Re-running reuses the namespace, mounts and
 * keys (transit answers a second create with a warning) and rewrites the policies.
 *
 * Usage events: the audit device records the seed's own traffic with today's time. A demo reports on a past
 * range, so with `range` the seed also appends copies of those response entries re-dated across the range
 * (fresh request ids), marked `"keyproof_demo_replay": true`; the server's own lines stay untouched.
 *
 * OpenBao 2.x enables audit devices through the API only when the server config sets
 * `unsafe_allow_api_audit_creation = true`; otherwise the seed goes on without a device and says so in
 * `warnings` (the run then reports Vault usage logging as missing, which is what such a server looks like).
 *
 * Run directly: `npx tsx scripts/demo/seed-vault-estate.ts [--address URL] [--audit-log FILE] [--period 2026-Q3]`
 * with the root token in VAULT_TOKEN (or KEYPROOF_TEST_VAULT_TOKEN).
 */
import { randomUUID } from "node:crypto";
import { appendFile, mkdir, readFile } from "node:fs/promises";
import path from "node:path";
import { pathToFileURL } from "node:url";
import NodeVault from "node-vault";
import type { InventoryEntry } from "../../src/config/config.schema.ts";
import type { DateRange } from "../../src/model/snapshot.ts";
import type { HashicorpVaultSourceConfig } from "../../src/config/sources/hashicorp-vault.schema.ts";
import { daysOf, parsePeriod } from "../../src/time/date-range.ts";

export const VAULT_DEMO_SOURCE_ID = "vault-demo";
export const VAULT_DEMO_NAMESPACE = "keyproof-demo";
/** Audit device path in the root namespace (audit devices live only there). */
export const VAULT_DEMO_AUDIT_DEVICE = "keyproof-demo";

export interface SeedVaultDemoEstateOptions {
  address: string;
  /** Root (or equally privileged) token; used for seeding only, never written into the source config. */
  token: string;
  /** Where the file audit device writes; omit to seed without usage logging. */
  auditLogFile?: string;
  sourceId?: string;
  /** Namespace to seed into (created when missing); `""` seeds the root namespace. */
  namespace?: string;
  /** Range the demo reports on: usage is replayed into it (see the file comment). */
  range?: DateRange;
  /** Audit device path (root namespace); tests pass their own so they never touch the demo's device. */
  auditDevice?: string;
}

export interface SeededVaultDemoEstate {
  source: HashicorpVaultSourceConfig;
  inventory: InventoryEntry[];
  /** What could not be seeded as intended (e.g. no audit device), for the demo to print. */
  warnings: string[];
}

type Client = NodeVault.client;

interface DemoKey {
  mount: string;
  name: string;
  type: string;
  autoRotatePeriod: string;
  exportable?: boolean;
  plaintextBackup?: boolean;
  inventory?: Omit<InventoryEntry, "source" | "match">;
}

const DEMO_KEYS: DemoKey[] = [
  {
    mount: "transit",
    name: "payments-db",
    type: "aes256-gcm96",
    autoRotatePeriod: "2160h",
    inventory: { owner: "payments-team@acme.example", usage: "data-at-rest", systems: ["payments-db"] },
  },
  {
    mount: "transit",
    name: "customer-pii",
    type: "aes256-gcm96",
    autoRotatePeriod: "4320h",
    inventory: {
      owner: "privacy-eng@acme.example",
      usage: "application",
      systems: ["crm", "support-portal"],
    },
  },
  {
    mount: "transit",
    name: "session-tokens",
    type: "hmac",
    autoRotatePeriod: "720h",
    inventory: { owner: "identity-team@acme.example", usage: "application", systems: ["auth-gateway"] },
  },
  {
    mount: "transit",
    name: "legacy-backups",
    type: "aes256-gcm96",
    autoRotatePeriod: "0",
    exportable: true,
    plaintextBackup: true,
    inventory: {
      owner: "platform-team@acme.example",
      usage: "data-at-rest",
      systems: ["backup-archive"],
      notes: "Scheduled for replacement; exportable for the old restore tooling",
    },
  },
  {
    mount: "transit",
    name: "jwt-signing",
    type: "ecdsa-p256",
    autoRotatePeriod: "9600h",
    inventory: { owner: "identity-team@acme.example", usage: "data-in-transit", systems: ["auth-gateway"] },
  },
  {
    mount: "team-data/transit",
    name: "analytics",
    type: "aes128-gcm96",
    autoRotatePeriod: "8760h",
    inventory: { owner: "data-team@acme.example", usage: "data-at-rest", systems: ["warehouse"] },
  },
  // Deliberately missing from the inventory.
  { mount: "team-data/transit", name: "reports", type: "rsa-2048", autoRotatePeriod: "0" },
];

/** The ACL policy the seed re-saves after the audit device is enabled: a policy write in the audit log. */
export const VAULT_DEMO_EDITED_POLICY = "key-rotation";

const POLICIES: Record<string, string> = {
  "payments-api": `# The payments service encrypts and decrypts card data with its own key only.
path "transit/encrypt/payments-db" {
  capabilities = ["update"]
}
path "transit/decrypt/payments-db" {
  capabilities = ["update"]
}
`,
  "pii-service": `path "transit/encrypt/customer-pii" { capabilities = ["update"] }
path "transit/decrypt/customer-pii" { capabilities = ["update"] }
`,
  "auth-gateway": `path "transit/hmac/session-tokens" { capabilities = ["update"] }
path "transit/verify/session-tokens" { capabilities = ["update"] }
path "transit/sign/jwt-signing" { capabilities = ["update"] }
`,
  "key-rotation": `# Scheduled job: rotates and reads the configuration of the payments key.
path "transit/keys/payments-db/rotate" { capabilities = ["update"] }
path "transit/keys/payments-db" { capabilities = ["read"] }
`,
  "analytics-readers": `# Too broad: every key of the mount, present and future.
path "team-data/transit/decrypt/*" {
  capabilities = ["update"]
}
`,
  "backup-operator": `path "transit/keys/legacy-backups" {
  capabilities = ["read", "delete", "sudo"]
}
path "transit/backup/legacy-backups" {
  capabilities = ["read"]
}
`,
};

/** Appended to the namespace's `default` policy: every token may decrypt report data. */
const DEFAULT_POLICY_ADDITION = `
# keyproof demo: report decryption for everyone (the finding the demo shows)
path "team-data/transit/decrypt/reports" {
  capabilities = ["update"]
}
`;

function client(
  options: { address: string; token: string },
  namespace: string,
  token = options.token,
): Client {
  const vault = NodeVault({ endpoint: options.address.replace(/\/+$/, ""), token });
  // node-vault falls back to VAULT_NAMESPACE when the option is empty.
  Object.assign(vault, { namespace, pathPrefix: "" });
  return vault;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function ensureNamespace(root: Client, namespace: string): Promise<void> {
  if (namespace === "") return;
  const existing = await root.read(`sys/namespaces/${namespace}`).catch(() => undefined);
  if (existing === undefined) await root.write(`sys/namespaces/${namespace}`, {});
}

async function ensureTransitMount(vault: Client, mount: string): Promise<void> {
  const mounts = (await vault.read("sys/mounts")) as { data: Record<string, { type: string }> };
  if (mounts.data[`${mount}/`] === undefined) await vault.write(`sys/mounts/${mount}`, { type: "transit" });
}

async function ensureKey(vault: Client, key: DemoKey): Promise<void> {
  const create: Record<string, unknown> = { type: key.type };
  if (key.type === "hmac") create["key_size"] = 32;
  if (key.exportable === true) create["exportable"] = true;
  if (key.plaintextBackup === true) create["allow_plaintext_backup"] = true;
  await vault.write(`${key.mount}/keys/${key.name}`, create);
  await vault.write(`${key.mount}/keys/${key.name}/config`, { auto_rotate_period: key.autoRotatePeriod });
}

async function ensureDefaultPolicyAddition(vault: Client): Promise<void> {
  const body = (await vault.read("sys/policies/acl/default")) as { data: { policy: string } };
  if (body.data.policy.includes("team-data/transit/decrypt/reports")) return;
  await vault.write("sys/policies/acl/default", { policy: `${body.data.policy}${DEFAULT_POLICY_ADDITION}` });
}

/** Enables (or keeps) the demo file audit device; returns a warning instead of failing when refused. */
async function ensureAuditDevice(root: Client, device: string, file: string): Promise<string | undefined> {
  await mkdir(path.dirname(file), { recursive: true });
  const devices = (await root.read("sys/audit")) as {
    data: Record<string, { type: string; options?: Record<string, string> }>;
  };
  const existing = devices.data[`${device}/`];
  if (existing?.options?.["file_path"] === file) return undefined;
  if (existing !== undefined) await root.delete(`sys/audit/${device}`);
  try {
    await root.write(`sys/audit/${device}`, {
      type: "file",
      options: { file_path: file, format: "json" },
    });
    return undefined;
  } catch (error) {
    return `no Vault audit device: ${messageOf(error)} (start the server with unsafe_allow_api_audit_creation = true in its config)`;
  }
}

/** A short-lived service token named `token-<policy>` carrying `policy` (and `default`). */
async function tokenFor(vault: Client, policy: string): Promise<string> {
  const body = (await vault.write("auth/token/create", {
    policies: [policy],
    display_name: policy,
    ttl: "1h",
  })) as {
    auth: { client_token: string };
  };
  return body.auth.client_token;
}

/** Real traffic, recorded by the audit device: application tokens using their keys, and one denied call. */
async function generateTraffic(
  options: { address: string; token: string },
  namespace: string,
): Promise<void> {
  const admin = client(options, namespace);
  const as = async (policy: string): Promise<Client> =>
    client(options, namespace, await tokenFor(admin, policy));
  const plaintext = Buffer.from("demo record").toString("base64");

  const payments = await as("payments-api");
  for (let index = 0; index < 3; index++) {
    const encrypted = (await payments.write("transit/encrypt/payments-db", { plaintext })) as {
      data: { ciphertext: string };
    };
    await payments.write("transit/decrypt/payments-db", { ciphertext: encrypted.data.ciphertext });
  }
  // Denied: the payments service has no business with customer PII.
  await payments
    .write("transit/decrypt/customer-pii", { ciphertext: "vault:v1:AAAA" })
    .catch(() => undefined);

  const pii = await as("pii-service");
  await pii.write("transit/encrypt/customer-pii", { plaintext });

  const gateway = await as("auth-gateway");
  await gateway.write("transit/hmac/session-tokens", { input: plaintext });
  await gateway.write("transit/sign/jwt-signing", { input: plaintext });

  const analytics = await as("analytics-readers");
  const analyticsCipher = (await admin.write("team-data/transit/encrypt/analytics", { plaintext })) as {
    data: { ciphertext: string };
  };
  await analytics.write("team-data/transit/decrypt/analytics", {
    ciphertext: analyticsCipher.data.ciphertext,
  });

  const rotation = await as("key-rotation");
  await rotation.write("transit/keys/payments-db/rotate", {});
}

/**
 * Copies of this namespace's transit response entries, re-dated across the range: a few a day, at varying
 * times, with fresh request ids. Appended in one write after the seed's traffic.
 */
async function replayIntoRange(file: string, namespace: string, range: DateRange): Promise<number> {
  const namespacePath = namespace === "" ? "" : `${namespace}/`;
  const templates = (await readFile(file, "utf8"))
    .split("\n")
    .filter((line) => line.trim().startsWith("{"))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((entry) => {
      const request = entry["request"] as
        { namespace?: { path?: string }; mount_type?: string; operation?: string } | undefined;
      return (
        entry["type"] === "response" &&
        entry["keyproof_demo_replay"] === undefined &&
        request?.mount_type === "transit" &&
        request.operation === "update" &&
        (request.namespace?.path ?? "") === namespacePath
      );
    });
  if (templates.length === 0) return 0;
  const lines: string[] = [];
  const policyWrite = await latestPolicyWrite(file, namespacePath);
  const days = daysOf(range);
  const middle = days[Math.floor(days.length / 2)];
  if (policyWrite !== undefined && middle !== undefined) {
    const request = { ...(policyWrite["request"] as Record<string, unknown>), id: randomUUID() };
    const time = `${middle}T10:15:00.000Z`;
    lines.push(JSON.stringify({ ...policyWrite, time, request, keyproof_demo_replay: true }));
  }
  days.forEach((day, dayIndex) => {
    for (let slot = 0; slot < 3; slot++) {
      const template = templates[(dayIndex * 3 + slot) % templates.length] as Record<string, unknown>;
      const minutes = (dayIndex * 37 + slot * 311) % 1440;
      const time = new Date(
        Date.parse(`${day}T00:00:00.000Z`) + minutes * 60_000 + slot * 1_234,
      ).toISOString();
      const request = { ...(template["request"] as Record<string, unknown>), id: randomUUID() };
      lines.push(JSON.stringify({ ...template, time, request, keyproof_demo_replay: true }));
    }
  });
  await appendFile(file, `${lines.join("\n")}\n`);
  return lines.length - (policyWrite === undefined ? 0 : 1);
}

/** The seed's own write of the edited policy in this namespace (its response entry), for re-dating. */
async function latestPolicyWrite(
  file: string,
  namespacePath: string,
): Promise<Record<string, unknown> | undefined> {
  const entries = (await readFile(file, "utf8"))
    .split("\n")
    .filter((line) => line.includes(`sys/policies/acl/${VAULT_DEMO_EDITED_POLICY}`))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((entry) => {
      const request = entry["request"] as
        { namespace?: { path?: string }; path?: string; operation?: string } | undefined;
      return (
        entry["type"] === "response" &&
        entry["keyproof_demo_replay"] === undefined &&
        request?.path === `sys/policies/acl/${VAULT_DEMO_EDITED_POLICY}` &&
        request.operation === "update" &&
        (request.namespace?.path ?? "") === namespacePath
      );
    });
  return entries.at(-1);
}

export async function seedVaultDemoEstate(
  options: SeedVaultDemoEstateOptions,
): Promise<SeededVaultDemoEstate> {
  const namespace = (options.namespace ?? VAULT_DEMO_NAMESPACE).replace(/^\/+|\/+$/g, "");
  const sourceId = options.sourceId ?? VAULT_DEMO_SOURCE_ID;
  const warnings: string[] = [];
  const root = client(options, "");
  await ensureNamespace(root, namespace);
  const vault = client(options, namespace);

  for (const mount of [...new Set(DEMO_KEYS.map((key) => key.mount))]) await ensureTransitMount(vault, mount);
  for (const key of DEMO_KEYS) await ensureKey(vault, key);
  for (const [name, policy] of Object.entries(POLICIES))
    await vault.write(`sys/policies/acl/${name}`, { policy });
  await ensureDefaultPolicyAddition(vault);

  let auditLogFile = options.auditLogFile === undefined ? undefined : path.resolve(options.auditLogFile);
  if (auditLogFile !== undefined) {
    const refused = await ensureAuditDevice(
      root,
      options.auditDevice ?? VAULT_DEMO_AUDIT_DEVICE,
      auditLogFile,
    );
    if (refused !== undefined) {
      warnings.push(refused);
      auditLogFile = undefined;
    }
  }
  await generateTraffic(options, namespace);
  // An administrator saves a policy after the audit device is on, so the write is in the audit log
  // (issue 13's history: a Vault policy write). The text is unchanged: the policies judged stay the same.
  await vault.write(`sys/policies/acl/${VAULT_DEMO_EDITED_POLICY}`, {
    policy: POLICIES[VAULT_DEMO_EDITED_POLICY],
  });
  if (auditLogFile !== undefined && options.range !== undefined) {
    const replayed = await replayIntoRange(auditLogFile, namespace, options.range);
    if (replayed === 0)
      warnings.push(
        `no transit traffic of namespace ${namespace || "root"} found in ${auditLogFile} to replay`,
      );
  }

  const source: HashicorpVaultSourceConfig = {
    id: sourceId,
    type: "hashicorp-vault",
    address: options.address.replace(/\/+$/, ""),
  };
  if (namespace !== "") source.namespace = `${namespace}/`;
  // In the root namespace, keep other mounts of a shared dev server out of the demo.
  else source.mounts = [...new Set(DEMO_KEYS.map((key) => key.mount))];
  if (auditLogFile !== undefined) source.auditLogFile = auditLogFile;

  const inventory: InventoryEntry[] = DEMO_KEYS.flatMap((key) =>
    key.inventory === undefined
      ? []
      : [{ source: sourceId, match: `${key.mount}/${key.name}`, ...key.inventory }],
  );
  return { source, inventory, warnings };
}

async function main(argv: string[]): Promise<void> {
  const option = (name: string): string | undefined => {
    const index = argv.indexOf(`--${name}`);
    return index === -1 ? undefined : argv[index + 1];
  };
  const address = option("address") ?? process.env["KEYPROOF_TEST_VAULT_ADDR"] ?? "http://127.0.0.1:8200";
  const token = process.env["VAULT_TOKEN"] ?? process.env["KEYPROOF_TEST_VAULT_TOKEN"];
  if (token === undefined || token === "")
    throw new Error("set VAULT_TOKEN (or KEYPROOF_TEST_VAULT_TOKEN) to the server's root token");
  const auditLogFile = option("audit-log");
  const period = option("period");
  const seeded = await seedVaultDemoEstate({
    address,
    token,
    ...(auditLogFile === undefined ? {} : { auditLogFile }),
    ...(period === undefined ? {} : { range: parsePeriod(period) }),
  });
  process.stdout.write(`${JSON.stringify(seeded, null, 2)}\n`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    process.stderr.write(`${messageOf(error)}\n`);
    process.exitCode = 1;
  });
}
