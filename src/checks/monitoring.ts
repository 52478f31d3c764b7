import type { CollectionError } from "../model/key.ts";
import type { LoggingSink, LoggingStatus } from "../model/logging.ts";
import type { LocationSnapshot, MonitoringDestination, Snapshot } from "../model/snapshot.ts";

/** Shared by the monitoring checks (vault-audit-redundant, vault-audit-monitored, azure-diagnostics-monitored). */

/**
 * The destinations the user declares for a source in `policy.monitoring`, optionally of some kinds only.
 * Declared, not observed: keyproof cannot read them from the source, so messages say "declared".
 */
export function declaredDestinations(
  snapshot: Snapshot,
  source: string,
  kinds: readonly MonitoringDestination["kind"][] = ["siem", "shipper"],
): MonitoringDestination[] {
  return snapshot.policy.monitoring.destinations.filter(
    (destination) => destination.source === source && kinds.includes(destination.kind),
  );
}

/** `declared shipper fluent-bit → Datadog`: how a finding names what the user stated. */
export function describeDeclared(destinations: readonly MonitoringDestination[]): string {
  return destinations.map((destination) => `declared ${destination.kind} ${destination.name}`).join(", ");
}

/**
 * The enabled audit devices of a Vault location. `sys/audit` lists enabled devices only, so every sink is
 * enabled; the `active !== false` guard keeps a sink whose state a future source leaves unknown.
 */
export function enabledAuditDevices(location: LocationSnapshot): LoggingSink[] {
  return location.logging.sinks.filter((sink) => sink.kind === "vault-audit-device" && sink.active !== false);
}

/** `filtered/ (file): the device has a filter...`: a device that may not record key events, and why. */
export function describeNotRecording(devices: readonly LoggingSink[]): string {
  return devices.map((device) => `${describeAuditDevices([device])}: ${device.coverageReason}`).join("; ");
}

/** `file/ (file), siem/ (socket)`: a device with its type, as an auditor compares it with `bao audit list`. */
export function describeAuditDevices(devices: readonly LoggingSink[]): string {
  return devices
    .map((device) => `${device.name} (${device.auditDeviceType ?? "type not reported"})`)
    .join(", ");
}

/**
 * Why a Vault child namespace's audit devices are unknown by design (`LoggingStatus.auditDevicesOutOfReach`),
 * when that unreadable root-namespace listing is the only thing hiding its sinks; undefined otherwise (then
 * the checks judge the sinks and errors as usual). Every logging check answers `warn` with this reason.
 */
export function auditDevicesOutOfReach(location: LocationSnapshot): string | undefined {
  const { logging } = location;
  const outOfReach = logging.auditDevicesOutOfReach;
  if (outOfReach === undefined || logging.sinks.length > 0) return undefined;
  const others = sinkReadErrors(logging).filter((error) => error.call !== outOfReach.call);
  return others.length === 0 ? outOfReach.reason : undefined;
}

/**
 * The logging errors about the sinks themselves. A failed alert rule read (Azure activity-log alerts, log search
 * alerts; also in `keyEventAlerting.errors`) says nothing about where records go: the sink checks must not
 * answer `error` for it; the alert checks judge it.
 */
export function sinkReadErrors(logging: LoggingStatus): CollectionError[] {
  const alerting = new Set(
    (logging.keyEventAlerting?.errors ?? []).map((error) => `${error.call}\n${error.code}\n${error.message}`),
  );
  return logging.errors.filter((error) => !alerting.has(`${error.call}\n${error.code}\n${error.message}`));
}
