import { readFile } from "node:fs/promises";
import path from "node:path";
import { describeError, nodeErrorCode } from "../../errors/errors.ts";
import { BUNDLE_DIFF_FORMAT, type ChangesSincePrevious } from "../../evidence/bundle-diff.ts";
import { CHANGES_FILE } from "../../evidence/paths.ts";
import { registry } from "../../checks/registry.ts";
import { hashFile } from "../../evidence/bundle-tree.ts";
import { matchInventory } from "../../inventory/match-inventory.ts";
import type { Finding } from "../../model/finding.ts";
import type { Snapshot } from "../../model/snapshot.ts";
import type { BrowserPool } from "../../render/browser-pool.ts";
import type { DigestedFile } from "../../render/content-digest.ts";
import {
  renderEvidence,
  renderScreenshots,
  screenshotExportPaths,
  type RenderInput,
  type RenderResult,
  type ScreenshotSlice,
} from "../../render/render-evidence.ts";
import type { SignerIdentity } from "../../render/view-models/signer-identity.ts";

interface RenderStepInput {
  snapshot: Snapshot;
  findings: Finding[];
  bundleDirectory: string;
  /** Who seals the bundle, as the reports show it (key id and fingerprint, no file path). */
  signer: SignerIdentity;
  pool: BrowserPool;
  generatedAt?: Date;
}

/**
 * The changes the judge step wrote (changes.step.ts): read from the bundle, so the inline and the queued
 * render draw the same section. A missing or unreadable file becomes a reason the report prints.
 */
async function readChanges(bundleDirectory: string): Promise<ChangesSincePrevious | string> {
  try {
    const value = JSON.parse(
      await readFile(path.join(bundleDirectory, CHANGES_FILE), "utf8"),
    ) as ChangesSincePrevious;
    return value.format === BUNDLE_DIFF_FORMAT ? value : `${CHANGES_FILE} has an unknown format`;
  } catch (error) {
    return nodeErrorCode(error) === "ENOENT"
      ? `the run wrote no ${CHANGES_FILE}`
      : `${CHANGES_FILE} could not be read: ${describeError(error)}`;
  }
}

async function renderInputOf(input: RenderStepInput, slice?: ScreenshotSlice): Promise<RenderInput> {
  const { snapshot, bundleDirectory } = input;
  const keys = snapshot.sources.flatMap((source) => source.locations.flatMap((location) => location.keys));
  const exportDigests = new Map<string, string>();
  for (const exportPath of screenshotExportPaths(snapshot, slice)) {
    exportDigests.set(exportPath, (await hashFile(path.join(bundleDirectory, exportPath))).sha256);
  }
  return {
    snapshot,
    findings: input.findings,
    checks: registry.map((check) => check.metadata),
    // Matched over the snapshot's own keys, so every entry belongs to a key that is rendered.
    inventoryEntryByKey: matchInventory(snapshot.inventory, keys).entryByKey,
    exportDigests,
    signer: input.signer,
    changes: await readChanges(bundleDirectory),
    ...(input.generatedAt === undefined ? {} : { generatedAt: input.generatedAt }),
  };
}

/**
 * Renders the dated screenshots and PDF reports into the bundle directory, after judging and before sealing,
 * so every rendered artifact is in the manifest like any other file. The banners cite the SHA-256 of the JSON
 * export each screenshot was drawn from, so those digests are read from the files already written.
 *
 * A large estate renders in two parts: screenshot slices (renderScreenshotSliceStep, one job each, on any
 * render worker), then reports and index (renderStep with `screenshotsRendered`). A small one renders in
 * one go. Both draw the same files.
 */
export async function renderStep(
  input: RenderStepInput & { screenshotsRendered?: boolean },
): Promise<RenderResult> {
  const screenshotsRendered = input.screenshotsRendered === true;
  return renderEvidence(
    // With the screenshots drawn already, no export digest is needed: only reports and index remain.
    await renderInputOf(input, screenshotsRendered ? { start: 0, end: 0 } : undefined),
    input.bundleDirectory,
    input.pool,
    { screenshotsRendered },
  );
}

/** One slice of the screenshot list: a render batch of a large estate. */
export async function renderScreenshotSliceStep(
  input: Omit<RenderStepInput, "signer" | "generatedAt"> & { slice: ScreenshotSlice },
): Promise<DigestedFile[]> {
  // Screenshots never show the signer; only the reports and the index do.
  const renderInput = await renderInputOf({ ...input, signer: { keyId: "" } }, input.slice);
  return renderScreenshots(renderInput, input.bundleDirectory, input.pool, { slice: input.slice });
}
