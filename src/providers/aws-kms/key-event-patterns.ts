import { classifyAdministrativeAction } from "../../model/changes.ts";
import { alertActionMatches as wildcardMatches } from "../../model/logging.ts";
import { asObject } from "../shared/json-fields.ts";

/**
 * Which KMS events an alert rule fires on, read from the rule as stored: a CloudWatch Logs metric filter
 * pattern on the trail's log group, or an EventBridge event pattern. Pure parsing, no judgement: a name is
 * returned only when the pattern states it (a wildcard value is returned as written, `Disable*`), never
 * guessed from the rule's name, and a pattern this parser cannot read yields no names (the rule is then
 * shown as found but not covering, never as covering).
 */

/** The CloudTrail `eventSource` of KMS calls and the EventBridge `source` of KMS events. */
const KMS_EVENT_SOURCE = "kms.amazonaws.com";
const KMS_SOURCE = "aws.kms";
/** The EventBridge detail-type of management API calls CloudTrail forwards. */
const CLOUDTRAIL_DETAIL_TYPE = "AWS API Call via CloudTrail";
/**
 * Events KMS itself sends to EventBridge (AWS KMS developer guide, "Monitoring with Amazon EventBridge"). They
 * are returned by detail-type so a finding can name them; none of them is DisableKey or ScheduleKeyDeletion
 * (`KMS CMK Deletion` fires when the waiting period ends and the key is gone, too late to stop it).
 */
const KMS_SERVICE_DETAIL_TYPES = [
  "KMS CMK Deletion",
  "KMS CMK Rotation",
  "KMS Imported Key Material Expiration",
] as const;

/**
 * One `$.<field> = <value>` or `$.<field> != <value>` comparison of a JSON metric filter pattern. Values may
 * be quoted or bare (`DisableKey`, `"DisableKey"`), with or without spaces around the operator, as the
 * CloudWatch Logs filter pattern syntax allows.
 */
const COMPARISON = /\$\.(eventName|eventSource)\s*(!=|=)\s*(?:"([^"]*)"|([^\s()&|}]+))/g;

/**
 * The KMS event names a CloudWatch Logs metric filter pattern matches, e.g. for the CIS AWS Foundations
 * pattern `{($.eventSource = kms.amazonaws.com) && (($.eventName=DisableKey)||($.eventName=ScheduleKeyDeletion))}`:
 * `["DisableKey", "ScheduleKeyDeletion"]`. Only JSON patterns (`{ ... }`) are read: a term or space-delimited
 * pattern does not name fields. A pattern that states another event source (`$.eventSource = ec2...`) matches
 * no KMS event. Names compared with `!=` are exclusions, not events the filter fires on.
 */
export function kmsActionsOfFilterPattern(pattern: string): string[] {
  const trimmed = pattern.trim();
  if (!trimmed.startsWith("{") || !trimmed.endsWith("}")) return [];
  const names: string[] = [];
  const sources: string[] = [];
  for (const match of trimmed.matchAll(COMPARISON)) {
    const [, field, operator, quoted, bare] = match;
    const value = quoted ?? bare ?? "";
    if (operator !== "=" || value === "") continue;
    if (field === "eventName") names.push(value);
    else sources.push(value);
  }
  // With sources stated, one of them must be KMS (as written, or a wildcard reaching it).
  if (sources.length > 0 && !sources.some((source) => wildcardMatches(source, KMS_EVENT_SOURCE))) return [];
  return unique(sources.length > 0 ? names : names.filter(isKmsAdministrativeAction));
}

/**
 * A pattern that does not state the event source matches an event name of any service (`ConsoleLogin`):
 * only KMS's own administrative calls are then KMS events, and a wildcard says nothing about the service.
 */
function isKmsAdministrativeAction(name: string): boolean {
  return classifyAdministrativeAction("aws-kms", { action: name }) !== undefined;
}

/**
 * The KMS events an EventBridge event pattern (JSON text) matches: `detail.eventName` values of CloudTrail
 * API-call events from KMS, plus the KMS service events by detail-type. Exact strings are returned as
 * written; a `{"prefix": "Disable"}` or `{"wildcard": "Disable*"}` filter as `Disable*`; other content
 * filters (`anything-but`, numeric...) state no name and are skipped. A pattern whose `source` or
 * `detail.eventSource` excludes KMS matches nothing here. Top-level `$or` is not expanded.
 */
export function kmsActionsOfEventPattern(eventPattern: string): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(eventPattern);
  } catch {
    return [];
  }
  const pattern = asObject(parsed);
  if (pattern === undefined) return [];
  const sources = statedValues(pattern.source);
  if (sources !== undefined && !sources.some((source) => wildcardMatches(source, KMS_SOURCE))) return [];
  const detail = asObject(pattern.detail);
  const eventSources = statedValues(detail?.eventSource);
  if (eventSources !== undefined && !eventSources.some((source) => wildcardMatches(source, KMS_EVENT_SOURCE)))
    return [];
  const detailTypes = statedValues(pattern["detail-type"]);
  const apiCalls =
    detailTypes === undefined || detailTypes.some((type) => wildcardMatches(type, CLOUDTRAIL_DETAIL_TYPE));
  const stated = apiCalls ? (statedValues(detail?.eventName) ?? []) : [];
  const names =
    sources === undefined && eventSources === undefined ? stated.filter(isKmsAdministrativeAction) : stated;
  const serviceEvents = (detailTypes ?? []).filter((type) =>
    KMS_SERVICE_DETAIL_TYPES.some((serviceType) => wildcardMatches(type, serviceType)),
  );
  return unique([...names, ...serviceEvents]);
}

/**
 * The values an event pattern field states: plain strings as written, prefix and wildcard filters as a
 * `*` wildcard. `undefined` when the field is absent (it then matches any value).
 */
function statedValues(field: unknown): string[] | undefined {
  if (field === undefined) return undefined;
  const entries = Array.isArray(field) ? (field as unknown[]) : [field];
  return entries.flatMap((entry) => {
    if (typeof entry === "string") return [entry];
    const filter = asObject(entry);
    if (typeof filter?.prefix === "string") return [`${filter.prefix}*`];
    if (typeof filter?.wildcard === "string") return [filter.wildcard];
    return [];
  });
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}
