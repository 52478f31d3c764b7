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
import rawMetadata from "./vault-audit-monitored.metadata.json" with { type: "json" };

const metadata = parseCheckMetadata(rawMetadata);

/** Device types that hand records to another system (a network socket, the host's syslog daemon). */
const OFF_HOST_TYPES: ReadonlySet<string> = new Set(["socket", "syslog"]);

/**
 * Observed first (a socket or syslog device), then declared (a SIEM or shipper reading the file). A declared
 * destination needs a device to read from: with none enabled there is nothing it could receive. A device type
 * keyproof does not know (an audit plugin) may send records anywhere: unknown, so a warn, never a fail.
 */
export function judgeAuditMonitoring(snapshot: Snapshot, location: LocationSnapshot): Finding {
  const base = { ...locationFindingBase(location), evidence: loggingEvidence(location) };
  const devices = enabledAuditDevices(location);
  const offHost = devices.filter((device) => OFF_HOST_TYPES.has(device.auditDeviceType ?? ""));
  const offHostRecording = offHost.filter((device) => device.coversKeyEvents);
  if (offHostRecording.length > 0) {
    return makeFinding(metadata, {
      ...base,
      status: "pass",
      message: `audit records leave the Vault host through ${describeAuditDevices(offHostRecording)}`,
    });
  }
  const declared = declaredDestinations(snapshot, location.source);
  const outOfReach = auditDevicesOutOfReach(location);
  if (outOfReach !== undefined) {
    return makeFinding(metadata, {
      ...base,
      status: "warn",
      message: `whether audit records reach a monitoring system is unknown from this namespace: ${outOfReach}`,
    });
  }
  const { errors } = location.logging;
  if (errors.length > 0) {
    return makeFinding(metadata, {
      ...base,
      status: "error",
      message: `the audit devices could not be listed: ${errors.map(describeCollectionError).join("; ")}`,
    });
  }
  if (devices.length === 0) {
    const unfed = declared.length > 0 ? `, so ${describeDeclared(declared)} receives nothing` : "";
    return makeFinding(metadata, {
      ...base,
      status: "fail",
      message: `no audit device is enabled${unfed}`,
    });
  }
  if (declared.length > 0) {
    return makeFinding(metadata, {
      ...base,
      status: "pass",
      message: `audit records of ${describeAuditDevices(devices)} are monitored by ${describeDeclared(declared)}`,
    });
  }
  if (offHost.length > 0) {
    // A filtered socket or syslog device leaves the host, but whether key events pass the filter is unproven.
    return makeFinding(metadata, {
      ...base,
      status: "warn",
      message: `audit records leave the Vault host through ${describeAuditDevices(offHost)}, but not every request reaches it (${describeNotRecording(offHost)}); confirm key events do`,
    });
  }
  const unknown = devices.filter((device) => device.auditDeviceType !== "file");
  if (unknown.length > 0) {
    return makeFinding(metadata, {
      ...base,
      status: "warn",
      message: `keyproof cannot tell whether ${describeAuditDevices(unknown)} sends records off the host; confirm where it delivers, or declare the destination in policy.monitoring`,
    });
  }
  return makeFinding(metadata, {
    ...base,
    status: "fail",
    message: `only file audit devices are enabled (${describeAuditDevices(devices)}): records stay on the Vault host and no monitoring destination is declared`,
  });
}

/** A Vault cluster's audit records must reach a monitoring system, observed or declared. */
export const check: Check = {
  metadata,
  run(snapshot) {
    return judgedLocations(snapshot, metadata.sourceTypes).map((judged) =>
      judged.kind === "missing"
        ? missingLocationFinding(metadata, judged.gap, "audit log monitoring")
        : judgeAuditMonitoring(snapshot, judged.location),
    );
  },
};
