import type { Clock, KeyProvider } from "../key-provider.ts";
import type { AwsCredentials } from "./aws-clients.ts";
import type { TokenBucketFactory } from "./kms-rate-limit.ts";

/**
 * The AWS provider's options and handle, apart from its factory so the organization provider (which
 * builds one single-account provider per member) can name them without importing the factory back.
 */

export interface AwsKmsProviderOptions {
  /** Stamps `capturedAt` and bounds the LookupEvents 90-day window; default the system clock. */
  clock?: Clock;
  /** Base credentials instead of the SDK's provider chain (tests: static emulator credentials). */
  credentials?: AwsCredentials;
  /** LookupEvents requests per second per region; AWS allows 2. */
  lookupEventsPerSecond?: number;
  /**
   * Builds the request buckets (KMS per account, region and API; LookupEvents per region). Default
   * in-process; queued workers pass Redis-backed buckets so all workers share one budget (kms-rate-limit.ts).
   */
  tokenBuckets?: TokenBucketFactory;
}

export interface AwsKmsProvider extends KeyProvider {
  /** Closes the SDK clients' sockets; the provider must not be used afterwards. */
  close(): void;
}
