import { createHash } from "node:crypto";
import canonicalizeModule from "canonicalize";
import { KeyproofError } from "../errors/errors.ts";
import {
  decisionAllowed,
  type ReviewDecisionValue,
  type ReviewItemKind,
  type ReviewRecord,
} from "../model/review.ts";

/**
 * The decisions of a review in one canonical form, and the SHA-256 the reviewer signs off on
 * (`ReviewSignOff.decisionsSha256`). Canonical means independent of the order items were stored or decided
 * in (items sorted by id) and of JSON formatting (RFC 8785), so an auditor can recompute the digest from
 * `review/annual-review-<year>.json` with any JCS implementation and compare it with the signed PDF.
 *
 * Only what was decided is covered: item titles, statuses and evidence paths come from the reviewed bundle,
 * whose own manifest digest (`bundleManifestSha256`) is covered instead. The `revision` counter is left out:
 * it says how often an item was written, not what was decided.
 */

export interface CanonicalDecision {
  itemId: string;
  kind: ReviewItemKind;
  source: string;
  keyId?: string;
  resource: string;
  decision: ReviewDecisionValue;
  note: string;
  ticketUrl?: string;
  decidedBy: string;
  decidedAt: string;
}

/** What `decisionsSha256` hashes. */
export interface CanonicalDecisionsDocument {
  reviewId: string;
  year: number;
  bundleManifestSha256: string;
  decisions: CanonicalDecision[];
}

/**
 * `canonicalize` is CommonJS with a `export default` declaration; some interop paths hand back
 * `{ default: fn }` (the same idiom as src/evidence/manifest.ts).
 */
const canonicalizeJson: (input: unknown) => string | undefined =
  typeof canonicalizeModule === "function"
    ? canonicalizeModule
    : (canonicalizeModule as unknown as { default: (input: unknown) => string | undefined }).default;

/**
 * Every item's decision, sorted by item id (UTF-16 code units, as RFC 8785 sorts keys). Throws
 * ARGUMENT_INVALID when an item is undecided, carries a decision its kind does not allow, or shares its id
 * with another item: none of those can be signed.
 */
export function canonicalDecisions(record: Pick<ReviewRecord, "id" | "items">): CanonicalDecision[] {
  const items = [...record.items].sort((left, right) =>
    left.id < right.id ? -1 : left.id > right.id ? 1 : 0,
  );
  const undecided: string[] = [];
  const decisions: CanonicalDecision[] = [];
  for (const [index, item] of items.entries()) {
    if (index > 0 && items[index - 1]?.id === item.id) {
      throw new KeyproofError("ARGUMENT_INVALID", `review ${record.id}: item id ${item.id} is listed twice`, {
        remediation: "prepare the review again from its bundle; item ids are unique within a review",
      });
    }
    const decided = item.decision;
    if (decided === undefined) {
      undecided.push(item.id);
      continue;
    }
    if (!decisionAllowed(item.kind, decided.decision)) {
      throw new KeyproofError(
        "ARGUMENT_INVALID",
        `review ${record.id}: item ${item.id} (${item.kind}) cannot be decided "${decided.decision}"`,
        { remediation: "record one of the decisions allowed for the item's kind" },
      );
    }
    decisions.push({
      itemId: item.id,
      kind: item.kind,
      source: item.source,
      ...(item.keyId === undefined ? {} : { keyId: item.keyId }),
      resource: item.resource,
      decision: decided.decision,
      note: decided.note,
      ...(decided.ticketUrl === undefined ? {} : { ticketUrl: decided.ticketUrl }),
      decidedBy: decided.decidedBy,
      decidedAt: decided.decidedAt,
    });
  }
  if (undecided.length > 0) {
    const shown = undecided.slice(0, 5).join(", ");
    const more = undecided.length > 5 ? ` and ${undecided.length - 5} more` : "";
    throw new KeyproofError(
      "ARGUMENT_INVALID",
      `review ${record.id}: ${undecided.length} item(s) have no decision: ${shown}${more}`,
      { remediation: "decide every item before the review is signed or sealed" },
    );
  }
  return decisions;
}

/** The document `decisionsSha256` hashes: the review, the bundle it reviewed, and every decision. */
export function canonicalDecisionsDocument(
  record: Pick<ReviewRecord, "id" | "year" | "bundle" | "items">,
): CanonicalDecisionsDocument {
  return {
    reviewId: record.id,
    year: record.year,
    bundleManifestSha256: record.bundle.manifestSha256,
    decisions: canonicalDecisions(record),
  };
}

/** SHA-256 hex over the RFC 8785 bytes of {@link canonicalDecisionsDocument}. */
export function decisionsSha256(record: Pick<ReviewRecord, "id" | "year" | "bundle" | "items">): string {
  const text = canonicalizeJson(canonicalDecisionsDocument(record));
  if (text === undefined) {
    throw new KeyproofError("INTERNAL", `review ${record.id}: the decisions could not be canonicalized`);
  }
  return createHash("sha256").update(text, "utf8").digest("hex");
}
