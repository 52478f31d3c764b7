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
  declaredDestinations,
  describeAuditDevices,
  describeDeclared,
  enabledAuditDevices,
} from "../monitoring.ts";
import type { Finding } from "../../model/finding.ts";
import type { LocationSnapshot, Snapshot } from "../../model/snapshot.ts";
import rawMetadata from "./vault-audit-redundant.metadata.json" with { type: "json" };

const metadata = parseCheckMetadata(rawMetadata);

/**
 * Two enabled devices are enough on their own: Vault keeps serving while any one of them writes. A single
 * device is enough only with a declared shipper copying its output off the host (a second copy, though Vault
 * still blocks when that device fails: the shipper makes the record redundant, not the availability).
 */
export function judgeAuditRedundancy(snapshot: Snapshot, location: LocationSnapshot): Finding {
  const base = { ...locationFindingBase(location), evidence: loggingEvidence(location) };
  const devices = enabledAuditDevices(location);
  const { errors } = location.logging;
  if (devices.length >= 2) {
    return makeFinding(metadata, {
      ...base,
      status: "pass",
      message: `${devices.length} audit devices are enabled: ${describeAuditDevices(devices)}`,
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
  const [device] = devices;
  if (device === undefined) {
    return makeFinding(metadata, {
      ...base,
      status: "fail",
      message: "no audit device is enabled: key use leaves no audit record",
    });
  }
  const shippers = declaredDestinations(snapshot, location.source, ["shipper"]);
  if (shippers.length > 0) {
    return makeFinding(metadata, {
      ...base,
      status: "pass",
      message: `one audit device (${describeAuditDevices([device])}) whose log is copied off the host by ${describeDeclared(shippers)}`,
    });
  }
  return makeFinding(metadata, {
    ...base,
    status: "fail",
    message: `only one audit device is enabled (${describeAuditDevices([device])}) and no shipper is declared: Vault blocks every request when it cannot write to it`,
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
