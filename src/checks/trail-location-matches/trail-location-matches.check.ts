import type { Check } from "../check.ts";
import { makeFinding } from "../check.ts";
import { parseCheckMetadata } from "../check-metadata.schema.ts";
import {
  describeCollectionError,
  isAlertLookupError,
  judgedLocations,
  locationFindingBase,
  loggingEvidence,
  missingLocationFinding,
} from "../eligibility.ts";
import type { Finding } from "../../model/finding.ts";
import type { LogFileLocation } from "../../model/logging.ts";
import type { LocationSnapshot } from "../../model/snapshot.ts";
import rawMetadata from "./trail-location-matches.metadata.json" with { type: "json" };

const metadata = parseCheckMetadata(rawMetadata);

function describeLocation(location: Partial<LogFileLocation>): string {
  return `s3://${location.bucket ?? "(bucket from the trail)"}/${location.prefix ?? "(prefix from the trail)"}`;
}

/**
 * Compares the configured log location with the one of the trail that logs the location's KMS events.
 * Only the configured fields are compared: an unset bucket or prefix is taken from the trail.
 */
export function judgeTrailLocation(location: LocationSnapshot): Finding {
  const base = { ...locationFindingBase(location), evidence: loggingEvidence(location) };
  const { logging } = location;
  const configured = logging.usageLogLocation?.configured ?? {};
  const trail = logging.usageLogLocation?.sink;
  const isConfigured = configured.bucket !== undefined || configured.prefix !== undefined;
  if (trail === undefined) {
    // A failed alarm lookup says nothing about which trail logs the location.
    const hiding = logging.errors.filter((error) => !isAlertLookupError(error));
    if (hiding.length > 0) {
      return makeFinding(metadata, {
        ...base,
        status: "error",
        message: `the trail that logs this location's key events is unknown, so its log location cannot be compared: ${hiding.map(describeCollectionError).join("; ")}`,
      });
    }
    const read = isConfigured
      ? `usage is read from the configured ${describeLocation(configured)}`
      : "usage comes from LookupEvents";
    return makeFinding(metadata, {
      ...base,
      status: "not-applicable",
      message: `no active trail records this location's key events, so there is no trail location to compare (${read}); key-usage-logging-enabled reports the logging itself`,
    });
  }
  const trailLocation = `${describeLocation(trail)} of trail ${trail.reference}`;
  if (!isConfigured) {
    return makeFinding(metadata, {
      ...base,
      status: "pass",
      message: `usage is read where the trail writes: ${trailLocation} (cloudtrail.bucket and prefix not configured)`,
    });
  }
  const differs =
    (configured.bucket !== undefined && configured.bucket !== trail.bucket) ||
    (configured.prefix !== undefined && configured.prefix !== trail.prefix);
  if (differs) {
    return makeFinding(metadata, {
      ...base,
      status: "warn",
      message: `the configured log location ${describeLocation(configured)} differs from ${trailLocation}; usage is read from the configured location, so events the trail delivers are missing from the extract unless another trail writes there`,
    });
  }
  return makeFinding(metadata, {
    ...base,
    status: "pass",
    message: `the configured log location ${describeLocation(configured)} is where the trail writes (${trailLocation})`,
  });
}

/** The configured CloudTrail bucket and prefix, where set, match the trail that logs KMS events. */
export const check: Check = {
  metadata,
  run(snapshot) {
    return judgedLocations(snapshot, metadata.sourceTypes).map((judged) =>
      judged.kind === "missing"
        ? missingLocationFinding(metadata, judged.gap, "the trail location")
        : judgeTrailLocation(judged.location),
    );
  },
};
