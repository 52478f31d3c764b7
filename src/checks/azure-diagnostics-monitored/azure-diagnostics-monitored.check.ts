import type { Check } from "../check.ts";
import { makeFinding } from "../check.ts";
import { parseCheckMetadata } from "../check-metadata.schema.ts";
import {
  describeCollectionError,
  judgedLocations,
  locationFindingBase,
  loggingEvidence,
  missingLocationFinding,
  summarizeList,
} from "../eligibility.ts";
import { declaredDestinations, describeDeclared, sinkReadErrors } from "../monitoring.ts";
import type { Finding } from "../../model/finding.ts";
import type { DiagnosticDestinations, LoggingSink } from "../../model/logging.ts";
import type { LocationSnapshot, Snapshot } from "../../model/snapshot.ts";
import rawMetadata from "./azure-diagnostics-monitored.metadata.json" with { type: "json" };

const metadata = parseCheckMetadata(rawMetadata);

/** `Log Analytics workspace law-sec`: the last segment of an ARM id is what an auditor recognises. */
function lastSegment(resourceId: string): string {
  return resourceId.slice(resourceId.lastIndexOf("/") + 1) || resourceId;
}

/**
 * Destinations someone queries or is alerted from. A workspace feeds Sentinel and alert rules; an Event Hub is
 * the stream SIEMs consume; an Azure Native ISV partner (Datadog, Elastic...) is itself a monitoring platform.
 * A storage account is not among them: an archive nobody watches.
 */
function monitoringTargets(destinations: DiagnosticDestinations): string[] {
  const targets: string[] = [];
  if (destinations.workspaceId !== undefined)
    targets.push(`Log Analytics workspace ${lastSegment(destinations.workspaceId)}`);
  if (destinations.eventHubAuthorizationRuleId !== undefined) {
    // The rule id ends in `/authorizationRules/<rule>`: the namespace is the segment two before it.
    const namespace = destinations.eventHubAuthorizationRuleId.split("/").at(-3) ?? "";
    targets.push(
      `Event Hub ${[namespace, destinations.eventHubName].filter((part) => part !== undefined && part !== "").join("/")}`,
    );
  }
  if (destinations.marketplacePartnerId !== undefined)
    targets.push(`partner solution ${lastSegment(destinations.marketplacePartnerId)}`);
  return targets;
}

function describeSetting(sink: LoggingSink, targets: readonly string[]): string {
  return `setting ${sink.name} → ${targets.join(", ")}`;
}

/**
 * Per vault: AuditEvent observed reaching a monitoring destination passes; reaching storage only is an archive
 * (warn) unless the user declares a SIEM reading it (pass, declared); AuditEvent sent nowhere fails, whatever is
 * declared, because a SIEM can only receive AuditEvent through a diagnostic setting.
 */
export function judgeDiagnosticsMonitoring(snapshot: Snapshot, location: LocationSnapshot): Finding {
  const base = { ...locationFindingBase(location), evidence: loggingEvidence(location) };
  const covering = location.logging.sinks.filter(
    (sink) => sink.kind === "azure-diagnostic-setting" && sink.coversKeyEvents,
  );
  const monitored = covering
    .map((sink) => ({ sink, targets: monitoringTargets(sink.diagnosticDestinations ?? {}) }))
    .filter((entry) => entry.targets.length > 0);
  if (monitored.length > 0) {
    return makeFinding(metadata, {
      ...base,
      status: "pass",
      message: `AuditEvent is sent to monitoring: ${summarizeList(monitored.map((entry) => describeSetting(entry.sink, entry.targets)))}`,
    });
  }
  const errors = sinkReadErrors(location.logging);
  if (errors.length > 0) {
    return makeFinding(metadata, {
      ...base,
      status: "error",
      message: `the diagnostic settings could not be read: ${errors.map(describeCollectionError).join("; ")}`,
    });
  }
  const declared = declaredDestinations(snapshot, location.source, ["siem"]);
  if (covering.length === 0) {
    const unfed =
      declared.length > 0
        ? `; ${describeDeclared(declared)} cannot receive events the vault does not export`
        : "";
    return makeFinding(metadata, {
      ...base,
      status: "fail",
      message: `no diagnostic setting sends AuditEvent anywhere${unfed}`,
    });
  }
  const archived = covering.map((sink) => {
    const storage = sink.diagnosticDestinations?.storageAccountId;
    return `setting ${sink.name} → ${storage === undefined ? "a destination the source did not type" : `storage account ${lastSegment(storage)}`}`;
  });
  if (declared.length > 0) {
    return makeFinding(metadata, {
      ...base,
      status: "pass",
      message: `AuditEvent is archived (${summarizeList(archived)}) and monitored by ${describeDeclared(declared)}`,
    });
  }
  return makeFinding(metadata, {
    ...base,
    status: "warn",
    message: `AuditEvent reaches an archive only, not a monitoring system (${summarizeList(archived)}); send it to a Log Analytics workspace or an Event Hub, or declare the SIEM that reads it in policy.monitoring`,
  });
}

/** An Azure vault's audit events must reach a monitoring system, observed or declared. */
export const check: Check = {
  metadata,
  run(snapshot) {
    return judgedLocations(snapshot, metadata.sourceTypes).map((judged) =>
      judged.kind === "missing"
        ? missingLocationFinding(metadata, judged.gap, "audit event monitoring")
        : judgeDiagnosticsMonitoring(snapshot, judged.location),
    );
  },
};
