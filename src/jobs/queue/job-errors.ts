import { UnrecoverableError } from "bullmq";
import { describeError, isKeyproofError } from "../../errors/errors.ts";

/** A job that should run again after backoff (throttling, network): BullMQ retries it while attempts remain. */
export class RetryableJobError extends Error {
  override readonly name = "RetryableJobError";
}

/**
 * Maps what a handler threw to what BullMQ should do. Errors cross process boundaries, so matching is
 * by `name`/`code`, never `instanceof` alone:
 * - a KeyproofError whose code is not retryable (config, access denied, bad bundle, internal) → UnrecoverableError:
 *   no further attempts, the run fails with the cause;
 * - an invalid payload → UnrecoverableError (a retry would read the same bytes);
 * - anything else (network, throttling, Redis hiccup, RetryableJobError) → retried with backoff.
 * The message keeps the cause and the remediation; never a stack or a credential.
 */
export function toJobError(error: unknown): Error {
  if (error instanceof UnrecoverableError) return error;
  if (isKeyproofError(error)) {
    const message =
      error.remediation === undefined
        ? `${error.code}: ${error.message}`
        : `${error.code}: ${error.message} (fix: ${error.remediation})`;
    if (!error.retryable) return new UnrecoverableError(message);
    return new RetryableJobError(message);
  }
  if (error instanceof Error && (error.name === "PayloadError" || error.name === "ZodError")) {
    return new UnrecoverableError(describeError(error));
  }
  if (error instanceof Error) return error;
  return new Error(describeError(error));
}

export function isUnrecoverable(error: Error): boolean {
  return error instanceof UnrecoverableError || error.name === "UnrecoverableError";
}
