import type { Check } from "../check.ts";
import { makeFinding } from "../check.ts";
import { parseCheckMetadata } from "../check-metadata.schema.ts";
import { describeChange, openKeyHistory } from "../change-history.ts";
import {
  keyFindingBase,
  keyPopulationGapFindings,
  rotationEligibility,
  sourcesOf,
  summarizeList,
} from "../eligibility.ts";
import type { Finding } from "../../model/finding.ts";
import type { KeyRecord } from "../../model/key.ts";
import type { DateRange, SourceSnapshot } from "../../model/snapshot.ts";
import rawMetadata from "./rotation-continuous.metadata.json" with { type: "json" };

const metadata = parseCheckMetadata(rawMetadata);

/** How the key's rotation stood at capture, for the fail message: a later re-enable does not undo the gap. */
function rotationAtCapture(key: KeyRecord): string {
  if (!key.rotation.ok) return "its rotation status at capture could not be read";
  return key.rotation.value.enabled
    ? "rotation is enabled again at capture"
    : "rotation is still disabled at capture";
}

function judgeKey(source: SourceSnapshot, key: KeyRecord, range: DateRange): Finding {
  const base = keyFindingBase(key);
  const opened = openKeyHistory(metadata, source, key, rotationEligibility(key));
  if ("finding" in opened) return opened.finding;
  const { lookup } = opened;
  const toggles = lookup.history?.rotationToggles ?? [];
  const disabledCount = lookup.history?.rotationDisabledCount ?? 0;
  if (disabledCount > 0) {
    // Every switch, in time order, names who turned rotation off and who (if anyone) turned it back on.
    const omitted = lookup.history?.rotationTogglesOmitted ?? 0;
    const named = summarizeList(toggles.map(describeChange), 6);
    const more = omitted > 0 ? ` (${omitted} more switch${omitted === 1 ? "" : "es"} in changes.ndjson)` : "";
    const firstDisable = toggles.find((change) => change.rotationState === "disabled");
    return makeFinding(metadata, {
      ...base,
      status: "fail",
      evidence: lookup.evidence,
      ...(firstDisable === undefined ? {} : { date: firstDisable.time }),
      message: `automatic rotation was disabled ${disabledCount} time${disabledCount === 1 ? "" : "s"} in ${range.label}: ${named}${more}; ${rotationAtCapture(key)}${lookup.incomplete === undefined ? "" : `; the log also has ${lookup.incomplete}`}`,
    });
  }
  const unknownCount = lookup.history?.rotationUnknownCount ?? 0;
  if (unknownCount > 0) {
    // Azure's AuditEvent and a Vault audit device (HMACed values) do not show what the rotation policy was
    // set to: the change may have switched rotation off, or not. Named for review, never read as a disable.
    const unknown = toggles.filter((change) => change.rotationState === "unknown");
    const unlisted = unknownCount - unknown.length;
    const more = unlisted > 0 ? ` (${unlisted} more in changes.ndjson)` : "";
    return makeFinding(metadata, {
      ...base,
      status: "warn",
      evidence: lookup.evidence,
      ...(unknown[0] === undefined ? {} : { date: unknown[0].time }),
      message: `the rotation settings were changed ${unknownCount} time${unknownCount === 1 ? "" : "s"} in ${range.label} and the log does not show whether rotation stayed on; review: ${summarizeList(unknown.map(describeChange), 6)}${more}; ${rotationAtCapture(key)}${lookup.incomplete === undefined ? "" : `; the log also has ${lookup.incomplete}`}`,
    });
  }
  if (lookup.incomplete !== undefined) {
    return makeFinding(metadata, {
      ...base,
      status: "warn",
      evidence: lookup.evidence,
      message: `no rotation switch-off in the part of the ${range.label} log that was read, but a switch-off may be in the ${lookup.incomplete}`,
    });
  }
  const switches =
    toggles.length === 0
      ? "no rotation switch was logged"
      : `rotation switches: ${summarizeList(toggles.map(describeChange), 3)}`;
  return makeFinding(metadata, {
    ...base,
    status: "pass",
    evidence: lookup.evidence,
    message: `automatic rotation was not disabled at any time in ${range.label} (${switches})`,
  });
}

/**
 * Rotation must have stayed on for the whole period, not only at capture: any change that left it off
 * (AWS DisableKeyRotation, a Vault auto_rotate_period of 0 logged in clear) fails; a change whose result
 * the log does not show (Azure KeyRotationPolicySet, an HMACed Vault value) warns for review.
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
