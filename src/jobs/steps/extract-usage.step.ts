import { rm } from "node:fs/promises";
import path from "node:path";
import type { BundleWriter } from "../../evidence/bundle-writer.ts";
import { writeUsageExtract } from "../../evidence/usage-extract.writer.ts";
import { slugify, usageExtractPath, usageSummaryPath } from "../../evidence/paths.ts";
import type { KeyProvider } from "../../providers/key-provider.ts";
import type { DateRange } from "../../model/snapshot.ts";
import type { UsageSummary } from "../../model/usage.ts";
import type { WorkStore } from "../work-store.ts";

export function usageWorkName(source: string, location: string): string {
  return `usage/${slugify(source)}--${slugify(location)}`;
}

/**
 * Streams one location's usage log for the range into the bundle's NDJSON + CSV extract. Safe to run again
 * for the same location (a retried or restarted job): a previous attempt's files, complete or cut off, are
 * removed first, because the extract writer opens its streams exclusively.
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
    await rm(path.join(writer.directory, usageExtractPath(provider.sourceId, location, format)), {
      force: true,
    });
  }
  const stream = provider.streamUsage(location, range);
  const summary = await writeUsageExtract(writer, stream.items, {
    source: provider.sourceId,
    sourceType: provider.type,
    location,
    method: await stream.method,
    range,
    generatedAt: input.generatedAt,
  });
  await writer.writeJson(usageSummaryPath(provider.sourceId, location), summary, { overwrite: true });
  await work.put(usageWorkName(provider.sourceId, location), summary);
  return summary;
}
