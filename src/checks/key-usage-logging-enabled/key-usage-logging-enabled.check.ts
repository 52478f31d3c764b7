import type { Check } from "../check.ts";
import { makeFinding } from "../check.ts";
import { parseCheckMetadata } from "../check-metadata.schema.ts";
import {
  describeCollectionError,
  mayHideSink,
  judgedLocations,
  locationFindingBase,
  loggingEvidence,
  missingLocationFinding,
  summarizeList,
} from "../eligibility.ts";
import { auditDevicesOutOfReach, sinkReadErrors } from "../monitoring.ts";
import type { Finding } from "../../model/finding.ts";
import type { LocationSnapshot } from "../../model/snapshot.ts";
import rawMetadata from "./key-usage-logging-enabled.metadata.json" with { type: "json" };

const metadata = parseCheckMetadata(rawMetadata);

export function judgeLocationLogging(location: LocationSnapshot): Finding {
  const base = { ...locationFindingBase(location), evidence: loggingEvidence(location) };
  const { sinks } = location.logging;
  const outOfReach = auditDevicesOutOfReach(location);
  if (outOfReach !== undefined) {
    return makeFinding(metadata, {
      ...base,
      status: "warn",
      message: `whether key events are logged is unknown from this namespace: ${outOfReach}`,
    });
  }
  // Only a failed read of the sinks themselves may hide a covering sink or its status; a trail bucket's
  // settings (`s3:` calls) or the alert rules on key events that could not be read (AWS alarms and rules,
  // Azure alert rules: sinkReadErrors) say nothing about whether key events are logged, and are judged by
  // the checks that need them.
  const errors = sinkReadErrors(location.logging).filter(mayHideSink);
  const covering = sinks.filter((sink) => sink.coversKeyEvents);
  const active = covering.filter((sink) => sink.active === true);
  const unknown = covering.filter((sink) => sink.active === undefined);
  if (active.length > 0) {
    return makeFinding(metadata, {
      ...base,
      status: "pass",
      message: `key events are logged by ${active.map((sink) => `${sink.kind} ${sink.name}`).join(", ")}`,
    });
  }
  if (unknown.length > 0) {
    // A sink whose status call failed may be logging: "not logging" is unproven, so an error, never a fail.
    const cause =
      errors.length > 0 ? errors.map(describeCollectionError).join("; ") : "the source did not say";
    return makeFinding(metadata, {
      ...base,
      status: "error",
      message: `${unknown.map((sink) => `${sink.kind} ${sink.name}`).join(", ")} would record key events but ${unknown.length === 1 ? "its" : "their"} logging status could not be read: ${cause}`,
    });
  }
  if (covering.length > 0 && errors.length > 0) {
    // Every covering sink read is off, but a sink the collector could not read may be on: unproven.
    return makeFinding(metadata, {
      ...base,
      status: "error",
      message: `${covering.map((sink) => `${sink.kind} ${sink.name}`).join(", ")} would record key events but ${covering.length === 1 ? "is" : "are"} not logging, and the logging configuration could not be read completely: ${errors.map(describeCollectionError).join("; ")}`,
    });
  }
  if (covering.length > 0) {
    return makeFinding(metadata, {
      ...base,
      status: "fail",
      message: `${covering.map((sink) => `${sink.kind} ${sink.name}`).join(", ")} would record key events but ${covering.length === 1 ? "is" : "are"} not logging`,
    });
  }
  if (errors.length > 0) {
    // A sink the collector could not read may be the one that covers key events: unknown, not absent.
    return makeFinding(metadata, {
      ...base,
      status: "error",
      message: `logging configuration incomplete, no covering sink among those read: ${errors.map(describeCollectionError).join("; ")}`,
    });
  }
  const others =
    sinks.length === 0
      ? "no log sink is configured"
      : `no sink records key events (${summarizeList(sinks.map((sink) => `${sink.name}: ${sink.coverageReason}`))})`;
  return makeFinding(metadata, { ...base, status: "fail", message: others });
}

/** Each location needs at least one active sink that records key usage and administration events. */
export const check: Check = {
  metadata,
  run(snapshot) {
    return judgedLocations(snapshot, metadata.sourceTypes).map((judged) =>
      judged.kind === "missing"
        ? missingLocationFinding(metadata, judged.gap, "key-event logging")
        : judgeLocationLogging(judged.location),
    );
  },
};
