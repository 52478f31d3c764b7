import { CloudTrailClient } from "@aws-sdk/client-cloudtrail";
import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";
import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { IAMClient } from "@aws-sdk/client-iam";
import { KMSClient } from "@aws-sdk/client-kms";
import type { KMSClientConfig } from "@aws-sdk/client-kms";
import { S3Client } from "@aws-sdk/client-s3";
import { STSClient } from "@aws-sdk/client-sts";
import { fromNodeProviderChain, fromTemporaryCredentials } from "@aws-sdk/credential-providers";
import type { AwsKmsSourceConfig } from "../../config/config.schema.ts";

/**
 * Builds the AWS SDK v3 clients one source needs, one per (service, region), reused for the provider's
 * lifetime. Credentials come from the standard provider chain (env, SSO, profile, container, instance role)
 * unless the caller passes some; with `roleArn` the chain's identity assumes that role through STS
 * (ExternalId = `externalId`), so keyproof can read a customer's account without long-lived keys.
 * Credentials are handed to the SDK only: never logged, never written.
 */

/** Static credentials or a provider function, exactly what the SDK's `credentials` option accepts. */
export type AwsCredentials = NonNullable<KMSClientConfig["credentials"]>;

export type AwsService =
  "kms" | "cloudtrail" | "s3" | "iam" | "sts" | "logs" | "cloudwatch" | "events" | "organizations";

export interface AwsClientFactoryOptions {
  /** Overrides the provider chain as the base identity (tests pass static emulator credentials). */
  credentials?: AwsCredentials;
}

export interface AwsClientFactory {
  kms(region: string): KMSClient;
  cloudTrail(region: string): CloudTrailClient;
  /**
   * A CloudTrail client that does not retry by itself: LookupEvents retries through the provider's token
   * bucket, so a retry after throttling also respects the 2 requests/second budget.
   */
  cloudTrailWithoutRetries(region: string): CloudTrailClient;
  s3(region: string): S3Client;
  /** CloudWatch Logs, CloudWatch and EventBridge: the alert rules on key events (kms-deletion-alarmed). */
  logs(region: string): CloudWatchLogsClient;
  cloudWatch(region: string): CloudWatchClient;
  eventBridge(region: string): EventBridgeClient;
  /** IAM is global; its endpoint lives in the partition's first region. */
  iam(): IAMClient;
  sts(): STSClient;
  /** Closes every socket pool the factory opened. */
  destroy(): void;
}

/** IAM, STS and Organizations answer from us-east-1 in the commercial partition. */
export const GLOBAL_REGION = "us-east-1";

export function endpointFor(config: AwsKmsSourceConfig, service: AwsService): string | undefined {
  return config.endpoints?.[service] ?? config.endpoint;
}

export function resolveCredentials(
  config: AwsKmsSourceConfig,
  options: AwsClientFactoryOptions,
): AwsCredentials {
  const base = options.credentials ?? fromNodeProviderChain();
  if (config.roleArn === undefined) return base;
  const stsEndpoint = endpointFor(config, "sts");
  return fromTemporaryCredentials({
    masterCredentials: base,
    params: {
      RoleArn: config.roleArn,
      RoleSessionName: `keyproof-${config.id}`.slice(0, 64),
      ...(config.externalId === undefined ? {} : { ExternalId: config.externalId }),
    },
    clientConfig: {
      region: config.regions[0] ?? GLOBAL_REGION,
      ...(stsEndpoint === undefined ? {} : { endpoint: stsEndpoint }),
    },
  });
}

export function createAwsClientFactory(
  config: AwsKmsSourceConfig,
  options: AwsClientFactoryOptions = {},
): AwsClientFactory {
  const credentials = resolveCredentials(config, options);
  const clients = new Map<string, { destroy(): void }>();

  function cached<T extends { destroy(): void }>(cacheKey: string, build: () => T): T {
    const existing = clients.get(cacheKey);
    if (existing !== undefined) return existing as T;
    const created = build();
    clients.set(cacheKey, created);
    return created;
  }

  function baseConfig(service: AwsService, region: string) {
    const endpoint = endpointFor(config, service);
    return { region, credentials, ...(endpoint === undefined ? {} : { endpoint }) };
  }

  return {
    kms: (region) => cached(`kms:${region}`, () => new KMSClient(baseConfig("kms", region))),
    cloudTrail: (region) =>
      cached(`cloudtrail:${region}`, () => new CloudTrailClient(baseConfig("cloudtrail", region))),
    cloudTrailWithoutRetries: (region) =>
      cached(
        `cloudtrail-no-retry:${region}`,
        () => new CloudTrailClient({ ...baseConfig("cloudtrail", region), maxAttempts: 1 }),
      ),
    s3: (region) =>
      cached(
        `s3:${region}`,
        () =>
          new S3Client({
            ...baseConfig("s3", region),
            // Emulators and VPC endpoints serve one host: bucket-in-hostname requests would not resolve.
            forcePathStyle: endpointFor(config, "s3") !== undefined,
            // A trail's bucket may live in another region than the trail; follow S3's 301 instead of failing.
            followRegionRedirects: true,
          }),
      ),
    logs: (region) => cached(`logs:${region}`, () => new CloudWatchLogsClient(baseConfig("logs", region))),
    cloudWatch: (region) =>
      cached(`cloudwatch:${region}`, () => new CloudWatchClient(baseConfig("cloudwatch", region))),
    eventBridge: (region) =>
      cached(`events:${region}`, () => new EventBridgeClient(baseConfig("events", region))),
    iam: () => cached("iam", () => new IAMClient(baseConfig("iam", GLOBAL_REGION))),
    sts: () => cached("sts", () => new STSClient(baseConfig("sts", config.regions[0] ?? GLOBAL_REGION))),
    destroy() {
      for (const client of clients.values()) client.destroy();
      clients.clear();
    },
  };
}
