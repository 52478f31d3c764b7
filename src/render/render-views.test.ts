import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { withRawReadsRecorded } from "../../test/factories/index.ts";
import { buildFixtureRenderInput, buildFixtureSnapshot } from "../../test/fixtures/render/render-fixture.ts";
import { buildReportViews, buildScreenshotViews } from "./render-evidence.ts";

describe("view models", () => {
  it("never read KeyRecord.raw: what a picture or report shows comes from typed facts and findings", async () => {
    const directory = await mkdtemp(join(tmpdir(), "keyproof-views-"));
    try {
      const input = await buildFixtureRenderInput(directory, buildFixtureSnapshot());
      expect(input.snapshot.sources.some((source) => source.locations.some((l) => l.keys.length > 0))).toBe(
        true,
      );
      const read: string[] = [];
      const guarded = { ...input, snapshot: withRawReadsRecorded(input.snapshot, read) };
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
