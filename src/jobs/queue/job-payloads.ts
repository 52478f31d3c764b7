import { z } from "zod";
import { SCHEDULE_PERIODS } from "./queue-settings.ts";
import type { JobName } from "./job-names.ts";

/**
 * Job data, validated when a job is enqueued and again when a worker takes it (another version of
 * keyproof may have written it). Payloads name things only: the run plan (config, range) is read from
 * the run record in Redis, and credentials never travel at all: each worker uses its own provider chain.
 */

/** `kp-20261128T163000Z-3f9a1c` (generated) or a user-given id; it names a bundle folder. */
export const RunIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, "must be letters, digits, . _ - (it names a folder)");

const RunPayloadSchema = z.strictObject({ runId: RunIdSchema });

const LocationPayloadSchema = z.strictObject({
  runId: RunIdSchema,
  source: z.string().min(1),
  location: z.string().min(1),
});

const KeyBatchPayloadSchema = z.strictObject({
  runId: RunIdSchema,
  source: z.string().min(1),
  location: z.string().min(1),
  /** Index into the location's plan (its key references live in the run's work store, not in Redis). */
  batch: z.number().int().min(0),
});

const ScreenshotBatchPayloadSchema = z.strictObject({
  runId: RunIdSchema,
  /** Index of the slice of the run's screenshot list (queue.screenshotBatchSize per slice). */
  batch: z.number().int().min(0),
});

export const JOB_PAYLOAD_SCHEMAS = {
  "collect-location": LocationPayloadSchema,
  "collect-key-batch": KeyBatchPayloadSchema,
  "extract-usage": LocationPayloadSchema,
  "judge-run": RunPayloadSchema,
  "render-evidence": RunPayloadSchema,
  "render-screenshot-batch": ScreenshotBatchPayloadSchema,
  "seal-bundle": RunPayloadSchema,
  "deliver-run": RunPayloadSchema,
  /** One `deliver:` target of a sealed run, by name: its config is read from the run's plan. */
  "deliver-target": z.strictObject({ runId: RunIdSchema, target: z.string().min(1) }),
  "start-scheduled-run": z.strictObject({
    schedule: z.string().min(1),
    period: z.enum(SCHEDULE_PERIODS),
    tz: z.string().min(1),
    /** `config`: managed by `schedule sync` from keyproof.yaml; `api`: created by an operator over HTTP. */
    origin: z.enum(["config", "api"]),
  }),
  /** A signed annual review to seal as evidence; `request` counts seal requests, so a retry is a new job. */
  "seal-review": z.strictObject({
    reviewId: z.string().regex(/^rv-\d{4}-[0-9a-f]{8}$/, "is not a review id"),
    request: z.number().int().min(1),
  }),
} satisfies Record<JobName, z.ZodType>;

export type JobPayloads = { [Name in JobName]: z.infer<(typeof JOB_PAYLOAD_SCHEMAS)[Name]> };
export type LocationPayload = z.infer<typeof LocationPayloadSchema>;
export type ScreenshotBatchPayload = z.infer<typeof ScreenshotBatchPayloadSchema>;
export type KeyBatchPayload = z.infer<typeof KeyBatchPayloadSchema>;
export type RunPayload = z.infer<typeof RunPayloadSchema>;
export type DeliverTargetPayload = JobPayloads["deliver-target"];

/** Validates a payload for enqueueing; a bad payload is a bug in the caller, reported with the field. */
export function validatePayload<Name extends JobName>(name: Name, data: unknown): JobPayloads[Name] {
  const schema = JOB_PAYLOAD_SCHEMAS[name] as unknown as z.ZodType<JobPayloads[Name]>;
  const parsed = schema.safeParse(data);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new PayloadError(name, `${issue?.path.join(".") || "(payload)"}: ${issue?.message ?? "invalid"}`);
}

export class PayloadError extends Error {
  override readonly name = "PayloadError";
  constructor(
    readonly jobName: string,
    detail: string,
  ) {
    super(`invalid ${jobName} payload: ${detail}`);
  }
}
