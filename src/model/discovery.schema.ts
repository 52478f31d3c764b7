import { z } from "zod";
import { SOURCE_TYPES } from "./key.ts";
import { CollectionErrorSchema } from "./collection-error.schema.ts";
import type { SourceDiscovery } from "./discovery.ts";

/**
 * A `SourceDiscovery` read back from JSON another process wrote: the run plan in Redis carries each
 * source's discovery from the planning process to the worker that judges and writes `discovery.json`.
 */
const GapSchema = z.object({
  source: z.string(),
  location: z.string().optional(),
  error: CollectionErrorSchema,
});

export const SourceDiscoverySchema = z.object({
  source: z.string(),
  type: z.enum(SOURCE_TYPES),
  method: z.string(),
  discoveredAt: z.string(),
  calls: z.array(
    z.object({
      call: z.string(),
      scope: z.string().optional(),
      at: z.string(),
      pages: z.number().int().nonnegative().optional(),
      count: z.number().int().nonnegative().optional(),
      error: CollectionErrorSchema.optional(),
    }),
  ),
  members: z.array(
    z.object({
      id: z.string(),
      name: z.string().optional(),
      status: z.enum(["included", "excluded", "unreachable"]),
      reason: z.string().optional(),
      locations: z.array(z.string()),
      details: z.record(z.string(), z.json()).optional(),
    }),
  ),
  locations: z.array(z.string()),
  gaps: z.array(GapSchema),
}) satisfies z.ZodType<SourceDiscovery>;
