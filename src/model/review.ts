/**
 * The annual access and configuration review (procedure step 7) and the approval of the key-management
 * procedure (step 6), as data. keyproof prepares a review from a sealed bundle; people decide each item and
 * sign; the signed record is sealed as evidence. Checks judge the facts a run reads about past reviews and
 * approvals (`GovernanceFacts`), never the live review.
 */

/** What an item is about. One per key access grant, per key's rotation, per location's logging, per open finding. */
export const REVIEW_ITEM_KINDS = ["grant", "rotation", "logging", "finding"] as const;
export type ReviewItemKind = (typeof REVIEW_ITEM_KINDS)[number];

/**
 * The decisions an item may take, by kind. Grants keep/revoke/change; findings remediated/accepted risk/to
 * remediate; a rotation or logging status may also be `confirmed` (reviewed and right as configured).
 */
export const DECISIONS_BY_KIND = {
  grant: ["keep", "revoke", "change"],
  rotation: ["confirmed", "remediated", "accepted risk", "to remediate"],
  logging: ["confirmed", "remediated", "accepted risk", "to remediate"],
  finding: ["remediated", "accepted risk", "to remediate"],
} as const satisfies Record<ReviewItemKind, readonly string[]>;
export type ReviewDecisionValue = (typeof DECISIONS_BY_KIND)[ReviewItemKind][number];
export const REVIEW_DECISION_VALUES = [
  "keep",
  "confirmed",
  "revoke",
  "change",
  "remediated",
  "accepted risk",
  "to remediate",
] as const satisfies readonly ReviewDecisionValue[];

/** Decisions that leave work to do: the next run reports them while the grant or finding is still present. */
export const OPEN_DECISIONS: readonly ReviewDecisionValue[] = ["to remediate", "revoke", "change"];

export function decisionAllowed(kind: ReviewItemKind, decision: string): decision is ReviewDecisionValue {
  return (DECISIONS_BY_KIND[kind] as readonly string[]).includes(decision);
}

/** A grant as the reviewed bundle recorded it. */
export interface ReviewGrantSubject {
  principal: string;
  /** PrincipalKind of the model (`service`, `human`, `role`, ...). */
  principalType: string;
  actions: string[];
  effect: "allow" | "deny";
  /** Where the permission comes from: key-policy, grant, identity-policy, rbac-role, access-policy, acl-policy. */
  via: string;
  /** Statement id, grant id, role assignment id, policy name or ACL path: the pointer an auditor follows. */
  reference: string;
}

export interface ReviewItem {
  /** Stable within the review, derived from what the item is about (so re-preparing gives the same ids). */
  id: string;
  kind: ReviewItemKind;
  source: string;
  location?: string;
  keyId?: string;
  /** Key ARN / URL / path; the location for logging items; the finding's resource. */
  resource: string;
  /** One line an auditor reads: what is being decided. */
  title: string;
  /** The status the bundle recorded (a finding status, or the status of the check that judges it). */
  status: string;
  /** The check whose verdict this item carries (rotation, logging, finding items). */
  checkId?: string;
  grant?: ReviewGrantSubject;
  /** Bundle-relative paths of the evidence (from findings and exports). */
  evidence: string[];
}

/** What a reviewer decided on one item. */
export interface ReviewDecision {
  decision: ReviewDecisionValue;
  note: string;
  ticketUrl?: string;
  /** Token name that decided. */
  decidedBy: string;
  decidedAt: string;
  /** Increments with every write to this item; a write based on an older revision is refused (409). */
  revision: number;
}

export interface ReviewSignOff {
  name: string;
  title: string;
  /** UTC, recorded by the server. */
  signedAt: string;
  /** Token name and role of whoever signed (the identity, not what they typed). */
  identity: { tokenName: string; role: string; tokenId: string };
  /** SHA-256 hex of the canonical decisions (canonical-decisions.ts). */
  decisionsSha256: string;
}

/** The bundle a review was prepared from. */
export interface ReviewedBundle {
  runId: string;
  manifestSha256: string;
  location: string;
  period: { label: string; from: string; to: string };
  capturedAt: string;
}

/** The signed review as it becomes evidence (review/annual-review-<year>.json) and as runs read it back. */
export interface ReviewRecord {
  format: "keyproof-review/1";
  id: string;
  year: number;
  organization: string;
  sources: string[];
  bundle: ReviewedBundle;
  createdAt: string;
  createdBy: string;
  items: Array<ReviewItem & { decision?: ReviewDecision }>;
  signOff?: ReviewSignOff;
}

/** A signed review as a run sees it: enough to judge coverage and what was left to remediate. */
export interface SignedReviewFact {
  id: string;
  year: number;
  sources: string[];
  signedAt: string;
  reviewer: { name: string; title: string };
  decisionsSha256: string;
  bundleManifestSha256: string;
  /** Items decided `to remediate`, `revoke` or `change`: still open while the grant or finding is present. */
  open: Array<
    Pick<ReviewItem, "id" | "kind" | "source" | "keyId" | "resource" | "title" | "checkId" | "grant"> & {
      decision: ReviewDecisionValue;
      note: string;
      ticketUrl?: string;
    }
  >;
}

/** An approval of the key-management procedure text (`keyproof procedure approve`). */
export interface ProcedureApproval {
  /** The procedure's version label at approval (procedure-text.ts). */
  version: string;
  /** SHA-256 hex of the approved normative text. */
  textSha256: string;
  name: string;
  title: string;
  approvedAt: string;
  /** Who recorded it: a token name (API/page) or `cli:<user>` (CLI). */
  recordedBy: string;
}

/**
 * What a run knows about reviews and approvals. They live in the service's Redis; a run without one
 * (inline, no queue configured) cannot know, which the checks report as `warn`, never as pass or fail.
 */
export type GovernanceFacts =
  | {
      state: "read";
      signedReviews: SignedReviewFact[];
      latestApproval?: ProcedureApproval;
    }
  | {
      state: "unavailable";
      /** `warn`: nowhere to read from (no Redis configured); `error`: the store failed. */
      severity: "warn" | "error";
      reason: string;
    };

/** The procedure text this run's configuration produces (what an approval must match). */
export interface ProcedureIdentity {
  version: string;
  textSha256: string;
}
