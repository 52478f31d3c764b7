import type { Check } from "../check.ts";
import { makeFinding } from "../check.ts";
import { parseCheckMetadata } from "../check-metadata.schema.ts";
import {
  judgedLocations,
  locationFindingBase,
  loggingEvidence,
  missingLocationFinding,
  summarizeList,
} from "../eligibility.ts";
import { kmsTrailsOf, trailLabel } from "../kms-trails.ts";
import type { Finding } from "../../model/finding.ts";
import type { LocationSnapshot, MonitoringDestination } from "../../model/snapshot.ts";
import rawMetadata from "./trail-monitored.metadata.json" with { type: "json" };

const metadata = parseCheckMetadata(rawMetadata);

/**
 * Monitored when one trail that logs the location's KMS events delivers to CloudWatch Logs (observed), or
 * the user declares a SIEM for the source (stated, and named as declared). One monitored path is enough:
 * the events reach monitoring whatever the other trails do. A declared `shipper` is a second copy of a
 * log, not monitoring, so only `siem` counts.
 */
export function judgeTrailMonitoring(
  location: LocationSnapshot,
  destinations: readonly MonitoringDestination[],
): Finding {
  const found = kmsTrailsOf(metadata, location);
  if (found.kind === "decided") return found.finding;
  const base = { ...locationFindingBase(location), evidence: loggingEvidence(location) };
  const declared = destinations.filter(
    (destination) => destination.source === location.source && destination.kind === "siem",
  );
  const observed = found.trails.filter(({ trail }) => trail.cloudWatchLogsLogGroupArn !== undefined);
  const reasons = [
    ...observed.map(
      ({ sink, trail }) =>
        `${trailLabel(sink)} delivers to CloudWatch Logs ${trail.cloudWatchLogsLogGroupArn}`,
    ),
    ...declared.map((destination) => `declared: ${destination.name}`),
  ];
  if (reasons.length > 0)
    return makeFinding(metadata, { ...base, status: "pass", message: reasons.join("; ") });
  const trails = summarizeList(found.trails.map(({ sink }) => trailLabel(sink)));
  if (found.unread !== undefined) {
    // The trail that could not be read may be the one delivering to CloudWatch Logs.
    return makeFinding(metadata, {
      ...base,
      status: "error",
      message: `${trails} delivers to no CloudWatch Logs log group and no SIEM is declared, but another trail may log this location and could not be read: ${found.unread}`,
    });
  }
  return makeFinding(metadata, {
    ...base,
    status: "fail",
    message: `${trails} delivers to no CloudWatch Logs log group, and no SIEM is declared for source ${location.source} in policy.monitoring.destinations`,
  });
}

/** The KMS events of every location reach CloudWatch Logs or a declared SIEM. */
export const check: Check = {
  metadata,
  run(snapshot) {
    return judgedLocations(snapshot, metadata.sourceTypes).map((judged) =>
      judged.kind === "missing"
        ? missingLocationFinding(metadata, judged.gap, "trail monitoring")
        : judgeTrailMonitoring(judged.location, snapshot.policy.monitoring.destinations),
    );
  },
};
