import { createHash } from "node:crypto";
import type { Finding } from "../model/finding.ts";
import type { AccessGrant } from "../model/key.ts";
import type { ReviewItem } from "../model/review.ts";

/**
 * The items of an annual review, from what a sealed bundle recorded: one per access grant of every key
 * (from its access-policy export), one per key's rotation verdict, one per location's logging verdict, and
 * one per open finding of any other check. Pure: the caller reads the bundle's files (reviewed-bundle.ts).
 *
 * Rotation and logging verdicts are items of their own kind (`confirmed` is a decision there), so their
 * findings are not repeated as finding items.
 */

/** Checks whose verdicts become rotation and logging items. */
export const ROTATION_CHECK = "key-rotation-enabled";
export const LOGGING_CHECK = "key-usage-logging-enabled";

const OPEN_STATUSES = new Set(["fail", "warn", "error"]);

/** One key access-policy export as the bundle holds it (src/evidence/key-exports.ts). */
export interface AccessPolicyExport {
  path: string;
  source: string;
  location: string;
  keyId: string;
  arn?: string;
  collected: boolean;
  grants: AccessGrant[];
}

export interface ReviewItemsInput {
  findings: readonly Finding[];
  accessPolicies: readonly AccessPolicyExport[];
  /** Only items of these sources; all when absent. */
  sources?: readonly string[];
}

/** A short, stable id from what the item is about: the same bundle always yields the same ids. */
function itemId(kind: ReviewItem["kind"], ...parts: Array<string | undefined>): string {
  const digest = createHash("sha256")
    .update(parts.map((part) => part ?? "").join("\u0000"))
    .digest("hex")
    .slice(0, 16);
  return `${kind}-${digest}`;
}

function describeGrant(grant: AccessGrant): string {
  const actions =
    grant.actions.length > 4
      ? `${grant.actions.slice(0, 4).join(", ")} and ${grant.actions.length - 4} more`
      : grant.actions.join(", ");
  return `${grant.principal} (${grant.principalKind}) ${grant.effect === "deny" ? "is denied" : "may"} ${actions || "(no actions)"} via ${grant.via} ${grant.reference}`;
}

export function buildReviewItems(input: ReviewItemsInput): ReviewItem[] {
  const wanted = input.sources === undefined ? undefined : new Set(input.sources);
  const inScope = (source: string): boolean => wanted === undefined || wanted.has(source);
  const items: ReviewItem[] = [];
  const seen = new Set<string>();
  const push = (item: ReviewItem): void => {
    // Two identical statements (same principal, via, reference) are one decision, not two.
    if (seen.has(item.id)) return;
    seen.add(item.id);
    items.push(item);
  };

  for (const policy of input.accessPolicies) {
    if (!inScope(policy.source) || !policy.collected) continue;
    for (const grant of policy.grants) {
      // A deny statement takes access away: nothing to keep or revoke.
      if (grant.effect !== "allow") continue;
      push({
        id: itemId(
          "grant",
          policy.source,
          policy.location,
          policy.keyId,
          grant.principal,
          grant.via,
          grant.reference,
        ),
        kind: "grant",
        source: policy.source,
        location: policy.location,
        keyId: policy.keyId,
        resource: policy.arn ?? policy.keyId,
        title: describeGrant(grant),
        status: "in force",
        grant: {
          principal: grant.principal,
          principalType: grant.principalKind,
          actions: [...grant.actions],
          effect: grant.effect,
          via: grant.via,
          reference: grant.reference,
        },
        evidence: [policy.path],
      });
    }
  }

  for (const finding of input.findings) {
    if (!inScope(finding.source)) continue;
    const common = {
      source: finding.source,
      ...(finding.location === undefined ? {} : { location: finding.location }),
      ...(finding.keyId === undefined ? {} : { keyId: finding.keyId }),
      resource: finding.resource,
      status: finding.status,
      checkId: finding.checkId,
      evidence: [...finding.evidence],
    };
    if (finding.checkId === ROTATION_CHECK) {
      push({
        ...common,
        id: itemId("rotation", finding.source, finding.location, finding.keyId, finding.resource),
        kind: "rotation",
        title: `Rotation of ${finding.keyId ?? finding.resource}: ${finding.message}`,
      });
    } else if (finding.checkId === LOGGING_CHECK) {
      push({
        ...common,
        id: itemId("logging", finding.source, finding.location, finding.resource),
        kind: "logging",
        title: `Logging of ${finding.location ?? finding.source}: ${finding.message}`,
      });
    } else if (OPEN_STATUSES.has(finding.status)) {
      push({
        ...common,
        id: itemId(
          "finding",
          finding.checkId,
          finding.source,
          finding.location,
          finding.keyId,
          finding.resource,
        ),
        kind: "finding",
        title: `${finding.checkId} (${finding.status}, ${finding.severity}): ${finding.message}`,
      });
    }
  }
  return items.sort(compareItems);
}

const KIND_ORDER: Record<ReviewItem["kind"], number> = { grant: 0, rotation: 1, logging: 2, finding: 3 };

/** Grouped by key the way the page and the PDF show them: source, location, key, then kind. */
export function compareItems(left: ReviewItem, right: ReviewItem): number {
  return (
    left.source.localeCompare(right.source) ||
    (left.location ?? "").localeCompare(right.location ?? "") ||
    (left.keyId ?? "").localeCompare(right.keyId ?? "") ||
    KIND_ORDER[left.kind] - KIND_ORDER[right.kind] ||
    left.title.localeCompare(right.title) ||
    left.id.localeCompare(right.id)
  );
}
