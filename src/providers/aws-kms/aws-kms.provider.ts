import { GetAccountAuthorizationDetailsCommand } from "@aws-sdk/client-iam";
import type { GetAccountAuthorizationDetailsCommandOutput } from "@aws-sdk/client-iam";
import { GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import type { AwsKmsSourceConfig } from "../../config/config.schema.ts";
import type { Collected } from "../../model/key.ts";
import type { LogFileLocation, LoggingStatus } from "../../model/logging.ts";
import type { DateRange } from "../../model/snapshot.ts";
import type { UsageItem } from "../../model/usage.ts";
import type { KeyBatch, KeyListing, KeyRef } from "../key-provider.ts";
import { systemClock } from "../key-provider.ts";
import type { AwsClientFactory } from "./aws-clients.ts";
import { createAwsClientFactory } from "./aws-clients.ts";
import type { AwsKmsProvider, AwsKmsProviderOptions } from "./aws-kms-provider.types.ts";
import { createOrganizationProvider } from "./aws-organization.provider.ts";
import { capture } from "./capture.ts";
import { streamLookupEventsUsage } from "./cloudtrail-lookup-events.usage.ts";
import { normalizeConfiguredPrefix, streamCloudTrailS3Usage } from "./cloudtrail-s3.usage.ts";
import { collectLoggingStatus, collectTrailLogging } from "./cloudtrail-status.collector.ts";
import type { KmsTrailLocation, LoggingCollectionContext } from "./cloudtrail-status.collector.ts";
import type { AuthorizationDetails, IdentityKmsStatement } from "./identity-policy.normalizer.ts";
import {
  collectCustomerIdentityPolicies,
  collectIdentityKmsStatements,
} from "./identity-policy.normalizer.ts";
import { collectKeyEventAlerting } from "./key-event-alerting.collector.ts";
import { accountOfArn } from "./key-policy.normalizer.ts";
import { collectLocationKeyBatch, listLocationKeys } from "./kms-key.collector.ts";
import type { KMSClient } from "@aws-sdk/client-kms";
import { applyKmsRateLimit, createKmsRateLimiter, inProcessTokenBuckets } from "./kms-rate-limit.ts";
import type { TokenBucket } from "./token-bucket.ts";

/**
 * The AWS KMS adapter behind the `KeyProvider` port: KMS keys per region, CloudTrail logging status (with the
 * CloudWatch alarms and EventBridge rules on key disable and deletion), and
 * KMS usage from the trail's S3 log files: the configured bucket and prefix, or else the location of the
 * trail that logs the region's KMS events; LookupEvents only when neither is known. Adapter only: it
 * records what AWS says and never judges it.
 */

export type { AwsKmsProvider, AwsKmsProviderOptions } from "./aws-kms-provider.types.ts";

/** The three AWS IAM filters that hold identities, plus both kinds of managed policy they may attach. */
const AUTHORIZATION_FILTERS = ["User", "Role", "Group", "LocalManagedPolicy", "AWSManagedPolicy"] as const;

export function createAwsKmsProvider(
  config: AwsKmsSourceConfig,
  options: AwsKmsProviderOptions = {},
): AwsKmsProvider {
  if (config.organization !== undefined) {
    // Every account of the organization, each through its assumed role: locations `<account>/<region>`.
    return createOrganizationProvider(config, config.organization, options, createAwsKmsProvider);
  }
  const clock = options.clock ?? systemClock;
  const clients: AwsClientFactory = createAwsClientFactory(
    config,
    options.credentials === undefined ? {} : { credentials: options.credentials },
  );
  const buckets = new Map<string, TokenBucket>();
  const tokenBuckets = options.tokenBuckets ?? inProcessTokenBuckets;
  const kmsLimiter = createKmsRateLimiter({
    factory: tokenBuckets,
    ...(config.rateLimits === undefined ? {} : { rateLimits: config.rateLimits }),
  });
  let accountPromise: Promise<Collected<string>> | undefined;
  let detailsPromise: Promise<Collected<AuthorizationDetails>> | undefined;

  function account(): Promise<Collected<string>> {
    accountPromise ??= capture("sts:GetCallerIdentity", clock, async () => {
      const identity = await clients.sts().send(new GetCallerIdentityCommand({}));
      // moto omits Account for assumed-role callers; the caller ARN names the account too.
      const accountId =
        identity.Account ?? (identity.Arn === undefined ? undefined : accountOfArn(identity.Arn));
      if (accountId === undefined) throw new Error("GetCallerIdentity returned neither Account nor Arn");
      return accountId;
    });
    return accountPromise;
  }

  /**
   * Read once per provider instance: IAM is global, and every key whose policy enables IAM shares the
   * answer, across every region and every batch this instance describes, as does the account's policy list.
   */
  function authorizationDetails(): Promise<Collected<AuthorizationDetails>> {
    detailsPromise ??= capture("iam:GetAccountAuthorizationDetails", clock, async () => {
      const details: AuthorizationDetails = { users: [], roles: [], groups: [], policies: [] };
      let marker: string | undefined;
      do {
        const page: GetAccountAuthorizationDetailsCommandOutput = await clients.iam().send(
          new GetAccountAuthorizationDetailsCommand({
            Filter: [...AUTHORIZATION_FILTERS],
            ...(marker === undefined ? {} : { Marker: marker }),
          }),
        );
        details.users.push(...(page.UserDetailList ?? []));
        details.roles.push(...(page.RoleDetailList ?? []));
        details.groups.push(...(page.GroupDetailList ?? []));
        details.policies.push(...(page.Policies ?? []));
        marker = page.IsTruncated === true ? page.Marker : undefined;
      } while (marker !== undefined);
      return details;
    });
    return detailsPromise;
  }

  async function identityStatements(): Promise<Collected<IdentityKmsStatement[]>> {
    const details = await authorizationDetails();
    return details.ok ? { ...details, value: collectIdentityKmsStatements(details.value) } : details;
  }

  /**
   * The account's policies for the one location that carries them: the first configured region, where the
   * IAM client is configured too (IAM itself answers from the partition's global endpoint).
   */
  async function identityPolicies(location: string): Promise<Pick<LoggingStatus, "identityPolicies">> {
    if (location !== config.regions[0]) return {};
    const details = await authorizationDetails();
    return {
      identityPolicies: details.ok
        ? { ...details, value: collectCustomerIdentityPolicies(details.value) }
        : details,
    };
  }

  /** `cloudtrail.bucket` / `cloudtrail.prefix` as configured, the `AWSLogs/` form reduced. */
  const configuredLocation: Partial<LogFileLocation> = {
    ...(config.cloudtrail?.bucket === undefined ? {} : { bucket: config.cloudtrail.bucket }),
    ...(config.cloudtrail?.prefix === undefined
      ? {}
      : { prefix: normalizeConfiguredPrefix(config.cloudtrail.prefix) }),
  };

  function loggingContext(location: string): LoggingCollectionContext {
    return {
      sourceId: config.id,
      location,
      clock,
      cloudTrail: (region) => clients.cloudTrail(region),
      s3: (region) => clients.s3(region),
      configuredLocation,
    };
  }

  /**
   * The region's KMS client with the per-API quota buckets in front. Buckets are per account: two sources
   * reading one account share its quota. Without an account id (STS failed) the source id stands in.
   */
  function kms(region: string): KMSClient {
    return applyKmsRateLimit(clients.kms(region), kmsLimiter, region, async () => {
      const result = await account();
      return result.ok ? result.value : `source:${config.id}`;
    });
  }

  function lookupBucket(region: string): TokenBucket {
    let bucket = buckets.get(region);
    if (bucket === undefined) {
      bucket = tokenBuckets({
        bucket: `aws:source:${config.id}:${region}:cloudtrail:LookupEvents`,
        ratePerSecond: options.lookupEventsPerSecond ?? 2,
      });
      buckets.set(region, bucket);
    }
    return bucket;
  }

  return {
    sourceId: config.id,
    type: "aws-kms",
    listLocations: () => [...config.regions],

    async describeAccount() {
      const result = await account();
      return result.ok ? result.value : undefined;
    },

    listKeys(location: string): Promise<KeyListing> {
      return listLocationKeys({ sourceId: config.id, location, kms: kms(location), clock });
    },

    collectKeys(location: string, refs: readonly KeyRef[]): Promise<KeyBatch> {
      return collectLocationKeyBatch(
        { sourceId: config.id, location, kms: kms(location), clock, identityStatements },
        refs,
      );
    },

    async collectLogging(location: string): Promise<LoggingStatus> {
      const [status, identity] = await Promise.all([
        collectLoggingStatus(loggingContext(location)),
        identityPolicies(location),
      ]);
      // The alarms hang off the trails just read (their log groups), so they are looked up after them.
      const alerting = await collectKeyEventAlerting(
        {
          location,
          clock,
          logs: (region) => clients.logs(region),
          cloudWatch: (region) => clients.cloudWatch(region),
          eventBridge: (region) => clients.eventBridge(region),
        },
        status.sinks,
      );
      return {
        ...status,
        ...identity,
        errors: [...status.errors, ...alerting.errors],
        keyEventAlerting: alerting,
      };
    },

    streamUsage(location: string, range: DateRange) {
      const configured = configuredLocation;
      const bucketRegion = (trail: KmsTrailLocation | undefined) =>
        config.cloudtrail?.region ?? trail?.homeRegion ?? config.regions[0] ?? location;
      /**
       * `logged`: the trail discovery found a trail logging the region's KMS events (or could not tell), so
       * every begun day of the range should hold log objects and an empty day folder is a gap.
       */
      const fromS3 = (bucket: string, prefix: string, trail: KmsTrailLocation | undefined, logged: boolean) =>
        streamCloudTrailS3Usage({
          sourceId: config.id,
          location,
          range,
          s3: clients.s3(bucketRegion(trail)),
          bucket,
          prefix,
          account,
          clock,
          expectObjects: logged,
          ...(config.cloudtrail?.maxObjectBytes === undefined
            ? {}
            : { maxObjectBytes: config.cloudtrail.maxObjectBytes }),
        });
      const isLogged = (discovered: Awaited<ReturnType<typeof collectTrailLogging>>) =>
        discovered.kmsTrail !== undefined ||
        discovered.status.errors.some((error) => error.call === "cloudtrail:DescribeTrails");
      const { bucket } = configured;
      if (bucket !== undefined) {
        return {
          method: "cloudtrail-s3",
          items: (async function* () {
            const discovered = await collectTrailLogging(loggingContext(location));
            // Bucket configured, prefix not: the trail writing to that bucket knows its prefix.
            const trail = discovered.kmsTrail?.bucket === bucket ? discovered.kmsTrail : undefined;
            const prefix = configured.prefix ?? trail?.prefix ?? "";
            yield* fromS3(bucket, prefix, trail, isLogged(discovered));
          })(),
        };
      }
      // Nothing configured: read where the trail that logs the region's KMS events writes.
      const discovery = collectTrailLogging(loggingContext(location));
      return {
        method: discovery.then(({ kmsTrail }) =>
          kmsTrail === undefined ? "cloudtrail-lookup-events" : "cloudtrail-s3",
        ),
        items: (async function* (): AsyncGenerator<UsageItem> {
          const { status, kmsTrail } = await discovery;
          if (kmsTrail !== undefined) {
            yield* fromS3(kmsTrail.bucket, kmsTrail.prefix, kmsTrail, true);
            return;
          }
          const describeFailure = status.errors.find((error) => error.call === "cloudtrail:DescribeTrails");
          if (describeFailure !== undefined) {
            // Whether a trail bucket holds more than LookupEvents' 90 days is unknown: say so.
            yield {
              kind: "gap",
              gap: {
                source: config.id,
                location,
                object: describeFailure.call,
                code: describeFailure.code,
                message: `the trail that logs this region's KMS events could not be looked up (${describeFailure.message}); usage comes from LookupEvents instead`,
              },
            };
          }
          yield* streamLookupEventsUsage({
            sourceId: config.id,
            location,
            range,
            client: clients.cloudTrailWithoutRetries(location),
            bucket: lookupBucket(location),
            clock,
          });
        })(),
      };
    },

    close: () => clients.destroy(),
  };
}
