/**
 * `namespaces: all` on a real OpenBao dev server (v2.x supports namespaces; test/support/openbao.ts). The test
 * builds its own tree under a unique top namespace, so the walk never reaches another test's namespaces on
 * the shared server:
 *
 *   kpns…/            transit/root-key               readable
 *   kpns…/a/          transit/payments               readable
 *   kpns…/a/deep/     transit/payments (same id)     readable, two levels down
 *   kpns…/b/          transit/hidden                 the token's policy grants nothing here: unreachable
 *   kpns…/c/          transit/c-key                  mounts readable, child listing denied: collected + a gap
 *
 * The walking token is created in the top namespace with a policy there naming child paths (`a/*`), as a
 * namespace administrator's token is in Vault Enterprise; it cannot read the root namespace's audit devices.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import type { DiscoveryRecord, SourceDiscovery } from "../../src/model/discovery.ts";
import type { Finding } from "../../src/model/finding.ts";
import { generateSigningKey } from "../../src/signing/keygen.ts";
import { runCli } from "../support/cli.ts";
import { loadConfig } from "../../src/config/load-config.ts";
import { QueueClient } from "../../src/jobs/queue/queue-client.ts";
import { startWorkerRuntime } from "../../src/jobs/queue/worker-runtime.ts";
import { runQueued } from "../../src/jobs/run-queued.ts";
import { REDIS_URL, cleanupPrefix, uniquePrefix } from "./queue-harness.ts";
import type { UsageEvent, UsageItem } from "../../src/model/usage.ts";
import { HashicorpVaultSourceSchema } from "../../src/config/sources/hashicorp-vault.schema.ts";
import { createHashicorpVaultProvider } from "../../src/providers/hashicorp-vault/hashicorp-vault.provider.ts";
import { diagnoseHashicorpVaultSource } from "../../src/providers/hashicorp-vault/hashicorp-vault.doctor.ts";
import { collectLocation } from "../../src/providers/collect-location.ts";
import { discoverNamespaces } from "../../src/providers/hashicorp-vault/namespace-discovery.ts";
import { createVaultApi } from "../../src/providers/hashicorp-vault/vault-client.ts";
import { discoverSource } from "../../src/providers/discover-source.ts";
import { parseRange } from "../../src/time/date-range.ts";
import {
  acquireOpenBao,
  createNamespace,
  createToken,
  createTransitKey,
  enableFileAudit,
  enableTransit,
  encrypt,
  uniqueName,
  vaultClient,
  writePolicy,
  type FileAuditDevice,
  type OpenBaoServer,
} from "../support/openbao.ts";

let server: OpenBaoServer;
let directory: string;
let top: string;
let topPath: string;
let walkerToken: string;
/** The walker's policy without `auth/token/lookup-self`: it cannot say where it lives. */
let blindToken: string;
let audit: FileAuditDevice | undefined;
let auditFile: string;
/** Namespaces created below `top`, parents first; removed children first. */
const created: string[] = [];

/** The walker's policy, written in the top namespace: child namespaces' paths are prefixed with their name. */
const WALKER_POLICY = [
  // The token may say which namespace it lives in (the `default` policy's grant): see the logging test.
  'path "auth/token/lookup-self" { capabilities = ["read"] }',
  'path "sys/namespaces" { capabilities = ["list"] }',
  'path "sys/mounts" { capabilities = ["read"] }',
  'path "transit/*" { capabilities = ["read", "list"] }',
  'path "sys/policies/acl" { capabilities = ["list"] }',
  'path "sys/policies/acl/*" { capabilities = ["read"] }',
  // a/ and everything below it (a/deep/...), listing included.
  'path "a/*" { capabilities = ["read", "list"] }',
  // c/: its keys, but not its child namespaces.
  'path "c/sys/mounts" { capabilities = ["read"] }',
  'path "c/transit/*" { capabilities = ["read", "list"] }',
  'path "c/sys/policies/acl" { capabilities = ["list"] }',
  'path "c/sys/policies/acl/*" { capabilities = ["read"] }',
].join("\n");

async function createChild(parent: string, name: string): Promise<string> {
  await vaultClient(server, parent).write(`sys/namespaces/${name}`, {});
  const full = `${parent}${name}/`;
  created.push(full);
  return full;
}

/** OpenBao deletes namespaces asynchronously and refuses a parent while a child still exists: retry. */
async function deleteTree(): Promise<void> {
  const order = [...created].reverse().map((full) => {
    const parts = full.replace(/\/$/, "").split("/");
    const name = parts.pop() ?? "";
    return { parent: parts.length === 0 ? "" : `${parts.join("/")}/`, name };
  });
  if (top !== undefined) order.push({ parent: "", name: top });
  for (const { parent, name } of order) {
    for (let attempt = 0; attempt < 20; attempt++) {
      const done = await vaultClient(server, parent)
        .delete(`sys/namespaces/${name}`)
        .then(
          () => true,
          () => false,
        );
      if (done) break;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

function source(overrides: Record<string, unknown> = {}) {
  return HashicorpVaultSourceSchema.parse({
    id: "vault-ns",
    type: "hashicorp-vault",
    address: server.address,
    namespace: topPath,
    namespaces: "all",
    auditLogFile: auditFile,
    ...overrides,
  });
}

function provider(token = walkerToken, overrides: Record<string, unknown> = {}) {
  return createHashicorpVaultProvider(source(overrides), { env: { VAULT_TOKEN: token } });
}

const locationOf = (namespace: string) => `${server.address}/v1/${namespace.replace(/\/$/, "")}`;

async function drain(items: AsyncIterable<UsageItem>): Promise<UsageEvent[]> {
  const events: UsageEvent[] = [];
  for await (const item of items) if (item.kind === "event") events.push(item.event);
  return events;
}

beforeAll(async () => {
  server = await acquireOpenBao();
  directory = await mkdtemp(path.join(os.tmpdir(), "keyproof-vault-ns-"));
  auditFile = path.join(directory, "audit.log");
  top = uniqueName("kpns");
  topPath = await createNamespace(server, top);
  const a = await createChild(topPath, "a");
  const deep = await createChild(a, "deep");
  const b = await createChild(topPath, "b");
  const c = await createChild(topPath, "c");
  for (const namespace of [topPath, a, deep, b, c])
    await enableTransit(vaultClient(server, namespace), "transit");
  await createTransitKey(vaultClient(server, topPath), "transit", "root-key");
  await createTransitKey(vaultClient(server, a), "transit", "payments");
  await createTransitKey(vaultClient(server, deep), "transit", "payments", { exportable: true });
  await createTransitKey(vaultClient(server, b), "transit", "hidden");
  await createTransitKey(vaultClient(server, c), "transit", "c-key");
  const admin = vaultClient(server, topPath);
  await writePolicy(admin, "kp-walker", WALKER_POLICY);
  await writePolicy(admin, "kp-blind", WALKER_POLICY.replace(/^path "auth\/token\/lookup-self".*$/m, ""));
  blindToken = await createToken(admin, {
    policies: ["kp-blind"],
    displayName: "blind",
    noDefaultPolicy: true,
  });
  walkerToken = await createToken(admin, {
    policies: ["kp-walker"],
    displayName: "walker",
    noDefaultPolicy: true,
  });
  // One audit device (root namespace) records every namespace's requests; each location reads its own.
  audit = await enableFileAudit(server, uniqueName("kpnsaudit"), auditFile);
  await encrypt(vaultClient(server, a), "transit", "payments", "in a");
  await encrypt(vaultClient(server, deep), "transit", "payments", "in a/deep");
  await encrypt(vaultClient(server, deep), "transit", "payments", "in a/deep again");
}, 240_000);

afterAll(async () => {
  await audit?.disable();
  if (server !== undefined) await deleteTree();
  await server?.stop();
  if (directory !== undefined) await rm(directory, { recursive: true, force: true });
}, 240_000);

describe("hashicorp-vault namespaces: all on OpenBao", () => {
  let discovery: SourceDiscovery;

  beforeAll(async () => {
    discovery = await discoverSource(provider());
  }, 120_000);

  it("walks the tree two levels deep from the configured namespace, itself included", () => {
    expect(discovery).toMatchObject({
      source: "vault-ns",
      type: "hashicorp-vault",
      method: "vault-namespaces",
    });
    expect(discovery.members.map((member) => [member.id, member.status])).toEqual([
      [topPath, "included"],
      [`${topPath}a/`, "included"],
      [`${topPath}a/deep/`, "included"],
      [`${topPath}b/`, "unreachable"],
      [`${topPath}c/`, "included"],
    ]);
    expect(discovery.locations).toEqual(
      [topPath, `${topPath}a/`, `${topPath}a/deep/`, `${topPath}c/`].map(locationOf).sort(),
    );
    const a = discovery.members.find((member) => member.id === `${topPath}a/`);
    expect(a?.details).toMatchObject({
      childNamespaces: [`${topPath}a/deep/`],
      transitMounts: ["transit/"],
      namespace: { path: `${topPath}a/` },
    });
  });

  it("records every discovery call with its namespace, and the denied ones with their error", () => {
    const byScope = (call: string, scope: string) =>
      discovery.calls.find((entry) => entry.call === call && entry.scope === scope);
    expect(byScope("vault:LIST sys/namespaces", topPath)).toMatchObject({ count: 3, pages: 1 });
    expect(byScope("vault:LIST sys/namespaces", `${topPath}a/`)).toMatchObject({ count: 1 });
    // A leaf answers 404 with no errors: an empty list, not a failure.
    expect(byScope("vault:LIST sys/namespaces", `${topPath}a/deep/`)).toMatchObject({ count: 0 });
    expect(byScope("vault:GET sys/mounts", `${topPath}b/`)?.error).toMatchObject({
      code: "PermissionDenied",
    });
    expect(byScope("vault:LIST sys/namespaces", `${topPath}c/`)?.error).toMatchObject({
      code: "PermissionDenied",
    });
    for (const call of discovery.calls) expect(Date.parse(call.at)).not.toBeNaN();
  });

  it("makes the unreadable namespace a gap naming it and the cause, and c/'s unknown children a gap too", () => {
    const b = discovery.members.find((member) => member.id === `${topPath}b/`);
    expect(b).toMatchObject({ status: "unreachable", locations: [] });
    expect(b?.reason).toMatch(/PermissionDenied.*sys\/mounts/);
    const bGap = discovery.gaps.find(
      (gap) => gap.location === locationOf(`${topPath}b/`) && gap.error.call === "vault:GET sys/mounts",
    );
    expect(bGap?.error).toMatchObject({ code: "PermissionDenied", retryable: false });
    expect(bGap?.error.message).toContain(`namespace ${topPath}b/ is unreadable`);
    const cGap = discovery.gaps.find((gap) => gap.location === locationOf(`${topPath}c/`));
    expect(cGap?.error.message).toContain(`namespace ${topPath}c/ could not be listed for child namespaces`);
    const c = discovery.members.find((member) => member.id === `${topPath}c/`);
    expect(c?.reason).toMatch(/child namespaces could not be listed/);
  });

  it("collects each discovered namespace on an instance that never discovered (a worker)", async () => {
    const worker = provider();
    const snapshots = await Promise.all(
      discovery.locations.map((location) => collectLocation(worker, location)),
    );
    const keys = snapshots.flatMap((snapshot) =>
      snapshot.keys.map((key) => ({ location: snapshot.location, keyId: key.keyId, arn: key.arn })),
    );
    expect(keys).toEqual(
      expect.arrayContaining([
        {
          location: locationOf(topPath),
          keyId: "transit/root-key",
          arn: `${server.address}/v1/${topPath}transit/keys/root-key`,
        },
        {
          location: locationOf(`${topPath}a/`),
          keyId: "a/transit/payments",
          arn: `${server.address}/v1/${topPath}a/transit/keys/payments`,
        },
        {
          location: locationOf(`${topPath}a/deep/`),
          keyId: "a/deep/transit/payments",
          arn: `${server.address}/v1/${topPath}a/deep/transit/keys/payments`,
        },
        {
          location: locationOf(`${topPath}c/`),
          keyId: "c/transit/c-key",
          arn: `${server.address}/v1/${topPath}c/transit/keys/c-key`,
        },
      ]),
    );
    expect(keys).toHaveLength(4);
    for (const snapshot of snapshots) expect(snapshot.gaps).toEqual([]);
    // The same key name in two namespaces is two keys with their own facts, and their own ids (the namespace
    // below the source's is the prefix), so the inventory, reviews and summaries never mix them up.
    const deep = snapshots.find((snapshot) => snapshot.location === locationOf(`${topPath}a/deep/`));
    const shallow = snapshots.find((snapshot) => snapshot.location === locationOf(`${topPath}a/`));
    const exportable = (snapshot: typeof deep) => snapshot?.keys[0]?.raw["vault:GET transit/keys/payments"];
    expect(exportable(deep)).toMatchObject({ ok: true, value: { exportable: true } });
    expect(exportable(shallow)).toMatchObject({ ok: true, value: { exportable: false } });
    expect(deep?.keys[0]?.vaultTransitKey).toEqual({
      namespace: `${topPath}a/deep/`,
      mount: "transit",
      name: "payments",
    });
  }, 120_000);

  it("refuses a location outside the walked tree, and the unreachable namespace is denied when collected", async () => {
    const worker = provider();
    const outside = await worker.listKeys(server.address);
    expect(outside.gaps[0]?.error).toMatchObject({ code: "UnknownLocation" });
    expect(outside.gaps[0]?.error.message).toContain(`namespace ${topPath} and the namespaces below it`);
    const sibling = await worker.listKeys(locationOf(`${uniqueName("kpns")}/`));
    expect(sibling.gaps[0]?.error).toMatchObject({ code: "UnknownLocation" });
    const b = await worker.listKeys(locationOf(`${topPath}b/`));
    expect(b.refs).toEqual([]);
    expect(b.gaps[0]?.error).toMatchObject({ call: "vault:GET sys/mounts", code: "PermissionDenied" });
  }, 120_000);

  it("says in a child namespace's logging that audit devices live in the root namespace when the token cannot read them", async () => {
    const logging = await provider().collectLogging(locationOf(`${topPath}a/`));
    expect(logging.sinks).toEqual([]);
    expect(logging.errors).toHaveLength(1);
    expect(logging.errors[0]).toMatchObject({ call: "vault:GET sys/audit", code: "PermissionDenied" });
    expect(logging.errors[0]?.message).toContain("audit devices exist only in the root namespace");
    expect(logging.auditDevicesOutOfReach).toMatchObject({
      namespace: `${topPath}a/`,
      call: "vault:GET sys/audit",
      reason: expect.stringContaining(`record every namespace's requests, ${topPath}a/ included`) as unknown,
    });
    // The walk's own namespace is a child of the root namespace too; only the root itself has no such fact.
    const top = await provider().collectLogging(locationOf(topPath));
    expect(top.auditDevicesOutOfReach?.namespace).toBe(topPath);
    expect(top.auditDevicesOutOfReach?.reason).toContain(`this token lives in namespace ${topPath}`);
    // A token that may not look itself up cannot show the denial is by design: a plain failed read (error).
    const blind = await provider(blindToken).collectLogging(locationOf(`${topPath}a/`));
    expect(blind.auditDevicesOutOfReach).toBeUndefined();
    expect(blind.errors).toEqual([
      expect.objectContaining({
        call: "vault:GET sys/audit",
        code: "PermissionDenied",
        message: "permission denied",
      }),
    ]);
    // A token that can read them sees the root's devices from every namespace: they record all namespaces.
    const withRoot = await provider(server.token).collectLogging(locationOf(`${topPath}a/deep/`));
    expect(withRoot.errors).toEqual([]);
    expect(withRoot.sinks.map((sink) => sink.name)).toContain(`${audit?.path ?? ""}/`);
  }, 120_000);

  it("reads from the shared audit log only the events of each location's own namespace", async () => {
    const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);
    const range = parseRange(day(-1), day(1));
    const worker = provider();
    const inA = await drain(worker.streamUsage(locationOf(`${topPath}a/`), range).items);
    const inDeep = await drain(worker.streamUsage(locationOf(`${topPath}a/deep/`), range).items);
    const encryptsOf = (events: UsageEvent[]) => events.filter((event) => event.action === "transit/encrypt");
    expect(encryptsOf(inA)).toHaveLength(1);
    expect(encryptsOf(inDeep)).toHaveLength(2);
    for (const event of encryptsOf(inDeep)) {
      expect(event).toMatchObject({
        location: locationOf(`${topPath}a/deep/`),
        keyId: "a/deep/transit/payments",
      });
      expect(event.keyReference).toBe(`${topPath}a/deep/transit/encrypt/payments`);
    }
  }, 120_000);

  it("has the doctor probe the namespace listing", async () => {
    const checks = await diagnoseHashicorpVaultSource(source(), { env: { VAULT_TOKEN: walkerToken } });
    expect(checks.find((entry) => entry.permission === "list sys/namespaces")).toMatchObject({
      status: "ok",
    });
    const denied = await diagnoseHashicorpVaultSource(source({ namespace: `${topPath}c/` }), {
      env: { VAULT_TOKEN: walkerToken },
    });
    expect(denied.find((entry) => entry.permission === "list sys/namespaces")).toMatchObject({
      status: "missing",
      fix: expect.stringContaining('path "sys/namespaces"') as unknown,
    });
  }, 120_000);
});

describe("hashicorp-vault namespace discovery that cannot see everything", () => {
  it("stops a runaway walk at its limit with a gap naming each namespace it did not walk", async () => {
    const discovery = await discoverNamespaces({
      sourceId: "vault-ns",
      address: server.address,
      root: topPath,
      apiFor: (namespace) =>
        createVaultApi({ address: server.address, token: walkerToken, namespace, timeoutMs: 15_000 }),
      now: () => new Date().toISOString(),
      concurrency: 2,
      maxNamespaces: 3,
    });
    expect(discovery.members.map((member) => member.id)).toEqual([topPath, `${topPath}a/`, `${topPath}b/`]);
    const skipped = discovery.gaps.filter((gap) => gap.error.code === "TooManyNamespaces");
    // c/ is found beside a/ and b/; a/deep/ a level later: both past the limit.
    expect(skipped.map((gap) => gap.location)).toEqual([
      locationOf(`${topPath}c/`),
      locationOf(`${topPath}a/deep/`),
    ]);
    expect(skipped[0]?.error.message).toBe(`namespace ${topPath}c/ was not walked: more than 3 namespaces`);
  }, 120_000);

  it("makes the start of the walk unreachable, with no location, when the server cannot be reached", async () => {
    const down = createHashicorpVaultProvider(source({ address: "http://127.0.0.1:9" }), {
      env: { VAULT_TOKEN: walkerToken },
      requestTimeoutMs: 5_000,
    });
    const discovery = await discoverSource(down);
    expect(discovery.locations).toEqual([]);
    expect(discovery.members).toMatchObject([{ id: topPath, status: "unreachable", locations: [] }]);
    expect(discovery.gaps.map((gap) => gap.error.code)).toEqual(["ECONNREFUSED", "ECONNREFUSED"]);
    expect(discovery.calls.every((call) => call.error?.retryable === true)).toBe(true);
  }, 120_000);

  it("is one gap on the configured namespace without a token, and lists nothing", async () => {
    const discovery = await discoverSource(createHashicorpVaultProvider(source(), { env: {} }));
    expect(discovery).toMatchObject({ method: "vault-namespaces", members: [], locations: [], calls: [] });
    expect(discovery.gaps).toEqual([
      {
        source: "vault-ns",
        location: locationOf(topPath),
        error: expect.objectContaining({ code: "TokenMissing" }) as unknown,
      },
    ]);
  });
});

describe("hashicorp-vault namespaces as a configured list", () => {
  it("collects exactly the listed namespaces, without discovering", async () => {
    const vault = provider(walkerToken, {
      namespace: undefined,
      namespaces: [`${topPath}a/deep/`, `${topPath}c`],
    });
    expect(vault.discover).toBeUndefined();
    const discovery = await discoverSource(vault);
    expect(discovery.method).toBe("configured");
    expect(discovery.locations).toEqual([locationOf(`${topPath}a/deep/`), locationOf(`${topPath}c/`)]);
    const deep = await collectLocation(vault, locationOf(`${topPath}a/deep/`));
    // Without `namespace`, a listed namespace's key ids carry its full path.
    expect(deep.keys.map((key) => key.keyId)).toEqual([`${topPath}a/deep/transit/payments`]);
    const notListed = await vault.listKeys(locationOf(`${topPath}a/`));
    expect(notListed.gaps[0]?.error).toMatchObject({ code: "UnknownLocation" });
  }, 120_000);
});

describe("an inline run over namespaces: all", () => {
  let bundle: string;
  let run: Awaited<ReturnType<typeof runCli>>;

  beforeAll(async () => {
    const runDirectory = path.join(directory, "run");
    await generateSigningKey(path.join(directory, "signing.pem"));
    const configFile = path.join(directory, "keyproof.yaml");
    await writeFile(
      configFile,
      stringify({
        organization: "Acme Corp (namespaces)",
        sources: [
          {
            id: "vault-ns",
            type: "hashicorp-vault",
            address: server.address,
            namespace: topPath,
            namespaces: "all",
          },
        ],
        signing: { localKeyFile: "./signing.pem" },
      }),
    );
    // The provider reads the token from the environment, never from the config file.
    const previous = process.env.VAULT_TOKEN;
    process.env.VAULT_TOKEN = walkerToken;
    try {
      run = await runCli(
        "run",
        "--inline",
        "--no-render",
        "--config",
        configFile,
        "--from",
        "2026-07-01",
        "--to",
        "2026-07-07",
        "--out",
        runDirectory,
        "--run-id",
        "ns",
      );
    } finally {
      if (previous === undefined) delete process.env.VAULT_TOKEN;
      else process.env.VAULT_TOKEN = previous;
    }
    bundle = path.join(runDirectory, "ns");
  }, 300_000);

  it("seals the bundle but says the run is incomplete: the unreadable namespace is a gap (exit 3)", () => {
    expect(run.code, run.stdout + run.stderr).toBe(3);
    expect(run.stdout).toContain(`${topPath}b/`);
  });

  it("writes discovery.json with the walk: members, calls and the gap", async () => {
    const record = JSON.parse(await readFile(path.join(bundle, "discovery.json"), "utf8")) as DiscoveryRecord;
    expect(record).toMatchObject({ format: "keyproof-discovery/1", runId: "ns" });
    const [vault] = record.sources;
    expect(vault).toMatchObject({ source: "vault-ns", method: "vault-namespaces" });
    expect(vault?.members.map((member) => [member.id, member.status])).toEqual([
      [topPath, "included"],
      [`${topPath}a/`, "included"],
      [`${topPath}a/deep/`, "included"],
      [`${topPath}b/`, "unreachable"],
      [`${topPath}c/`, "included"],
    ]);
    expect(vault?.calls.filter((call) => call.call === "vault:LIST sys/namespaces")).toHaveLength(5);
    expect(vault?.gaps.map((gap) => gap.location)).toEqual(
      expect.arrayContaining([locationOf(`${topPath}b/`), locationOf(`${topPath}c/`)]),
    );
  });

  it("collects every reachable namespace and carries the gap into gaps.json and the findings", async () => {
    const summary = JSON.parse(await readFile(path.join(bundle, "summary.json"), "utf8")) as {
      sources: Array<{ id: string; keys: number; locations: Array<{ location: string }> }>;
    };
    const vault = summary.sources.find((entry) => entry.id === "vault-ns");
    expect(vault?.keys).toBe(4);
    const gaps = JSON.parse(await readFile(path.join(bundle, "gaps.json"), "utf8")) as Array<{
      kind: string;
      location?: string;
      error: { code: string; message: string };
    }>;
    // b/ is two gaps: its mount table (unreadable, so not collected) and its children (unknown).
    const aboutB = gaps.filter((gap) => gap.kind === "source" && gap.location === locationOf(`${topPath}b/`));
    expect(aboutB.map((gap) => gap.error.code)).toEqual(["PermissionDenied", "PermissionDenied"]);
    expect(aboutB.map((gap) => gap.error.message)).toEqual(
      expect.arrayContaining([
        expect.stringContaining(`namespace ${topPath}b/ is unreadable`),
        expect.stringContaining(`namespace ${topPath}b/ could not be listed for child namespaces`),
      ]),
    );
    const findings = JSON.parse(await readFile(path.join(bundle, "findings.json"), "utf8")) as Finding[];
    // Each collected namespace's logging is unknown from there (the token cannot read the root's devices): warn.
    const logging = findings.filter(
      (finding) =>
        finding.location === locationOf(`${topPath}a/deep/`) &&
        [
          "key-usage-logging-enabled",
          "vault-audit-monitored",
          "vault-audit-redundant",
          "log-retention-sufficient",
        ].includes(finding.checkId),
    );
    expect(logging.map((finding) => [finding.checkId, finding.status]).sort()).toEqual([
      ["key-usage-logging-enabled", "warn"],
      ["log-retention-sufficient", "warn"],
      ["vault-audit-monitored", "warn"],
      ["vault-audit-redundant", "warn"],
    ]);
    const judgedB = findings.filter((finding) => finding.location === locationOf(`${topPath}b/`));
    expect(judgedB.length).toBeGreaterThan(0);
    for (const finding of judgedB) expect(finding.status).toBe("error");
  });
});

describe("a queued run over namespaces: all", () => {
  it("plans the walked namespaces once, and workers that never walked collect each of them", async () => {
    const prefix = uniquePrefix("vaultns");
    const queueDirectory = path.join(directory, "queued");
    const configFile = path.join(directory, "keyproof-queued.yaml");
    if (!(await readFile(path.join(directory, "signing.pem"), "utf8").catch(() => undefined)))
      await generateSigningKey(path.join(directory, "signing.pem"));
    await writeFile(
      configFile,
      stringify({
        organization: "Acme Corp (namespaces, queued)",
        sources: [
          {
            id: "vault-ns",
            type: "hashicorp-vault",
            address: server.address,
            namespace: topPath,
            namespaces: "all",
          },
        ],
        signing: { localKeyFile: "./signing.pem" },
        queue: { dataDirectory: path.join(queueDirectory, "data") },
      }),
    );
    const previous = process.env.VAULT_TOKEN;
    process.env.VAULT_TOKEN = walkerToken;
    const client = QueueClient.connect(REDIS_URL, prefix);
    const runtime = await startWorkerRuntime({
      redisUrl: REDIS_URL,
      prefix,
      queues: ["collect", "render", "seal", "deliver", "schedule"],
    });
    try {
      const queued = await runQueued({
        client,
        loaded: await loadConfig(configFile),
        range: parseRange("2026-07-01", "2026-07-07"),
        outDirectory: path.join(queueDirectory, "out"),
        runId: "ns-queued",
        render: false,
        pollIntervalMs: 200,
      });
      expect(queued.record.status).toBe("completed");
      const bundle = queued.bundle.directory;
      const record = JSON.parse(
        await readFile(path.join(bundle, "discovery.json"), "utf8"),
      ) as DiscoveryRecord;
      expect(record.sources[0]?.method).toBe("vault-namespaces");
      expect(record.sources[0]?.locations).toEqual(
        [topPath, `${topPath}a/`, `${topPath}a/deep/`, `${topPath}c/`].map(locationOf).sort(),
      );
      const summary = JSON.parse(await readFile(path.join(bundle, "summary.json"), "utf8")) as {
        sources: Array<{ id: string; keys: number }>;
      };
      expect(summary.sources.find((entry) => entry.id === "vault-ns")?.keys).toBe(4);
      const gaps = JSON.parse(await readFile(path.join(bundle, "gaps.json"), "utf8")) as Array<{
        kind: string;
        location?: string;
        error: { message: string };
      }>;
      expect(
        gaps.some(
          (gap) =>
            gap.kind === "source" &&
            gap.location === locationOf(`${topPath}b/`) &&
            gap.error.message.includes("is unreadable"),
        ),
      ).toBe(true);
    } finally {
      await runtime.close();
      await client.close();
      await cleanupPrefix(REDIS_URL, prefix);
      if (previous === undefined) delete process.env.VAULT_TOKEN;
      else process.env.VAULT_TOKEN = previous;
    }
  }, 300_000);
});
