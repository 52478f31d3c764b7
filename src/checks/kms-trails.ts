import type { CheckMetadata } from "./check.ts";
import { makeFinding } from "./check.ts";
import {
  describeCollectionError,
  mayHideSink,
  judgedLocations,
  locationFindingBase,
  loggingEvidence,
  missingLocationFinding,
} from "./eligibility.ts";
import type { Finding, FindingStatus } from "../model/finding.ts";
import type { LoggingSink, TrailProtection } from "../model/logging.ts";
import type { LocationSnapshot, Snapshot } from "../model/snapshot.ts";

/**
 * Shared by the trail integrity checks (trail-log-validation-enabled, trail-logs-encrypted,
 * trail-monitored, trail-bucket-protected): which CloudTrail trails log a location's KMS events, and the
 * verdicts that do not depend on the trails' facts (not-applicable without a trail, error when the trails
 * could not be read).
 */

/** A trail that is logging and records the location's KMS events, with its integrity facts. */
export interface KmsTrail {
  sink: LoggingSink;
  trail: TrailProtection;
}

/** What one check concluded about one trail. */
export interface TrailVerdict {
  status: Extract<FindingStatus, "pass" | "fail" | "error">;
  message: string;
}

export type KmsTrailsOfLocation =
  | { kind: "decided"; finding: Finding }
  | {
      kind: "trails";
      trails: KmsTrail[];
      /**
       * Why another trail may log the location too (a status or selector read failed): a pass over the
       * trails read is then unproven and becomes an error. Undefined when every trail was read.
       */
      unread: string | undefined;
    };

export function trailLabel(sink: LoggingSink): string {
  return `trail ${sink.name}`;
}

/** The active CloudTrail trails that record the location's KMS events, or the finding when there are none. */
export function kmsTrailsOf(metadata: CheckMetadata, location: LocationSnapshot): KmsTrailsOfLocation {
  const base = { ...locationFindingBase(location), evidence: loggingEvidence(location) };
  const { sinks, errors } = location.logging;
  const covering = sinks.filter((sink) => sink.kind === "cloudtrail-trail" && sink.coversKeyEvents);
  const logging = covering.filter((sink) => sink.active === true);
  // A trail whose status could not be read may be logging; a failed selector read may hide a covering trail.
  const unknownStatus = covering.filter((sink) => sink.active === undefined);
  const trailErrors = errors.filter((error) => error.call.startsWith("cloudtrail:"));
  // Facts a collector from before these checks did not record: missing data, never a pass.
  const withoutFacts = logging.filter((sink) => sink.trail === undefined);
  const unreadTrails = [
    ...unknownStatus.map((sink) => `${trailLabel(sink)}: logging status unknown`),
    ...withoutFacts.map((sink) => `${trailLabel(sink)}: integrity facts not collected`),
  ];
  const trails = logging.flatMap((sink) => (sink.trail === undefined ? [] : [{ sink, trail: sink.trail }]));
  if (trails.length === 0) {
    // Nothing judgeable was read: a failed read may hide the trail, except a bucket read (s3:), which is
    // about a trail already seen, and an alarm lookup.
    const hiding = errors.filter(mayHideSink);
    const causes = [...unreadTrails, ...hiding.map(describeCollectionError)];
    if (causes.length > 0) {
      return {
        kind: "decided",
        finding: makeFinding(metadata, {
          ...base,
          status: "error",
          message: `the trails that log this location's KMS events could not be read: ${causes.join("; ")}`,
        }),
      };
    }
    return {
      kind: "decided",
      finding: makeFinding(metadata, {
        ...base,
        status: "not-applicable",
        message:
          "no active CloudTrail trail records this location's KMS events, so there is no trail to judge; key-usage-logging-enabled reports it",
      }),
    };
  }
  const unread = [...unreadTrails, ...trailErrors.map(describeCollectionError)];
  return { kind: "trails", trails, unread: unread.length === 0 ? undefined : unread.join("; ") };
}

/**
 * The usual combination: any trail failing fails the location (a proven weakness stands whatever else is
 * unknown); otherwise any error, or a trail that could not be read, makes it an error; otherwise a pass.
 */
export function combineTrailVerdicts(
  metadata: CheckMetadata,
  location: LocationSnapshot,
  trails: readonly KmsTrail[],
  unread: string | undefined,
  judge: (trail: KmsTrail) => TrailVerdict,
): Finding {
  const base = { ...locationFindingBase(location), evidence: loggingEvidence(location) };
  const verdicts = trails.map(judge);
  const messages = (status: TrailVerdict["status"]) =>
    verdicts.filter((verdict) => verdict.status === status).map((verdict) => verdict.message);
  const failed = messages("fail");
  if (failed.length > 0)
    return makeFinding(metadata, { ...base, status: "fail", message: failed.join("; ") });
  const errored = messages("error");
  if (errored.length > 0)
    return makeFinding(metadata, { ...base, status: "error", message: errored.join("; ") });
  const passed = messages("pass").join("; ");
  if (unread !== undefined) {
    return makeFinding(metadata, {
      ...base,
      status: "error",
      message: `${passed}; but another trail may log this location and could not be read: ${unread}`,
    });
  }
  return makeFinding(metadata, { ...base, status: "pass", message: passed });
}

/** One finding per location of every AWS source: gaps are errors, locations without a trail not-applicable. */
export function runPerTrailCheck(
  metadata: CheckMetadata,
  snapshot: Snapshot,
  what: string,
  judge: (trail: KmsTrail) => TrailVerdict,
): Finding[] {
  return judgedLocations(snapshot, metadata.sourceTypes).map((judged) => {
    if (judged.kind === "missing") return missingLocationFinding(metadata, judged.gap, what);
    const found = kmsTrailsOf(metadata, judged.location);
    if (found.kind === "decided") return found.finding;
    return combineTrailVerdicts(metadata, judged.location, found.trails, found.unread, judge);
  });
}
