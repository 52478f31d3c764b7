import type { Retention } from "../../model/logging.ts";

/**
 * Pure judgements-free readings of CloudTrail and S3 configuration: whether a trail's event selectors let
 * KMS events through, and how long its bucket keeps log files. Inputs are structurally the SDK types.
 */

export const KMS_EVENT_SOURCE = "kms.amazonaws.com";

export interface BasicEventSelector {
  ReadWriteType?: string | undefined;
  IncludeManagementEvents?: boolean | undefined;
  ExcludeManagementEventSources?: string[] | undefined;
}

export interface FieldSelector {
  Field: string | undefined;
  Equals?: string[] | undefined;
  NotEquals?: string[] | undefined;
  StartsWith?: string[] | undefined;
  NotStartsWith?: string[] | undefined;
}

export interface AdvancedSelector {
  Name?: string | undefined;
  FieldSelectors: FieldSelector[] | undefined;
}

export interface KmsCoverage {
  coversKeyEvents: boolean;
  reason: string;
}

/**
 * KMS cryptographic operations (Encrypt, Decrypt, GenerateDataKey...) are management events with
 * `readOnly: true`; administrative ones (CreateKey, PutKeyPolicy, ScheduleKeyDeletion) are write events.
 * Both must reach the trail. https://docs.aws.amazon.com/kms/latest/developerguide/logging-using-cloudtrail.html
 */
export function evaluateKmsCoverage(
  eventSelectors: readonly BasicEventSelector[],
  advancedEventSelectors: readonly AdvancedSelector[],
): KmsCoverage {
  if (advancedEventSelectors.length > 0) return evaluateAdvanced(advancedEventSelectors);
  if (eventSelectors.length > 0) return evaluateBasic(eventSelectors);
  // AWS always returns the default selector for a trail; only emulators return none. CloudTrail's
  // documented default for a trail without selectors is every management event, read and write.
  return {
    coversKeyEvents: true,
    reason: "no event selectors returned: CloudTrail's default logs all management events (read and write)",
  };
}

function coverageOf(read: boolean, write: boolean, covering: string[], excluded: string[]): KmsCoverage {
  if (read && write) return { coversKeyEvents: true, reason: covering.join("; ") };
  if (write) {
    return {
      coversKeyEvents: false,
      reason: `only write management events reach the trail: KMS usage events (Decrypt, Encrypt...) are read-only and are not logged${describeExcluded(excluded)}`,
    };
  }
  if (read) {
    return {
      coversKeyEvents: false,
      reason: `only read-only management events reach the trail: KMS administrative events (PutKeyPolicy, ScheduleKeyDeletion...) are not logged${describeExcluded(excluded)}`,
    };
  }
  return {
    coversKeyEvents: false,
    reason: excluded.length > 0 ? excluded.join("; ") : "no selector includes management events",
  };
}

function describeExcluded(excluded: string[]): string {
  return excluded.length === 0 ? "" : ` (${excluded.join("; ")})`;
}

function evaluateBasic(selectors: readonly BasicEventSelector[]): KmsCoverage {
  let read = false;
  let write = false;
  const covering: string[] = [];
  const excluded: string[] = [];
  selectors.forEach((selector, index) => {
    const label = `event selector ${index + 1}`;
    // Omitted IncludeManagementEvents defaults to true in the CloudTrail API.
    if (selector.IncludeManagementEvents === false) {
      excluded.push(`${label}: IncludeManagementEvents is false`);
      return;
    }
    if ((selector.ExcludeManagementEventSources ?? []).includes(KMS_EVENT_SOURCE)) {
      excluded.push(`${label}: ${KMS_EVENT_SOURCE} is in ExcludeManagementEventSources`);
      return;
    }
    const readWrite = selector.ReadWriteType ?? "All";
    if (readWrite === "All" || readWrite === "ReadOnly") read = true;
    if (readWrite === "All" || readWrite === "WriteOnly") write = true;
    covering.push(
      `${label}: management events (ReadWriteType ${readWrite}), ${KMS_EVENT_SOURCE} not excluded`,
    );
  });
  return coverageOf(read, write, covering, excluded);
}

function fieldOf(selector: AdvancedSelector, field: string): FieldSelector | undefined {
  return (selector.FieldSelectors ?? []).find((entry) => entry.Field === field);
}

/** Whether a field selector lets `value` through (Equals/StartsWith include, NotEquals/NotStartsWith exclude). */
function fieldAdmits(selector: FieldSelector | undefined, value: string): boolean {
  if (selector === undefined) return true;
  if (selector.Equals !== undefined && !selector.Equals.includes(value)) return false;
  if (selector.StartsWith !== undefined && !selector.StartsWith.some((prefix) => value.startsWith(prefix)))
    return false;
  if (selector.NotEquals?.includes(value)) return false;
  if (selector.NotStartsWith?.some((prefix) => value.startsWith(prefix))) return false;
  return true;
}

function evaluateAdvanced(selectors: readonly AdvancedSelector[]): KmsCoverage {
  let read = false;
  let write = false;
  const covering: string[] = [];
  const excluded: string[] = [];
  selectors.forEach((selector, index) => {
    const label = `advanced event selector ${selector.Name === undefined ? index + 1 : `"${selector.Name}"`}`;
    const category = fieldOf(selector, "eventCategory");
    if (category === undefined || !fieldAdmits(category, "Management")) {
      excluded.push(`${label}: not a management-event selector`);
      return;
    }
    if (!fieldAdmits(fieldOf(selector, "eventSource"), KMS_EVENT_SOURCE)) {
      excluded.push(`${label}: eventSource excludes ${KMS_EVENT_SOURCE}`);
      return;
    }
    const readOnly = fieldOf(selector, "readOnly");
    const admitsRead = fieldAdmits(readOnly, "true");
    const admitsWrite = fieldAdmits(readOnly, "false");
    read ||= admitsRead;
    write ||= admitsWrite;
    const scope = admitsRead && admitsWrite ? "read and write" : admitsRead ? "read-only" : "write-only";
    covering.push(`${label}: eventCategory Management (${scope}), ${KMS_EVENT_SOURCE} not excluded`);
  });
  return coverageOf(read, write, covering, excluded);
}

export interface LifecycleRuleShape {
  ID?: string | undefined;
  Status?: string | undefined;
  Prefix?: string | undefined;
  Filter?:
    | {
        Prefix?: string | undefined;
        Tag?: unknown;
        ObjectSizeGreaterThan?: number | undefined;
        ObjectSizeLessThan?: number | undefined;
        And?: { Prefix?: string | undefined; Tags?: unknown[] | undefined } | undefined;
      }
    | undefined;
  Expiration?: { Days?: number | undefined; Date?: Date | string | undefined } | undefined;
}

function rulePrefix(rule: LifecycleRuleShape): string {
  return rule.Filter?.And?.Prefix ?? rule.Filter?.Prefix ?? rule.Prefix ?? "";
}

/** CloudTrail never tags its log objects, so a rule filtered on tags never touches them. */
function ruleNeedsTags(rule: LifecycleRuleShape): boolean {
  return rule.Filter?.Tag !== undefined || (rule.Filter?.And?.Tags ?? []).length > 0;
}

/**
 * How long the trail's log files stay in the bucket, from its lifecycle rules. `logPrefix` is where this
 * region's files land (`<prefix>/AWSLogs/<account>/CloudTrail/<region>/`). Object-size filters are ignored
 * on purpose: a rule expiring some log files still bounds how long those are kept, so the shortest
 * applicable expiration wins. `rules` undefined means the bucket has no lifecycle configuration.
 */
export function retentionFromLifecycle(
  rules: readonly LifecycleRuleShape[] | undefined,
  logPrefix: string,
): Retention {
  const applicable = (rules ?? []).filter(
    (rule) =>
      rule.Status === "Enabled" &&
      rule.Expiration !== undefined &&
      !ruleNeedsTags(rule) &&
      logPrefix.startsWith(rulePrefix(rule)),
  );
  const days = applicable
    .map((rule) => rule.Expiration?.Days)
    .filter((value): value is number => typeof value === "number" && value > 0);
  if (days.length > 0) return { kind: "days", days: Math.min(...days) };
  const dated = applicable.find((rule) => rule.Expiration?.Date !== undefined);
  if (dated !== undefined) {
    const date = dated.Expiration?.Date;
    const when = date instanceof Date ? date.toISOString() : String(date);
    return {
      kind: "unknown",
      reason: `lifecycle rule ${dated.ID ?? "(unnamed)"} expires log files on a fixed date (${when}), not after a number of days`,
    };
  }
  return { kind: "unlimited" };
}
