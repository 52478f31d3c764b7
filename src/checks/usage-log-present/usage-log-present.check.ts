import type { Check } from "../check.ts";
import { makeFinding } from "../check.ts";
import { parseCheckMetadata } from "../check-metadata.schema.ts";
import {
  judgedLocations,
  locationFindingBase,
  missingLocationFinding,
  summarizeList,
  describeCollectionError,
} from "../eligibility.ts";
import { GAPS_FILE, usageExtractPath, usageSummaryPath } from "../../evidence/paths.ts";
import type { Finding } from "../../model/finding.ts";
import { UNKNOWN_KEY_SPEC } from "../../model/key.ts";
import type { DateRange, LocationSnapshot, SourceSnapshot } from "../../model/snapshot.ts";
import type { UsageGap } from "../../model/usage.ts";
import rawMetadata from "./usage-log-present.metadata.json" with { type: "json" };

const metadata = parseCheckMetadata(rawMetadata);

function describeGap(gap: UsageGap): string {
  return `${gap.object} (${gap.code}: ${gap.message})`;
}

export function judgeLocationUsage(
  source: SourceSnapshot,
  location: LocationSnapshot,
  range: DateRange,
): Finding {
  const base = locationFindingBase(location);
  const extract = [
    usageExtractPath(location.source, location.location, "ndjson"),
    usageSummaryPath(location.source, location.location),
  ];
  const summary = source.usage.find((candidate) => candidate.location === location.location);
  if (summary === undefined) {
    return makeFinding(metadata, {
      ...base,
      status: "error",
      evidence: [GAPS_FILE],
      message: `no usage log summary for ${range.label}: the usage log of this location was not read`,
    });
  }
  const enabledKeys = location.keys.filter((key) => key.state === "enabled").length;
  const locationGap = location.gaps[0];
  if (enabledKeys === 0 && summary.eventCount === 0 && locationGap !== undefined) {
    // The keys themselves could not be listed: "no enabled key" would be unproven, so is "no usage needed".
    return makeFinding(metadata, {
      ...base,
      status: "error",
      evidence: [GAPS_FILE],
      message: `keys of this location could not be collected, so whether usage must be logged is unknown: ${describeCollectionError(locationGap.error)}`,
    });
  }
  const evidence = summary.gaps.length > 0 ? [...extract, GAPS_FILE] : extract;
  const gaps = `${summary.gaps.length} unreadable part${summary.gaps.length === 1 ? "" : "s"}: ${summarizeList(summary.gaps.map(describeGap), 3)}`;
  if (summary.eventCount === 0 && summary.gaps.length > 0) {
    // Nothing was read and parts failed: the events may all be in the unread parts, so absence is unproven.
    return makeFinding(metadata, {
      ...base,
      status: "error",
      evidence,
      message: `usage log for ${range.label} could not be read (${summary.method}); ${gaps}`,
    });
  }
  if (summary.method === "none" || summary.eventCount === 0) {
    const what =
      summary.method === "none"
        ? "no usage log source is configured for this location"
        : `the usage log (${summary.method}) holds no key events for ${range.label}`;
    const unread = location.keys.filter((key) => key.keySpec === UNKNOWN_KEY_SPEC);
    if (enabledKeys === 0 && unread.length > 0) {
      // Keys whose metadata failed have no known state: "no enabled key" would be unproven.
      const cause = unread[0]?.errors[0];
      return makeFinding(metadata, {
        ...base,
        status: "error",
        evidence,
        message: `${what}; whether a key here is enabled is unknown, ${unread.length} key${unread.length === 1 ? "'s" : "s'"} metadata could not be read${cause === undefined ? "" : `: ${describeCollectionError(cause)}`}`,
      });
    }
    if (enabledKeys === 0) {
      return makeFinding(metadata, {
        ...base,
        status: "not-applicable",
        evidence,
        message: `${what}, and the location holds no enabled key`,
      });
    }
    return makeFinding(metadata, {
      ...base,
      status: "fail",
      evidence,
      message: `${what} although ${enabledKeys} enabled key${enabledKeys === 1 ? "" : "s"} live here`,
    });
  }
  const span =
    summary.firstEventAt !== undefined && summary.lastEventAt !== undefined
      ? ` from ${summary.firstEventAt} to ${summary.lastEventAt}`
      : "";
  const counted = `${summary.eventCount} key event${summary.eventCount === 1 ? "" : "s"} for ${range.label}${span} (${summary.method})`;
  if (summary.gaps.length > 0) {
    return makeFinding(metadata, {
      ...base,
      status: "warn",
      evidence,
      message: `${counted}, but the extract is incomplete: ${gaps}`,
    });
  }
  return makeFinding(metadata, { ...base, status: "pass", evidence, message: counted });
}

/** Each location's usage log for the range is present and complete. */
export const check: Check = {
  metadata,
  run(snapshot) {
    return judgedLocations(snapshot, metadata.sourceTypes).map((judged) =>
      judged.kind === "missing"
        ? missingLocationFinding(metadata, judged.gap, "the usage log")
        : judgeLocationUsage(judged.source, judged.location, snapshot.range),
    );
  },
};
