import type { CollectionError } from "../../model/key.ts";
import { readProperty, readString } from "../shared/json-fields.ts";

/**
 * Turns whatever an AWS SDK v3 call threw into the model's `CollectionError`, naming the call that failed.
 * SDK service errors carry `name` (the AWS error code), `$metadata.httpStatusCode`, `$fault` and, for
 * errors the SDK itself would retry, `$retryable` (with `throttling: true` for rate limits). Network errors
 * carry a Node errno `code` (ECONNREFUSED...). Credentials never appear in SDK error messages, so the
 * message is kept as is.
 */

/** AWS error codes that mean "slow down", across the services this provider calls. */
const THROTTLING_CODES = new Set([
  "ThrottlingException",
  "Throttling",
  "ThrottledException",
  "TooManyRequestsException",
  "RequestLimitExceeded",
  "RequestThrottled",
  "RequestThrottledException",
  "SlowDown",
  "LimitExceededException",
  "ProvisionedThroughputExceededException",
]);

/** Transient transport failures: the next attempt may well succeed. */
const TRANSIENT_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "EAI_AGAIN",
  "TimeoutError",
  "RequestTimeout",
  "RequestTimeoutException",
  "InternalFailure",
  "InternalError",
  "ServiceUnavailable",
  "ServiceUnavailableException",
  "KMSInternalException",
  "DependencyTimeoutException",
]);

/** The AWS error code: the SDK puts it in `name`; XML services also expose `Code`; Node errors use `code`. */
export function awsErrorCode(error: unknown): string {
  const name = readString(error, "name");
  // A plain `Error` name says nothing; prefer a more specific code when there is one.
  if (name !== undefined && name !== "Error") return name;
  return readString(error, "Code") ?? readString(error, "code") ?? name ?? "UnknownError";
}

export function awsHttpStatus(error: unknown): number | undefined {
  const status = readProperty(readProperty(error, "$metadata"), "httpStatusCode");
  return typeof status === "number" ? status : undefined;
}

export function isThrottlingError(error: unknown): boolean {
  const retryable = readProperty(error, "$retryable");
  if (readProperty(retryable, "throttling") === true) return true;
  return THROTTLING_CODES.has(awsErrorCode(error)) || awsHttpStatus(error) === 429;
}

export function isRetryableAwsError(error: unknown): boolean {
  if (readProperty(error, "$retryable") !== undefined) return true;
  if (isThrottlingError(error)) return true;
  const code = awsErrorCode(error);
  if (TRANSIENT_CODES.has(code)) return true;
  const status = awsHttpStatus(error);
  return status !== undefined && status >= 500;
}

function messageOf(error: unknown): string {
  const message = readString(error, "message") ?? readString(error, "Message");
  if (message !== undefined) return message;
  const status = awsHttpStatus(error);
  return status === undefined ? String(error) : `HTTP ${status} without an error message`;
}

/** `call` is the IAM-style action name of the failed request, e.g. `kms:GetKeyPolicy`. */
export function toCollectionError(call: string, error: unknown): CollectionError {
  return {
    call,
    code: awsErrorCode(error),
    message: messageOf(error),
    retryable: isRetryableAwsError(error),
  };
}
