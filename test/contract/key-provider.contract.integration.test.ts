/**
 * One contract for every KeyProvider (issue #3): the same suite runs against AWS KMS (moto), HashiCorp Vault
 * (an OpenBao dev server) and Azure Key Vault (local fakes of the data plane, Resource Manager and Log
 * Analytics, driven through the real Azure SDK clients); only the factory differs. Each factory seeds the
 * source's demo estate, which mixes compliant and non-compliant keys, and also builds a provider for the same
 * source type pointed at a closed port, which must become a recorded gap, never a thrown error.
 */
import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seedAwsDemoEstate } from "../../scripts/demo/seed-aws-estate.ts";
import { seedAzureDemoEstate } from "../../scripts/demo/seed-azure-estate.ts";
import { seedVaultDemoEstate } from "../../scripts/demo/seed-vault-estate.ts";
import {
  KEY_ORIGINS,
  KEY_STATES,
  PRINCIPAL_KINDS,
  UNKNOWN_KEY_SPEC,
  type Collected,
} from "../../src/model/key.ts";
import type { DateRange, LocationSnapshot } from "../../src/model/snapshot.ts";
import type { UsageItem } from "../../src/model/usage.ts";
import { createAwsKmsProvider } from "../../src/providers/aws-kms/aws-kms.provider.ts";
import { createAzureKeyVaultProvider } from "../../src/providers/azure-key-vault/azure-key-vault.provider.ts";
import { createHashicorpVaultProvider } from "../../src/providers/hashicorp-vault/hashicorp-vault.provider.ts";
import { collectLocation } from "../../src/providers/collect-location.ts";
import type { Clock, KeyProvider, KeyRef } from "../../src/providers/key-provider.ts";
import { isInRange, parseRange } from "../../src/time/date-range.ts";
import { acquireOpenBao, uniqueName, type OpenBaoServer } from "../support/openbao.ts";

const AWS_ENDPOINT = process.env.KEYPROOF_TEST_AWS_ENDPOINT ?? "http://127.0.0.1:5000";
const RANGE = parseRange("2026-07-01", "2026-07-10");
const CLOSED_PORT_URL = "http://127.0.0.1:9";
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

interface ProviderUnderContract {
  provider: KeyProvider;
  /** A provider of the same type whose server cannot be reached. */
  unreachable: KeyProvider;
  /** A new instance for the same source (as another worker process would build it), on the given clock. */
  fresh(clock: Clock): KeyProvider;
  range: DateRange;
  cleanup(): Promise<void>;
}

/**
 * Typed facts of the model (src/model/key.ts) only some sources have. A source that has one must fill it
 * for every key it read; one that does not must leave it unset (never a guess).
 */
interface TypedFacts {
  /** `exportable` and `allowPlaintextBackup` (Vault transit). */
  exportFlags: boolean;
  /** `vaultProtection` (Azure Key Vault soft delete and purge protection). */
  vaultProtection: boolean;
}

interface ContractFactory {
  name: string;
  facts: TypedFacts;
  create(): Promise<ProviderUnderContract>;
}

const factories: ContractFactory[] = [
  {
    name: "aws-kms (moto)",
    facts: { exportFlags: false, vaultProtection: false },
    async create() {
      const account = `5${String(Math.floor(Math.random() * 1e11)).padStart(11, "0")}`;
      const estate = await seedAwsDemoEstate({
        endpoint: AWS_ENDPOINT,
        suffix: `ct${randomUUID().slice(0, 6)}`,
        quarter: RANGE,
        roleArn: `arn:aws:iam::${account}:role/keyproof-audit`,
      });
      const credentials = { accessKeyId: "test", secretAccessKey: "test" };
      return {
        provider: createAwsKmsProvider(estate.source, { credentials }),
        fresh: (clock) => createAwsKmsProvider(estate.source, { credentials, clock }),
        unreachable: createAwsKmsProvider(
          { id: "aws-down", type: "aws-kms", regions: ["us-east-1"], endpoint: CLOSED_PORT_URL },
          { credentials },
        ),
        range: RANGE,
        cleanup: async () => undefined,
      };
    },
  },
  {
    name: "hashicorp-vault (OpenBao)",
    facts: { exportFlags: true, vaultProtection: false },
    async create() {
      const server: OpenBaoServer = await acquireOpenBao();
      const directory = await mkdtemp(path.join(tmpdir(), "keyproof-contract-vault-"));
      const estate = await seedVaultDemoEstate({
        address: server.address,
        token: server.token,
        auditLogFile: path.join(directory, "audit.log"),
        namespace: uniqueName("ct"),
        auditDevice: uniqueName("ctaudit"),
        sourceId: "vault-contract",
        range: RANGE,
      });
      const env = { VAULT_TOKEN: server.token };
      return {
        provider: createHashicorpVaultProvider(estate.source, { env }),
        fresh: (clock) => createHashicorpVaultProvider(estate.source, { env, clock }),
        unreachable: createHashicorpVaultProvider(
          { id: "vault-down", type: "hashicorp-vault", address: CLOSED_PORT_URL },
          { env, requestTimeoutMs: 2_000 },
        ),
        range: RANGE,
        cleanup: async () => {
          await rm(directory, { recursive: true, force: true });
          await server.stop();
        },
      };
    },
  },
  {
    name: "azure-key-vault (local Azure fakes)",
    facts: { exportFlags: false, vaultProtection: true },
    async create() {
      const directory = await mkdtemp(path.join(tmpdir(), "keyproof-contract-azure-"));
      const estate = await seedAzureDemoEstate({
        suffix: `ct${randomUUID().slice(0, 6)}`,
        range: RANGE,
        caFile: path.join(directory, "trust.pem"),
        sourceId: "azure-contract",
      });
      return {
        provider: createAzureKeyVaultProvider(estate.source, { maxRetries: 0 }),
        fresh: (clock) => createAzureKeyVaultProvider(estate.source, { maxRetries: 0, clock }),
        unreachable: createAzureKeyVaultProvider(
          {
            ...estate.source,
            id: "azure-down",
            vaults: ["https://127.0.0.1:9"],
            endpoints: { resourceManager: "https://127.0.0.1:9", logAnalytics: "https://127.0.0.1:9/v1" },
          },
          { maxRetries: 0 },
        ),
        range: RANGE,
        cleanup: async () => {
          await estate.fakes.stop();
          await rm(directory, { recursive: true, force: true });
        },
      };
    },
  },
];

function expectCollected(value: Collected<unknown>, what: string): void {
  expect(value.capturedAt, `${what}.capturedAt`).toMatch(ISO_INSTANT);
  if (value.ok) expect(value.call, `${what}.call`).toMatch(/\S/);
  else {
    expect(value.error.call, `${what}.error.call`).toMatch(/\S/);
    expect(value.error.message, `${what}.error.message`).toMatch(/\S/);
  }
}

async function drain(items: AsyncIterable<UsageItem>): Promise<UsageItem[]> {
  const all: UsageItem[] = [];
  for await (const item of items) all.push(item);
  return all;
}

describe.each(factories)("KeyProvider contract: $name", (factory) => {
  let subject: ProviderUnderContract;
  let snapshots: LocationSnapshot[];

  beforeAll(async () => {
    subject = await factory.create();
    snapshots = await Promise.all(
      subject.provider.listLocations().map((location) => collectLocation(subject.provider, location)),
    );
  }, 240_000);

  afterAll(async () => {
    await subject?.cleanup();
  });

  it("names its locations: at least one, no duplicates", () => {
    const locations = subject.provider.listLocations();
    expect(locations.length).toBeGreaterThan(0);
    expect(new Set(locations).size).toBe(locations.length);
  });

  it("says whose evidence it is", async () => {
    await expect(subject.provider.describeAccount()).resolves.toMatch(/\S/);
  });

  it("returns one snapshot per location, stamped with its source and location, and no gaps when all is reachable", () => {
    expect(snapshots.map((snapshot) => snapshot.location)).toEqual(subject.provider.listLocations());
    for (const snapshot of snapshots) {
      expect(snapshot.source).toBe(subject.provider.sourceId);
      expect(snapshot.gaps).toEqual([]);
      expect(snapshot.logging).toMatchObject({
        source: subject.provider.sourceId,
        location: snapshot.location,
      });
      expect(snapshot.logging.capturedAt).toMatch(ISO_INSTANT);
    }
  });

  it("normalizes every key to the shared model", () => {
    const keys = snapshots.flatMap((snapshot) =>
      snapshot.keys.map((key) => ({ key, location: snapshot.location })),
    );
    expect(keys.length).toBeGreaterThanOrEqual(4);
    expect(new Set(keys.map(({ key }) => key.keyId)).size).toBe(keys.length);
    for (const { key, location } of keys) {
      expect(key).toMatchObject({
        source: subject.provider.sourceId,
        sourceType: subject.provider.type,
        location,
      });
      expect(key.arn).toMatch(/\S/);
      expect(key.keySpec).toMatch(/\S/);
      expect(KEY_STATES).toContain(key.state);
      expect(KEY_ORIGINS).toContain(key.origin);
      expect(["customer", "provider"]).toContain(key.manager);
      if (key.createdAt !== undefined) expect(key.createdAt).toMatch(ISO_INSTANT);
      expectCollected(key.rotation, `${key.keyId}.rotation`);
      expectCollected(key.access, `${key.keyId}.access`);
      for (const [call, value] of Object.entries(key.raw))
        expectCollected(value, `${key.keyId}.raw[${call}]`);
      // The read window spans every call behind the record, so a banner built from it covers them all.
      expect(key.readWindow.first, `${key.keyId}.readWindow.first`).toMatch(ISO_INSTANT);
      expect(key.readWindow.last, `${key.keyId}.readWindow.last`).toMatch(ISO_INSTANT);
      const stamps = [key.rotation, key.access, key.vaultProtection, ...Object.values(key.raw)].flatMap(
        (fact) => (fact === undefined ? [] : [Date.parse(fact.capturedAt)]),
      );
      expect(Date.parse(key.readWindow.first)).toBe(Math.min(...stamps));
      expect(Date.parse(key.readWindow.last)).toBe(Math.max(...stamps));
      if (key.access.ok) {
        for (const grant of key.access.value.grants) {
          expect(PRINCIPAL_KINDS).toContain(grant.principalKind);
          expect(["allow", "deny"]).toContain(grant.effect);
          expect(grant.reference).toMatch(/\S/);
        }
      }
    }
  });

  it("records rotations with their times; lastRotation is always the last history event (the demo rotates payments-db)", () => {
    const rotations = snapshots.flatMap((snapshot) =>
      snapshot.keys.flatMap((key) => (key.rotation.ok ? [{ key, rotation: key.rotation.value }] : [])),
    );
    for (const { key, rotation } of rotations) {
      const dates = rotation.history.map((event) => event.date);
      for (const date of dates) expect(date, `${key.keyId} history`).toMatch(ISO_INSTANT);
      expect(dates, `${key.keyId} history is oldest first`).toEqual([...dates].sort());
      expect(rotation.lastRotation, `${key.keyId}.lastRotation`).toBe(dates.at(-1));
    }
    const rotated = rotations.filter(({ key }) => key.aliases.some((alias) => alias.includes("payments-db")));
    expect(rotated.length).toBeGreaterThan(0);
    for (const { rotation } of rotated) expect(rotation.history.length).toBeGreaterThan(0);
  });

  it("fills the typed facts its source has, for every key it read, and leaves the others unset", () => {
    const keys = snapshots.flatMap((snapshot) => snapshot.keys);
    const read = keys.filter((key) => key.keySpec !== UNKNOWN_KEY_SPEC);
    expect(read.length).toBeGreaterThan(0);
    for (const key of read) {
      // A spec with an unknown size says why, and only then.
      expect(key.keySpecUnknownReason !== undefined, `${key.keyId} ${key.keySpec}`).toBe(
        key.keySpec.endsWith("_UNKNOWN"),
      );
      if (factory.facts.exportFlags) {
        expect(typeof key.exportable, `${key.keyId}.exportable`).toBe("boolean");
        expect(typeof key.allowPlaintextBackup, `${key.keyId}.allowPlaintextBackup`).toBe("boolean");
      } else {
        expect(key.exportable).toBeUndefined();
        expect(key.allowPlaintextBackup).toBeUndefined();
      }
      if (factory.facts.vaultProtection) {
        const protection = key.vaultProtection;
        expect(protection, `${key.keyId}.vaultProtection`).toBeDefined();
        if (protection !== undefined) expectCollected(protection, `${key.keyId}.vaultProtection`);
        if (protection?.ok === true) {
          expect(protection.value.vault).toMatch(/\S/);
          expect(typeof protection.value.purgeProtection).toBe("boolean");
        }
      } else {
        expect(key.vaultProtection).toBeUndefined();
      }
    }
    // The demo estates seed both sides of each fact.
    if (factory.facts.exportFlags) {
      expect(read.map((key) => key.exportable)).toEqual(expect.arrayContaining([true, false]));
      expect(read.map((key) => key.allowPlaintextBackup)).toEqual(expect.arrayContaining([true, false]));
    }
    if (factory.facts.vaultProtection) {
      const purge = read.map((key) =>
        key.vaultProtection?.ok === true ? key.vaultProtection.value.purgeProtection : null,
      );
      expect(purge).toEqual(expect.arrayContaining([true, false]));
    }
  });

  it("tells rotation on from rotation off across the estate (the demo seeds both)", () => {
    const rotation = snapshots.flatMap((snapshot) =>
      snapshot.keys.flatMap((key) => (key.rotation.ok ? [key.rotation.value.enabled] : [])),
    );
    expect(rotation).toContain(true);
    expect(rotation).toContain(false);
  });

  it("reports at least one logging sink with its coverage reason", () => {
    const sinks = snapshots.flatMap((snapshot) => snapshot.logging.sinks);
    expect(sinks.length).toBeGreaterThan(0);
    for (const sink of sinks) expect(sink.coverageReason).toMatch(/\S/);
  });

  it("survives a JSON round trip (snapshots travel between pipeline steps as JSON)", () => {
    expect(JSON.parse(JSON.stringify(snapshots))).toEqual(snapshots);
  });

  it("streams usage events inside the range, each naming its source and location", async () => {
    let events = 0;
    for (const location of subject.provider.listLocations()) {
      const stream = subject.provider.streamUsage(location, subject.range);
      expect(await stream.method).toMatch(/\S/);
      for (const item of await drain(stream.items)) {
        if (item.kind === "gap") {
          expect(item.gap).toMatchObject({ source: subject.provider.sourceId, location });
          continue;
        }
        events += 1;
        expect(item.event).toMatchObject({ source: subject.provider.sourceId, location });
        expect(isInRange(item.event.time, subject.range), item.event.time).toBe(true);
        expect(item.event.eventId).toMatch(/\S/);
        expect(["success", "failure"]).toContain(item.event.outcome);
      }
    }
    expect(events).toBeGreaterThan(0);
  });

  it("lists keys as sorted, JSON-safe references and describes them in batches, in fresh instances, exactly as in one go", async () => {
    // What the queued service does with a large location: one worker lists, others describe slices of the
    // listing after it went through the work store (JSON), each in its own provider instance.
    const clock: Clock = () => new Date("2026-11-28T12:00:00.000Z");
    let described = 0;
    for (const location of subject.provider.listLocations()) {
      const whole = await collectLocation(subject.fresh(clock), location);
      const listing = await subject.fresh(clock).listKeys(location);
      const ids = listing.refs.map((ref) => ref.keyId);
      expect(ids).toEqual([...ids].sort());
      expect(listing.refs.map((ref) => ref.keyId)).toEqual(whole.keys.map((key) => key.keyId));
      const refs = JSON.parse(JSON.stringify(listing.refs)) as KeyRef[];
      expect(refs).toEqual(listing.refs);
      const half = Math.ceil(refs.length / 2);
      const first = await subject.fresh(clock).collectKeys(location, refs.slice(0, half));
      const second = await subject.fresh(clock).collectKeys(location, refs.slice(half));
      expect(JSON.stringify([...first.keys, ...second.keys])).toBe(JSON.stringify(whole.keys));
      expect([...first.gaps, ...second.gaps]).toEqual([]);
      described += refs.length;
    }
    expect(described).toBeGreaterThan(1);
  }, 120_000);

  it("turns an unreachable server into a recorded gap with its cause, never a thrown error", async () => {
    const location = subject.unreachable.listLocations()[0] as string;
    const snapshot = await collectLocation(subject.unreachable, location);
    expect(snapshot.keys).toEqual([]);
    expect(snapshot.gaps.length).toBeGreaterThan(0);
    expect(snapshot.gaps[0]?.error.message).toMatch(/\S/);
    const items = await drain(subject.unreachable.streamUsage(location, subject.range).items);
    expect(items.filter((item) => item.kind === "event")).toEqual([]);
  }, 120_000);
});
