import type {
  ReviewDecision,
  ReviewDecisionValue,
  ReviewItem,
  ReviewItemKind,
  ReviewRecord,
} from "../../src/model/review.ts";

/**
 * Review records for the canonical-decisions, PDF and sealing tests: deterministic items of every kind over
 * a few keys, each decided, and optionally signed. Not a review store: nothing here checks revisions.
 */

export const REVIEW_YEAR = 2026;
export const REVIEWED_MANIFEST_SHA256 = "a".repeat(64);

type DecidedItem = ReviewItem & { decision?: ReviewDecision };

const DECISIONS: Record<ReviewItemKind, readonly ReviewDecisionValue[]> = {
  grant: ["keep", "revoke", "change"],
  rotation: ["remediated", "accepted risk", "to remediate"],
  logging: ["remediated", "accepted risk", "to remediate"],
  finding: ["remediated", "accepted risk", "to remediate"],
};

/** Item `index` of a review: kinds cycle grant, rotation, finding, logging; keys cycle over `keyCount`. */
export function makeReviewItem(index: number, keyCount = 5): DecidedItem {
  const kinds: ReviewItemKind[] = ["grant", "rotation", "finding", "logging"];
  const kind = kinds[index % kinds.length] ?? "grant";
  const source = index % 2 === 0 ? "aws-prod" : "vault-main";
  const location = source === "aws-prod" ? "eu-west-1" : "transit";
  const key = `key-${String(index % keyCount).padStart(2, "0")}`;
  const id = `${kind}-${String(index).padStart(3, "0")}`;
  const decision = DECISIONS[kind][index % 3] ?? "keep";
  const base: DecidedItem = {
    id,
    kind,
    source,
    location,
    ...(kind === "logging" ? {} : { keyId: key }),
    resource: kind === "logging" ? `${source}/${location}` : `arn:aws:kms:eu-west-1:111122223333:key/${key}`,
    title: `${kind} item ${index}`,
    status: kind === "grant" ? "pass" : "fail",
    ...(kind === "grant" ? {} : { checkId: "key-rotation-enabled" }),
    ...(kind === "grant"
      ? {
          grant: {
            principal: `arn:aws:iam::111122223333:role/app-${index}`,
            principalType: "role",
            actions: ["kms:Decrypt"],
            effect: "allow" as const,
            via: "key-policy",
            reference: `Statement ${index}`,
          },
        }
      : {}),
    evidence: [`exports/${source}/${location}/${key}/key-configuration.json`],
    decision: {
      decision,
      note: `Decision note ${index}`,
      ...(index % 3 === 0 ? { ticketUrl: `https://tickets.example.com/browse/SEC-${100 + index}` } : {}),
      decidedBy: "alice-reviewer",
      decidedAt: `2026-11-${String(1 + (index % 20)).padStart(2, "0")}T10:00:00.000Z`,
      revision: 1,
    },
  };
  return base;
}

export function makeReviewRecord(
  options: { itemCount?: number; signed?: boolean; signedAt?: string; items?: DecidedItem[] } = {},
): ReviewRecord {
  const items =
    options.items ?? Array.from({ length: options.itemCount ?? 8 }, (_, index) => makeReviewItem(index));
  const record: ReviewRecord = {
    format: "keyproof-review/1",
    id: "rv-2026-0001",
    year: REVIEW_YEAR,
    organization: "Example Corp",
    sources: ["aws-prod", "vault-main"],
    bundle: {
      runId: "kp-20261001T060000Z-abc123",
      manifestSha256: REVIEWED_MANIFEST_SHA256,
      location:
        "s3://evidence-bucket/evidence/example_corp/20261001T060000.000Z-kp-20261001T060000Z-abc123.tar.gz",
      period: { label: "2026-Q3", from: "2026-07-01T00:00:00.000Z", to: "2026-09-30" },
      capturedAt: "2026-10-01T06:00:00.000Z",
    },
    createdAt: "2026-10-20T09:00:00.000Z",
    createdBy: "alice-reviewer",
    items,
  };
  if (options.signed === true) {
    record.signOff = {
      name: "Alice Example",
      title: "Head of Security",
      signedAt: options.signedAt ?? "2026-11-30T16:00:00.000Z",
      identity: { tokenName: "alice-reviewer", role: "reviewer", tokenId: "tok-1" },
      // Filled by the caller from decisionsSha256(record): the factory does not import src/review.
      decisionsSha256: "0".repeat(64),
    };
  }
  return record;
}
