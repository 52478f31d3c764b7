import type { KMSClient, ServiceInputTypes, ServiceOutputTypes } from "@aws-sdk/client-kms";
// Types only: @smithy/types ships with every AWS SDK v3 client.
import type { FinalizeRequestMiddleware } from "@smithy/types";
import type { TokenBucket } from "./token-bucket.ts";
import { createTokenBucket } from "./token-bucket.ts";

/**
 * Per-API request budgets for the KMS read calls keyproof makes. AWS KMS throttles each API separately per
 * account and region ("Request quotas" in the KMS Developer Guide: management operations each have their own
 * quota; only cryptographic operations share one, and keyproof makes none). A collection over many keys
 * would otherwise send ListGrants as fast as moto or KMS answers and be throttled at 100/s, retried, and
 * slower than staying under the quota; and it would eat the budget of the account's other tenants.
 *
 * Each request takes a token from the bucket of its (account, region, API) just before it is sent, per
 * attempt (a retried request counts against the quota too). Inline runs use in-process buckets; queued
 * workers pass a factory backed by Redis (`createRedisTokenBucket`), so every worker of a deployment draws
 * from the same bucket.
 */

/** The KMS read APIs keyproof calls, with AWS's documented default request quota (requests per second). */
export const KMS_REQUEST_QUOTAS = {
  ListKeys: 500,
  ListAliases: 500,
  DescribeKey: 2000,
  GetKeyPolicy: 1000,
  GetKeyRotationStatus: 1000,
  ListKeyRotations: 100,
  ListGrants: 100,
  ListResourceTags: 2000,
} as const;

export type KmsRateLimitedApi = keyof typeof KMS_REQUEST_QUOTAS;

export const KMS_RATE_LIMITED_APIS = Object.keys(KMS_REQUEST_QUOTAS) as KmsRateLimitedApi[];

/** Requests per second per API, overriding the documented quota (an account shared with other tenants). */
export type KmsRateLimits = { [Api in KmsRateLimitedApi]?: number | undefined };

export interface TokenBucketRequest {
  /** Stable name of the bucket, e.g. `aws:123456789012:us-east-1:kms:ListGrants`; equal names share one bucket. */
  bucket: string;
  ratePerSecond: number;
}

/** Builds the bucket for a name; in-process by default, Redis-backed in queued workers. */
export type TokenBucketFactory = (request: TokenBucketRequest) => TokenBucket;

export const inProcessTokenBuckets: TokenBucketFactory = ({ ratePerSecond }) =>
  createTokenBucket({ ratePerSecond });

export interface KmsRateLimiter {
  /** The rate applied to an API: the override when configured, else AWS's documented quota. */
  rateOf(api: KmsRateLimitedApi): number;
  /**
   * The bucket of (account, region, API), created once and reused; `undefined` for a command that is not
   * one of the limited read APIs (it is sent unthrottled).
   */
  bucketFor(account: string, region: string, command: string): TokenBucket | undefined;
}

export interface KmsRateLimiterOptions {
  factory?: TokenBucketFactory;
  rateLimits?: KmsRateLimits;
}

function isLimitedApi(name: string): name is KmsRateLimitedApi {
  return Object.hasOwn(KMS_REQUEST_QUOTAS, name);
}

/** SDK command names end in `Command` (`ListGrantsCommand`); the quota table uses the API name. */
export function kmsApiOfCommand(commandName: string): string {
  return commandName.endsWith("Command") ? commandName.slice(0, -"Command".length) : commandName;
}

export function createKmsRateLimiter(options: KmsRateLimiterOptions = {}): KmsRateLimiter {
  const factory = options.factory ?? inProcessTokenBuckets;
  const buckets = new Map<string, TokenBucket>();
  const rateOf = (api: KmsRateLimitedApi): number => options.rateLimits?.[api] ?? KMS_REQUEST_QUOTAS[api];
  return {
    rateOf,
    bucketFor(account, region, command) {
      const api = kmsApiOfCommand(command);
      if (!isLimitedApi(api)) return undefined;
      const name = `aws:${account}:${region}:kms:${api}`;
      let bucket = buckets.get(name);
      if (bucket === undefined) {
        bucket = factory({ bucket: name, ratePerSecond: rateOf(api) });
        buckets.set(name, bucket);
      }
      return bucket;
    },
  };
}

const MIDDLEWARE_NAME = "keyproofKmsRateLimit";
type KmsMiddleware = FinalizeRequestMiddleware<ServiceInputTypes, ServiceOutputTypes>;
const limitedClients = new WeakSet<KMSClient>();

/**
 * Makes every request of `client` take a token of its API's bucket first. Added after the SDK's retry
 * middleware, so each attempt takes one. `account` resolves the bucket's account lazily (the first request
 * waits for it once). Idempotent per client: clients are cached and reused across batches.
 */
export function applyKmsRateLimit(
  client: KMSClient,
  limiter: KmsRateLimiter,
  region: string,
  account: () => Promise<string>,
): KMSClient {
  if (limitedClients.has(client)) return client;
  limitedClients.add(client);
  const takeToken: KmsMiddleware = (next, context) => async (args) => {
    const bucket = limiter.bucketFor(await account(), region, context.commandName ?? "");
    if (bucket !== undefined) await bucket.take();
    return next(args);
  };
  client.middlewareStack.addRelativeTo(takeToken, {
    name: MIDDLEWARE_NAME,
    relation: "after",
    toMiddleware: "retryMiddleware",
    override: true,
  });
  return client;
}
