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
import { declaredDestinations, describeDeclared } from "../monitoring.ts";
import type { Finding } from "../../model/finding.ts";
import type { KeyEventAlert } from "../../model/logging.ts";
import { alertActionMatches } from "../../model/logging.ts";
import type { LocationSnapshot, Snapshot } from "../../model/snapshot.ts";
import rawMetadata from "./kms-deletion-alarmed.metadata.json" with { type: "json" };

const metadata = parseCheckMetadata(rawMetadata);

/** The two calls that make a key's data unreadable (CIS AWS Foundations: disable or scheduled deletion). */
export const ALARMED_ACTIONS = ["DisableKey", "ScheduleKeyDeletion"] as const;

const KIND_LABELS: Record<KeyEventAlert["kind"], string> = {
  "cloudwatch-metric-alarm": "CloudWatch alarm",
  "cloudwatch-metric-filter": "metric filter",
  "eventbridge-rule": "EventBridge rule",
  "azure-activity-log-alert": "activity-log alert",
  "azure-scheduled-query-rule": "scheduled query rule",
};

function labelOf(alert: KeyEventAlert): string {
  return `${KIND_LABELS[alert.kind]} ${alert.name}`;
}

/** The required actions the alert's stated actions match (`DisableKey`, or a wildcard reaching it). */
function matchedActions(alert: KeyEventAlert): string[] {
  return ALARMED_ACTIONS.filter((action) =>
    alert.actions.some((stated) => alertActionMatches(stated, action)),
  );
}

/**
 * Why an alert alerts no one, empty when it does. A metric filter without an alarm only counts; a rule or
 * alarm must be switched on (unknown is not on) and send somewhere.
 */
function silentReasons(alert: KeyEventAlert): string[] {
  if (alert.kind === "cloudwatch-metric-filter") return ["no alarm watches its metric"];
  const reasons: string[] = [];
  if (alert.enabled === false)
    reasons.push(alert.kind === "cloudwatch-metric-alarm" ? "its actions are disabled" : "it is disabled");
  if (alert.enabled === undefined) reasons.push("the source did not say whether it is enabled");
  if (alert.notifies.length === 0) reasons.push("it notifies no one");
  return reasons;
}

/** `EventBridge rule r on DisableKey → arn:aws:sns:...`: a covering alert as the finding names it. */
function describeCovering(alert: KeyEventAlert): string {
  return `${labelOf(alert)} on ${matchedActions(alert).join(", ")} → ${summarizeList(alert.notifies, 3)}`;
}

/** What was found that does not (fully) alert, so a failing finding says what to fix. */
function describeShortfall(alert: KeyEventAlert, missing: readonly string[]): string | undefined {
  const matched = matchedActions(alert);
  const stated = alert.actions.length === 0 ? "no named event" : summarizeList(alert.actions, 3);
  if (matched.length === 0)
    return `${labelOf(alert)} matches ${stated}, neither ${ALARMED_ACTIONS.join(" nor ")}`;
  const reasons = silentReasons(alert);
  if (reasons.length > 0) return `${labelOf(alert)} on ${matched.join(", ")}: ${reasons.join(", ")}`;
  const uncovered = missing.filter((action) => !matched.includes(action));
  return uncovered.length > 0 ? `${labelOf(alert)} covers only ${matched.join(", ")}` : undefined;
}

/** A location with no customer-managed key has nothing a customer could disable or schedule for deletion. */
function hasCustomerKeys(location: LocationSnapshot): boolean {
  return location.keys.some((key) => key.manager !== "provider") || location.gaps.length > 0;
}

/**
 * Pass when the enabled alarms and rules of the location, together, fire on both DisableKey and
 * ScheduleKeyDeletion and notify someone, or when the user declares an `alert` for the source (named as
 * declared). A failed lookup with no covering rule found is unknown (warn), never a fail.
 */
export function judgeDeletionAlarm(snapshot: Snapshot, location: LocationSnapshot): Finding {
  const base = { ...locationFindingBase(location), evidence: loggingEvidence(location) };
  if (!hasCustomerKeys(location)) {
    return makeFinding(metadata, {
      ...base,
      status: "not-applicable",
      message: "no customer-managed KMS key in this location to disable or schedule for deletion",
    });
  }
  const alerting = location.logging.keyEventAlerting;
  const alerts = alerting?.alerts ?? [];
  const covering = alerts.filter(
    (alert) => matchedActions(alert).length > 0 && silentReasons(alert).length === 0,
  );
  const missing = ALARMED_ACTIONS.filter(
    (action) => !covering.some((alert) => matchedActions(alert).includes(action)),
  );
  const observed = covering.map(describeCovering);
  if (missing.length === 0)
    return makeFinding(metadata, { ...base, status: "pass", message: observed.join("; ") });

  const declared = declaredDestinations(snapshot, location.source, ["alert"]);
  if (declared.length > 0) {
    return makeFinding(metadata, {
      ...base,
      status: "pass",
      message: [
        ...observed,
        `${describeDeclared(declared)} (stated in policy.monitoring, not observed)`,
      ].join("; "),
    });
  }
  if (alerting === undefined) {
    return makeFinding(metadata, {
      ...base,
      status: "warn",
      message:
        "the alarms and EventBridge rules on key events were not collected for this location, so whether anyone is alerted is unknown",
    });
  }
  const shortfalls = alerts.flatMap((alert) => describeShortfall(alert, missing) ?? []);
  const found = shortfalls.length > 0 ? `; found: ${shortfalls.join("; ")}` : "";
  if (alerting.errors.length > 0) {
    // The rule that could not be read may be the one that covers the rest.
    return makeFinding(metadata, {
      ...base,
      status: "warn",
      message: `no enabled alarm or rule found alerting on ${missing.join(" or ")}${found}, but the lookup was incomplete: ${alerting.errors.map(describeCollectionError).join("; ")}`,
    });
  }
  const nothing =
    shortfalls.length === 0
      ? `: no CloudWatch alarm on a metric filter of a trail's log group and no EventBridge rule names these events${deliversToLogs(location) ? "" : " (and no trail that logs this location's KMS events delivers to CloudWatch Logs, so a metric filter would have nothing to read)"}`
      : found;
  return makeFinding(metadata, {
    ...base,
    status: "fail",
    message: `nothing alerts anyone when a key is ${missing.map(describeAction).join(" or ")} (${missing.join(", ")})${nothing}`,
  });
}

function describeAction(action: (typeof ALARMED_ACTIONS)[number]): string {
  return action === "DisableKey" ? "disabled" : "scheduled for deletion";
}

function deliversToLogs(location: LocationSnapshot): boolean {
  return location.logging.sinks.some(
    (sink) => sink.coversKeyEvents && sink.trail?.cloudWatchLogsLogGroupArn !== undefined,
  );
}

/** An alert on key disable and scheduled deletion in every AWS location with customer-managed keys. */
export const check: Check = {
  metadata,
  run(snapshot) {
    return judgedLocations(snapshot, metadata.sourceTypes).map((judged) =>
      judged.kind === "missing"
        ? missingLocationFinding(metadata, judged.gap, "alerting on key disable and deletion")
        : judgeDeletionAlarm(snapshot, judged.location),
    );
  },
};
