import type { ReviewDecisionValue, ReviewItem, ReviewItemKind, ReviewRecord } from "../../model/review.ts";
import { compareText, formatCount, formatInstant } from "./format.ts";

/**
 * The signed annual access review (procedure step 7) as a report: who signed what, which bundle was
 * reviewed, what was decided on every item. Pure; it draws the record as stored and judges nothing: the
 * decisions digest shown is the one the reviewer signed (`signOff.decisionsSha256`), which sealing checks
 * against the decisions before it renders this.
 */

/** Shown where an item has no decision yet (a draft rendered before sign-off); never a blank cell. */
export const UNDECIDED_TEXT = "Undecided";
/** Shown where a decision names no ticket. */
export const NO_TICKET_TEXT = "None";

const KIND_TEXT: Record<ReviewItemKind, string> = {
  grant: "Access grant",
  rotation: "Rotation",
  logging: "Logging",
  finding: "Finding",
};

/** Decisions that change something or accept a risk: listed again under "Remediations and accepted risks". */
const REMEDIATION_DECISIONS: readonly ReviewDecisionValue[] = [
  "revoke",
  "change",
  "to remediate",
  "accepted risk",
  "remediated",
];

export type AnnualReviewItemView = {
  itemId: string;
  kind: string;
  title: string;
  /** The status the reviewed bundle recorded. */
  status: string;
  resource: string;
  /** `aws-prod / eu-west-1 / key-00`, or `aws-prod / eu-west-1` for an item about a location. */
  where: string;
  decision: string;
  /** `attention` (highlighted) for every decision but `keep`, and for an undecided item; else empty. */
  rowClass: string;
  note: string;
  ticket: string;
  /** Only an http(s) ticket URL becomes a link; anything else is shown as text. */
  ticketHref: string;
  decidedBy: string;
  decidedAt: string;
};

export type AnnualReviewView = {
  report: {
    title: string;
    organization: string;
    year: string;
    reviewId: string;
    createdAt: string;
    createdBy: string;
    generatedAt: string;
  };
  reviewed: {
    runId: string;
    period: string;
    manifestSha256: string;
    location: string;
    capturedAt: string;
  };
  /** Null for a review not signed yet: the report then says so where the signature would be. */
  signOff: {
    name: string;
    title: string;
    signedAt: string;
    tokenName: string;
    role: string;
    decisionsSha256: string;
  } | null;
  itemCount: string;
  undecidedCount: number;
  summary: {
    grants: Array<{ label: string; count: string }>;
    others: Array<{ label: string; count: string }>;
  };
  remediations: AnnualReviewItemView[];
  keys: Array<{ heading: string; itemCount: string; items: AnnualReviewItemView[] }>;
};

function whereOf(item: Pick<ReviewItem, "source" | "location" | "keyId">): string {
  return [item.source, item.location, item.keyId].filter((part) => part !== undefined).join(" / ");
}

function itemView(item: ReviewRecord["items"][number]): AnnualReviewItemView {
  const decided = item.decision;
  const ticket = decided?.ticketUrl ?? "";
  return {
    itemId: item.id,
    kind: KIND_TEXT[item.kind],
    title: item.title,
    status: item.status,
    resource: item.resource,
    where: whereOf(item),
    decision: decided?.decision ?? UNDECIDED_TEXT,
    rowClass: decided === undefined || decided.decision !== "keep" ? "attention" : "",
    note: decided?.note ?? "",
    ticket: ticket === "" ? NO_TICKET_TEXT : ticket,
    ticketHref: /^https?:\/\//i.test(ticket) ? ticket : "",
    decidedBy: decided?.decidedBy ?? "",
    decidedAt: decided === undefined ? "" : formatInstant(decided.decidedAt),
  };
}

function count(items: ReviewRecord["items"], decision: ReviewDecisionValue): string {
  return formatCount(items.filter((item) => item.decision?.decision === decision).length);
}

export function buildAnnualReviewView(record: ReviewRecord, generatedAt: Date): AnnualReviewView {
  const items = [...record.items].sort((left, right) => compareText(left.id, right.id));
  const grants = items.filter((item) => item.kind === "grant");
  const others = items.filter((item) => item.kind !== "grant");

  // One group per key (source / location / key), or per location for items about no key (logging);
  // groups in source, location, key order so the report reads like the bundle's export tree.
  const groups = new Map<string, { sortKey: string[]; items: AnnualReviewItemView[] }>();
  for (const item of items) {
    const heading = whereOf(item);
    let group = groups.get(heading);
    if (group === undefined) {
      group = { sortKey: [item.source, item.location ?? "", item.keyId ?? ""], items: [] };
      groups.set(heading, group);
    }
    group.items.push(itemView(item));
  }
  const keys = [...groups.entries()]
    .sort(([, left], [, right]) => {
      for (let index = 0; index < left.sortKey.length; index++) {
        const order = compareText(left.sortKey[index] ?? "", right.sortKey[index] ?? "");
        if (order !== 0) return order;
      }
      return 0;
    })
    .map(([heading, group]) => ({ heading, itemCount: formatCount(group.items.length), items: group.items }));

  const signOff = record.signOff;
  return {
    report: {
      title: `Annual access review ${record.year}`,
      organization: record.organization,
      year: String(record.year),
      reviewId: record.id,
      createdAt: formatInstant(record.createdAt),
      createdBy: record.createdBy,
      generatedAt: formatInstant(generatedAt.toISOString()),
    },
    reviewed: {
      runId: record.bundle.runId,
      period: `${record.bundle.period.label} (${record.bundle.period.from.slice(0, 10)} to ${record.bundle.period.to}, UTC)`,
      manifestSha256: record.bundle.manifestSha256,
      location: record.bundle.location,
      capturedAt: formatInstant(record.bundle.capturedAt),
    },
    signOff:
      signOff === undefined
        ? null
        : {
            name: signOff.name,
            title: signOff.title,
            signedAt: formatInstant(signOff.signedAt),
            tokenName: signOff.identity.tokenName,
            role: signOff.identity.role,
            decisionsSha256: signOff.decisionsSha256,
          },
    itemCount: formatCount(items.length),
    undecidedCount: items.filter((item) => item.decision === undefined).length,
    summary: {
      grants: [
        { label: "Kept", count: count(grants, "keep") },
        { label: "Revoked", count: count(grants, "revoke") },
        { label: "Changed", count: count(grants, "change") },
      ],
      others: [
        { label: "Remediated", count: count(others, "remediated") },
        { label: "Accepted risk", count: count(others, "accepted risk") },
        { label: "To remediate", count: count(others, "to remediate") },
      ],
    },
    remediations: items
      .filter((item) => item.decision !== undefined && REMEDIATION_DECISIONS.includes(item.decision.decision))
      .map(itemView),
    keys,
  };
}
