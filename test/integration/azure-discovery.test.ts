/**
 * Issue 15, Azure `vaults: all`: every Key Vault (and Managed HSM) of two subscriptions found through the ARM
 * FAKE (vault listings paged with `nextLink`, two items per page), each vault's data plane probed on the Key
 * Vault FAKE (one port per vault, reached at the `vaultUri` ARM reports), all through the real
 * `@azure/arm-keyvault` and `@azure/keyvault-keys` clients. Only the credential is a test double. FAKES are
 * used because no Azure emulator serves Resource Manager, and Lowkey Vault cannot be fetched here.
 */
import { randomUUID } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { stringify } from "yaml";
import { Agent } from "node:https";
import { rootCertificates } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TokenCredential } from "@azure/core-auth";
import { KeyClient } from "@azure/keyvault-keys";
import { AzureKeyVaultSourceSchema } from "../../src/config/sources/azure-key-vault.schema.ts";
import { createAzureKeyVaultProvider } from "../../src/providers/azure-key-vault/azure-key-vault.provider.ts";
import { diagnoseAzureKeyVaultSource } from "../../src/providers/azure-key-vault/azure-key-vault.doctor.ts";
import { collectLocation } from "../../src/providers/collect-location.ts";
import { discoverSource } from "../../src/providers/discover-source.ts";
import type { DiscoveryRecord, SourceDiscovery } from "../../src/model/discovery.ts";
import { loadConfig } from "../../src/config/load-config.ts";
import { runInline } from "../../src/jobs/run-inline.ts";
import { runQueued } from "../../src/jobs/run-queued.ts";
import { QueueClient } from "../../src/jobs/queue/queue-client.ts";
import { startWorkerRuntime } from "../../src/jobs/queue/worker-runtime.ts";
import { REDIS_URL, cleanupPrefix, dataFileDigests, uniquePrefix } from "./queue-harness.ts";
import type { RunSummary } from "../../src/jobs/run-summary.ts";
import { generateSigningKey } from "../../src/signing/keygen.ts";
import { parseRange } from "../../src/time/date-range.ts";
import { startManagedIdentityFake } from "../fakes/azure-managed-identity.fake.ts";
import { startAzureKeyVaultFake, type AzureKeyVaultFake } from "../fakes/azure-key-vault.fake.ts";
import {
  startAzureResourceManagerFake,
  type AzureResourceManagerFake,
} from "../fakes/azure-resource-manager.fake.ts";
import { azureError } from "../fakes/azure-fake-http.ts";

const credential: TokenCredential = {
  getToken: async () => ({ token: "static-test-token", expiresOnTimestamp: Date.now() + 3_600_000 }),
};

const suffix = randomUUID().slice(0, 6);
const subscriptionA = randomUUID();
const subscriptionB = randomUUID();
/** A subscription whose vault listing the fake refuses (the identity has no Reader there). */
const subscriptionDenied = randomUUID();
/** A subscription whose one vault comes back without a usable vaultUri. */
const subscriptionOdd = randomUUID();

/** The body Key Vault answers from behind its firewall (terraform-provider-azurerm#4553; research/apis.md §2.1). */
const FIREWALL_403 = azureError(
  403,
  "Forbidden",
  "Client address is not authorized and caller is not a trusted service.\r\nClient address: 203.0.113.7\r\nCaller: appid=00000000-0000-0000-0000-000000000000\r\nVault: kv-private;location=westeurope",
  "ForbiddenByFirewall",
);

let dataPlane: AzureKeyVaultFake;
let arm: AzureResourceManagerFake;
/** name → data-plane URL (normalized, no trailing slash). */
const vaults: Record<string, string> = {};
const hsmUrl = `https://hsm-${suffix}.managedhsm.azure.net`;
/** A vault whose private endpoint is not reachable from here: nothing listens on port 1. */
const privateEndpointVault = "https://127.0.0.1:1";

function config(overrides: Record<string, unknown> = {}) {
  return AzureKeyVaultSourceSchema.parse({
    id: "azure-all",
    type: "azure-key-vault",
    vaults: "all",
    subscriptions: [subscriptionA, subscriptionB],
    endpoints: { resourceManager: arm.url },
    ...overrides,
  });
}

function provider(overrides: Record<string, unknown> = {}) {
  return createAzureKeyVaultProvider(config(overrides), {
    credential,
    trustedCertificates: [dataPlane.ca, arm.ca],
    maxRetries: 0,
    discoveryProbeTimeoutMs: 20_000,
    clock: () => new Date("2026-11-01T00:00:00.000Z"),
  });
}

function memberOf(discovery: SourceDiscovery, url: string) {
  const member = discovery.members.find((candidate) => candidate.id === url);
  if (member === undefined)
    throw new Error(`no member ${url}: ${discovery.members.map((m) => m.id).join(", ")}`);
  return member;
}

beforeAll(async () => {
  dataPlane = await startAzureKeyVaultFake();
  arm = await startAzureResourceManagerFake();
  // Subscription A: three vaults (two pages), one firewalled. Subscription B: two vaults, one of them behind
  // an unreachable private endpoint, and a Managed HSM.
  const [first, second] = dataPlane.vaultUrls;
  vaults["kv-a-payments"] = first;
  vaults["kv-a-orders"] = second;
  vaults["kv-a-private"] = await dataPlane.addVault();
  vaults["kv-b-ledger"] = await dataPlane.addVault();
  dataPlane.failVault(vaults["kv-a-private"], FIREWALL_403);

  const agent = new Agent({ ca: [...rootCertificates, dataPlane.ca] });
  const clientOptions = { agent, serviceVersion: "7.6", disableChallengeResourceVerification: true };
  await new KeyClient(first, credential, clientOptions).createRsaKey(`pay-${suffix}`, { keySize: 2048 });
  await new KeyClient(vaults["kv-b-ledger"], credential, clientOptions).createEcKey(`ledger-${suffix}`, {
    curve: "P-256",
  });

  for (const [name, url] of Object.entries(vaults)) {
    arm.addVault({
      subscriptionId: name.startsWith("kv-a-") ? subscriptionA : subscriptionB,
      resourceGroup: name.startsWith("kv-a-") ? `rg-a-${suffix}` : `rg-b-${suffix}`,
      name,
      vaultUri: url,
      enableRbacAuthorization: true,
      ...(name === "kv-b-ledger" ? { enablePurgeProtection: true as const } : {}),
    });
  }
  arm.addVault({
    subscriptionId: subscriptionB,
    resourceGroup: `rg-b-${suffix}`,
    name: "kv-b-internal",
    vaultUri: privateEndpointVault,
  });
  arm.addManagedHsm({
    subscriptionId: subscriptionB,
    resourceGroup: `rg-b-${suffix}`,
    name: `hsm-${suffix}`,
    hsmUri: hsmUrl,
  });
  arm.addVault({
    subscriptionId: subscriptionOdd,
    resourceGroup: `rg-odd-${suffix}`,
    name: "kv-odd",
    vaultUri: "not a url",
  });
  arm.failRoute(
    new RegExp(`^/subscriptions/${subscriptionDenied}/providers/Microsoft\\.KeyVault/`, "i"),
    azureError(
      403,
      "AuthorizationFailed",
      `The client does not have authorization to perform action 'Microsoft.KeyVault/vaults/read' over scope '/subscriptions/${subscriptionDenied}'.`,
    ),
  );
}, 120_000);

afterAll(async () => {
  await Promise.all([dataPlane?.close(), arm?.close()]);
});

describe("Azure vaults: all", () => {
  let discovery: SourceDiscovery;

  beforeAll(async () => {
    discovery = await discoverSource(provider());
  }, 120_000);

  it("finds every vault of both subscriptions and plans each reachable one as a location", () => {
    expect(discovery.method).toBe("azure-resource-manager");
    expect(discovery.members.map((member) => member.id).sort()).toEqual(
      [...Object.values(vaults), privateEndpointVault, hsmUrl].sort(),
    );
    expect(discovery.locations).toEqual(
      [vaults["kv-a-payments"], vaults["kv-a-orders"], vaults["kv-b-ledger"]].sort(),
    );
    expect(memberOf(discovery, vaults["kv-b-ledger"] as string)).toMatchObject({
      name: "kv-b-ledger",
      status: "included",
      locations: [vaults["kv-b-ledger"]],
      details: {
        kind: "vault",
        subscriptionId: subscriptionB,
        resourceGroup: `rg-b-${suffix}`,
        resourceId: `/subscriptions/${subscriptionB}/resourceGroups/rg-b-${suffix}/providers/Microsoft.KeyVault/vaults/kv-b-ledger`,
      },
    });
  });

  it("records each subscription's listings with the pages read (two items per page)", () => {
    const vaultCalls = discovery.calls.filter((call) => call.call === "arm:Microsoft.KeyVault/vaults:list");
    expect(vaultCalls.map(({ scope, pages, count }) => ({ scope, pages, count }))).toEqual([
      { scope: subscriptionA, pages: 2, count: 3 },
      { scope: subscriptionB, pages: 1, count: 2 },
    ]);
    const hsmCalls = discovery.calls.filter(
      (call) => call.call === "arm:Microsoft.KeyVault/managedHSMs:list",
    );
    expect(hsmCalls.map(({ scope, count }) => ({ scope, count }))).toEqual([
      { scope: subscriptionA, count: 0 },
      { scope: subscriptionB, count: 1 },
    ]);
    // Paging went through nextLink: the fake saw the $skiptoken page of subscription A.
    expect(
      arm.server.requests.some(
        (request) => request.url.includes(subscriptionA) && request.url.includes("skiptoken=2"),
      ),
    ).toBe(true);
  });

  it("makes the firewalled vault a gap naming the vault and ForbiddenByFirewall, never a location", () => {
    const url = vaults["kv-a-private"] as string;
    expect(memberOf(discovery, url)).toMatchObject({ status: "unreachable", locations: [] });
    expect(memberOf(discovery, url).reason).toMatch(/^ForbiddenByFirewall: Client address is not authorized/);
    const gap = discovery.gaps.find((candidate) => candidate.location === url);
    expect(gap?.error).toMatchObject({ call: "keyvault:listPropertiesOfKeys", code: "ForbiddenByFirewall" });
    expect(gap?.error.message).toContain(`vault ${url} (kv-a-private, subscription ${subscriptionA})`);
    expect(discovery.locations).not.toContain(url);
  });

  it("makes a vault whose private endpoint cannot be reached a gap with the network cause", () => {
    const gap = discovery.gaps.find((candidate) => candidate.location === privateEndpointVault);
    expect(gap?.error.code).toBe("ECONNREFUSED");
    expect(gap?.error.message).toContain("kv-b-internal");
    expect(memberOf(discovery, privateEndpointVault).status).toBe("unreachable");
  });

  it("lists the Managed HSM as a member and a loud gap (its collection is not supported yet)", () => {
    expect(memberOf(discovery, hsmUrl)).toMatchObject({
      status: "unreachable",
      locations: [],
      details: { kind: "managedHsm", subscriptionId: subscriptionB },
    });
    expect(discovery.gaps.find((gap) => gap.location === hsmUrl)?.error).toMatchObject({
      code: "ManagedHsmNotSupported",
      retryable: false,
    });
    expect(discovery.gaps).toHaveLength(3);
  });

  it("collects a discovered vault on a provider instance that never discovered (another worker)", async () => {
    const worker = provider();
    const ledger = vaults["kv-b-ledger"] as string;
    const location = await collectLocation(worker, ledger);
    expect(location.gaps).toEqual([]);
    expect(location.keys.map((key) => key.aliases[0])).toEqual([`ledger-${suffix}`]);
    // The vault's ARM facts come from its own subscription (B), found from the location alone.
    const protection = location.keys[0]?.vaultProtection;
    expect(protection).toMatchObject({ ok: true, value: { vault: "kv-b-ledger", purgeProtection: true } });
    expect(location.logging.errors).toEqual([]);
    expect(
      arm.server.requests.some((request) =>
        request.url
          .toLowerCase()
          .includes(`/subscriptions/${subscriptionB}/providers/microsoft.insights/activitylogalerts`),
      ),
    ).toBe(true);
  });

  it("keeps only what include/exclude select; the others are recorded as excluded, not probed", async () => {
    const filtered = await discoverSource(
      provider({
        include: ["kv-a-*", `/subscriptions/${subscriptionB}/resourceGroups/rg-b-${suffix}`],
        exclude: ["kv-a-private", privateEndpointVault, `hsm-${suffix}`],
      }),
    );
    expect(filtered.locations).toEqual(
      [vaults["kv-a-payments"], vaults["kv-a-orders"], vaults["kv-b-ledger"]].sort(),
    );
    expect(memberOf(filtered, vaults["kv-a-private"] as string)).toMatchObject({
      status: "excluded",
      reason: "matches exclude entry kv-a-private",
    });
    expect(memberOf(filtered, hsmUrl).status).toBe("excluded");
    expect(filtered.gaps).toEqual([]);

    const onlyLedger = await discoverSource(provider({ include: ["KV-B-LED*"] }));
    expect(onlyLedger.locations).toEqual([vaults["kv-b-ledger"]]);
    expect(memberOf(onlyLedger, vaults["kv-a-payments"] as string).reason).toMatch(
      /^matches no include entry/,
    );
  });

  it("makes a subscription it cannot list a gap naming the subscription, and discovers the others", async () => {
    const partial = await discoverSource(provider({ subscriptions: [subscriptionDenied, subscriptionB] }));
    expect(partial.locations).toEqual([vaults["kv-b-ledger"]]);
    const denied = partial.gaps.filter((gap) => gap.location === undefined);
    expect(denied.map((gap) => [gap.error.call, gap.error.code])).toEqual([
      ["arm:Microsoft.KeyVault/vaults:list", "AuthorizationFailed"],
      ["arm:Microsoft.KeyVault/managedHSMs:list", "AuthorizationFailed"],
    ]);
    for (const gap of denied) expect(gap.error.message).toContain(`subscription ${subscriptionDenied}`);
    expect(partial.calls.find((call) => call.scope === subscriptionDenied)?.error?.code).toBe(
      "AuthorizationFailed",
    );
  });

  it("makes a listed vault without a usable vaultUri a gap instead of skipping it", async () => {
    const odd = await discoverSource(provider({ subscriptions: [subscriptionOdd] }));
    expect(odd.locations).toEqual([]);
    expect(odd.gaps.map((gap) => [gap.error.code, gap.error.message])).toEqual([
      [
        "UnusableResource",
        `subscription ${subscriptionOdd}: 1 listed resource(s) without a usable id or data-plane URI were not collected`,
      ],
    ]);
  });

  it("doctor checks the subscription listing permission with vaults: all and names the firewalled vault", async () => {
    const checks = await diagnoseAzureKeyVaultSource(
      config({ subscriptions: [subscriptionDenied, subscriptionA] }),
      {
        credential,
        trustedCertificates: [dataPlane.ca, arm.ca],
        maxRetries: 0,
      },
    );
    const listing = checks.find((check) => check.permission === "Microsoft.KeyVault/vaults/read (list)");
    expect(listing).toMatchObject({ status: "missing" });
    expect(listing?.detail).toContain(`subscription ${subscriptionDenied}`);
    expect(listing?.fix).toMatch(/Reader on the subscription/);
    const keys = checks.find((check) => check.permission === "Microsoft.KeyVault/vaults/keys/read");
    expect(keys).toMatchObject({
      status: "missing",
      fix: "allow this host through the vault's network firewall",
    });
    expect(keys?.detail).toContain(vaults["kv-a-private"]);
  });
});

describe("an inline run over a vaults: all source", () => {
  let directory: string;
  let bundle: string;
  let summary: RunSummary;
  let record: DiscoveryRecord;
  let queued: { record: DiscoveryRecord; digests: Map<string, string>; inlineDigests: Map<string, string> };
  const prefix = uniquePrefix("azall");
  let gaps: Array<{
    kind: string;
    source: string;
    location?: string;
    error: { code: string; message: string };
  }>;

  beforeAll(async () => {
    directory = await mkdtemp(path.join(tmpdir(), "keyproof-azure-all-"));
    // The run builds its providers from the config, so the credential is DefaultAzureCredential reaching the
    // managed-identity FAKE, and the fakes' certificates come from the source's tlsCaFile.
    const identity = await startManagedIdentityFake();
    const saved = { endpoint: process.env["IDENTITY_ENDPOINT"], header: process.env["IDENTITY_HEADER"] };
    process.env["IDENTITY_ENDPOINT"] = identity.endpoint;
    process.env["IDENTITY_HEADER"] = identity.header;
    try {
      await writeFile(path.join(directory, "azure-trust.pem"), `${dataPlane.ca}\n${arm.ca}\n`);
      await generateSigningKey(path.join(directory, "signing.pem"));
      const file = path.join(directory, "keyproof.yaml");
      await writeFile(
        file,
        stringify({
          organization: "Azure Discovery Corp",
          sources: [
            {
              id: "azure-all",
              type: "azure-key-vault",
              vaults: "all",
              subscriptions: [subscriptionA, subscriptionB],
              endpoints: { resourceManager: arm.url },
              tlsCaFile: "./azure-trust.pem",
            },
          ],
          signing: { localKeyFile: "./signing.pem" },
        }),
      );
      const loaded = await loadConfig(file);
      const capturedAt = new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000);
      const range = parseRange("2026-10-01", "2026-10-07");
      const result = await runInline({
        loaded,
        range,
        outDirectory: path.join(directory, "out"),
        runId: "azure-all",
        capturedAt,
        render: false,
        providerOptions: { clock: () => capturedAt },
      });
      summary = result.summary;
      // The same run through the queue: discovery at planning time in this process, collection by a worker
      // whose providers never discovered and find each vault's subscription from the location alone.
      const client = QueueClient.connect(REDIS_URL, prefix);
      const runtime = await startWorkerRuntime({
        redisUrl: REDIS_URL,
        prefix,
        queues: ["collect", "seal", "deliver"],
        providerOptions: { clock: () => capturedAt },
      });
      try {
        const run = await runQueued({
          client,
          loaded,
          range,
          outDirectory: path.join(directory, "queued"),
          runId: "azure-all",
          capturedAt,
          render: false,
          pollIntervalMs: 100,
        });
        queued = {
          record: JSON.parse(
            await readFile(path.join(run.bundle.directory, "discovery.json"), "utf8"),
          ) as DiscoveryRecord,
          digests: await dataFileDigests(run.bundle.directory),
          inlineDigests: await dataFileDigests(result.bundle.directory),
        };
      } finally {
        await runtime.close();
        await client.close();
        await cleanupPrefix(REDIS_URL, prefix);
      }
    } finally {
      await identity.close();
      if (saved.endpoint === undefined) delete process.env["IDENTITY_ENDPOINT"];
      else process.env["IDENTITY_ENDPOINT"] = saved.endpoint;
      if (saved.header === undefined) delete process.env["IDENTITY_HEADER"];
      else process.env["IDENTITY_HEADER"] = saved.header;
    }
    bundle = path.join(directory, "out", "azure-all");
    record = JSON.parse(await readFile(path.join(bundle, "discovery.json"), "utf8")) as DiscoveryRecord;
    gaps = JSON.parse(await readFile(path.join(bundle, "gaps.json"), "utf8")) as typeof gaps;
  }, 300_000);

  afterAll(async () => {
    if (directory !== undefined) await rm(directory, { recursive: true, force: true });
  });

  it("writes discovery.json with every vault of both subscriptions and the calls that found them", () => {
    const [source] = record.sources;
    expect(record.sources).toHaveLength(1);
    expect(source).toMatchObject({ source: "azure-all", method: "azure-resource-manager" });
    expect(source?.members.map((member) => [member.name, member.status]).sort()).toEqual(
      [
        ["kv-a-orders", "included"],
        ["kv-a-payments", "included"],
        ["kv-a-private", "unreachable"],
        ["kv-b-internal", "unreachable"],
        ["kv-b-ledger", "included"],
        [`hsm-${suffix}`, "unreachable"],
      ].sort(),
    );
    expect(source?.calls.map((call) => `${call.call} ${call.scope}`)).toEqual([
      `arm:Microsoft.KeyVault/vaults:list ${subscriptionA}`,
      `arm:Microsoft.KeyVault/managedHSMs:list ${subscriptionA}`,
      `arm:Microsoft.KeyVault/vaults:list ${subscriptionB}`,
      `arm:Microsoft.KeyVault/managedHSMs:list ${subscriptionB}`,
    ]);
  });

  it("collects the discovered vaults and makes the firewalled vault a source gap: the run is incomplete", () => {
    const collected = summary.sources.find((source) => source.id === "azure-all");
    const reachable = [vaults["kv-a-payments"], vaults["kv-a-orders"], vaults["kv-b-ledger"]].sort();
    // The reachable vaults were collected; their one gap each is the usage log this config leaves out.
    expect(
      gaps.filter((gap) => reachable.includes(gap.location)).map((gap) => [gap.kind, gap.location]),
    ).toEqual(reachable.map((location) => ["usage", location]));
    expect(
      collected?.locations.filter((location) => location.keys > 0).map((location) => location.location),
    ).toEqual([vaults["kv-a-payments"], vaults["kv-b-ledger"]].sort());
    // Each unreachable member is a source gap of the run, naming it.
    expect(
      gaps
        .filter((gap) => gap.kind === "source")
        .map((gap) => gap.location)
        .sort(),
    ).toEqual([vaults["kv-a-private"], privateEndpointVault, hsmUrl].sort());
    expect(collected?.keys).toBe(2);
    const firewalled = gaps.find((gap) => gap.kind === "source" && gap.location === vaults["kv-a-private"]);
    expect(firewalled?.error.code).toBe("ForbiddenByFirewall");
    expect(firewalled?.error.message).toContain("kv-a-private");
    expect(gaps.find((gap) => gap.kind === "source" && gap.location === hsmUrl)?.error.code).toBe(
      "ManagedHsmNotSupported",
    );
    expect(summary.complete).toBe(false);
  });

  it("gives the same population and data files when queued (workers that never discovered)", () => {
    expect(queued.record.sources[0]?.members).toEqual(record.sources[0]?.members);
    expect(queued.record.sources[0]?.gaps).toEqual(record.sources[0]?.gaps);
    expect([...queued.inlineDigests.keys()].some((file) => file.endsWith("/configuration.json"))).toBe(true);
    expect(queued.record.sources[0]?.locations).toEqual(record.sources[0]?.locations);
    // discovery.json differs only in its times: a queued run discovers in the process that starts it.
    const withoutDiscovery = (digests: Map<string, string>) =>
      new Map([...digests].filter(([file]) => file !== "discovery.json"));
    expect(withoutDiscovery(queued.digests)).toEqual(withoutDiscovery(queued.inlineDigests));
  });
});
