import { createHash } from "node:crypto";
import path from "node:path";
import { z } from "zod";
import { ConfigSchema } from "../../config/config.schema.ts";
import type { DateRange } from "../../model/snapshot.ts";
import { SOURCE_TYPES } from "../../model/key.ts";
import { SourceDiscoverySchema } from "../../model/discovery.schema.ts";
import { RunIdSchema } from "./job-payloads.ts";

/**
 * Everything a worker needs to run its part of one run, fixed when the run is requested and stored once
 * in the run record (Redis): config, range, capture time, output directory, the planned locations. Jobs
 * carry only the run id and their target, so every job of a run sees the same plan even if the config
 * file changes mid-run. The config holds no credentials by design (providers use their credential chains).
 */

export const DateRangeSchema = z.strictObject({
  from: z.string(),
  toExclusive: z.string(),
  to: z.string(),
  label: z.string(),
});

export const PlannedSourceSchema = z.strictObject({
  id: z.string(),
  type: z.enum(SOURCE_TYPES),
  locations: z.array(z.string()),
  /**
   * How the locations were found (discovery.json): the planning process discovers once, so every worker
   * collects the same population and the judging worker writes the record without calling out again.
   */
  discovery: SourceDiscoverySchema.optional(),
});

export const RUN_ORIGINS = ["cli", "api", "schedule"] as const;

export const RunPlanSchema = z.strictObject({
  runId: RunIdSchema,
  config: ConfigSchema,
  /** Absolute; relative paths in the config (signing key) resolve against it. */
  configDirectory: z.string(),
  range: DateRangeSchema,
  /** UTC ISO-8601: the run's capture time, stamped on every export. */
  capturedAt: z.string(),
  /** Absolute. The bundle is `<outDirectory>/<runId>`, work items `<outDirectory>/.work/<runId>`. */
  outDirectory: z.string(),
  sources: z.array(PlannedSourceSchema),
  /** Screenshots and PDF reports before sealing (a render job on the render queue); false = JSON evidence only. */
  render: z.boolean().default(true),
  /** Key names (id, ARN, alias) the run is restricted to; absent = every key of the planned sources. */
  keys: z.array(z.string()).optional(),
  /** Identity of "the same request": sources, keys and period. Two requests with one digest share a run. */
  scopeDigest: z.string(),
  request: z.strictObject({
    origin: z.enum(RUN_ORIGINS),
    requester: z.string().optional(),
    reason: z.string().optional(),
    schedule: z.string().optional(),
    /** Name of the API token that asked, when the API did. */
    token: z.string().optional(),
  }),
});
export type RunPlan = z.infer<typeof RunPlanSchema>;
export type RunOrigin = (typeof RUN_ORIGINS)[number];

export function bundleDirectoryOf(plan: Pick<RunPlan, "outDirectory" | "runId">): string {
  return path.join(plan.outDirectory, plan.runId);
}

export function workDirectoryOf(plan: Pick<RunPlan, "outDirectory" | "runId">): string {
  return path.join(plan.outDirectory, ".work", plan.runId);
}

/**
 * "Same scope and period": the organization, the sources, the key filter and the exact UTC range.
 * `2026-Q3` and `--from 2026-07-01 --to 2026-09-30` are the same period, so they hash alike.
 */
export function scopeDigestOf(input: {
  organization: string;
  sources: readonly string[];
  keys?: readonly string[];
  range: Pick<DateRange, "from" | "toExclusive">;
  outDirectory: string;
}): string {
  const canonical = JSON.stringify({
    organization: input.organization,
    sources: [...input.sources].sort(),
    keys: input.keys === undefined ? null : [...input.keys].sort(),
    from: input.range.from,
    toExclusive: input.range.toExclusive,
    outDirectory: input.outDirectory,
  });
  return createHash("sha256").update(canonical).digest("hex").slice(0, 32);
}
