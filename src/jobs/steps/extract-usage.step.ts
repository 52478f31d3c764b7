import { rm } from "node:fs/promises";
import path from "node:path";
import type { BundleWriter } from "../../evidence/bundle-writer.ts";
import { writeUsageAndChangeExtracts } from "../../evidence/usage-extract.writer.ts";
import {
  changesExtractPath,
  changesSummaryPath,
  slugify,
  usageExtractPath,
  usageSummaryPath,
} from "../../evidence/paths.ts";
import type { KeyProvider } from "../../providers/key-provider.ts";
import type { DateRange } from "../../model/snapshot.ts";
import type { UsageSummary } from "../../model/usage.ts";
import type { WorkStore } from "../work-store.ts";

export function usageWorkName(source: string, location: string): string {
  return `usage/${slugify(source)}--${slugify(location)}`;
}

export function changesWorkName(source: string, location: string): string {
  return `changes/${slugify(source)}--${slugify(location)}`;
}

/**
 * Streams one location's usage log for the range into the bundle's NDJSON + CSV extract. Safe to run again
 * for the same location (a retried or restarted job): a previous attempt's files, complete or cut off, are
 * removed first, because the extract writer opens its streams exclusively. The same pass writes the
 * configuration history (changes.ndjson / changes.csv) and stores its summary for the judge step.
 */
export async function extractUsageStep(input: {
  provider: KeyProvider;
  location: string;
  range: DateRange;
  generatedAt: string;
  writer: BundleWriter;
  work: WorkStore;
}): Promise<UsageSummary> {
  const { provider, location, range, writer, work } = input;
  for (const format of ["ndjson", "csv"] as const) {
    for (const file of [
      usageExtractPath(provider.sourceId, location, format),
      changesExtractPath(provider.sourceId, location, format),
    ]) {
      await rm(path.join(writer.directory, file), { force: true });
    }
  }
  const stream = provider.streamUsage(location, range);
  const { usage: summary, changes } = await writeUsageAndChangeExtracts(writer, stream.items, {
    source: provider.sourceId,
    sourceType: provider.type,
    location,
    method: await stream.method,
    range,
    generatedAt: input.generatedAt,
  });
  await writer.writeJson(usageSummaryPath(provider.sourceId, location), summary, { overwrite: true });
  await writer.writeJson(changesSummaryPath(provider.sourceId, location), changes, { overwrite: true });
  // Stored before the usage summary: the judge step treats a location with a usage summary as extracted.
  await work.put(changesWorkName(provider.sourceId, location), changes);
  await work.put(usageWorkName(provider.sourceId, location), summary);
  return summary;
}
