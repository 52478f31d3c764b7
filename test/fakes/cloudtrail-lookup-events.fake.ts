/**
 * FAKE of AWS CloudTrail's `LookupEvents` API — not AWS, and not moto (moto 5.2 does not implement
 * LookupEvents: it answers HTTP 500 NotImplementedError). Only for tests that drive the real
 * `@aws-sdk/client-cloudtrail` through `endpoints.cloudtrail`.
 *
 * Wire format answered (CloudTrail API reference, "LookupEvents"; protocol awsJson1_1):
 * - `POST /` with `Content-Type: application/x-amz-json-1.1` and
 *   `X-Amz-Target: com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents`
 *   (older SDKs sent `CloudTrail_20131101.LookupEvents`; both are accepted). Any other target → 400
 *   `UnknownOperationException`.
 * - Request: `LookupAttributes` (at most one; EventId, EventName, ReadOnly, Username, ResourceType,
 *   ResourceName, EventSource, AccessKeyId), `StartTime`/`EndTime` as epoch seconds (inclusive),
 *   `MaxResults` 1..50 (default 50), `NextToken`.
 * - Response: `{ Events: [{ EventId, EventName, ReadOnly, AccessKeyId, EventTime (epoch seconds),
 *   EventSource, Username, Resources: [{ ResourceType, ResourceName }], CloudTrailEvent (JSON string) }],
 *   NextToken? }`, newest event first, as AWS returns them.
 * - `DescribeTrails` (target `...CloudTrail_20131101.DescribeTrails`) answers `{"trailList": []}`: an
 *   account with no trail, whose only event history is LookupEvents. Counted in `describeTrailsCalls`,
 *   not in `calls`.
 * - Errors: HTTP 400 `{"__type": "<Code>", "message": "..."}` — InvalidMaxResultsException,
 *   InvalidLookupAttributesException, InvalidTimeRangeException, InvalidNextTokenException, and
 *   `ThrottlingException` for the first `throttleFirst` calls when asked to.
 * Not modelled: the 90-day history limit (the provider handles it from its clock), event categories,
 * request signing (any credentials pass), the real 2 requests/second limit (`calls` records arrival
 * times so a test can assert the client's own spacing).
 */
import { createServer } from "node:http";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export const LOOKUP_EVENTS_TARGETS = [
  "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents",
  "CloudTrail_20131101.LookupEvents",
];

export interface LookupEventsFakeOptions {
  /** CloudTrail records exactly as CloudTrail writes them (`eventTime`, `eventSource`, `eventID`...). */
  records: ReadonlyArray<Record<string, unknown>>;
  /** Answer ThrottlingException to this many calls first (default 0). */
  throttleFirst?: number;
  /** eventID → the CloudTrailEvent string to serve instead of the record's JSON (to serve a corrupt one). */
  cloudTrailEventOverrides?: Record<string, string>;
}

export const DESCRIBE_TRAILS_TARGETS = [
  "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.DescribeTrails",
  "CloudTrail_20131101.DescribeTrails",
];

export interface LookupEventsCall {
  /** `performance.now()` when the request arrived. */
  receivedAt: number;
  target: string;
  body: Record<string, unknown>;
  answer: "page" | "throttled" | "error";
}

export interface LookupEventsFake {
  /** `http://127.0.0.1:<port>`: pass as `endpoints.cloudtrail`. */
  endpoint: string;
  /** LookupEvents calls, in arrival order. */
  calls: LookupEventsCall[];
  /** How many DescribeTrails calls were answered (with no trail). */
  readonly describeTrailsCalls: number;
  close(): Promise<void>;
}

interface ServedEvent {
  seconds: number;
  record: Record<string, unknown>;
}

const MAX_RESULTS = 50;

function stringOf(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

function objectOf(value: unknown): Record<string, unknown> | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

function usernameOf(record: Record<string, unknown>): string | undefined {
  const identity = objectOf(record.userIdentity);
  const userName = stringOf(identity?.userName);
  if (userName !== undefined) return userName;
  // Assumed roles: LookupEvents shows the session name.
  const arn = stringOf(identity?.arn);
  return arn?.split("/").at(-1);
}

function resourcesOf(record: Record<string, unknown>): Array<{ ResourceType: string; ResourceName: string }> {
  const resources = Array.isArray(record.resources) ? record.resources : [];
  return resources.flatMap((resource) => {
    const entry = objectOf(resource);
    const type = stringOf(entry?.type);
    const name = stringOf(entry?.ARN);
    return type === undefined || name === undefined ? [] : [{ ResourceType: type, ResourceName: name }];
  });
}

function attributeMatches(record: Record<string, unknown>, key: string, value: string): boolean {
  switch (key) {
    case "EventId":
      return record.eventID === value;
    case "EventName":
      return record.eventName === value;
    case "ReadOnly":
      return String(record.readOnly) === value;
    case "Username":
      return usernameOf(record) === value;
    case "ResourceType":
      return resourcesOf(record).some((resource) => resource.ResourceType === value);
    case "ResourceName":
      return resourcesOf(record).some((resource) => resource.ResourceName === value);
    case "EventSource":
      return record.eventSource === value;
    case "AccessKeyId":
      return objectOf(record.userIdentity)?.accessKeyId === value;
    default:
      return false;
  }
}

class FakeError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    request.on("error", reject);
  });
}

function send(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    "content-type": "application/x-amz-json-1.1",
    "content-length": Buffer.byteLength(text),
    "x-amzn-requestid": `fake-${Math.random().toString(16).slice(2)}`,
  });
  response.end(text);
}

function sendError(response: ServerResponse, code: string, message: string): void {
  send(response, 400, { __type: code, message });
}

export async function startCloudTrailLookupEventsFake(
  options: LookupEventsFakeOptions,
): Promise<LookupEventsFake> {
  const calls: LookupEventsCall[] = [];
  let describeTrailsCalls = 0;
  let throttlesLeft = options.throttleFirst ?? 0;
  const events: ServedEvent[] = options.records
    .map((record) => ({ seconds: Date.parse(String(record.eventTime)) / 1000, record }))
    .filter((event) => !Number.isNaN(event.seconds))
    // Newest first, ties broken by id so pages are stable.
    .sort(
      (left, right) =>
        right.seconds - left.seconds ||
        String(left.record.eventID).localeCompare(String(right.record.eventID)),
    );

  function lookup(body: Record<string, unknown>): Record<string, unknown> {
    const maxResults = body.MaxResults === undefined ? MAX_RESULTS : Number(body.MaxResults);
    if (!Number.isInteger(maxResults) || maxResults < 1 || maxResults > MAX_RESULTS) {
      throw new FakeError("InvalidMaxResultsException", `MaxResults must be between 1 and ${MAX_RESULTS}`);
    }
    const attributes = Array.isArray(body.LookupAttributes) ? body.LookupAttributes.map(objectOf) : [];
    if (attributes.length > 1) {
      throw new FakeError("InvalidLookupAttributesException", "You can specify only one lookup attribute");
    }
    const attribute = attributes[0];
    const start = typeof body.StartTime === "number" ? body.StartTime : Number.NEGATIVE_INFINITY;
    const end = typeof body.EndTime === "number" ? body.EndTime : Number.POSITIVE_INFINITY;
    if (start > end) throw new FakeError("InvalidTimeRangeException", "StartTime must be before EndTime");
    const query = JSON.stringify([attribute ?? null, start, end]);
    let offset = 0;
    if (body.NextToken !== undefined) {
      try {
        const token = JSON.parse(Buffer.from(String(body.NextToken), "base64url").toString("utf8")) as {
          offset: number;
          query: string;
        };
        if (token.query !== query || !Number.isInteger(token.offset))
          throw new Error("token for another query");
        offset = token.offset;
      } catch {
        throw new FakeError("InvalidNextTokenException", "Invalid NextToken");
      }
    }
    const matching = events.filter(
      (event) =>
        event.seconds >= start &&
        event.seconds <= end &&
        (attribute === undefined ||
          attributeMatches(event.record, String(attribute.AttributeKey), String(attribute.AttributeValue))),
    );
    const page = matching.slice(offset, offset + maxResults);
    const next = offset + maxResults < matching.length ? offset + maxResults : undefined;
    return {
      Events: page.map(({ seconds, record }) => {
        const eventId = String(record.eventID);
        return {
          EventId: eventId,
          EventName: record.eventName,
          ReadOnly: String(record.readOnly),
          AccessKeyId: objectOf(record.userIdentity)?.accessKeyId,
          EventTime: seconds,
          EventSource: record.eventSource,
          Username: usernameOf(record),
          Resources: resourcesOf(record),
          CloudTrailEvent: options.cloudTrailEventOverrides?.[eventId] ?? JSON.stringify(record),
        };
      }),
      ...(next === undefined
        ? {}
        : { NextToken: Buffer.from(JSON.stringify({ offset: next, query })).toString("base64url") }),
    };
  }

  const server = createServer((request, response) => {
    const receivedAt = performance.now();
    readBody(request)
      .then((text) => {
        const target = String(request.headers["x-amz-target"] ?? "");
        let body: Record<string, unknown> = {};
        try {
          body = objectOf(JSON.parse(text === "" ? "{}" : text)) ?? {};
        } catch {
          calls.push({ receivedAt, target, body, answer: "error" });
          sendError(response, "SerializationException", "request body is not JSON");
          return;
        }
        if (request.method === "POST" && DESCRIBE_TRAILS_TARGETS.includes(target)) {
          describeTrailsCalls += 1;
          send(response, 200, { trailList: [] });
          return;
        }
        if (request.method !== "POST" || !LOOKUP_EVENTS_TARGETS.includes(target)) {
          calls.push({ receivedAt, target, body, answer: "error" });
          sendError(
            response,
            "UnknownOperationException",
            `this fake answers only LookupEvents, not ${target || request.method}`,
          );
          return;
        }
        if (throttlesLeft > 0) {
          throttlesLeft -= 1;
          calls.push({ receivedAt, target, body, answer: "throttled" });
          sendError(response, "ThrottlingException", "Rate exceeded");
          return;
        }
        try {
          const page = lookup(body);
          calls.push({ receivedAt, target, body, answer: "page" });
          send(response, 200, page);
        } catch (error) {
          calls.push({ receivedAt, target, body, answer: "error" });
          if (error instanceof FakeError) sendError(response, error.code, error.message);
          else sendError(response, "InternalFailure", String(error));
        }
      })
      .catch((error: unknown) => sendError(response, "InternalFailure", String(error)));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    calls,
    get describeTrailsCalls() {
      return describeTrailsCalls;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
