import { z } from "zod";
import { CronPatternRuleSchema, SCHEDULE_PERIODS } from "../config/queue.schema.ts";
import { RunIdSchema } from "../jobs/queue/job-payloads.ts";
import { badRequest } from "./api-error.ts";

/**
 * Every request schema of the API: the routes validate with these, and `openapi.ts` generates the OpenAPI
 * document from the same objects, so the document cannot describe a field the route does not take.
 * `.meta()` carries only documentation (description, example).
 */

const DaySchema = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, "must be a date YYYY-MM-DD")
  .meta({ format: "date" });

/** `POST /v1/evidence-requests`: a period (`2026-Q3`, `2026-09`, `2026`) or inclusive UTC `from` + `to`. */
export const EvidenceRequestSchema = z
  .strictObject({
    period: z
      .string()
      .min(1)
      .max(20)
      .optional()
      .meta({ description: "Quarter, month or year (UTC); instead of from/to", example: "2026-Q3" }),
    from: DaySchema.optional().meta({ description: "First day, inclusive (UTC)", example: "2026-07-01" }),
    to: DaySchema.optional().meta({ description: "Last day, inclusive (UTC)", example: "2026-09-30" }),
    sources: z
      .array(z.string().min(1).max(100))
      .min(1, "list at least one source, or omit the field for all")
      .max(100)
      .optional()
      .meta({ description: "Source ids from the config; default all" }),
    keys: z
      .array(z.string().min(1).max(2048))
      .min(1, "list at least one key, or omit the field for all")
      .max(1000)
      .optional()
      .meta({ description: "Key ids, ARNs or aliases; default all keys" }),
    requester: z
      .string()
      .trim()
      .min(1, "name who asks for the evidence")
      .max(200)
      .meta({ example: "jane.doe@auditfirm.example" }),
    reason: z
      .string()
      .trim()
      .min(1, "say why the evidence is needed")
      .max(2000)
      .meta({ example: "SOC 2 Type II fieldwork, CC6.1 sample" }),
  })
  .meta({
    id: "EvidenceRequest",
    description: "A period, or from + to; at most policy.maxRangeDays days (default 400), years 1970-2100.",
  });
export type EvidenceRequest = z.infer<typeof EvidenceRequestSchema>;

export const RunListQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  // Stated for the document: zod-to-openapi marks a schema nullable when it accepts null (coercion makes
  // null 0), and an explicit `type` replaces the generated one, minimum and default included.
  offset: z.coerce.number().int().min(0).default(0).meta({ type: "integer", minimum: 0, default: 0 }),
});

export const RunIdParamsSchema = z.strictObject({
  id: RunIdSchema.meta({ description: "A run id, as returned by POST /v1/evidence-requests" }),
});

export const BundleQuerySchema = z.strictObject({
  redirect: z.enum(["true", "false"], "must be true or false").optional().meta({
    description:
      "For bundles stored in S3: `true` (default) redirects to the presigned URL, `false` returns it as JSON",
  }),
});

export const ArtifactParamsSchema = z.strictObject({
  id: RunIdParamsSchema.shape.id,
  path: z.string().meta({
    description: "The file's path inside the bundle as listed in manifest.json, e.g. findings.json",
  }),
});

export const ScheduleNameParamsSchema = z.strictObject({
  name: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, "must be lowercase letters, digits and dashes")
    .meta({ example: "quarterly" }),
});

export const ScheduleBodySchema = z
  .strictObject({
    cron: CronPatternRuleSchema.meta({
      description: "Five-field cron pattern (minute hour day-of-month month day-of-week), evaluated in tz",
      example: "0 6 1 1,4,7,10 *",
    }),
    tz: z.string().min(1).max(100).default("UTC").meta({ description: "IANA time zone", example: "UTC" }),
    period: z.enum(SCHEDULE_PERIODS),
  })
  .meta({ id: "ScheduleBody" });

/** A name or title as a signature shows it: the rule of `keyproof procedure approve` (approval-store.ts). */
const ApproverFieldSchema = z
  .string()
  .trim()
  .min(1, "must not be empty")
  .max(200, "at most 200 characters")
  .regex(/^[^\p{C}]*$/u, "printable characters only (no control characters)");

/** `POST /v1/procedure/approvals`: who approves the current procedure text. */
export const ProcedureApprovalBodySchema = z
  .strictObject({
    name: ApproverFieldSchema.meta({ description: "The approver's name", example: "Erin Lead" }),
    title: ApproverFieldSchema.meta({ description: "The approver's title", example: "Engineering Lead" }),
  })
  .meta({ id: "ProcedureApprovalBody" });

const FIELD_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;

/** The first zod issue as `field` + message, the field written `sources[1]`-style. */
export function firstIssue(error: z.ZodError): { field: string; message: string } {
  const issue = error.issues[0];
  if (issue === undefined) return { field: "(body)", message: "invalid" };
  const segments = issue.path.map((segment) => (typeof segment === "symbol" ? String(segment) : segment));
  if (issue.code === "unrecognized_keys") {
    // The unknown key is named only when it looks like a field name: arbitrary input is not read back.
    const key = issue.keys.find((name) => FIELD_NAME.test(name));
    return {
      field: key === undefined ? "(body)" : [...segments, key].map(String).join("."),
      message: key === undefined ? "unknown field" : `unknown field ${key}`,
    };
  }
  const field = segments
    .map((segment, index) =>
      typeof segment === "number" ? `[${segment}]` : index === 0 ? segment : `.${segment}`,
    )
    .join("");
  return { field: field === "" ? "(body)" : field, message: issue.message };
}

/** Validates one part of a request (body, query, params); a failure is a 400 naming the field. */
export function parseRequest<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = firstIssue(parsed.error);
    throw badRequest(issue.field, issue.message);
  }
  return parsed.data;
}
