import { z } from "zod";
import { SCHEDULE_PERIODS } from "../jobs/queue/queue-settings.ts";

/** `POST /v1/evidence-requests`: a period (`2026-Q3`, `2026-09`, `2026`) or inclusive UTC `from` + `to`. */
export const EvidenceRequestSchema = z.strictObject({
  period: z.string().min(1).optional(),
  from: z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}$/, "must be a date YYYY-MM-DD")
    .optional(),
  to: z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}$/, "must be a date YYYY-MM-DD")
    .optional(),
  sources: z
    .array(z.string().min(1))
    .min(1, "list at least one source, or omit the field for all")
    .max(100)
    .optional(),
  keys: z
    .array(z.string().min(1).max(2048))
    .min(1, "list at least one key, or omit the field for all")
    .max(1000)
    .optional(),
  requester: z.string().trim().min(1, "name who asks for the evidence").max(200),
  reason: z.string().trim().min(1, "say why the evidence is needed").max(2000),
});
export type EvidenceRequest = z.infer<typeof EvidenceRequestSchema>;

export const RunListQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  offset: z.coerce.number().int().min(0).default(0),
});

export const ScheduleBodySchema = z.strictObject({
  cron: z
    .string()
    .regex(/^\S+(\s+\S+){4,5}$/, 'must be a cron pattern with five fields, e.g. "0 6 1 1,4,7,10 *"'),
  tz: z.string().min(1).default("UTC"),
  period: z.enum(SCHEDULE_PERIODS),
});

/** The first zod issue as `field` + message, the field written `sources[1]`-style. */
export function firstIssue(error: z.ZodError): { field: string; message: string } {
  const issue = error.issues[0];
  if (issue === undefined) return { field: "(body)", message: "invalid" };
  const segments = issue.path.map((segment) => (typeof segment === "symbol" ? String(segment) : segment));
  if (issue.code === "unrecognized_keys") {
    return {
      field: [...segments, issue.keys[0] ?? ""].map(String).join("."),
      message: `unknown field${issue.keys.length > 1 ? "s" : ""} ${issue.keys.join(", ")}`,
    };
  }
  const field = segments
    .map((segment, index) =>
      typeof segment === "number" ? `[${segment}]` : index === 0 ? segment : `.${segment}`,
    )
    .join("");
  return { field: field === "" ? "(body)" : field, message: issue.message };
}
