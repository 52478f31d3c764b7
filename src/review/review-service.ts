import { randomBytes } from "node:crypto";
import type { Config } from "../config/config.schema.ts";
import { KeyproofError } from "../errors/errors.ts";
import {
  DECISIONS_BY_KIND,
  OPEN_DECISIONS,
  decisionAllowed,
  type ReviewRecord,
  type ReviewSignOff,
  type SignedReviewFact,
} from "../model/review.ts";
import { decisionsSha256 } from "./canonical-decisions.ts";
import { buildReviewItems } from "./review-items.ts";
import type { ReviewedBundleContents } from "./reviewed-bundle.ts";
import type { DecideOutcome, DecisionWrite, ReviewStore, StoredReview } from "./review-store.ts";

/**
 * What the API, the page and the CLI do to a review, in one place, so every path applies the same rules:
 * preparing from a verified bundle, validating each decision against its item, refusing stale and
 * post-signature writes, and signing only a fully decided review.
 */

/** Longest note and ticket URL a decision keeps: a paragraph, and any real tracker's URL. */
export const MAX_NOTE_CHARACTERS = 4000;
export const MAX_TICKET_URL_CHARACTERS = 2000;
const MAX_SIGNATURE_FIELD = 200;

/** Thrown for a stale write or a write to a signed review; the API answers 409 with its details. */
export class ReviewConflictError extends Error {
  override readonly name = "ReviewConflictError";
  constructor(
    message: string,
    readonly details: {
      conflicts?: Array<{ itemId: string; current: unknown }>;
      undecided?: string[];
      signed?: boolean;
    } = {},
  ) {
    super(message);
  }
}

export function isReviewConflictError(error: unknown): error is ReviewConflictError {
  return error instanceof Error && error.name === "ReviewConflictError";
}

export function newReviewId(year: number): string {
  return `rv-${year}-${randomBytes(4).toString("hex")}`;
}

/** Review year: a plausible calendar year, as `--year` or the API's `year`. */
export function parseReviewYear(value: unknown, field = "--year"): number {
  const year = typeof value === "string" && /^\d{4}$/.test(value) ? Number(value) : value;
  if (typeof year !== "number" || !Number.isInteger(year) || year < 2000 || year > 2100) {
    throw new KeyproofError("ARGUMENT_INVALID", `${field}: give the review's calendar year, e.g. 2026`);
  }
  return year;
}

/** Pure: the new review's record from a verified bundle. */
export function prepareReview(input: {
  id: string;
  year: number;
  config: Pick<Config, "organization" | "sources">;
  bundle: ReviewedBundleContents;
  sources?: readonly string[];
  createdBy: string;
  now: Date;
}): Omit<ReviewRecord, "signOff"> {
  const bundleSources = input.bundle.manifest.sources.map((source) => source.id);
  if (input.sources !== undefined) {
    const unknown = input.sources.filter((source) => !bundleSources.includes(source));
    if (unknown.length > 0) {
      throw new KeyproofError(
        "ARGUMENT_INVALID",
        `sources: ${unknown.join(", ")} not in the reviewed bundle (its sources: ${bundleSources.join(", ")})`,
      );
    }
  }
  const sources = [...(input.sources ?? bundleSources)].sort();
  const { manifest } = input.bundle;
  return {
    format: "keyproof-review/1",
    id: input.id,
    year: input.year,
    organization: manifest.organization,
    sources,
    bundle: {
      runId: manifest.runId,
      manifestSha256: input.bundle.manifestSha256,
      location: input.bundle.location,
      period: {
        label: manifest.period.label,
        from: manifest.period.from.slice(0, 10),
        to: manifest.period.to,
      },
      capturedAt: manifest.capturedAt,
    },
    createdAt: input.now.toISOString(),
    createdBy: input.createdBy,
    items: buildReviewItems({
      findings: input.bundle.findings,
      accessPolicies: input.bundle.accessPolicies,
      sources,
    }),
  };
}

export interface DecisionInput {
  itemId: string;
  revision: number;
  decision: string;
  note?: string | undefined;
  ticketUrl?: string | undefined;
}

/** Validates each decision against its item (a `keep` on a finding is refused, naming the item). */
export function validateDecisions(
  review: StoredReview,
  inputs: readonly DecisionInput[],
  decidedBy: string,
  now: Date,
): DecisionWrite[] {
  if (inputs.length === 0)
    throw new KeyproofError("ARGUMENT_INVALID", "decisions: give at least one decision");
  const items = new Map(review.record.items.map((item) => [item.id, item]));
  const seen = new Set<string>();
  return inputs.map((input, index) => {
    const field = `decisions[${index}]`;
    const item = items.get(input.itemId);
    if (item === undefined)
      throw new KeyproofError("ARGUMENT_INVALID", `${field}.itemId: no such item in this review`);
    if (seen.has(input.itemId))
      throw new KeyproofError(
        "ARGUMENT_INVALID",
        `${field}.itemId: the item is decided twice in one request`,
      );
    seen.add(input.itemId);
    if (!decisionAllowed(item.kind, input.decision)) {
      throw new KeyproofError(
        "ARGUMENT_INVALID",
        `${field}.decision: a ${item.kind} item takes ${DECISIONS_BY_KIND[item.kind].join(", ")}`,
      );
    }
    if (!Number.isInteger(input.revision) || input.revision < 0)
      throw new KeyproofError(
        "ARGUMENT_INVALID",
        `${field}.revision: the item revision you saw (0 when undecided)`,
      );
    const note = (input.note ?? "").trim();
    if (note.length > MAX_NOTE_CHARACTERS)
      throw new KeyproofError("ARGUMENT_INVALID", `${field}.note: at most ${MAX_NOTE_CHARACTERS} characters`);
    const ticketUrl = input.ticketUrl?.trim();
    if (ticketUrl !== undefined && ticketUrl !== "" && !isTicketUrl(ticketUrl)) {
      throw new KeyproofError(
        "ARGUMENT_INVALID",
        `${field}.ticketUrl: an http(s) URL of at most ${MAX_TICKET_URL_CHARACTERS} characters`,
      );
    }
    return {
      itemId: input.itemId,
      revision: input.revision,
      decision: {
        decision: input.decision,
        note,
        ...(ticketUrl === undefined || ticketUrl === "" ? {} : { ticketUrl }),
        decidedBy,
        decidedAt: now.toISOString(),
      },
    };
  });
}

function isTicketUrl(value: string): boolean {
  if (value.length > MAX_TICKET_URL_CHARACTERS) return false;
  try {
    const url = new URL(value);
    return url.protocol === "https:" || url.protocol === "http:";
  } catch {
    return false;
  }
}

/** Validates, writes, and turns a refused write into a ReviewConflictError carrying the current values. */
export async function decideReviewItems(
  store: ReviewStore,
  id: string,
  inputs: readonly DecisionInput[],
  decidedBy: string,
  now = new Date(),
): Promise<Extract<DecideOutcome, { result: "saved" }>> {
  const review = await requireReview(store, id);
  if (review.status === "signed") throw signedConflict(review);
  const outcome = await store.decide(id, validateDecisions(review, inputs, decidedBy, now));
  switch (outcome.result) {
    case "saved":
      return outcome;
    case "conflict":
      throw new ReviewConflictError(
        `${outcome.conflicts.length} of the decisions were changed by someone else since you read them; nothing was saved: reload them and decide again`,
        { conflicts: outcome.conflicts },
      );
    case "signed":
      throw signedConflict(review);
    case "missing":
      throw new KeyproofError("REVIEW_NOT_FOUND", "no review with that id");
  }
}

function signedConflict(review: StoredReview): ReviewConflictError {
  const signed = review.record.signOff;
  return new ReviewConflictError(
    `the review is signed${signed === undefined ? "" : ` (by ${signed.name}, ${signed.signedAt})`} and read-only`,
    { signed: true },
  );
}

export async function requireReview(store: ReviewStore, id: string): Promise<StoredReview> {
  const review = /^rv-\d{4}-[0-9a-f]{8}$/.test(id) ? await store.get(id) : undefined;
  if (review === undefined) throw new KeyproofError("REVIEW_NOT_FOUND", "no review with that id");
  return review;
}

export function undecidedItems(review: StoredReview): string[] {
  return review.record.items.filter((item) => item.decision === undefined).map((item) => item.id);
}

function signatureField(field: string, value: unknown): string {
  const text = typeof value === "string" ? value.trim() : "";
  if (text === "" || text.length > MAX_SIGNATURE_FIELD || /\p{C}/u.test(text)) {
    throw new KeyproofError(
      "ARGUMENT_INVALID",
      `${field}: type the reviewer's ${field === "--title" || field === "title" ? "title" : "name"} (1-${MAX_SIGNATURE_FIELD} printable characters)`,
    );
  }
  return text;
}

/**
 * Signs a fully decided, open review: the server's UTC time, the caller's token identity and the digest of
 * the canonical decisions are recorded, the review turns read-only, and the fact later runs judge is kept.
 */
export async function signReview(
  store: ReviewStore,
  id: string,
  input: { name: unknown; title: unknown; nameField?: string; titleField?: string },
  identity: ReviewSignOff["identity"],
  now = new Date(),
): Promise<StoredReview> {
  const name = signatureField(input.nameField ?? "name", input.name);
  const title = signatureField(input.titleField ?? "title", input.title);
  const review = await requireReview(store, id);
  if (review.status === "signed") throw signedConflict(review);
  const undecided = undecidedItems(review);
  if (undecided.length > 0) {
    throw new ReviewConflictError(`${undecided.length} item(s) are undecided; decide them before signing`, {
      undecided,
    });
  }
  const signOff: ReviewSignOff = {
    name,
    title,
    signedAt: now.toISOString(),
    identity,
    decisionsSha256: decisionsSha256(review.record),
  };
  const outcome = await store.sign(id, review.version, signOff);
  if (outcome.result === "changed") {
    throw new ReviewConflictError("decisions changed while signing; review them again and sign", {});
  }
  if (outcome.result === "already-signed") throw signedConflict((await store.get(id)) ?? review);
  if (outcome.result === "missing") throw new KeyproofError("REVIEW_NOT_FOUND", "no review with that id");
  const signed: StoredReview = { ...review, status: "signed", record: { ...review.record, signOff } };
  await store.recordSignedFact(signedFactOf(signed.record, signOff));
  return signed;
}

/** Pure: the part of a signed review later runs judge by. */
export function signedFactOf(record: ReviewRecord, signOff: ReviewSignOff): SignedReviewFact {
  return {
    id: record.id,
    year: record.year,
    sources: record.sources,
    signedAt: signOff.signedAt,
    reviewer: { name: signOff.name, title: signOff.title },
    decisionsSha256: signOff.decisionsSha256,
    bundleManifestSha256: record.bundle.manifestSha256,
    open: record.items.flatMap((item) => {
      const decision = item.decision;
      if (decision === undefined || !OPEN_DECISIONS.includes(decision.decision)) return [];
      return [
        {
          id: item.id,
          kind: item.kind,
          source: item.source,
          ...(item.keyId === undefined ? {} : { keyId: item.keyId }),
          resource: item.resource,
          title: item.title,
          ...(item.checkId === undefined ? {} : { checkId: item.checkId }),
          ...(item.grant === undefined ? {} : { grant: item.grant }),
          decision: decision.decision,
          note: decision.note,
          ...(decision.ticketUrl === undefined ? {} : { ticketUrl: decision.ticketUrl }),
        },
      ];
    }),
  };
}
