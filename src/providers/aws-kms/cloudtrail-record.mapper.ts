import { classifyAdministrativeAction } from "../../model/changes.ts";
import { toJsonValue } from "../../model/json.ts";
import type { UsageEvent } from "../../model/usage.ts";
import { KMS_EVENT_SOURCE } from "./cloudtrail-coverage.ts";
import { asObject, asString } from "../shared/json-fields.ts";

/**
 * Pure mapping of one CloudTrail record (a log-file `Records[]` entry or a LookupEvents `CloudTrailEvent`)
 * to a `UsageEvent`. Record fields: https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html
 */

export interface RecordContext {
  source: string;
  location: string;
  /** The S3 object key, or `cloudtrail:LookupEvents`. */
  origin: string;
}

export type RecordMapping =
  | { kind: "event"; event: UsageEvent }
  /** Not a KMS record: skipped without a trace, the log holds every service's events. */
  | { kind: "other-service" }
  /** A KMS record that cannot be read (no time, no name): reported as a gap by the caller. */
  | { kind: "invalid"; reason: string };

const KEY_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/(.+)$/;
/** Key ids are UUIDs; multi-Region keys add an `mrk-` prefix and a hex id. */
const KEY_ID = /^(mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/i;

/** The key id a reference names (key ARN or bare id); undefined for aliases, which name no key by themselves. */
export function keyIdOfReference(reference: string): string | undefined {
  const arn = KEY_ARN.exec(reference);
  if (arn !== null) return arn[1];
  return KEY_ID.test(reference) ? reference : undefined;
}

/** The key a record is about: `resources[]` of type AWS::KMS::Key first, else `requestParameters.keyId`. */
export function keyReferenceOf(record: Record<string, unknown>): string | undefined {
  const resources = Array.isArray(record.resources) ? record.resources : [];
  for (const resource of resources) {
    const entry = asObject(resource);
    if (entry?.type === "AWS::KMS::Key") {
      const arn = asString(entry.ARN) ?? asString(entry.arn);
      if (arn !== undefined) return arn;
    }
  }
  return asString(asObject(record.requestParameters)?.keyId);
}

/** `userIdentity.arn`, else its principalId, else the AWS service that acted (`invokedBy`). */
export function principalOf(record: Record<string, unknown>): string {
  const identity = asObject(record.userIdentity);
  return (
    asString(identity?.arn) ?? asString(identity?.principalId) ?? asString(identity?.invokedBy) ?? "unknown"
  );
}

export function mapCloudTrailRecord(value: unknown, context: RecordContext): RecordMapping {
  const record = asObject(value);
  if (record === undefined) return { kind: "invalid", reason: "record is not a JSON object" };
  if (record.eventSource !== KMS_EVENT_SOURCE) return { kind: "other-service" };
  const eventTime = asString(record.eventTime);
  const time = eventTime === undefined ? Number.NaN : Date.parse(eventTime);
  if (Number.isNaN(time))
    return { kind: "invalid", reason: `eventTime ${JSON.stringify(record.eventTime)} is not a timestamp` };
  const action = asString(record.eventName);
  if (action === undefined) return { kind: "invalid", reason: "record has no eventName" };
  const keyReference = keyReferenceOf(record);
  const keyId = keyReference === undefined ? undefined : keyIdOfReference(keyReference);
  const errorCode = asString(record.errorCode);
  const sourceAddress = asString(record.sourceIPAddress);
  const userAgent = asString(record.userAgent);
  // Only administrative events keep their parameters: they are what changed (policy text, grantee).
  const requestParameters =
    classifyAdministrativeAction("aws-kms", { action }) === undefined
      ? undefined
      : toJsonValue(record.requestParameters);
  const event: UsageEvent = {
    time: new Date(time).toISOString(),
    source: context.source,
    location: context.location,
    ...(keyId === undefined ? {} : { keyId }),
    ...(keyReference === undefined ? {} : { keyReference }),
    action,
    principal: principalOf(record),
    ...(sourceAddress === undefined ? {} : { sourceAddress }),
    ...(userAgent === undefined ? {} : { userAgent }),
    outcome: errorCode === undefined ? "success" : "failure",
    ...(errorCode === undefined ? {} : { errorCode }),
    eventId: asString(record.eventID) ?? asString(record.requestID) ?? `${context.origin}@${eventTime}`,
    origin: context.origin,
    ...(requestParameters === undefined ? {} : { requestParameters }),
  };
  return { kind: "event", event };
}
