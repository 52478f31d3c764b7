import type { Check } from "../check.ts";
import { makeFinding } from "../check.ts";
import { parseCheckMetadata } from "../check-metadata.schema.ts";
import { describeChange, openKeyHistory } from "../change-history.ts";
import { customerManaged, keyFindingBase, keyPopulationGapFindings, sourcesOf } from "../eligibility.ts";
import type { Finding } from "../../model/finding.ts";
import type { KeyRecord } from "../../model/key.ts";
import type { DateRange, SourceSnapshot } from "../../model/snapshot.ts";
import rawMetadata from "./key-policy-changes-reviewed.metadata.json" with { type: "json" };

const metadata = parseCheckMetadata(rawMetadata);

/** Changes named in one finding; the rest are counted and listed in changes.ndjson. */
const CHANGES_NAMED = 10;

function judgeKey(source: SourceSnapshot, key: KeyRecord, range: DateRange): Finding {
  const base = keyFindingBase(key);
  const opened = openKeyHistory(metadata, source, key, customerManaged(key));
  if ("finding" in opened) return opened.finding;
  const { lookup } = opened;
  const changes = lookup.history?.accessChanges ?? [];
  const omitted = lookup.history?.accessChangesOmitted ?? 0;
  const total = changes.length + omitted;
  if (total > 0) {
    // A warn, not a fail: a change may well be approved; the annual review decides, and needs each one named.
    const unlisted = total - Math.min(changes.length, CHANGES_NAMED);
    const named = changes.slice(0, CHANGES_NAMED).map(describeChange).join("; ");
    const more = unlisted > 0 ? `; and ${unlisted} more in changes.ndjson` : "";
    return makeFinding(metadata, {
      ...base,
      status: "warn",
      evidence: lookup.evidence,
      ...(changes[0] === undefined ? {} : { date: changes[0].time }),
      message: `${total} key policy or grant change${total === 1 ? "" : "s"} in ${range.label} to review: ${named}${more}${lookup.incomplete === undefined ? "" : `; the log also has ${lookup.incomplete}`}`,
    });
  }
  if (lookup.incomplete !== undefined) {
    return makeFinding(metadata, {
      ...base,
      status: "warn",
      evidence: lookup.evidence,
      message: `no key policy or grant change in the part of the ${range.label} log that was read, but changes may be in the ${lookup.incomplete}`,
    });
  }
  return makeFinding(metadata, {
    ...base,
    status: "pass",
    evidence: lookup.evidence,
    message: `no key policy or grant change was logged in ${range.label}`,
  });
}

/** Every key policy and grant change of the period is named, so the annual review can decide each. */
export const check: Check = {
  metadata,
  run(snapshot) {
    const keyFindings = sourcesOf(snapshot, metadata.sourceTypes).flatMap((source) =>
      source.locations.flatMap((location) =>
        location.keys.map((key) => judgeKey(source, key, snapshot.range)),
      ),
    );
    return [...keyFindings, ...keyPopulationGapFindings(metadata, snapshot)];
  },
};
