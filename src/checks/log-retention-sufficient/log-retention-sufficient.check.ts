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
import { auditDevicesOutOfReach, sinkReadErrors } from "../monitoring.ts";
import type { Finding } from "../../model/finding.ts";
import type { LoggingSink, Retention } from "../../model/logging.ts";
import type { LocationSnapshot } from "../../model/snapshot.ts";
import rawMetadata from "./log-retention-sufficient.metadata.json" with { type: "json" };

const metadata = parseCheckMetadata(rawMetadata);

function describeRetention(retention: Retention): string {
  if (retention.kind === "days") return `${retention.days} days`;
  if (retention.kind === "unlimited") return "kept indefinitely";
  return `unknown (${retention.reason})`;
}

function describeSink(sink: LoggingSink): string {
  return `${sink.name}: ${describeRetention(sink.retention)}`;
}

/**
 * One sink keeping enough is enough: the events exist somewhere for the whole period. Otherwise an
 * unknown retention could still be sufficient (warn), and only known-short retention everywhere fails.
 */
export function judgeLocationRetention(location: LocationSnapshot, requiredDays: number): Finding {
  const base = { ...locationFindingBase(location), evidence: loggingEvidence(location) };
  const covering = location.logging.sinks.filter((sink) => sink.coversKeyEvents);
  if (covering.length === 0) {
    const outOfReach = auditDevicesOutOfReach(location);
    if (outOfReach !== undefined) {
      return makeFinding(metadata, {
        ...base,
        status: "warn",
        message: `retention cannot be judged from this namespace: ${outOfReach}`,
      });
    }
    // A failed alert rule lookup (AWS alarms and rules, Azure alert rules) says nothing about which sinks exist.
    const hiding = sinkReadErrors(location.logging).filter((error) => !isAlertLookupError(error));
    if (hiding.length > 0) {
      return makeFinding(metadata, {
        ...base,
        status: "error",
        message: `no covering sink among those read, so retention cannot be judged: ${hiding.map(describeCollectionError).join("; ")}`,
      });
    }
    return makeFinding(metadata, {
      ...base,
      status: "not-applicable",
      message:
        "no sink records key events, so there is no retention to judge; key-usage-logging-enabled reports it",
    });
  }
  const listed = covering.map(describeSink).join("; ");
  const sufficient = covering.filter(
    (sink) =>
      sink.retention.kind === "unlimited" ||
      (sink.retention.kind === "days" && sink.retention.days >= requiredDays),
  );
  if (sufficient.length > 0) {
    return makeFinding(metadata, {
      ...base,
      status: "pass",
      message: `key events are retained for at least ${requiredDays} days (${sufficient.map(describeSink).join("; ")})`,
    });
  }
  if (covering.some((sink) => sink.retention.kind === "unknown")) {
    return makeFinding(metadata, {
      ...base,
      status: "warn",
      message: `retention could not be established for every sink; confirm at least ${requiredDays} days (${listed})`,
    });
  }
  return makeFinding(metadata, {
    ...base,
    status: "fail",
    message: `key events are kept for less than the required ${requiredDays} days (${listed})`,
  });
}

/** Sinks that record key events must keep them at least `policy.logRetentionDays`. */
export const check: Check = {
  metadata,
  run(snapshot) {
    return judgedLocations(snapshot, metadata.sourceTypes).map((judged) =>
      judged.kind === "missing"
        ? missingLocationFinding(metadata, judged.gap, "log retention")
        : judgeLocationRetention(judged.location, snapshot.policy.logRetentionDays),
    );
  },
};
