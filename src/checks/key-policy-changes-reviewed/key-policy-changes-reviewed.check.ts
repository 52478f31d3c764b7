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

/** What a location-wide access change applies to, in the finding's words. */
const LOCATION_NOUN: Record<KeyRecord["sourceType"], string> = {
  "aws-kms": "region",
  "azure-key-vault": "vault (access policies or permission model)",
  "hashicorp-vault": "namespace (ACL policies)",
};

/** Changes named in one finding, per list; the rest are counted and listed in changes.ndjson. */
const CHANGES_NAMED = 10;

function judgeKey(source: SourceSnapshot, key: KeyRecord, range: DateRange): Finding {
  const base = keyFindingBase(key);
  const opened = openKeyHistory(metadata, source, key, customerManaged(key));
  if ("finding" in opened) return opened.finding;
  const { lookup } = opened;
  const changes = lookup.history?.accessChanges ?? [];
  const omitted = lookup.history?.accessChangesOmitted ?? 0;
  const total = changes.length + omitted;
  const wide = lookup.locationAccessChanges;
  const wideTotal = wide.length + lookup.locationAccessChangesOmitted;
  if (total > 0 || wideTotal > 0) {
    // A warn, not a fail: a change may well be approved; the annual review decides, and needs each one named.
    const parts: string[] = [];
    if (total > 0) {
      const unlisted = total - Math.min(changes.length, CHANGES_NAMED);
      const named = changes.slice(0, CHANGES_NAMED).map(describeChange).join("; ");
      const more = unlisted > 0 ? `; and ${unlisted} more in changes.ndjson` : "";
      parts.push(
        `${total} key policy or grant change${total === 1 ? "" : "s"} in ${range.label} to review: ${named}${more}`,
      );
    }
    if (wideTotal > 0) {
      // Vault-level access (Azure access policies, Vault ACL policies) governs this key as much as its own.
      const unlisted = wideTotal - Math.min(wide.length, CHANGES_NAMED);
      const named = wide.slice(0, CHANGES_NAMED).map(describeChange).join("; ");
      const more = unlisted > 0 ? `; and ${unlisted} more in changes.ndjson` : "";
      parts.push(
        `${wideTotal} access change${wideTotal === 1 ? "" : "s"} to the whole ${LOCATION_NOUN[key.sourceType]} in ${range.label} to review: ${named}${more}`,
      );
    }
    const first = [changes[0], wide[0]]
      .filter((change) => change !== undefined)
      .sort((left, right) => (left.time < right.time ? -1 : 1))[0];
    return makeFinding(metadata, {
      ...base,
      status: "warn",
      evidence: lookup.evidence,
      ...(first === undefined ? {} : { date: first.time }),
      message: `${parts.join("; ")}${lookup.incomplete === undefined ? "" : `; the log also has ${lookup.incomplete}`}`,
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

/**
 * Every key policy and grant change of the period is named, so the annual review can decide each; so is
 * every vault-wide access change (Azure VaultPut/VaultPatch, Vault ACL policy writes), on each key of it.
 */
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
