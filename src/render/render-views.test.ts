import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { KeyRecord } from "../model/key.ts";
import type { Snapshot } from "../model/snapshot.ts";
import { buildFixtureRenderInput, buildFixtureSnapshot } from "../../test/fixtures/render/render-fixture.ts";
import { buildReportViews, buildScreenshotViews } from "./render-evidence.ts";

/** The fixture snapshot with every key's `raw` behind a proxy that records each read. */
function guardRaw(snapshot: Snapshot, read: string[]): Snapshot {
  return {
    ...snapshot,
    sources: snapshot.sources.map((source) => ({
      ...source,
      locations: source.locations.map((location) => ({
        ...location,
        keys: location.keys.map((key): KeyRecord => ({
          ...key,
          raw: new Proxy(key.raw, {
            get(target, property, receiver) {
              read.push(`${key.keyId}.${String(property)}`);
              return Reflect.get(target, property, receiver);
            },
            ownKeys(target) {
              read.push(`${key.keyId}.<keys>`);
              return Reflect.ownKeys(target);
            },
          }),
        })),
      })),
    })),
  };
}

describe("view models", () => {
  it("never read KeyRecord.raw: what a picture or report shows comes from typed facts and findings", async () => {
    const directory = await mkdtemp(join(tmpdir(), "keyproof-views-"));
    try {
      const input = await buildFixtureRenderInput(directory, buildFixtureSnapshot());
      expect(input.snapshot.sources.some((source) => source.locations.some((l) => l.keys.length > 0))).toBe(
        true,
      );
      const read: string[] = [];
      const guarded = { ...input, snapshot: guardRaw(input.snapshot, read) };
      const screenshots = buildScreenshotViews(guarded);
      const reports = buildReportViews(guarded, new Date("2026-10-01T09:00:00.000Z"));
      expect(screenshots.length).toBeGreaterThan(0);
      expect(reports.length).toBeGreaterThan(0);
      expect(read).toEqual([]);
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });
});
