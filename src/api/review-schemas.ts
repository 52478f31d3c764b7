import { z } from "zod";
import { REVIEW_DECISION_VALUES, REVIEW_ITEM_KINDS } from "../model/review.ts";
import { ReviewEvidenceSchema } from "../review/review-store.ts";
import { MAX_NOTE_CHARACTERS, MAX_TICKET_URL_CHARACTERS } from "../review/review-service.ts";

/**
 * Request and response schemas of the review routes (routes/reviews.routes.ts). The routes validate with
 * them and openapi.ts documents them, like request-schemas.ts and response-schemas.ts for runs.
 */

export const ReviewIdParamsSchema = z.strictObject({
  id: z
    .string()
    .regex(/^rv-\d{4}-[0-9a-f]{8}$/, "is not a review id")
    .meta({ description: "A review id, as returned by POST /v1/reviews", example: "rv-2026-3f9a1c2b" }),
});

export const ReviewStartSchema = z
  .strictObject({
    year: z
      .number()
      .int()
      .min(2000)
      .max(2100)
      .meta({ description: "The review's calendar year", example: 2026 }),
    fromRun: z
      .string()
      .min(1)
      .max(128)
      .optional()
      .meta({ description: "Review this run's sealed bundle; default the scope's latest evidence bundle" }),
    sources: z
      .array(z.string().min(1).max(100))
      .min(1, "list at least one source, or omit the field for all")
      .max(100)
      .optional()
      .meta({ description: "Review only these sources of the bundle; default all" }),
  })
  .meta({ id: "ReviewStart" });

export const DecisionInputSchema = z
  .strictObject({
    itemId: z.string().min(1).max(100),
    revision: z
      .number()
      .int()
      .min(0)
      .meta({ description: "The item's decision revision you last saw; 0 when it had no decision" }),
    decision: z.enum(REVIEW_DECISION_VALUES),
    note: z.string().max(MAX_NOTE_CHARACTERS).optional(),
    ticketUrl: z.string().max(MAX_TICKET_URL_CHARACTERS).optional(),
  })
  .meta({ id: "DecisionInput" });

export const DecisionsBodySchema = z
  .strictObject({ decisions: z.array(DecisionInputSchema).min(1).max(1000) })
  .meta({ id: "DecisionsBody", description: "All decisions are saved, or none (409 when one is stale)" });

export const SignBodySchema = z
  .strictObject({
    name: z.string().trim().min(1).max(200).meta({ example: "Ana Pereira" }),
    title: z.string().trim().min(1).max(200).meta({ example: "Security Analyst" }),
  })
  .meta({ id: "ReviewSignOffBody" });

const DecisionSchema = z
  .object({
    decision: z.enum(REVIEW_DECISION_VALUES),
    note: z.string(),
    ticketUrl: z.string().optional(),
    decidedBy: z.string(),
    decidedAt: z.string(),
    revision: z.number().int(),
  })
  .meta({ id: "ReviewDecision" });

const ItemSchema = z
  .object({
    id: z.string(),
    kind: z.enum(REVIEW_ITEM_KINDS),
    source: z.string(),
    location: z.string().optional(),
    keyId: z.string().optional(),
    resource: z.string(),
    title: z.string(),
    status: z.string(),
    checkId: z.string().optional(),
    grant: z
      .object({
        principal: z.string(),
        principalType: z.string(),
        actions: z.array(z.string()),
        effect: z.enum(["allow", "deny"]),
        via: z.string(),
        reference: z.string(),
      })
      .optional(),
    evidence: z.array(z.string()),
    decision: DecisionSchema.optional(),
  })
  .meta({ id: "ReviewItem" });

export const ReviewViewSchema = z
  .object({
    id: z.string(),
    year: z.number().int(),
    organization: z.string(),
    sources: z.array(z.string()),
    status: z.enum(["open", "signed"]),
    version: z.number().int(),
    bundle: z.object({
      runId: z.string(),
      manifestSha256: z.string(),
      location: z.string(),
      period: z.object({ label: z.string(), from: z.string(), to: z.string() }),
      capturedAt: z.string(),
    }),
    createdAt: z.string(),
    createdBy: z.string(),
    items: z.array(ItemSchema),
    allowedDecisions: z.record(z.enum(REVIEW_ITEM_KINDS), z.array(z.string())),
    undecided: z.number().int(),
    signOff: z
      .object({
        name: z.string(),
        title: z.string(),
        signedAt: z.string(),
        identity: z.object({ tokenName: z.string(), role: z.string(), tokenId: z.string() }),
        decisionsSha256: z.string(),
      })
      .optional(),
    evidence: ReviewEvidenceSchema.optional().meta({
      description:
        "The signed review's evidence bundle: pending (a render worker seals it), sealed, or failed",
    }),
  })
  .meta({ id: "Review" });
export type ReviewView = z.infer<typeof ReviewViewSchema>;

export const ReviewListSchema = z
  .object({
    reviews: z.array(
      z.object({
        id: z.string(),
        year: z.number().int(),
        sources: z.array(z.string()),
        status: z.enum(["open", "signed"]),
        createdAt: z.string(),
        undecided: z.number().int(),
        signedAt: z.string().optional(),
      }),
    ),
  })
  .meta({ id: "ReviewList" });

export const DecisionsSavedSchema = z
  .object({ version: z.number().int(), decisions: z.record(z.string(), DecisionSchema) })
  .meta({ id: "DecisionsSaved" });

export const ReviewConflictSchema = z
  .object({
    error: z.literal("conflict"),
    message: z.string(),
    conflicts: z
      .array(z.object({ itemId: z.string(), current: DecisionSchema.nullable() }))
      .optional()
      .meta({ description: "Stale writes: each item's current decision (null: none)" }),
    undecided: z
      .array(z.string())
      .optional()
      .meta({ description: "Sign-off refused: the items still undecided" }),
    signed: z.boolean().optional().meta({ description: "True when the review is signed and read-only" }),
  })
  .meta({ id: "ReviewConflict" });
