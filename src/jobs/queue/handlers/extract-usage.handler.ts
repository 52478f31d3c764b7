import { createProvider } from "../../../providers/create-provider.ts";
import { extractUsageStep } from "../../steps/extract-usage.step.ts";
import { closeProvider } from "../close-provider.ts";
import type { JobContext } from "../job-context.ts";
import type { LocationPayload } from "../job-payloads.ts";
import { withRunScope, sourceOf, withSourceLease, type RunScope } from "./run-context.ts";

export interface ExtractUsageResult {
  events: number;
  gaps: number;
}

/**
 * Streams one location's usage log into the bundle. The step removes a previous attempt's files first, so
 * a retry after a crash or a worker kill rewrites the extract instead of failing on the existing file.
 * One extraction per source and location at a time across all workers (source-lease.ts), so concurrent
 * runs do not add up to more than the provider's per-region quota (LookupEvents: 2 requests/second).
 */
export async function handleExtractUsage(
  payload: LocationPayload,
  job: JobContext,
): Promise<ExtractUsageResult> {
  await job.runs.markRunning(payload.runId);
  // Nothing hydrated: the extract is written afresh, then published in parts (run-workspace.ts).
  return withRunScope(payload.runId, job, {}, (scope) =>
    withSourceLease(job, { source: payload.source, location: payload.location, kind: "usage" }, () =>
      extract(payload, job, scope),
    ),
  );
}

async function extract(
  payload: LocationPayload,
  job: JobContext,
  scope: RunScope,
): Promise<ExtractUsageResult> {
  const provider = createProvider(sourceOf(scope.plan, payload.source), {
    baseDirectory: scope.plan.configDirectory,
    ...job.providerOptions,
  });
  try {
    const summary = await extractUsageStep({
      provider,
      location: payload.location,
      range: scope.plan.range,
      generatedAt: scope.plan.capturedAt,
      writer: scope.writer,
      work: scope.work,
    });
    return { events: summary.eventCount, gaps: summary.gaps.length };
  } finally {
    closeProvider(provider);
  }
}
