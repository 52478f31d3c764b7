import path from "node:path";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { DECISIONS_BY_KIND } from "../../model/review.ts";
import { jobIdFor } from "../../jobs/queue/job-ids.ts";
import { JOB_OPTIONS } from "../../jobs/queue/job-options.ts";
import { validatePayload } from "../../jobs/queue/job-payloads.ts";
import { JOB_REGISTRY } from "../../jobs/queue/job-registry.ts";
import {
  decideReviewItems,
  isReviewConflictError,
  newReviewId,
  prepareReview,
  requireReview,
  signReview,
  undecidedItems,
} from "../../review/review-service.ts";
import { ReviewStore, type ReviewEvidence, type StoredReview } from "../../review/review-store.ts";
import { locateReviewBundle, readReviewedBundle, runBundleLookup } from "../../review/reviewed-bundle.ts";
import { reviewTrustOf } from "../../review/review-trust.ts";
import { ApiError } from "../api-error.ts";
import type { ApiServerOptions } from "../api-types.ts";
import { parseRequest } from "../request-schemas.ts";
import {
  DecisionsBodySchema,
  ReviewIdParamsSchema,
  ReviewStartSchema,
  SignBodySchema,
  type ReviewView,
} from "../review-schemas.ts";

/**
 * The annual review (procedure step 7). Reviewers prepare, decide and sign; auditors and operators read
 * signed reviews only. A stale or post-signature write answers 409 with the current values; nothing in an
 * answer reads the request back.
 */
export function registerReviewRoutes(app: FastifyInstance, options: ApiServerOptions): void {
  const store = new ReviewStore(options.client.redis, options.client.prefix);
  const { service } = options;

  const runs = runBundleLookup(options.client.runs);

  /**
   * Sealing renders a PDF, and only render workers launch a browser: the signed review is queued for one
   * (the job id counts requests, so asking again after a failure is a new job, and a duplicate is a no-op).
   */
  async function requestSeal(review: StoredReview): Promise<ReviewEvidence> {
    const id = review.record.id;
    const request = await store.requestSeal(id, {
      config: service.config,
      configDirectory: service.configDirectory,
      outDirectory: path.join(service.dataDirectory, "reviews"),
    });
    const payload = validatePayload("seal-review", { reviewId: id, request });
    await options.client.queue(JOB_REGISTRY["seal-review"].queue).add("seal-review", payload, {
      ...JOB_OPTIONS["seal-review"],
      jobId: jobIdFor(id, "seal-review", String(request)),
    });
    return (await store.get(id))?.evidence ?? { state: "pending", requestedAt: new Date().toISOString() };
  }

  async function readable(request: FastifyRequest, id: string): Promise<StoredReview> {
    const review = await requireReview(store, id);
    // Auditors and operators see a review once it is signed: before, it is a reviewer's work in progress.
    if (review.status !== "signed" && request.principal?.role !== "reviewer") {
      throw new ApiError("not_found", "no review with that id");
    }
    return review;
  }

  app.post("/v1/reviews", { config: { permission: "decide-reviews" } }, async (request, reply) => {
    const body = parseRequest(ReviewStartSchema, request.body ?? undefined);
    const known = service.config.sources.map((source) => source.id);
    const unknown = (body.sources ?? []).filter((source) => !known.includes(source));
    if (unknown.length > 0)
      throw new ApiError("bad_request", `sources: not configured: ${unknown.length} source(s)`, "sources");
    const location = await locateReviewBundle({
      config: service.config,
      configDirectory: service.configDirectory,
      ...(body.fromRun === undefined ? {} : { fromRun: body.fromRun }),
      runs,
    });
    const trust = await reviewTrustOf(service.config, service.configDirectory);
    const bundle = await readReviewedBundle(location, trust);
    const record = prepareReview({
      id: newReviewId(body.year),
      year: body.year,
      config: service.config,
      bundle,
      ...(body.sources === undefined ? {} : { sources: body.sources }),
      createdBy: request.principal?.name ?? "unknown",
      now: new Date(),
    });
    await store.create(record);
    const created = await requireReview(store, record.id);
    return reply.status(201).send(reviewView(created));
  });

  app.get("/v1/reviews", { config: { permission: "read-signed-reviews" } }, async (request) => {
    const all = await store.list();
    const visible =
      request.principal?.role === "reviewer" ? all : all.filter((review) => review.status === "signed");
    return {
      reviews: visible.map((review) => ({
        id: review.record.id,
        year: review.record.year,
        sources: review.record.sources,
        status: review.status,
        createdAt: review.record.createdAt,
        undecided: undecidedItems(review).length,
        ...(review.record.signOff === undefined ? {} : { signedAt: review.record.signOff.signedAt }),
      })),
    };
  });

  app.get<{ Params: { id: string } }>(
    "/v1/reviews/:id",
    { config: { permission: "read-signed-reviews" } },
    async (request) => {
      const { id } = parseNotFound(request.params);
      return reviewView(await readable(request, id));
    },
  );

  app.put<{ Params: { id: string } }>(
    "/v1/reviews/:id/decisions",
    { config: { permission: "decide-reviews" } },
    async (request, reply) => {
      const { id } = parseNotFound(request.params);
      const body = parseRequest(DecisionsBodySchema, request.body ?? undefined);
      try {
        const saved = await decideReviewItems(
          store,
          id,
          body.decisions,
          request.principal?.name ?? "unknown",
        );
        return { version: saved.version, decisions: saved.decisions };
      } catch (error) {
        if (isReviewConflictError(error))
          return reply.status(409).send({ error: "conflict", message: error.message, ...error.details });
        throw error;
      }
    },
  );

  app.post<{ Params: { id: string } }>(
    "/v1/reviews/:id/sign",
    { config: { permission: "decide-reviews" } },
    async (request, reply) => {
      const { id } = parseNotFound(request.params);
      const body = parseRequest(SignBodySchema, request.body ?? undefined);
      const principal = request.principal;
      if (principal === undefined) throw new ApiError("unauthorized", "send Authorization: Bearer <token>");
      let signed: StoredReview;
      try {
        signed = await signReview(store, id, body, {
          tokenName: principal.name,
          role: principal.role,
          tokenId: principal.tokenId,
        });
      } catch (error) {
        if (isReviewConflictError(error))
          return reply.status(409).send({ error: "conflict", message: error.message, ...error.details });
        throw error;
      }
      return reviewView({ ...signed, evidence: await requestSeal(signed) });
    },
  );

  app.post<{ Params: { id: string } }>(
    "/v1/reviews/:id/seal",
    { config: { permission: "decide-reviews" } },
    async (request) => {
      const { id } = parseNotFound(request.params);
      const review = await requireReview(store, id).catch((error: unknown) => {
        throw error;
      });
      if (review.status !== "signed") throw new ApiError("conflict", "the review is not signed yet");
      // Pending: a render worker has it; asking again would only queue a second seal of the same review.
      if (review.evidence?.state === "sealed" || review.evidence?.state === "pending")
        return reviewView(review);
      return reviewView({ ...review, evidence: await requestSeal(review) });
    },
  );
}

/** A malformed id names no review: the same 404 as an unknown one, never read back. */
function parseNotFound(params: unknown): { id: string } {
  const parsed = ReviewIdParamsSchema.safeParse(params);
  if (!parsed.success) throw new ApiError("not_found", "no review with that id");
  return parsed.data;
}

/** The public shape of a review (the page renders it; the CLI's export is the same data). */
export function reviewView(review: StoredReview): ReviewView {
  const { record } = review;
  return {
    id: record.id,
    year: record.year,
    organization: record.organization,
    sources: record.sources,
    status: review.status,
    version: review.version,
    bundle: record.bundle,
    createdAt: record.createdAt,
    createdBy: record.createdBy,
    items: record.items,
    allowedDecisions: {
      grant: [...DECISIONS_BY_KIND.grant],
      rotation: [...DECISIONS_BY_KIND.rotation],
      logging: [...DECISIONS_BY_KIND.logging],
      finding: [...DECISIONS_BY_KIND.finding],
    },
    undecided: undecidedItems(review).length,
    ...(record.signOff === undefined ? {} : { signOff: record.signOff }),
    ...(review.evidence === undefined ? {} : { evidence: review.evidence }),
  };
}
