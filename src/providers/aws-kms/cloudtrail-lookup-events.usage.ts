import { LookupEventsCommand } from "@aws-sdk/client-cloudtrail";
import type { CloudTrailClient, LookupEventsCommandOutput } from "@aws-sdk/client-cloudtrail";
import type { DateRange } from "../../model/snapshot.ts";
import type { UsageGap, UsageItem } from "../../model/usage.ts";
import { addDays, isInRange } from "../../time/date-range.ts";
import type { Clock } from "../key-provider.ts";
import { isRetryableAwsError, toCollectionError } from "./aws-error.ts";
import { KMS_EVENT_SOURCE } from "./cloudtrail-coverage.ts";
import { mapCloudTrailRecord } from "./cloudtrail-record.mapper.ts";
import type { TokenBucket } from "./token-bucket.ts";
import { realSleep } from "./token-bucket.ts";

/**
 * Streams one region's KMS events through CloudTrail LookupEvents, the fallback when no trail bucket is
 * configured. LookupEvents serves only the last 90 days, at most 50 events a page and 2 requests per
 * second per region (AWS "LookupEvents" API reference); every request, retries included, goes through the
 * region's token bucket. Pages are streamed as they arrive.
 */

export interface LookupEventsContext {
  sourceId: string;
  location: string;
  range: DateRange;
  /** A client with SDK retries off: retries happen here, through the bucket. */
  client: CloudTrailClient;
  bucket: TokenBucket;
  clock: Clock;
  /** Attempts per page before the page becomes a gap; default 5. */
  maxAttempts?: number;
  /** First retry delay, doubled each attempt; default 500 ms. */
  backoffMs?: number;
  sleep?: (milliseconds: number) => Promise<void>;
}

export const LOOKUP_EVENTS_ORIGIN = "cloudtrail:LookupEvents";
/** CloudTrail event history keeps 90 days. */
export const LOOKUP_WINDOW_DAYS = 90;
const PAGE_SIZE = 50;

export async function* streamLookupEventsUsage(context: LookupEventsContext): AsyncGenerator<UsageItem> {
  const { sourceId, location, range } = context;
  const gap = (object: string, code: string, message: string): UsageItem => {
    const value: UsageGap = { source: sourceId, location, object, code, message };
    return { kind: "gap", gap: value };
  };
  const windowStart = addDays(context.clock(), -LOOKUP_WINDOW_DAYS).toISOString();
  if (range.from < windowStart) {
    const uncoveredEnd = range.toExclusive < windowStart ? range.toExclusive : windowStart;
    yield gap(
      `${LOOKUP_EVENTS_ORIGIN} ${range.from}..${uncoveredEnd}`,
      "OutsideLookupWindow",
      `LookupEvents keeps only the last ${LOOKUP_WINDOW_DAYS} days; events before ${windowStart} need a trail bucket (configure cloudtrail.bucket)`,
    );
    if (range.toExclusive <= windowStart) return;
  }

  const maxAttempts = context.maxAttempts ?? 5;
  const backoffMs = context.backoffMs ?? 500;
  const sleep = context.sleep ?? realSleep;
  let nextToken: string | undefined;
  let page = 1;
  do {
    let output: LookupEventsCommandOutput | undefined;
    for (let attempt = 1; output === undefined; attempt += 1) {
      await context.bucket.take();
      try {
        output = await context.client.send(
          new LookupEventsCommand({
            LookupAttributes: [{ AttributeKey: "EventSource", AttributeValue: KMS_EVENT_SOURCE }],
            StartTime: new Date(range.from),
            // EndTime is inclusive in LookupEvents; the exclusive end is filtered out below.
            EndTime: new Date(range.toExclusive),
            MaxResults: PAGE_SIZE,
            ...(nextToken === undefined ? {} : { NextToken: nextToken }),
          }),
        );
      } catch (error) {
        if (isRetryableAwsError(error) && attempt < maxAttempts) {
          await sleep(backoffMs * 2 ** (attempt - 1));
          continue;
        }
        const failure = toCollectionError("cloudtrail:LookupEvents", error);
        yield gap(
          `${LOOKUP_EVENTS_ORIGIN} page ${page}`,
          failure.code,
          `${failure.call} failed after ${attempt} attempt(s): ${failure.message}; later pages were not read`,
        );
        return;
      }
    }
    for (const entry of output.Events ?? []) {
      const object = `${LOOKUP_EVENTS_ORIGIN} event ${entry.EventId ?? "(no id)"}`;
      let record: unknown;
      try {
        record = JSON.parse(entry.CloudTrailEvent ?? "");
      } catch (error) {
        yield gap(object, "InvalidJson", `CloudTrailEvent is not JSON: ${(error as Error).message}`);
        continue;
      }
      const mapped = mapCloudTrailRecord(record, {
        source: sourceId,
        location,
        origin: LOOKUP_EVENTS_ORIGIN,
      });
      if (mapped.kind === "other-service") continue;
      if (mapped.kind === "invalid") {
        yield gap(object, "InvalidRecord", mapped.reason);
        continue;
      }
      if (isInRange(mapped.event.time, range)) yield { kind: "event", event: mapped.event };
    }
    nextToken = output.NextToken === undefined || output.NextToken === "" ? undefined : output.NextToken;
    page += 1;
  } while (nextToken !== undefined);
}
