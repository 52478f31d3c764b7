import { describe, expect, it } from "vitest";
import type { KeyProvider } from "../../providers/key-provider.ts";
import { ProviderCache } from "./provider-cache.ts";

/** A provider that only counts how often it is closed: the cache, not the provider, is under test. */
function countingProvider(name: string): KeyProvider & { closed: number } {
  const provider = {
    sourceId: name,
    type: "aws-kms" as const,
    closed: 0,
    listLocations: () => [],
    describeAccount: async () => undefined,
    listKeys: async () => ({ refs: [], gaps: [] }),
    collectKeys: async () => ({ keys: [], gaps: [] }),
    collectLogging: async () => ({ source: name, location: "", capturedAt: "", sinks: [], errors: [] }),
    streamUsage: () => ({ method: "none", items: (async function* () {})() }),
    close() {
      provider.closed += 1;
    },
  };
  return provider;
}

/** Builds counting providers named p0, p1, ... and keeps them for the assertions. */
function providerFactory(): { built: Array<KeyProvider & { closed: number }>; build: () => KeyProvider } {
  const built: Array<KeyProvider & { closed: number }> = [];
  return {
    built,
    build: () => {
      const provider = countingProvider(`p${built.length}`);
      built.push(provider);
      return provider;
    },
  };
}

describe("ProviderCache", () => {
  it("gives the jobs of one run and source the same provider, and another run its own", async () => {
    const cache = new ProviderCache();
    const { built, build } = providerFactory();
    const first = await cache.use({ runId: "r1", source: "aws" }, build, async (provider) => provider);
    const second = await cache.use({ runId: "r1", source: "aws" }, build, async (provider) => provider);
    const other = await cache.use({ runId: "r2", source: "aws" }, build, async (provider) => provider);
    expect(second).toBe(first);
    expect(other).not.toBe(first);
    expect(built).toHaveLength(2);
    cache.close();
    expect(built.map((provider) => provider.closed)).toEqual([1, 1]);
  });

  it("discards a provider whose job failed, closing it once its other users are done", async () => {
    const cache = new ProviderCache();
    const { built, build } = providerFactory();
    let release: () => void = () => undefined;
    const longJob = cache.use(
      { runId: "r1", source: "aws" },
      build,
      () => new Promise<void>((resolve) => (release = resolve)),
    );
    await expect(
      cache.use({ runId: "r1", source: "aws" }, build, async () => {
        throw new Error("throttled");
      }),
    ).rejects.toThrow("throttled");
    // Still in use by the long job: not closed yet, but no longer handed out.
    expect(built[0]?.closed).toBe(0);
    const fresh = await cache.use({ runId: "r1", source: "aws" }, build, async (provider) => provider);
    expect(fresh).toBe(built[1]);
    release();
    await longJob;
    expect(built[0]?.closed).toBe(1);
  });

  it("closes the least recently used provider beyond its limit", async () => {
    const cache = new ProviderCache(2);
    const { built, build } = providerFactory();
    for (const runId of ["r1", "r2", "r1", "r3"]) {
      await cache.use({ runId, source: "aws" }, build, async () => undefined);
    }
    expect(cache.size).toBe(2);
    // r2 was the least recently used when r3 came.
    expect(built.map((provider) => [provider.sourceId, provider.closed])).toEqual([
      ["p0", 0],
      ["p1", 1],
      ["p2", 0],
    ]);
  });
});
