import {
  DescribeTrailsCommand,
  GetEventSelectorsCommand,
  GetTrailStatusCommand,
} from "@aws-sdk/client-cloudtrail";
import type { CloudTrailClient, Trail } from "@aws-sdk/client-cloudtrail";
import { GetBucketLifecycleConfigurationCommand } from "@aws-sdk/client-s3";
import type { S3Client } from "@aws-sdk/client-s3";
import type { CollectionError } from "../../model/key.ts";
import type {
  LogFileLocation,
  LoggingSink,
  LoggingStatus,
  Retention,
  TrailBucketProtection,
  TrailProtection,
} from "../../model/logging.ts";
import type { Clock } from "../key-provider.ts";
import { capture } from "./capture.ts";
import { evaluateKmsCoverage, retentionFromLifecycle } from "./cloudtrail-coverage.ts";
import { normalizePrefix } from "./cloudtrail-s3.usage.ts";
import { accountOfArn } from "./key-policy.normalizer.ts";
import { collectTrailBucketProtection } from "./trail-bucket.collector.ts";
import { toIsoInstant, toRawValue } from "../shared/raw-value.ts";

/**
 * Which CloudTrail trails record this region's KMS events, whether they are logging, and how long their
 * bucket keeps the files. Facts only; the logging checks judge them.
 */

export interface LoggingCollectionContext {
  sourceId: string;
  location: string;
  clock: Clock;
  cloudTrail: (region: string) => CloudTrailClient;
  s3: (region: string) => S3Client;
  /** `cloudtrail.bucket` / `cloudtrail.prefix` as configured (prefix already normalized); `{}` for none. */
  configuredLocation?: Partial<LogFileLocation>;
  /**
   * Which trails usage may be read from: the account's own (default; an organization trail's files sit
   * under an extra `AWSLogs/<org-id>/` folder), or organization trails only (issue 15: the management
   * account's trail that logs every member account).
   */
  organizationTrails?: boolean;
}

/** The trail whose files hold the region's KMS events, and where it writes them. */
export interface KmsTrailLocation extends LogFileLocation {
  reference: string;
  /** The trail's home region: the first guess for its bucket's region (S3 redirects otherwise). */
  homeRegion: string;
}

/** A trail's S3KeyPrefix as the key prefix before `AWSLogs/`: `""` or ending in `/`. */
export function trailKeyPrefix(trail: Trail): string {
  return normalizePrefix((trail.S3KeyPrefix ?? "").replace(/\/+$/, ""));
}

/**
 * A trail records a region's events when it is multi-region or lives there. DescribeTrails with
 * includeShadowTrails returns other regions' multi-region trails too; moto returns every trail of the
 * account whatever the filters, so applicability is decided here, never trusted to the call.
 */
export function trailAppliesToRegion(trail: Trail, region: string): boolean {
  return trail.IsMultiRegionTrail === true || trail.HomeRegion === region;
}

/** Where a trail writes this region's log files: `<prefix>/AWSLogs/<account>/CloudTrail/<region>/`. */
export function trailLogPrefix(trail: Trail, region: string): string {
  const prefix =
    trail.S3KeyPrefix === undefined || trail.S3KeyPrefix === ""
      ? ""
      : `${trail.S3KeyPrefix.replace(/\/+$/, "")}/`;
  const account = trail.TrailARN === undefined ? undefined : accountOfArn(trail.TrailARN);
  return `${prefix}AWSLogs/${account ?? "<account>"}/CloudTrail/${region}/`;
}

export async function collectLoggingStatus(context: LoggingCollectionContext): Promise<LoggingStatus> {
  return (await collectTrailLogging(context)).status;
}

/**
 * The logging status, and the trail usage is read from: the first (by ARN) trail that is logging, covers
 * KMS events and names a bucket. Organization trails are passed over unless `organizationTrails` asks
 * for them only: their files sit under an extra organization-id folder (`AWSLogs/<o-id>/<account>/`).
 */
export async function collectTrailLogging(
  context: LoggingCollectionContext,
): Promise<{ status: LoggingStatus; kmsTrail?: KmsTrailLocation }> {
  const { clock, location } = context;
  const configured = context.configuredLocation ?? {};
  const errors: CollectionError[] = [];
  const described = await capture("cloudtrail:DescribeTrails", clock, () =>
    context.cloudTrail(location).send(new DescribeTrailsCommand({ includeShadowTrails: true })),
  );
  if (!described.ok) {
    return {
      status: {
        source: context.sourceId,
        location,
        capturedAt: described.capturedAt,
        sinks: [],
        errors: [described.error],
        usageLogLocation: { configured },
      },
    };
  }
  const trails = new Map<string, Trail>();
  for (const trail of described.value.trailList ?? []) {
    if (!trailAppliesToRegion(trail, location)) continue;
    const identity = trail.TrailARN ?? trail.Name;
    if (identity !== undefined && !trails.has(identity)) trails.set(identity, trail);
  }
  const collected = await Promise.all(
    [...trails.values()].map(async (trail) => ({
      trail,
      sink: await collectTrailSink(context, trail, errors),
    })),
  );
  collected.sort((left, right) => left.sink.reference.localeCompare(right.sink.reference));
  const logging = collected.find(
    ({ trail, sink }) =>
      sink.active === true &&
      sink.coversKeyEvents &&
      trail.S3BucketName !== undefined &&
      (trail.IsOrganizationTrail === true) === (context.organizationTrails === true),
  );
  const kmsTrail: KmsTrailLocation | undefined =
    logging?.trail.S3BucketName === undefined
      ? undefined
      : {
          reference: logging.sink.reference,
          bucket: logging.trail.S3BucketName,
          prefix: trailKeyPrefix(logging.trail),
          homeRegion: logging.trail.HomeRegion ?? location,
        };
  const status: LoggingStatus = {
    source: context.sourceId,
    location,
    capturedAt: clock().toISOString(),
    sinks: collected.map(({ sink }) => sink),
    errors,
    usageLogLocation: {
      configured,
      ...(kmsTrail === undefined
        ? {}
        : { sink: { reference: kmsTrail.reference, bucket: kmsTrail.bucket, prefix: kmsTrail.prefix } }),
    },
  };
  return kmsTrail === undefined ? { status } : { status, kmsTrail };
}

async function collectTrailSink(
  context: LoggingCollectionContext,
  trail: Trail,
  errors: CollectionError[],
): Promise<LoggingSink> {
  const { clock, location } = context;
  const name = trail.Name ?? trail.TrailARN ?? "(unnamed trail)";
  const reference = trail.TrailARN ?? name;
  // Shadow trails answer status and selectors reliably only in their home region (moto: not elsewhere).
  const homeRegion = trail.HomeRegion ?? location;
  const client = context.cloudTrail(homeRegion);
  const [status, selectors, lifecycle, bucketProtection] = await Promise.all([
    capture("cloudtrail:GetTrailStatus", clock, () =>
      client.send(new GetTrailStatusCommand({ Name: reference })),
    ),
    capture("cloudtrail:GetEventSelectors", clock, () =>
      client.send(new GetEventSelectorsCommand({ TrailName: reference })),
    ),
    trail.S3BucketName === undefined
      ? Promise.resolve(undefined)
      : readBucketRetention(context, trail.S3BucketName, homeRegion, trailLogPrefix(trail, location)),
    trail.S3BucketName === undefined
      ? Promise.resolve(undefined)
      : collectTrailBucketProtection(context.s3(homeRegion), trail.S3BucketName, clock, errors),
  ]);

  if (!status.ok) errors.push(status.error);
  if (!selectors.ok) errors.push(selectors.error);
  let retention: Retention;
  if (lifecycle === undefined) retention = { kind: "unknown", reason: "the trail names no S3 bucket" };
  else {
    retention = lifecycle.retention;
    if (lifecycle.error !== undefined) errors.push(lifecycle.error);
  }

  const coverage = selectors.ok
    ? evaluateKmsCoverage(selectors.value.EventSelectors ?? [], selectors.value.AdvancedEventSelectors ?? [])
    : {
        coversKeyEvents: false,
        reason: `event selectors could not be read: ${selectors.error.call} failed (${selectors.error.code}): ${selectors.error.message}`,
      };

  const detail: Record<string, unknown> = {
    homeRegion,
    multiRegion: trail.IsMultiRegionTrail === true,
    organizationTrail: trail.IsOrganizationTrail === true,
    logFileValidationEnabled: trail.LogFileValidationEnabled === true,
    includeGlobalServiceEvents: trail.IncludeGlobalServiceEvents === true,
    logPrefix: trail.S3BucketName === undefined ? undefined : trailLogPrefix(trail, location),
    trail: toRawValue(trail),
  };
  if (status.ok) {
    detail.status = toRawValue(status.value);
    const latestDelivery = toIsoInstant(status.value.LatestDeliveryTime);
    if (latestDelivery !== undefined) detail.latestDeliveryTime = latestDelivery;
    if (status.value.LatestDeliveryError) detail.latestDeliveryError = status.value.LatestDeliveryError;
  } else {
    detail.statusUnavailable = `${status.error.call} failed (${status.error.code}): ${status.error.message}`;
  }
  if (selectors.ok) {
    detail.eventSelectors = toRawValue(selectors.value.EventSelectors ?? []);
    detail.advancedEventSelectors = toRawValue(selectors.value.AdvancedEventSelectors ?? []);
  }
  if (lifecycle?.rules !== undefined) detail.lifecycleRules = toRawValue(lifecycle.rules);

  const sink: LoggingSink = {
    kind: "cloudtrail-trail",
    name,
    reference,
    // A failed GetTrailStatus leaves the status unknown (the failed call is in `errors`), never "off".
    active: status.ok ? status.value.IsLogging === true : undefined,
    coversKeyEvents: coverage.coversKeyEvents,
    coverageReason: coverage.reason,
    retention,
    trail: trailProtection(trail, bucketProtection),
    detail: Object.fromEntries(Object.entries(detail).filter(([, value]) => value !== undefined)),
  };
  if (trail.S3BucketName !== undefined) {
    const prefix = trail.S3KeyPrefix === undefined ? "" : trail.S3KeyPrefix.replace(/\/+$/, "");
    sink.destination = `s3://${trail.S3BucketName}/${prefix}`;
  }
  return sink;
}

/** The DescribeTrails integrity fields; empty strings are treated as absent (no key, no log group). */
function trailProtection(trail: Trail, bucket: TrailBucketProtection | undefined): TrailProtection {
  const protection: TrailProtection = { logFileValidationEnabled: trail.LogFileValidationEnabled === true };
  if (trail.KmsKeyId !== undefined && trail.KmsKeyId !== "") protection.kmsKeyId = trail.KmsKeyId;
  if (trail.CloudWatchLogsLogGroupArn !== undefined && trail.CloudWatchLogsLogGroupArn !== "")
    protection.cloudWatchLogsLogGroupArn = trail.CloudWatchLogsLogGroupArn;
  if (bucket !== undefined) protection.bucket = bucket;
  return protection;
}

interface BucketRetention {
  retention: Retention;
  rules?: unknown[];
  error?: CollectionError;
}

async function readBucketRetention(
  context: LoggingCollectionContext,
  bucket: string,
  region: string,
  logPrefix: string,
): Promise<BucketRetention> {
  const lifecycle = await capture("s3:GetBucketLifecycleConfiguration", context.clock, () =>
    context.s3(region).send(new GetBucketLifecycleConfigurationCommand({ Bucket: bucket })),
  );
  if (lifecycle.ok) {
    const rules = lifecycle.value.Rules ?? [];
    return { retention: retentionFromLifecycle(rules, logPrefix), rules };
  }
  // No lifecycle configuration at all: nothing ever expires the log files.
  if (lifecycle.error.code === "NoSuchLifecycleConfiguration") return { retention: { kind: "unlimited" } };
  return {
    retention: {
      kind: "unknown",
      reason: `${lifecycle.error.call} on ${bucket} failed (${lifecycle.error.code}): ${lifecycle.error.message}`,
    },
    error: lifecycle.error,
  };
}
