import { z } from "zod";
import { SCHEDULE_PERIODS } from "../config/queue.schema.ts";
import { RUN_STEPS } from "../jobs/queue/run-flow.ts";
import { RUN_ORIGINS } from "../jobs/queue/run-plan.ts";
import { RUN_STATES, RUN_STATUSES } from "../jobs/queue/run-store.ts";

/**
 * What the API answers, as zod schemas: the OpenAPI document is generated from them, and the handlers'
 * return types are inferred from them (`RunView`), so the compiler keeps the two in step.
 */

const PeriodViewSchema = z.object({
  label: z.string().meta({ example: "2026-Q3" }),
  from: z.string().meta({ format: "date" }),
  to: z.string().meta({ format: "date", description: "Last day, inclusive" }),
});

export const RunAcceptedSchema = z
  .object({
    runId: z.string(),
    status: z.enum(RUN_STATUSES),
    existing: z.boolean().meta({
      description:
        "True when an identical run is going, or completed within queue.dedupeWindowSeconds: that run is returned",
    }),
    period: PeriodViewSchema,
    links: z.object({ self: z.string(), bundle: z.string() }),
  })
  .meta({ id: "RunAccepted" });

export const StepProgressSchema = z
  .object({
    step: z.enum(RUN_STEPS),
    total: z.number().int(),
    completed: z.number().int(),
    failed: z.number().int(),
    active: z.number().int(),
    pending: z.number().int(),
    unknown: z.number().int(),
  })
  .meta({ id: "StepProgress" });

export const RunViewSchema = z
  .object({
    runId: z.string(),
    status: z.enum(RUN_STATUSES),
    state: z.enum(RUN_STATES).meta({
      description:
        "What the run amounts to: completed (complete evidence), completed-with-gaps (sealed, evidence incomplete: the CLI's exit 3), or the lifecycle status while it is not finished",
    }),
    period: PeriodViewSchema,
    createdAt: z.string().meta({ format: "date-time" }),
    startedAt: z.string().meta({ format: "date-time" }).optional(),
    finishedAt: z.string().meta({ format: "date-time" }).optional(),
    request: z.object({
      origin: z.enum(RUN_ORIGINS),
      requester: z.string().optional(),
      reason: z.string().optional(),
      schedule: z.string().optional(),
      token: z.string().optional().meta({ description: "Name of the API token that asked" }),
    }),
    scope: z.object({ sources: z.array(z.string()), keys: z.array(z.string()).optional() }),
    findings: z
      .object({
        total: z.number().int(),
        byStatus: z.record(z.string(), z.number().int()),
        openBySeverity: z.record(z.string(), z.number().int()),
      })
      .optional()
      .meta({ description: "Totals by status and open findings by severity" }),
    gapCount: z.number().int().optional(),
    bundle: z.object({ manifestSha256: z.string(), download: z.string() }).optional(),
    error: z.string().optional(),
    delivery: z
      .record(
        z.string(),
        z.object({
          type: z.string(),
          state: z.enum(["delivered", "failed", "retrying", "pending"]),
          outcomes: z.array(
            z.object({
              path: z.string().meta({ description: "Bundle path of the artifact, or (finish)" }),
              state: z.enum(["delivered", "skipped", "failed"]),
              time: z.string(),
              sha256: z.string().meta({ description: "SHA-256 of what was sent" }),
              remoteId: z.string().optional(),
              httpStatus: z.number().int().optional(),
              reason: z.string().optional(),
            }),
          ),
        }),
      )
      .optional()
      .meta({ description: "Per deliver: target (by name), once its delivery job has run" }),
  })
  .meta({ id: "RunSummary" });
export type RunView = z.infer<typeof RunViewSchema>;

export const RunDetailSchema = RunViewSchema.extend({
  progress: z.array(StepProgressSchema),
  gaps: z
    .object({ count: z.number().int(), items: z.array(z.record(z.string(), z.unknown())) })
    .optional()
    .meta({ description: "At most 100 gaps inline; the bundle's gaps.json has all" }),
}).meta({ id: "Run" });

export const RunPageSchema = z
  .object({
    total: z.number().int(),
    offset: z.number().int(),
    limit: z.number().int(),
    runs: z.array(RunViewSchema),
    next: z.string().optional().meta({ description: "URL of the next page, absent on the last" }),
  })
  .meta({ id: "RunPage" });

export const PresignedBundleSchema = z
  .object({
    url: z.string().meta({ description: "Presigned S3 GetObject URL; no Authorization header needed" }),
    expiresAt: z.string().meta({ format: "date-time" }),
    versionId: z.string().optional().meta({ description: "The S3 object version the URL is pinned to" }),
  })
  .meta({ id: "PresignedBundle" });

export const ScheduleViewSchema = z
  .object({
    name: z.string(),
    cron: z.string(),
    tz: z.string(),
    period: z.enum(SCHEDULE_PERIODS),
    origin: z.enum(["config", "api", "unknown"]),
    next: z.string().meta({ format: "date-time" }).optional(),
  })
  .meta({ id: "Schedule" });

export const ScheduleListSchema = z.object({ schedules: z.array(ScheduleViewSchema) });

export const ProcedureApprovalViewSchema = z
  .object({
    version: z.string().meta({ description: "Procedure version at approval", example: "1.0+3f9a1c2b4d5e" }),
    textSha256: z.string().meta({ description: "SHA-256 hex of the approved normative text" }),
    name: z.string(),
    title: z.string(),
    approvedAt: z.string().meta({ format: "date-time" }),
    recordedBy: z.string().meta({ description: "Token name (API) or cli:<user> (CLI)" }),
  })
  .meta({ id: "ProcedureApproval" });

export const ProcedureStateSchema = z
  .object({
    procedure: z
      .object({ version: z.string(), textSha256: z.string() })
      .meta({ description: "The procedure text the service's configuration produces now" }),
    latestApproval: ProcedureApprovalViewSchema.nullable(),
    matchesCurrentText: z
      .boolean()
      .meta({ description: "Whether the latest approval is of the current text" }),
  })
  .meta({ id: "ProcedureState" });

export const HealthSchema = z.object({ status: z.literal("ok") });
