import type { Check, CheckContext } from "../check.ts";
import { makeFinding } from "../check.ts";
import { parseCheckMetadata } from "../check-metadata.schema.ts";
import { dayOf, isWithinDaysBefore, unavailableStatus } from "../governance.ts";
import { REVIEWS_FILE } from "../../evidence/paths.ts";
import type { Finding } from "../../model/finding.ts";
import type { KeyRecord } from "../../model/key.ts";
import type { SignedReviewFact } from "../../model/review.ts";
import type { Snapshot, SourceSnapshot } from "../../model/snapshot.ts";
import rawMetadata from "./access-review-current.metadata.json" with { type: "json" };

const metadata = parseCheckMetadata(rawMetadata);

/** Open items named in one message; the rest are counted (every one is in governance/reviews.json). */
const OPEN_ITEMS_SHOWN = 20;

type OpenItem = SignedReviewFact["open"][number];

/** Statuses under which a finding a review decided to remediate is still there. */
const STILL_FAILING: ReadonlySet<string> = new Set(["fail", "warn", "error"]);

/**
 * Whether an item a review left open is still present in this run. A grant is present while the same key
 * (source + key id) still has a grant with the same principal, mechanism and reference; a key whose access
 * could not be read keeps its items open (absence was not shown). Any other item is present while the same
 * check still fails, warns or errs on the same resource. A grant's key missing from a source the run could
 * not collect completely keeps the item open too.
 */
function stillPresent(
  item: OpenItem,
  keys: ReadonlyMap<string, KeyRecord>,
  findings: readonly Finding[],
  fullyCollected: boolean,
) {
  if (item.kind === "grant") {
    if (item.grant === undefined || item.keyId === undefined) return true;
    const key = keys.get(JSON.stringify([item.source, item.keyId]));
    // A key this run did not see is gone only if the run saw the whole source: missing is not remediated.
    if (key === undefined) return !fullyCollected;
    if (!key.access.ok) return true;
    const { principal, via, reference } = item.grant;
    return key.access.value.grants.some(
      (grant) => grant.principal === principal && grant.via === via && grant.reference === reference,
    );
  }
  if (item.checkId === undefined) return true;
  return findings.some(
    (finding) =>
      finding.checkId === item.checkId &&
      finding.resource === item.resource &&
      STILL_FAILING.has(finding.status),
  );
}

function describeItems(items: readonly OpenItem[]): string {
  const shown = items
    .slice(0, OPEN_ITEMS_SHOWN)
    .map(
      (item) =>
        `${item.title} (${item.decision}${item.ticketUrl === undefined ? "" : `, ${item.ticketUrl}`})`,
    );
  const more = items.length - shown.length;
  return `${shown.join("; ")}${more > 0 ? `; and ${more} more (governance/reviews.json)` : ""}`;
}

function judgeSource(
  source: SourceSnapshot,
  snapshot: Snapshot,
  reviews: readonly SignedReviewFact[],
  findings: readonly Finding[],
): Finding {
  const base = {
    source: source.source,
    resource: `access-review:${source.source}`,
    evidence: [REVIEWS_FILE],
  };
  const interval = snapshot.policy.reviewIntervalDays;
  // Newest first; a review signed after the run read its facts did not exist for this run.
  const covering = reviews
    .filter((review) => review.sources.includes(source.source) && review.signedAt <= snapshot.capturedAt)
    .sort((left, right) => (left.signedAt === right.signedAt ? 0 : left.signedAt < right.signedAt ? 1 : -1));
  const latest = covering[0];
  if (latest === undefined)
    return makeFinding(metadata, {
      ...base,
      status: "fail",
      message: `No signed access review covers source "${source.source}": the procedure asks for one at least every ${interval} days.`,
    });
  const keys = new Map(
    source.locations.flatMap((location) =>
      location.keys.map((key) => [JSON.stringify([key.source, key.keyId]), key] as const),
    ),
  );
  const fullyCollected =
    source.gaps.length === 0 && source.locations.every((location) => location.gaps.length === 0);
  const open = latest.open.filter(
    (item) => item.source === source.source && stillPresent(item, keys, findings, fullyCollected),
  );
  const reviewed = `review ${latest.id} signed on ${dayOf(latest.signedAt)} by ${latest.reviewer.name} (${latest.reviewer.title})`;
  const openText =
    open.length === 0
      ? ""
      : ` ${open.length} item${open.length === 1 ? "" : "s"} it left to remediate, revoke or change ${open.length === 1 ? "is" : "are"} still present: ${describeItems(open)}.`;
  if (!isWithinDaysBefore(latest.signedAt, snapshot.capturedAt, interval))
    return makeFinding(metadata, {
      ...base,
      status: "fail",
      date: latest.signedAt,
      message: `The latest signed access review of source "${source.source}" is ${reviewed}, more than ${interval} days before this run.${openText}`,
    });
  return makeFinding(metadata, {
    ...base,
    status: open.length === 0 ? "pass" : "warn",
    date: latest.signedAt,
    message: `Source "${source.source}" is covered by ${reviewed}.${openText}`,
  });
}

/**
 * Procedure step 7: every source is covered by a signed access review within `policy.reviewIntervalDays`,
 * and what that review left to remediate is gone. Registered after every other check: it reads their
 * findings (context) to tell whether a finding a review decided to remediate still fails.
 */
export const check: Check = {
  metadata,
  run(snapshot, context?: CheckContext) {
    const sources = snapshot.sources.filter((source) => metadata.sourceTypes.includes(source.type));
    const { governance } = snapshot;
    if (governance.state === "unavailable")
      return sources.map((source) =>
        makeFinding(metadata, {
          status: unavailableStatus(governance),
          source: source.source,
          resource: `access-review:${source.source}`,
          message: `Signed access reviews could not be read, so coverage of source "${source.source}" is not judged: ${governance.reason}.`,
          evidence: [REVIEWS_FILE],
        }),
      );
    const findings = context?.findings ?? [];
    return sources.map((source) => judgeSource(source, snapshot, governance.signedReviews, findings));
  },
};
