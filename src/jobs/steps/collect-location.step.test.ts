import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { makeKey, makeLoggingStatus } from "../../../test/factories/index.ts";
import { BundleWriter } from "../../evidence/bundle-writer.ts";
import type { KeyRecord } from "../../model/key.ts";
import type { KeyBatch, KeyProvider, KeyRef } from "../../providers/key-provider.ts";
import { LocalWorkStore } from "../work-store.ts";
import {
  collectBatchStep,
  collectLocationStep,
  cutBatches,
  finishLocationStep,
  loadBatchRefs,
  loadPlan,
  locationWorkName,
  missingBatches,
  planLocationStep,
  storeBatch,
  storePlan,
  type CollectedLocation,
} from "./collect-location.step.ts";

const context = {
  runId: "kp-test",
  organization: "Test Corp",
  capturedAt: "2026-11-28T12:00:00.000Z",
  range: {
    from: "2026-07-01T00:00:00.000Z",
    toExclusive: "2026-10-01T00:00:00.000Z",
    to: "2026-09-30",
    label: "2026-Q3",
  },
};

/**
 * An in-memory source of `count` keys, recording which keys each collectKeys call was asked for. It stands
 * in for a provider (the providers have their own contract suite); the steps are what is tested here.
 */
function memorySource(count: number, options: { throwOnCollect?: boolean } = {}) {
  const keys: KeyRecord[] = Array.from({ length: count }, (_, index) =>
    makeKey({ source: "mem", location: "here", keyId: `key-${String(index).padStart(3, "0")}` }),
  );
  const requested: string[][] = [];
  const provider: KeyProvider = {
    sourceId: "mem",
    type: "aws-kms",
    listLocations: () => ["here"],
    describeAccount: async () => "acct-1",
    listKeys: async () => ({ refs: keys.map((key) => ({ keyId: key.keyId })), gaps: [] }),
    collectKeys: async (_location, refs): Promise<KeyBatch> => {
      requested.push(refs.map((ref) => ref.keyId));
      if (options.throwOnCollect === true) throw new TypeError("boom");
      return { keys: refs.map((ref) => keys.find((key) => key.keyId === ref.keyId) as KeyRecord), gaps: [] };
    },
    collectLogging: async () => makeLoggingStatus({ source: "mem", location: "here" }),
    streamUsage: () => ({ method: "none", items: (async function* () {})() }),
  };
  return { provider, requested };
}

let directory: string;
let writer: BundleWriter;
let work: LocalWorkStore;

beforeEach(async () => {
  directory = await mkdtemp(path.join(tmpdir(), "keyproof-collect-step-"));
  writer = await BundleWriter.open(path.join(directory, "bundle"));
  work = new LocalWorkStore(path.join(directory, "work"));
});

afterEach(async () => {
  await rm(directory, { recursive: true, force: true });
});

describe("cutBatches", () => {
  const refs: KeyRef[] = Array.from({ length: 7 }, (_, index) => ({ keyId: `k${index}` }));

  it("cuts consecutive slices, the last one shorter", () => {
    expect(cutBatches(refs, 3).map((batch) => batch.map((ref) => ref.keyId))).toEqual([
      ["k0", "k1", "k2"],
      ["k3", "k4", "k5"],
      ["k6"],
    ]);
  });

  it("gives one batch when the size covers the listing, and none for an empty listing", () => {
    expect(cutBatches(refs, 250)).toHaveLength(1);
    expect(cutBatches([], 3)).toEqual([]);
  });

  it("refuses a size below one", () => {
    expect(() => cutBatches(refs, 0)).toThrow(/batch size 0/);
  });
});

describe("collecting a location in batches", () => {
  it("describes each batch once and merges to the same snapshot as one batch would", async () => {
    const batched = memorySource(7);
    const inBatches = await collectLocationStep({
      ...batched,
      location: "here",
      context,
      writer,
      work,
      batchSize: 3,
    });
    expect(batched.requested.map((ids) => ids.length)).toEqual([3, 3, 1]);

    const whole = memorySource(7);
    const otherWork = new LocalWorkStore(path.join(directory, "work-2"));
    const inOne = await collectLocationStep({
      ...whole,
      location: "here",
      context,
      writer: await BundleWriter.open(path.join(directory, "bundle-2")),
      work: otherWork,
      batchSize: 250,
    });
    expect(whole.requested).toHaveLength(1);
    expect(inBatches).toEqual(inOne);
    expect(inBatches.account).toBe("acct-1");
    expect(await work.get<CollectedLocation>(locationWorkName("mem", "here"))).toEqual(inBatches);
    const exported = await readdir(path.join(directory, "bundle", "sources", "mem", "here", "keys"));
    expect(exported).toHaveLength(7);
  });

  it("stores the plan as a summary plus each batch's references, and knows which batches are missing", async () => {
    const { provider } = memorySource(5);
    const plan = await planLocationStep({ provider, location: "here", context, writer, batchSize: 2 });
    const stored = await storePlan(work, plan);
    expect(stored).toMatchObject({ source: "mem", location: "here", batchCount: 3, account: "acct-1" });
    expect(stored).not.toHaveProperty("batches");
    expect(await loadPlan(work, "mem", "here")).toEqual(stored);
    expect((await loadBatchRefs(work, stored, 2)).map((ref) => ref.keyId)).toEqual(["key-004"]);
    await expect(loadBatchRefs(work, stored, 3)).rejects.toThrow(
      /batch 3 of mem\/here has no readable key references/,
    );

    expect(await missingBatches(stored, work)).toEqual([0, 1, 2]);
    const refs = await loadBatchRefs(work, stored, 1);
    await storeBatch(work, plan, 1, await collectBatchStep({ provider, plan, refs, context, writer }));
    expect(await missingBatches(stored, work)).toEqual([0, 2]);
    await expect(finishLocationStep({ plan: stored, work })).rejects.toThrow(
      /batch 0 of mem\/here has no result/,
    );
  });

  it("refuses a stored plan that is not one, naming the work item", async () => {
    await work.put("location-parts/mem--here/plan", { source: "mem", batchCount: "three" });
    await expect(loadPlan(work, "mem", "here")).rejects.toThrow(
      /location-parts\/mem--here\/plan is not a location plan/,
    );
  });

  it("turns a provider that throws while describing into a gap naming the batch's keys", async () => {
    const { provider } = memorySource(4, { throwOnCollect: true });
    const plan = await planLocationStep({ provider, location: "here", context, writer, batchSize: 4 });
    const batch = await collectBatchStep({ provider, plan, refs: plan.batches[0] ?? [], context, writer });
    expect(batch.keys).toEqual([]);
    expect(batch.gaps).toHaveLength(1);
    expect(batch.gaps[0]?.error).toMatchObject({
      call: "aws-kms:collectKeys",
      code: "TypeError",
      retryable: false,
    });
    expect(batch.gaps[0]?.error.message).toMatch(/4 keys \(key-000 … key-003\) not described: .*boom/);
  });

  it("keeps only the selected keys of a scoped request", async () => {
    const { provider } = memorySource(6);
    const collected = await collectLocationStep({
      provider,
      location: "here",
      context,
      writer,
      work,
      batchSize: 4,
      selectKeys: (key) => key.keyId.endsWith("1") || key.keyId.endsWith("5"),
    });
    expect(collected.snapshot.keys.map((key) => key.keyId)).toEqual(["key-001", "key-005"]);
  });
});
