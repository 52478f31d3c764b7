import type { Check } from "../check.ts";
import { makeFinding } from "../check.ts";
import { parseCheckMetadata } from "../check-metadata.schema.ts";
import {
  describeCollectionError,
  judgedLocations,
  locationFindingBase,
  loggingEvidence,
  missingLocationFinding,
} from "../eligibility.ts";
import {
  auditDevicesOutOfReach,
  declaredDestinations,
  describeAuditDevices,
  describeDeclared,
  describeNotRecording,
  enabledAuditDevices,
} from "../monitoring.ts";
import type { Finding } from "../../model/finding.ts";
import type { LocationSnapshot, Snapshot } from "../../model/snapshot.ts";
import rawMetadata from "./vault-audit-redundant.metadata.json" with { type: "json" };

const metadata = parseCheckMetadata(rawMetadata);

/**
 * Two enabled devices that record every request are enough on their own: Vault keeps serving while any one of
 * them writes, and each holds the whole record. A single device is enough only with a declared shipper copying
 * its output off the host (a second copy, though Vault still blocks when that device fails: the shipper makes
 * the record redundant, not the availability). A second device that discards records or filters them keeps
 * Vault serving but may hold no copy: unproven, so a warn naming why.
 */
export function judgeAuditRedundancy(snapshot: Snapshot, location: LocationSnapshot): Finding {
  const base = { ...locationFindingBase(location), evidence: loggingEvidence(location) };
  const devices = enabledAuditDevices(location);
  const recording = devices.filter((device) => device.coversKeyEvents);
  const notRecording = devices.filter((device) => !device.coversKeyEvents);
  const { errors } = location.logging;
  if (recording.length >= 2) {
    return makeFinding(metadata, {
      ...base,
      status: "pass",
      message: `${recording.length} audit devices record every request: ${describeAuditDevices(recording)}`,
    });
  }
  const outOfReach = auditDevicesOutOfReach(location);
  if (outOfReach !== undefined) {
    return makeFinding(metadata, {
      ...base,
      status: "warn",
      message: `whether audit records are kept twice is unknown from this namespace: ${outOfReach}`,
    });
  }
  if (errors.length > 0) {
    // An unlisted device may exist: "one device" or "none" is unproven.
    return makeFinding(metadata, {
      ...base,
      status: "error",
      message: `the audit devices could not be listed: ${errors.map(describeCollectionError).join("; ")}`,
    });
  }
  if (devices.length === 0) {
    return makeFinding(metadata, {
      ...base,
      status: "fail",
      message: "no audit device is enabled: key use leaves no audit record",
    });
  }
  const shippers = declaredDestinations(snapshot, location.source, ["shipper"]);
  const [recorder] = recording;
  if (recorder !== undefined && shippers.length > 0) {
    return makeFinding(metadata, {
      ...base,
      status: "pass",
      message: `one audit device records every request (${describeAuditDevices([recorder])}) and its log is copied off the host by ${describeDeclared(shippers)}`,
    });
  }
  if (devices.length >= 2) {
    return makeFinding(metadata, {
      ...base,
      status: "warn",
      message: `${devices.length} audit devices are enabled, but ${recording.length === 0 ? "none" : `only ${describeAuditDevices(recording)}`} records every request (${describeNotRecording(notRecording)}); confirm a second device keeps key events`,
    });
  }
  const shipperNote =
    shippers.length > 0
      ? `; ${describeDeclared(shippers)} copies a log that does not record every request (${describeNotRecording(notRecording)})`
      : " and no shipper is declared";
  return makeFinding(metadata, {
    ...base,
    status: "fail",
    message: `only one audit device is enabled (${describeAuditDevices(devices)})${shipperNote}: Vault blocks every request when it cannot write to it`,
  });
}

/** A Vault cluster's audit log must survive the failure of one device. */
export const check: Check = {
  metadata,
  run(snapshot) {
    return judgedLocations(snapshot, metadata.sourceTypes).map((judged) =>
      judged.kind === "missing"
        ? missingLocationFinding(metadata, judged.gap, "audit device redundancy")
        : judgeAuditRedundancy(snapshot, judged.location),
    );
  },
};
