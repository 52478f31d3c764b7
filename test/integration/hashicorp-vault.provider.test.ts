/**
 * The HashiCorp Vault provider against a real OpenBao dev server (test/support/openbao.ts), seeded through
 * node-vault. Usage events come from the audit file the server itself wrote. Each test works in its own
 * namespace or under unique mount names, so a shared server is never disturbed.
 */
import { appendFile, copyFile, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KeyRecord } from "../../src/model/key.ts";
import type { KeyRef } from "../../src/providers/key-provider.ts";
import type { UsageEvent, UsageGap, UsageItem } from "../../src/model/usage.ts";
import { HashicorpVaultSourceSchema } from "../../src/config/sources/hashicorp-vault.schema.ts";
import { createHashicorpVaultProvider } from "../../src/providers/hashicorp-vault/hashicorp-vault.provider.ts";
import { collectLocation } from "../../src/providers/collect-location.ts";
import { check as keyExportableCheck } from "../../src/checks/vault-key-exportable/vault-key-exportable.check.ts";
import { check as auditMonitoredCheck } from "../../src/checks/vault-audit-monitored/vault-audit-monitored.check.ts";
import { check as auditRedundantCheck } from "../../src/checks/vault-audit-redundant/vault-audit-redundant.check.ts";
import { check as leastPrivilegeCheck } from "../../src/checks/vault-policy-least-privilege/vault-policy-least-privilege.check.ts";
import { parsePeriod, parseRange } from "../../src/time/date-range.ts";
import { seedVaultDemoEstate } from "../../scripts/demo/seed-vault-estate.ts";
import { makeSnapshot } from "../factories/index.ts";
import {
  acquireOpenBao,
  createNamespace,
  createToken,
  createTransitKey,
  decrypt,
  deleteNamespace,
  enableFileAudit,
  enableTransit,
  encrypt,
  readPolicy,
  rotateTransitKey,
  uniqueName,
  vaultClient,
  writePolicy,
  type FileAuditDevice,
  type OpenBaoServer,
} from "../support/openbao.ts";

let server: OpenBaoServer;
let directory: string;

beforeAll(async () => {
  server = await acquireOpenBao();
  directory = await mkdtemp(path.join(os.tmpdir(), "keyproof-vault-it-"));
});

afterAll(async () => {
  await server?.stop();
  if (directory !== undefined) await rm(directory, { recursive: true, force: true });
});

/** Today ± one day, as the CLI would build it: the seeded events all fall inside. */
function rangeAroundToday() {
  const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);
  return parseRange(day(-1), day(1));
}

async function drain(items: AsyncIterable<UsageItem>): Promise<{ events: UsageEvent[]; gaps: UsageGap[] }> {
  const events: UsageEvent[] = [];
  const gaps: UsageGap[] = [];
  for await (const item of items) {
    if (item.kind === "event") events.push(item.event);
    else gaps.push(item.gap);
  }
  return { events, gaps };
}

function keyById(keys: KeyRecord[], keyId: string): KeyRecord {
  const key = keys.find((candidate) => candidate.keyId === keyId);
  if (key === undefined)
    throw new Error(`no key ${keyId} in ${keys.map((candidate) => candidate.keyId).join(", ")}`);
  return key;
}

/** What a reference goes through between the listing job and a batch job: a file. */
function roundTrip<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

interface RecordingRelay {
  address: string;
  /** `LIST /v1/transit/keys`, in the order sent. */
  requests: string[];
  close(): Promise<void>;
}

/**
 * A TCP relay to the dev server that records each request line the provider sends, to observe what is read
 * once per instance. It reads raw bytes because Node's HTTP parser rejects Vault's `LIST` verb; the provider
 * sends only GET and LIST, which carry no body, so each request is a head ending in a blank line.
 */
async function startRecordingRelay(target: string): Promise<RecordingRelay> {
  const upstreamUrl = new URL(target);
  const requests: string[] = [];
  const sockets = new Set<net.Socket>();
  const relay = net.createServer((client) => {
    const upstream = net.connect(Number(upstreamUrl.port), upstreamUrl.hostname);
    sockets.add(client).add(upstream);
    let pending = "";
    client.on("data", (chunk: Buffer) => {
      pending += chunk.toString("latin1");
      for (let end = pending.indexOf("\r\n\r\n"); end >= 0; end = pending.indexOf("\r\n\r\n")) {
        const [method, requestTarget] = pending.slice(0, pending.indexOf("\r\n")).split(" ");
        requests.push(`${method} ${requestTarget}`);
        pending = pending.slice(end + 4);
      }
    });
    client.pipe(upstream);
    upstream.pipe(client);
    const drop = () => {
      client.destroy();
      upstream.destroy();
    };
    for (const socket of [client, upstream]) socket.on("error", drop).on("close", drop);
  });
  await new Promise<void>((resolve) => relay.listen(0, "127.0.0.1", resolve));
  const { port } = relay.address() as net.AddressInfo;
  return {
    address: `http://127.0.0.1:${port}`,
    requests,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => relay.close(() => resolve()));
    },
  };
}

describe("hashicorp-vault provider on OpenBao: a seeded namespace", () => {
  let namespace: string;
  let namespacePath: string;
  let audit: FileAuditDevice;
  let sourceConfig: ReturnType<typeof HashicorpVaultSourceSchema.parse>;
  let rotatedAt: number;

  beforeAll(async () => {
    namespace = uniqueName("kpns");
    namespacePath = await createNamespace(server, namespace);
    const admin = vaultClient(server, namespace);

    await enableTransit(admin, "transit");
    await enableTransit(admin, "team-a/transit");
    await enableTransit(admin, "empty-transit");
    await admin.write("sys/mounts/secrets", { type: "kv" });

    await createTransitKey(admin, "transit", "payments", {
      type: "aes256-gcm96",
      auto_rotate_period: "720h",
    });
    await createTransitKey(admin, "transit", "signing", { type: "ecdsa-p256", exportable: true });
    await createTransitKey(admin, "transit", "legacy", {
      type: "aes128-gcm96",
      exportable: true,
      allow_plaintext_backup: true,
    });
    await createTransitKey(admin, "transit", "mac", { type: "hmac", key_size: 32 });
    await createTransitKey(admin, "team-a/transit", "orders", {
      type: "rsa-2048",
      auto_rotate_period: 365 * 86_400,
    });

    await writePolicy(
      admin,
      "app",
      [
        "# least privilege: one key, two operations",
        'path "transit/encrypt/payments" {',
        '  capabilities = ["update"]',
        "}",
        'path "transit/decrypt/payments" {',
        '  capabilities = ["update"]',
        "}",
      ].join("\n"),
    );
    await writePolicy(
      admin,
      "glob-ops",
      [
        'path "transit/decrypt/*" { capabilities = ["update"] }',
        'path "team-a/transit/keys/+" { capabilities = ["read", "delete"] }',
      ].join("\n"),
    );
    await writePolicy(
      admin,
      "key-admin",
      'path "transit/keys/payments/*" {\n  capabilities = ["update", "sudo"]\n}\n',
    );
    await writePolicy(admin, "deny-legacy", 'path "transit/+/legacy" {\n  capabilities = ["deny"]\n}\n');
    const defaultPolicy = await readPolicy(admin, "default");
    await writePolicy(
      admin,
      "default",
      `${defaultPolicy}\npath "team-a/transit/decrypt/orders" {\n  capabilities = ["update"]\n}\n`,
    );

    const auditFile = path.join(directory, `${namespace}-audit.log`);
    audit = await enableFileAudit(server, uniqueName("kpaudit"), auditFile);

    const appToken = await createToken(admin, { policies: ["app"], displayName: "billing" });
    const app = vaultClient(server, namespace, appToken);
    const ciphertext = await encrypt(app, "transit", "payments", "card 4111");
    expect(await decrypt(app, "transit", "payments", ciphertext)).toBe("card 4111");
    await expect(decrypt(app, "transit", "legacy", ciphertext)).rejects.toThrow(/permission denied/);
    await rotateTransitKey(admin, "transit", "payments");
    rotatedAt = Date.now();

    sourceConfig = HashicorpVaultSourceSchema.parse({
      id: "vault-it",
      type: "hashicorp-vault",
      address: server.address,
      namespace: namespacePath,
      auditLogFile: auditFile,
    });
  });

  afterAll(async () => {
    await audit?.disable();
    if (namespace !== undefined) await deleteNamespace(server, namespace);
  });

  function provider() {
    return createHashicorpVaultProvider(sourceConfig, { env: { VAULT_TOKEN: server.token } });
  }

  it("has one location, the namespace's URL prefix, and names the cluster", async () => {
    const vault = provider();
    expect(vault.type).toBe("hashicorp-vault");
    expect(vault.listLocations()).toEqual([`${server.address}/v1/${namespace}`]);
    expect(await vault.describeAccount()).toMatch(new RegExp(`^vault-cluster-[0-9a-f]+/${namespace}/$`));
  });

  it("collects every transit key of every transit mount, nothing else, with no gaps", async () => {
    const vault = provider();
    const [location] = vault.listLocations();
    const snapshot = await collectLocation(vault, location ?? "");
    expect(snapshot.gaps).toEqual([]);
    // `empty-transit` answers its LIST with 404 {"errors":[]}: no keys, and no gap either; `secrets` is kv.
    expect(snapshot.keys.map((key) => key.keyId)).toEqual([
      "team-a/transit/orders",
      "transit/legacy",
      "transit/mac",
      "transit/payments",
      "transit/signing",
    ]);
    for (const key of snapshot.keys) {
      expect(key).toMatchObject({
        source: "vault-it",
        sourceType: "hashicorp-vault",
        location,
        manager: "customer",
        errors: [],
      });
      expect(key.arn).toBe(
        `${server.address}/v1/${namespacePath}${key.keyId.replace(/\/([^/]+)$/, "/keys/$1")}`,
      );
    }
  });

  it("normalizes symmetric keys: versions from unix seconds, rotation period, next rotation", async () => {
    const vault = provider();
    const snapshot = await collectLocation(vault, vault.listLocations()[0] ?? "");
    const payments = keyById(snapshot.keys, "transit/payments");
    expect(payments).toMatchObject({
      keySpec: "aes256-gcm96",
      rawKeyType: "aes256-gcm96",
      keyUsage: "encrypt-decrypt",
      origin: "platform",
      state: "enabled",
      hsmBacked: false,
      aliases: ["payments"],
    });
    expect(payments.rotation.ok).toBe(true);
    if (!payments.rotation.ok) return;
    const rotation = payments.rotation.value;
    expect(rotation.enabled).toBe(true);
    expect(rotation.periodDays).toBe(30);
    expect(rotation.history).toHaveLength(1);
    expect(rotation.history[0]?.type).toBe("new-version");
    // Vault stores symmetric version times in whole seconds.
    const last = Date.parse(rotation.lastRotation ?? "");
    expect(Math.abs(last - rotatedAt)).toBeLessThan(5_000);
    expect(rotation.nextRotation).toBe(new Date(last + 30 * 86_400_000).toISOString());
    expect(rotation.detail).toMatchObject({
      autoRotatePeriodSeconds: 2_592_000,
      latestVersion: 2,
      minDecryptionVersion: 1,
    });
    expect(payments.createdAt).toBeDefined();
    expect(payments.raw["vault:GET transit/keys/payments"]).toMatchObject({
      ok: true,
      value: { exportable: false, allow_plaintext_backup: false, deletion_allowed: false, latest_version: 2 },
    });
    expect(payments.raw["vault:GET sys/mounts"]).toMatchObject({ ok: true, value: { type: "transit" } });
  });

  it("normalizes asymmetric and HMAC keys: object-shaped versions, no `keys` map, rotation off", async () => {
    const vault = provider();
    const snapshot = await collectLocation(vault, vault.listLocations()[0] ?? "");
    const signing = keyById(snapshot.keys, "transit/signing");
    expect(signing).toMatchObject({ keySpec: "ecdsa-p256", keyUsage: "sign-verify", state: "enabled" });
    expect(signing.createdAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    expect(signing.rotation).toMatchObject({ ok: true, value: { enabled: false, history: [] } });
    if (signing.rotation.ok) {
      expect(signing.rotation.value.periodDays).toBeUndefined();
      // One version: created, never rotated, so no lastRotation (the creation is createdAt).
      expect(signing.rotation.value.lastRotation).toBeUndefined();
    }
    expect(signing.raw["vault:GET transit/keys/signing"]).toMatchObject({
      ok: true,
      value: { exportable: true },
    });
    // The typed facts checks judge, from the same read.
    expect(signing).toMatchObject({ exportable: true, allowPlaintextBackup: false });

    const orders = keyById(snapshot.keys, "team-a/transit/orders");
    expect(orders).toMatchObject({ keySpec: "rsa-2048", keyUsage: "encrypt-decrypt+sign-verify" });
    expect(orders.rotation).toMatchObject({ ok: true, value: { enabled: true, periodDays: 365 } });

    const mac = keyById(snapshot.keys, "transit/mac");
    expect(mac).toMatchObject({ keySpec: "hmac", keyUsage: "hmac" });
    expect(mac.rotation).toMatchObject({ ok: true, value: { enabled: false } });

    const legacy = keyById(snapshot.keys, "transit/legacy");
    expect(legacy.raw["vault:GET transit/keys/legacy"]).toMatchObject({
      ok: true,
      value: { exportable: true, allow_plaintext_backup: true },
    });
  });

  it("computes which policies reach each key, with Vault's glob, `+` and priority rules", async () => {
    const vault = provider();
    const snapshot = await collectLocation(vault, vault.listLocations()[0] ?? "");

    const payments = keyById(snapshot.keys, "transit/payments");
    expect(payments.access.ok).toBe(true);
    if (!payments.access.ok) return;
    expect(payments.access.value.grants).toEqual([
      {
        principal: "app",
        principalKind: "policy",
        effect: "allow",
        actions: ["transit:decrypt", "update"],
        via: "acl-policy",
        reference: "transit/decrypt/payments",
      },
      {
        principal: "app",
        principalKind: "policy",
        effect: "allow",
        actions: ["transit:encrypt", "update"],
        via: "acl-policy",
        reference: "transit/encrypt/payments",
      },
      {
        principal: "glob-ops",
        principalKind: "policy",
        effect: "allow",
        actions: ["transit:decrypt", "update"],
        via: "acl-policy",
        reference: "transit/decrypt/*",
      },
      {
        principal: "key-admin",
        principalKind: "policy",
        effect: "allow",
        actions: [
          "transit:configure-key",
          "transit:import-key",
          "transit:manage-certificate",
          "transit:rotate-key",
          "transit:soft-delete-key",
          "transit:trim-key",
          "update",
          "sudo",
        ],
        via: "acl-policy",
        reference: "transit/keys/payments/*",
      },
    ]);
    expect(payments.access.value.documents.map((document) => document.name)).toEqual([
      "app",
      "glob-ops",
      "key-admin",
    ]);
    expect(payments.access.value.documents[0]?.document).toContain('path "transit/encrypt/payments"');

    const legacy = keyById(snapshot.keys, "transit/legacy");
    expect(legacy.access.ok && legacy.access.value.grants).toEqual([
      expect.objectContaining({ principal: "deny-legacy", effect: "deny", reference: "transit/+/legacy" }),
      expect.objectContaining({
        principal: "glob-ops",
        effect: "allow",
        actions: ["transit:decrypt", "update"],
      }),
    ]);
    if (legacy.access.ok) {
      expect(legacy.access.value.grants[0]?.actions).toEqual(
        expect.arrayContaining([
          "transit:decrypt",
          "transit:encrypt",
          "transit:read-key",
          "transit:backup-key",
          "deny",
        ]),
      );
    }

    const orders = keyById(snapshot.keys, "team-a/transit/orders");
    expect(orders.access.ok && orders.access.value.grants).toEqual([
      expect.objectContaining({
        principal: "default",
        actions: ["transit:decrypt", "update"],
        reference: "team-a/transit/decrypt/orders",
      }),
      expect.objectContaining({
        principal: "glob-ops",
        actions: ["transit:delete-key", "transit:read-key", "read", "delete"],
        reference: "team-a/transit/keys/+",
      }),
    ]);

    // Only the `decrypt/*` glob reaches the HMAC key; `root` is never evaluated as an ACL.
    const mac = keyById(snapshot.keys, "transit/mac");
    expect(mac.access.ok && mac.access.value.grants).toEqual([
      expect.objectContaining({ principal: "glob-ops", reference: "transit/decrypt/*" }),
    ]);
    expect(mac.access.ok && mac.access.value.documents.map((document) => document.name)).toEqual([
      "glob-ops",
    ]);
  });

  it("records a templated policy path that may reach a key as undetermined, and the check warns", async () => {
    const admin = vaultClient(server, namespace);
    await writePolicy(
      admin,
      "per-entity",
      'path "transit/encrypt/{{identity.entity.name}}" {\n  capabilities = ["update"]\n}\n',
    );
    try {
      const vault = provider();
      const snapshot = await collectLocation(vault, vault.listLocations()[0] ?? "");
      const payments = keyById(snapshot.keys, "transit/payments");
      if (!payments.access.ok) throw new Error(JSON.stringify(payments.access.error));
      expect(payments.access.value.undetermined).toEqual([
        {
          principal: "per-entity",
          reference: "transit/encrypt/{{identity.entity.name}}",
          reason: expect.stringContaining("resolves per token identity"),
        },
      ]);
      // The literal reading grants nothing: it is not a grant, and not nothing either.
      expect(payments.access.value.grants.some((grant) => grant.principal === "per-entity")).toBe(false);
      expect(payments.access.value.documents.map((document) => document.name)).toContain("per-entity");
      // payments also has known problems in this namespace (they fail, whatever is unknown); with only the
      // templated rule left, the collected facts make a warn.
      const onlyTemplated = {
        ...payments,
        access: { ...payments.access, value: { ...payments.access.value, grants: [] } },
      };
      const [finding] = leastPrivilegeCheck.run(makeSnapshot({ keys: [onlyTemplated], usage: [] }));
      expect(finding).toMatchObject({
        status: "warn",
        message: expect.stringContaining("depends on the token's identity: policy per-entity"),
      });
    } finally {
      await admin.delete("sys/policies/acl/per-entity");
    }
  });

  it("lists the audit devices of the root namespace as logging sinks", async () => {
    const vault = provider();
    const snapshot = await collectLocation(vault, vault.listLocations()[0] ?? "");
    expect(snapshot.logging.errors).toEqual([]);
    expect(snapshot.logging.sinks).toContainEqual({
      kind: "vault-audit-device",
      name: `${audit.path}/`,
      reference: `${server.address}/v1/sys/audit/${audit.path}/`,
      active: true,
      coversKeyEvents: true,
      coverageReason: expect.stringContaining("every authenticated request"),
      destination: audit.file,
      retention: { kind: "unknown", reason: expect.stringContaining("log rotation") },
      auditDeviceType: "file",
      detail: expect.objectContaining({ type: "file" }),
    });
  });

  it("types a file and a socket device, and the monitoring checks judge them (redundant, off the host)", async () => {
    // A socket device needs a listener: OpenBao dials it when the device is enabled and for every record.
    const received: Buffer[] = [];
    const sockets = new Set<net.Socket>();
    const listener = net.createServer((socket) => {
      sockets.add(socket);
      socket.on("data", (chunk: Buffer) => received.push(chunk));
      socket.on("close", () => sockets.delete(socket));
      socket.on("error", () => undefined);
    });
    await new Promise<void>((resolve) => listener.listen(0, "127.0.0.1", resolve));
    const { port } = listener.address() as net.AddressInfo;
    const root = vaultClient(server);
    const socketPath = uniqueName("kpsocket");
    try {
      await root.write(`sys/audit/${socketPath}`, {
        type: "socket",
        options: { address: `127.0.0.1:${port}`, socket_type: "tcp", format: "json" },
      });
      const vault = provider();
      const snapshot = await collectLocation(vault, vault.listLocations()[0] ?? "");
      expect(snapshot.logging.errors).toEqual([]);
      const byName = new Map(snapshot.logging.sinks.map((sink) => [sink.name, sink]));
      expect(byName.get(`${audit.path}/`)).toMatchObject({
        auditDeviceType: "file",
        destination: audit.file,
      });
      expect(byName.get(`${socketPath}/`)).toMatchObject({
        kind: "vault-audit-device",
        active: true,
        coversKeyEvents: true,
        auditDeviceType: "socket",
        destination: `tcp://127.0.0.1:${port}`,
        reference: `${server.address}/v1/sys/audit/${socketPath}/`,
      });
      // The collect requests above went through the device: records really reach the listener.
      expect(received.length).toBeGreaterThan(0);

      // Judge only this test's two devices: other tests on a shared server may enable their own meanwhile.
      const ours = {
        ...snapshot,
        logging: {
          ...snapshot.logging,
          sinks: snapshot.logging.sinks.filter((sink) =>
            [`${audit.path}/`, `${socketPath}/`].includes(sink.name),
          ),
        },
      };
      const judged = makeSnapshot({
        sources: [
          {
            source: "vault-it",
            type: "hashicorp-vault",
            locations: [ours],
            usage: [],
            changes: [],
            gaps: [],
          },
        ],
      });
      expect(auditRedundantCheck.run(judged)).toEqual([
        expect.objectContaining({
          status: "pass",
          message: `2 audit devices record every request: ${audit.path}/ (file), ${socketPath}/ (socket)`,
        }),
      ]);
      expect(auditMonitoredCheck.run(judged)).toEqual([
        expect.objectContaining({
          status: "pass",
          message: `audit records leave the Vault host through ${socketPath}/ (socket)`,
        }),
      ]);
      // With the file device alone, only a declared shipper makes it redundant.
      const fileOnly = makeSnapshot({
        sources: [
          {
            source: "vault-it",
            type: "hashicorp-vault",
            locations: [
              {
                ...ours,
                logging: {
                  ...ours.logging,
                  sinks: ours.logging.sinks.filter((sink) => sink.auditDeviceType === "file"),
                },
              },
            ],
            usage: [],
            changes: [],
            gaps: [],
          },
        ],
      });
      expect(auditRedundantCheck.run(fileOnly)[0]?.status).toBe("fail");
      expect(
        auditRedundantCheck.run({
          ...fileOnly,
          policy: {
            ...fileOnly.policy,
            monitoring: { destinations: [{ source: "vault-it", name: "fluent-bit", kind: "shipper" }] },
          },
        })[0],
      ).toMatchObject({ status: "pass", message: expect.stringContaining("declared shipper fluent-bit") });
    } finally {
      // Disable before closing the listener, so the shared server never keeps dialling a closed port.
      await root.delete(`sys/audit/${socketPath}`).catch(() => undefined);
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => listener.close(() => resolve()));
    }
  });

  it("streams usage from the audit log the server wrote: who used which key, and denied calls", async () => {
    const vault = provider();
    const location = vault.listLocations()[0] ?? "";
    await collectLocation(vault, location);
    const usage = vault.streamUsage(location, rangeAroundToday());
    expect(usage.method).toBe("vault-audit-file");
    const { events, gaps } = await drain(usage.items);
    expect(gaps).toEqual([]);
    const brief = events.map((event) => `${event.action} ${event.keyId} ${event.principal} ${event.outcome}`);
    // The app token is `token-billing`; the dev server's root token is named `token`.
    expect(brief.slice(0, 4)).toEqual([
      "transit/encrypt transit/payments token-billing success",
      "transit/decrypt transit/payments token-billing success",
      "transit/decrypt transit/legacy token-billing failure",
      "transit/rotate-key transit/payments token success",
    ]);
    // Reading a key is key administration too: the collector's own reads are recorded.
    expect(brief).toContain("transit/read-key transit/payments token success");
    const denied = events.find((event) => event.keyId === "transit/legacy" && event.outcome === "failure");
    expect(denied).toMatchObject({
      source: "vault-it",
      location,
      keyReference: `${namespacePath}transit/decrypt/legacy`,
      errorCode: "permission denied",
      sourceAddress: "127.0.0.1",
      origin: expect.stringMatching(new RegExp(`${path.basename(audit.file)}:\\d+$`)),
    });
    // One event per call: the `request` entry of each pair is not counted again.
    expect(new Set(events.map((event) => event.eventId)).size).toBe(events.length);
    // Requests of other namespaces (other tests on a shared server) never leak in.
    expect(events.every((event) => event.keyReference?.startsWith(namespacePath))).toBe(true);
  });

  it("keeps HMAC'd values as written: a token without a display name is known by its hashed accessor", async () => {
    const audited = await readFile(audit.file, "utf8");
    const line = audited.split("\n").find((entry) => entry.includes('"transit/encrypt/payments"'));
    expect(line).toContain('"accessor":"hmac-sha256:');
    const copy = path.join(directory, `${namespace}-no-display-name.log`);
    const rewritten = audited
      .split("\n")
      .filter((entry) => entry.length > 0)
      .map((entry) => {
        const parsed = JSON.parse(entry) as { auth?: { display_name?: string } };
        if (parsed.auth !== undefined) delete parsed.auth.display_name;
        return JSON.stringify(parsed);
      })
      .join("\n");
    await writeFile(copy, `${rewritten}\n`);
    const vault = createHashicorpVaultProvider(
      { ...sourceConfig, auditLogFile: copy },
      { env: { VAULT_TOKEN: server.token } },
    );
    const { events } = await drain(
      vault.streamUsage(vault.listLocations()[0] ?? "", rangeAroundToday()).items,
    );
    const encryptEvent = events.find((event) => event.action === "transit/encrypt");
    expect(encryptEvent?.principal).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
  });

  it("turns unparsable audit lines into gaps naming file and line, and keeps reading", async () => {
    const copy = path.join(directory, `${namespace}-damaged.log`);
    await copyFile(audit.file, copy);
    const lineCount = (await readFile(copy, "utf8")).split("\n").filter((line) => line.length > 0).length;
    await appendFile(copy, 'this is not json\n{"time":"2026-01-01T00:00:00Z","type":"resp\n');
    const vault = createHashicorpVaultProvider(
      { ...sourceConfig, auditLogFile: copy },
      { env: { VAULT_TOKEN: server.token } },
    );
    const { events, gaps } = await drain(
      vault.streamUsage(vault.listLocations()[0] ?? "", rangeAroundToday()).items,
    );
    expect(events.length).toBeGreaterThanOrEqual(6);
    expect(gaps).toEqual([
      expect.objectContaining({ object: `${copy}:${lineCount + 1}`, code: "UnparsableLine" }),
      expect.objectContaining({ object: `${copy}:${lineCount + 2}`, code: "UnparsableLine" }),
    ]);
  });

  it("reads only the range asked for", async () => {
    const vault = provider();
    const { events, gaps } = await drain(
      vault.streamUsage(vault.listLocations()[0] ?? "", parseRange("2020-01-01", "2020-01-31")).items,
    );
    expect({ events, gaps }).toEqual({ events: [], gaps: [] });
  });

  it("records a token's missing permissions per call and still returns every key", async () => {
    const admin = vaultClient(server, namespace);
    await writePolicy(
      admin,
      "collector-limited",
      [
        'path "sys/mounts" { capabilities = ["read"] }',
        'path "transit/keys" { capabilities = ["list"] }',
        'path "team-a/transit/keys" { capabilities = ["list"] }',
        'path "empty-transit/keys" { capabilities = ["list"] }',
        'path "transit/keys/*" { capabilities = ["read"] }',
        'path "team-a/transit/keys/*" { capabilities = ["read"] }',
        'path "transit/keys/legacy" { capabilities = ["deny"] }',
        'path "sys/policies/acl" { capabilities = ["list"] }',
        'path "sys/policies/acl/*" { capabilities = ["read"] }',
        'path "sys/policies/acl/key-admin" { capabilities = ["deny"] }',
      ].join("\n"),
    );
    const token = await createToken(admin, {
      policies: ["collector-limited"],
      displayName: "collector",
      noDefaultPolicy: true,
    });
    const vault = createHashicorpVaultProvider(sourceConfig, { env: { VAULT_TOKEN: token } });
    const snapshot = await collectLocation(vault, vault.listLocations()[0] ?? "");

    expect(snapshot.gaps).toEqual([]);
    expect(snapshot.keys).toHaveLength(5);
    const legacy = keyById(snapshot.keys, "transit/legacy");
    expect(legacy).toMatchObject({ keySpec: "UNKNOWN", state: "unavailable" });
    expect(legacy.rotation).toMatchObject({
      ok: false,
      error: {
        call: "vault:GET transit/keys/legacy",
        code: "PermissionDenied",
        message: "permission denied",
        retryable: false,
      },
    });
    expect(legacy.errors).toEqual([expect.objectContaining({ call: "vault:GET transit/keys/legacy" })]);
    expect(keyById(snapshot.keys, "transit/payments").rotation.ok).toBe(true);
    for (const key of snapshot.keys) {
      expect(key.access).toMatchObject({
        ok: false,
        error: { call: "vault:GET sys/policies/acl/key-admin", code: "PermissionDenied" },
      });
    }
    // A namespace token cannot read the root namespace's audit devices: recorded, not hidden.
    expect(snapshot.logging.sinks).toEqual([]);
    expect(snapshot.logging.errors).toEqual([expect.objectContaining({ call: "vault:GET sys/audit" })]);
    // The monitoring checks answer error naming the call, never fail: the devices may well exist.
    const judged = makeSnapshot({
      sources: [
        {
          source: "vault-it",
          type: "hashicorp-vault",
          locations: [snapshot],
          usage: [],
          changes: [],
          gaps: [],
        },
      ],
    });
    for (const monitoringCheck of [auditRedundantCheck, auditMonitoredCheck]) {
      expect(monitoringCheck.run(judged)).toEqual([
        expect.objectContaining({
          status: "error",
          message: expect.stringContaining(
            "the audit devices could not be listed: vault:GET sys/audit failed (PermissionDenied)",
          ),
        }),
      ]);
    }
  });

  it("collects configured mounts with a token that may not read sys/mounts", async () => {
    const admin = vaultClient(server, namespace);
    await writePolicy(
      admin,
      "collector-mounts-only",
      [
        'path "transit/keys" { capabilities = ["list"] }',
        'path "transit/keys/*" { capabilities = ["read"] }',
        'path "sys/policies/acl" { capabilities = ["list"] }',
        'path "sys/policies/acl/*" { capabilities = ["read"] }',
      ].join("\n"),
    );
    const token = await createToken(admin, {
      policies: ["collector-mounts-only"],
      displayName: "scoped",
      noDefaultPolicy: true,
    });
    const scoped = createHashicorpVaultProvider(
      { ...sourceConfig, mounts: ["transit"] },
      { env: { VAULT_TOKEN: token } },
    );
    const snapshot = await collectLocation(scoped, scoped.listLocations()[0] ?? "");
    expect(snapshot.gaps).toEqual([]);
    expect(snapshot.keys.map((key) => key.keyId)).toEqual([
      "transit/legacy",
      "transit/mac",
      "transit/payments",
      "transit/signing",
    ]);
    expect(snapshot.keys[0]?.raw["vault:GET sys/mounts"]).toMatchObject({
      ok: false,
      error: { code: "PermissionDenied" },
    });

    // Without configured mounts nothing can be enumerated: the location is a gap.
    const unscoped = createHashicorpVaultProvider(sourceConfig, { env: { VAULT_TOKEN: token } });
    const blind = await collectLocation(unscoped, unscoped.listLocations()[0] ?? "");
    expect(blind.keys).toEqual([]);
    expect(blind.gaps).toEqual([
      expect.objectContaining({
        error: expect.objectContaining({ call: "vault:GET sys/mounts", code: "PermissionDenied" }),
      }),
    ]);
  });

  it("turns a token that may not list policies into an access error on every key", async () => {
    const admin = vaultClient(server, namespace);
    await writePolicy(
      admin,
      "collector-no-policies",
      [
        'path "sys/mounts" { capabilities = ["read"] }',
        'path "transit/keys" { capabilities = ["list"] }',
        'path "team-a/transit/keys" { capabilities = ["list"] }',
        'path "empty-transit/keys" { capabilities = ["list"] }',
        'path "+/keys/*" { capabilities = ["read"] }',
        'path "team-a/transit/keys/*" { capabilities = ["read"] }',
      ].join("\n"),
    );
    const token = await createToken(admin, {
      policies: ["collector-no-policies"],
      displayName: "nopol",
      noDefaultPolicy: true,
    });
    const vault = createHashicorpVaultProvider(sourceConfig, { env: { VAULT_TOKEN: token } });
    const snapshot = await collectLocation(vault, vault.listLocations()[0] ?? "");
    expect(snapshot.keys).toHaveLength(5);
    expect(snapshot.keys.every((key) => key.rotation.ok)).toBe(true);
    expect(snapshot.keys.map((key) => key.access)).toEqual(
      Array(5).fill(
        expect.objectContaining({
          ok: false,
          error: expect.objectContaining({ call: "vault:LIST sys/policies/acl", code: "PermissionDenied" }),
        }),
      ),
    );
  });

  it("lists sorted references that survive a JSON round trip", async () => {
    const vault = provider();
    const listing = await vault.listKeys(vault.listLocations()[0] ?? "");
    expect(listing.gaps).toEqual([]);
    expect(listing.refs).toStrictEqual([
      { keyId: "team-a/transit/orders", listed: { mount: "team-a/transit", name: "orders" } },
      { keyId: "transit/legacy", listed: { mount: "transit", name: "legacy" } },
      { keyId: "transit/mac", listed: { mount: "transit", name: "mac" } },
      { keyId: "transit/payments", listed: { mount: "transit", name: "payments" } },
      { keyId: "transit/signing", listed: { mount: "transit", name: "signing" } },
    ]);
    expect(roundTrip(listing)).toStrictEqual(listing);
  });

  it("describes two halves in two fresh instances exactly as the whole location", async () => {
    const clock = () => new Date("2026-07-01T00:00:00.000Z");
    const fresh = () =>
      createHashicorpVaultProvider(sourceConfig, { env: { VAULT_TOKEN: server.token }, clock });
    const location = fresh().listLocations()[0] ?? "";
    const whole = await collectLocation(fresh(), location);
    expect(whole.gaps).toEqual([]);
    expect(whole.keys).toHaveLength(5);

    const refs = roundTrip((await fresh().listKeys(location)).refs);
    const [first, second] = await Promise.all([
      fresh().collectKeys(location, refs.slice(0, 2)),
      fresh().collectKeys(location, refs.slice(2)),
    ]);
    expect([...first.gaps, ...second.gaps]).toEqual([]);
    expect(JSON.stringify([...first.keys, ...second.keys])).toBe(JSON.stringify(whole.keys));
  });

  it("reads the mount table, the policies and each mount's key names once per instance across batches", async () => {
    const relay = await startRecordingRelay(server.address);
    try {
      const refs = roundTrip((await provider().listKeys(provider().listLocations()[0] ?? "")).refs);
      const relayed = () =>
        createHashicorpVaultProvider(
          { ...sourceConfig, address: relay.address },
          { env: { VAULT_TOKEN: server.token } },
        );
      const batches = relayed();
      const location = batches.listLocations()[0] ?? "";
      // team-a/transit/orders, transit/legacy, transit/mac | transit/payments, transit/signing
      const first = await batches.collectKeys(location, refs.slice(0, 3));
      const second = await batches.collectKeys(location, refs.slice(3));
      expect([...first.keys, ...second.keys].map((key) => key.keyId)).toEqual(refs.map((ref) => ref.keyId));
      expect([...first.keys, ...second.keys].every((key) => key.access.ok && key.rotation.ok)).toBe(true);
      const shared = [
        "GET /v1/sys/mounts",
        "LIST /v1/sys/policies/acl",
        "GET /v1/sys/policies/acl/app",
        "LIST /v1/transit/keys",
        "LIST /v1/team-a/transit/keys",
      ];
      expect(relay.requests).toEqual(expect.arrayContaining(shared));
      // Nothing is requested twice: the second batch reused what the first read (transit is in both).
      expect(relay.requests).toEqual([...new Set(relay.requests)]);
      expect(relay.requests).not.toContain("LIST /v1/empty-transit/keys");

      // A fresh instance reads the shared facts again; listing and describing in one instance read them once.
      relay.requests.length = 0;
      await relayed().collectKeys(location, refs.slice(3));
      expect(relay.requests).toEqual(
        expect.arrayContaining(shared.filter((request) => !request.includes("team-a"))),
      );
      relay.requests.length = 0;
      const whole = await collectLocation(relayed(), location);
      expect(whole.keys).toHaveLength(5);
      expect(relay.requests).toEqual(expect.arrayContaining([...shared, "LIST /v1/empty-transit/keys"]));
      expect(relay.requests).toEqual([...new Set(relay.requests)]);
    } finally {
      await relay.close();
    }
  });

  it("turns a malformed reference into a gap naming the key and describes the others", async () => {
    const vault = provider();
    const location = vault.listLocations()[0] ?? "";
    const refs = JSON.parse(
      JSON.stringify([
        { keyId: "transit/payments", listed: { mount: "transit", name: "payments" } },
        { keyId: "transit/mac" },
        { keyId: "transit/signing", listed: { mount: 7, name: "signing" } },
        { keyId: "transit/legacy", listed: { mount: "transit", name: "payments" } },
        { keyId: "transit/legacy", listed: { mount: "/transit/", name: "legacy" } },
        { listed: { mount: "transit", name: "payments" } },
        { keyId: "team-a/transit/orders", listed: { mount: "team-a/transit", name: "orders" } },
      ]),
    ) as KeyRef[];
    const batch = await vault.collectKeys(location, refs);
    expect(batch.keys.map((key) => [key.keyId, key.errors])).toEqual([
      ["transit/payments", []],
      ["team-a/transit/orders", []],
    ]);
    const malformed = (keyId: string, reason: RegExp) => ({
      source: "vault-it",
      location,
      error: {
        call: "keyproof:read key reference",
        code: "MalformedKeyRef",
        message: expect.stringMatching(new RegExp(`^key reference ${keyId}: .*${reason.source}`)),
        retryable: false,
      },
    });
    expect(batch.gaps).toEqual([
      malformed('"transit/mac"', /listed/),
      malformed('"transit/signing"', /listed\.mount/),
      malformed('"transit/legacy"', /not the key id/),
      malformed('"transit/legacy"', /slash/),
      malformed("without a key id", /keyId is not a string/),
    ]);

    // A reference outside the configured mounts was not listed by this source.
    const scoped = createHashicorpVaultProvider(
      { ...sourceConfig, mounts: ["transit"] },
      { env: { VAULT_TOKEN: server.token } },
    );
    const outside = await scoped.collectKeys(location, refs.slice(-1));
    expect(outside.keys).toEqual([]);
    expect(outside.gaps).toEqual([malformed('"team-a/transit/orders"', /not one of the configured mounts/)]);
  });

  it("keeps access unknown on a batch's keys when the mount's key names cannot be listed", async () => {
    const admin = vaultClient(server, namespace);
    await writePolicy(
      admin,
      "collector-no-list",
      [
        'path "sys/mounts" { capabilities = ["read"] }',
        'path "transit/keys/*" { capabilities = ["read"] }',
        'path "sys/policies/acl" { capabilities = ["list"] }',
        'path "sys/policies/acl/*" { capabilities = ["read"] }',
      ].join("\n"),
    );
    const token = await createToken(admin, {
      policies: ["collector-no-list"],
      displayName: "nolist",
      noDefaultPolicy: true,
    });
    const refs = roundTrip((await provider().listKeys(provider().listLocations()[0] ?? "")).refs);
    const vault = createHashicorpVaultProvider(sourceConfig, { env: { VAULT_TOKEN: token } });
    const batch = await vault.collectKeys(vault.listLocations()[0] ?? "", refs.slice(1, 3));
    expect(batch.gaps).toEqual([]);
    expect(batch.keys.map((key) => key.keyId)).toEqual(["transit/legacy", "transit/mac"]);
    for (const key of batch.keys) {
      expect(key.rotation.ok).toBe(true);
      // Without the names, `byok-export/<other key>/<key>` paths could not be evaluated.
      expect(key.access).toMatchObject({
        ok: false,
        error: { call: "vault:LIST transit/keys", code: "PermissionDenied" },
      });
    }
  });
});

describe("hashicorp-vault provider on OpenBao: root namespace, mounts restriction, failures", () => {
  let mount: string;

  beforeAll(async () => {
    mount = `${uniqueName("kpmount")}/transit`;
    const admin = vaultClient(server);
    await enableTransit(admin, mount);
    await createTransitKey(admin, mount, "alpha", { type: "chacha20-poly1305", auto_rotate_period: "2160h" });
  });

  afterAll(async () => {
    await vaultClient(server)
      .delete(`sys/mounts/${mount}`)
      .catch(() => undefined);
  });

  it("collects only the configured mounts and reports a configured mount that does not exist", async () => {
    const missing = `${uniqueName("kpmissing")}/transit`;
    const vault = createHashicorpVaultProvider(
      HashicorpVaultSourceSchema.parse({
        id: "vault-root",
        type: "hashicorp-vault",
        address: `${server.address}/`,
        mounts: [`${mount}/`, missing, "sys"],
      }),
      { env: { VAULT_TOKEN: server.token } },
    );
    expect(vault.listLocations()).toEqual([server.address]);
    const snapshot = await collectLocation(vault, server.address);
    expect(snapshot.keys.map((key) => key.keyId)).toEqual([`${mount}/alpha`]);
    expect(snapshot.keys[0]).toMatchObject({
      keySpec: "chacha20-poly1305",
      arn: `${server.address}/v1/${mount}/keys/alpha`,
      rotation: { ok: true, value: { enabled: true, periodDays: 90 } },
    });
    expect(snapshot.gaps).toEqual([
      expect.objectContaining({
        error: expect.objectContaining({
          code: "MountNotFound",
          message: `configured mount "${missing}" does not exist`,
        }),
      }),
      expect.objectContaining({
        error: expect.objectContaining({
          code: "MountNotFound",
          message: 'configured mount "sys" is a system mount, not transit',
        }),
      }),
    ]);
  });

  it("reads a token from tokenFile relative to the config directory", async () => {
    const tokenFile = path.join(directory, "vault-token");
    await writeFile(tokenFile, `${server.token}\n`);
    const vault = createHashicorpVaultProvider(
      {
        id: "vault-root",
        type: "hashicorp-vault",
        address: server.address,
        mounts: [mount],
        tokenFile: "vault-token",
      },
      { env: {}, baseDirectory: directory },
    );
    const snapshot = await collectLocation(vault, server.address);
    expect(snapshot.gaps).toEqual([]);
    expect(snapshot.keys).toHaveLength(1);
  });

  it("records a missing token as a gap of the location instead of throwing", async () => {
    const vault = createHashicorpVaultProvider(
      { id: "vault-root", type: "hashicorp-vault", address: server.address },
      { env: {} },
    );
    const snapshot = await collectLocation(vault, server.address);
    expect(snapshot.keys).toEqual([]);
    expect(snapshot.gaps).toEqual([
      {
        source: "vault-root",
        location: server.address,
        error: expect.objectContaining({ code: "TokenMissing", retryable: false }),
      },
    ]);
    expect(snapshot.logging.errors).toEqual([
      expect.objectContaining({ call: "keyproof:resolve token", code: "TokenMissing" }),
    ]);
  });

  it("gives each key of a batch the connection failure when its instance cannot connect", async () => {
    const vault = createHashicorpVaultProvider(
      { id: "vault-root", type: "hashicorp-vault", address: server.address, mounts: [mount] },
      { env: {} },
    );
    const batch = await vault.collectKeys(server.address, [
      { keyId: `${mount}/alpha`, listed: { mount, name: "alpha" } },
    ]);
    expect(batch.gaps).toEqual([]);
    expect(batch.keys).toHaveLength(1);
    const tokenMissing = expect.objectContaining({ call: "keyproof:resolve token", code: "TokenMissing" });
    expect(batch.keys[0]).toMatchObject({
      keyId: `${mount}/alpha`,
      arn: `${server.address}/v1/${mount}/keys/alpha`,
      state: "unavailable",
      rotation: { ok: false, error: tokenMissing },
      access: { ok: false, error: tokenMissing },
      raw: {
        "vault:GET sys/mounts": { ok: false, error: tokenMissing },
        [`vault:GET ${mount}/keys/alpha`]: { ok: false, error: tokenMissing },
      },
      errors: [tokenMissing],
    });
  });

  it("answers a location it does not have with a gap and an empty logging status", async () => {
    const vault = createHashicorpVaultProvider(
      { id: "vault-root", type: "hashicorp-vault", address: server.address },
      { env: { VAULT_TOKEN: server.token } },
    );
    const elsewhere = "https://vault.example.invalid";
    const snapshot = await collectLocation(vault, elsewhere);
    expect(snapshot).toEqual({
      source: "vault-root",
      location: elsewhere,
      keys: [],
      logging: {
        source: "vault-root",
        location: elsewhere,
        capturedAt: expect.any(String),
        sinks: [],
        errors: [],
      },
      gaps: [
        {
          source: "vault-root",
          location: elsewhere,
          error: {
            call: "keyproof:collect",
            code: "UnknownLocation",
            message: `source vault-root has one location: ${server.address}`,
            retryable: false,
          },
        },
      ],
    });
    const refs = [{ keyId: `${mount}/alpha`, listed: { mount, name: "alpha" } }];
    expect(await vault.collectKeys(elsewhere, refs)).toEqual({ keys: [], gaps: snapshot.gaps });
  });

  it("records an unreachable server as a gap with its cause", async () => {
    const { createServer } = await import("node:net");
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, "127.0.0.1", () => {
        const address = probe.address();
        probe.close(() => resolve(typeof address === "object" && address !== null ? address.port : 1));
      });
    });
    const address = `http://127.0.0.1:${port}`;
    const vault = createHashicorpVaultProvider(
      { id: "vault-down", type: "hashicorp-vault", address },
      { env: { VAULT_TOKEN: "irrelevant" }, requestTimeoutMs: 2_000 },
    );
    expect(await vault.describeAccount()).toBeUndefined();
    const snapshot = await collectLocation(vault, address);
    expect(snapshot.keys).toEqual([]);
    expect(snapshot.gaps).toEqual([
      {
        source: "vault-down",
        location: address,
        error: {
          call: "vault:GET sys/mounts",
          code: "ECONNREFUSED",
          message: expect.any(String),
          retryable: true,
        },
      },
    ]);
    expect(snapshot.logging.errors).toEqual([
      expect.objectContaining({ call: "vault:GET sys/audit", code: "ECONNREFUSED" }),
    ]);
  });

  it("reports method none and no events when no audit file is configured", async () => {
    const vault = createHashicorpVaultProvider(
      { id: "vault-root", type: "hashicorp-vault", address: server.address },
      { env: { VAULT_TOKEN: server.token } },
    );
    const usage = vault.streamUsage(server.address, rangeAroundToday());
    expect(usage.method).toBe("none");
    expect(await drain(usage.items)).toEqual({ events: [], gaps: [] });
  });
});

describe("the demo Vault estate (scripts/demo/seed-vault-estate.ts)", () => {
  const namespace = uniqueName("kpdemo");
  const auditDevice = uniqueName("kpdemoaudit");

  afterAll(async () => {
    await vaultClient(server)
      .delete(`sys/audit/${auditDevice}`)
      .catch(() => undefined);
    await deleteNamespace(server, namespace);
  });

  it("seeds compliant and non-compliant keys, an inventory missing one key, and usage replayed into the range", async () => {
    const auditLogFile = path.join(directory, `${namespace}.log`);
    const range = parsePeriod("2026-Q3");
    const seeded = await seedVaultDemoEstate({
      address: server.address,
      token: server.token,
      auditLogFile,
      namespace,
      auditDevice,
      sourceId: "vault-demo",
      range,
    });
    expect(seeded.warnings).toEqual([]);
    expect(seeded.source).toEqual({
      id: "vault-demo",
      type: "hashicorp-vault",
      address: server.address,
      namespace: `${namespace}/`,
      auditLogFile,
    });
    expect(HashicorpVaultSourceSchema.safeParse(seeded.source).success).toBe(true);
    expect(seeded.inventory.map((entry) => entry.match)).not.toContain("team-data/transit/reports");

    const vault = createHashicorpVaultProvider(seeded.source, { env: { VAULT_TOKEN: server.token } });
    const location = await collectLocation(vault, vault.listLocations()[0] ?? "");
    expect(location.gaps).toEqual([]);
    const rotation = Object.fromEntries(
      location.keys.map((key) => [
        key.keyId,
        key.rotation.ok ? (key.rotation.value.periodDays ?? 0) : "error",
      ]),
    );
    expect(rotation).toEqual({
      "team-data/transit/analytics": 365,
      "team-data/transit/reports": 0,
      "transit/customer-pii": 180,
      "transit/jwt-signing": 400,
      "transit/legacy-backups": 0,
      "transit/payments-db": 90,
      "transit/session-tokens": 30,
    });

    const snapshot = makeSnapshot({ keys: location.keys, usage: [] });
    const verdicts = (findings: ReturnType<typeof keyExportableCheck.run>) =>
      Object.fromEntries(findings.map((finding) => [finding.keyId, finding.status]));
    expect(verdicts(keyExportableCheck.run(snapshot))).toMatchObject({
      "transit/legacy-backups": "fail",
      "transit/payments-db": "pass",
    });
    expect(verdicts(leastPrivilegeCheck.run(snapshot))).toEqual({
      "team-data/transit/analytics": "fail",
      "team-data/transit/reports": "fail",
      "transit/customer-pii": "pass",
      "transit/jwt-signing": "pass",
      "transit/legacy-backups": "fail",
      "transit/payments-db": "pass",
      "transit/session-tokens": "pass",
    });

    const { events, gaps } = await drain(vault.streamUsage(vault.listLocations()[0] ?? "", range).items);
    expect(gaps).toEqual([]);
    // Three replayed events a day across the 92 days of the quarter, and the one ACL policy write the demo
    // replays mid-quarter (a configuration change of the period: changes.ndjson).
    expect(events).toHaveLength(92 * 3 + 1);
    expect(events.filter((event) => event.action === "sys/policy-write")).toEqual([
      expect.objectContaining({ time: "2026-08-16T10:15:00.000Z", principal: "token" }),
    ]);
    // Replayed entries keep the token names the server wrote (`token-<display name>`; the root token is `token`).
    expect(new Set(events.map((event) => event.principal))).toEqual(
      new Set([
        "token-payments-api",
        "token-pii-service",
        "token-auth-gateway",
        "token-analytics-readers",
        "token-key-rotation",
        "token",
      ]),
    );
    expect(events.map((event) => event.action)).toEqual(
      expect.arrayContaining(["transit/encrypt", "transit/decrypt"]),
    );
  });
});
