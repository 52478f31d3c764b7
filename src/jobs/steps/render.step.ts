import path from "node:path";
import { registry } from "../../checks/registry.ts";
import { hashFile } from "../../evidence/bundle-tree.ts";
import { keyAccessPolicyPath, keyConfigurationPath, loggingStatusPath } from "../../evidence/paths.ts";
import { keyReference, matchInventory } from "../../inventory/match-inventory.ts";
import type { Finding } from "../../model/finding.ts";
import type { Snapshot } from "../../model/snapshot.ts";
import type { BrowserPool } from "../../render/browser-pool.ts";
import { renderEvidence, type RenderResult } from "../../render/render-evidence.ts";

/**
 * Renders the dated screenshots and PDF reports into the bundle directory, after judging and before sealing,
 * so every rendered artifact is in the manifest like any other file. The banners cite the SHA-256 of the JSON
 * export each screenshot was drawn from, so those digests are read from the files already written.
 */
export async function renderStep(input: {
  snapshot: Snapshot;
  findings: Finding[];
  bundleDirectory: string;
  signerDescription: string;
  pool: BrowserPool;
  generatedAt?: Date;
}): Promise<RenderResult> {
  const { snapshot, bundleDirectory } = input;
  const keys = snapshot.sources.flatMap((source) => source.locations.flatMap((location) => location.keys));
  const match = matchInventory(snapshot.inventory, keys);
  const inventoryEntryByKey = new Map(
    [...match.entryByKey].filter(([reference]) => keys.some((key) => keyReference(key) === reference)),
  );

  const exportPaths = [
    ...keys.flatMap((key) => [
      keyConfigurationPath(key.source, key.location, key.keyId),
      keyAccessPolicyPath(key.source, key.location, key.keyId),
    ]),
    ...snapshot.sources.flatMap((source) =>
      source.locations.map((location) => loggingStatusPath(source.source, location.location)),
    ),
  ];
  const exportDigests = new Map<string, string>();
  for (const exportPath of exportPaths) {
    exportDigests.set(exportPath, (await hashFile(path.join(bundleDirectory, exportPath))).sha256);
  }

  return renderEvidence(
    {
      snapshot,
      findings: input.findings,
      checks: registry.map((check) => check.metadata),
      inventoryEntryByKey,
      exportDigests,
      signerDescription: input.signerDescription,
      ...(input.generatedAt === undefined ? {} : { generatedAt: input.generatedAt }),
    },
    bundleDirectory,
    input.pool,
  );
}
