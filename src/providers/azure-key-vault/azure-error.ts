import type { CollectionError } from "../../model/key.ts";
import { readProperty, readString } from "../shared/json-fields.ts";

/**
 * Turns whatever an Azure SDK call threw into the model's `CollectionError`, naming the call that failed.
 * Azure clients throw `RestError` with `statusCode` and `code` (the service's `error.code`, e.g.
 * `AuthorizationFailed`, `KeyNotFound`, `Forbidden`); Key Vault puts the precise reason in
 * `error.innererror.code` (`ForbiddenByRbac`, `ForbiddenByFirewall`), kept here because a firewall 403 must
 * read as "not collected", not as "no keys". Transport failures carry a Node errno (`ECONNREFUSED`).
 */

const TRANSIENT_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "EAI_AGAIN",
  "ENOTFOUND",
  "REQUEST_SEND_ERROR",
  "TooManyRequests",
  "ServerTimeout",
  "ServiceUnavailable",
  "InternalServerError",
]);

export function azureStatusCode(error: unknown): number | undefined {
  const status = readProperty(error, "statusCode") ?? readProperty(readProperty(error, "response"), "status");
  return typeof status === "number" ? status : undefined;
}

/** What the `keyproofPreserveErrorBody` policy copied from the error body into the response headers. */
function preservedHeader(error: unknown, name: string): string | undefined {
  const headers = readProperty(readProperty(error, "response"), "headers");
  const get = readProperty(headers, "get");
  if (typeof get !== "function") return undefined;
  const value: unknown = (get as (header: string) => unknown).call(headers, name);
  return typeof value === "string" && value.length > 0 ? value : undefined;
}

/** The most specific code available: Key Vault's inner error, then the service code, then errno, then the HTTP status. */
export function azureErrorCode(error: unknown): string {
  const details = readProperty(error, "details");
  const inner =
    readString(readProperty(readProperty(details, "error"), "innerError"), "code") ??
    readString(readProperty(readProperty(details, "error"), "innererror"), "code") ??
    readString(
      readProperty(readProperty(readProperty(error, "innerError"), "innerError"), "innerError"),
      "code",
    );
  const code = readString(error, "code");
  // The Node HTTP client wraps socket errors as REQUEST_SEND_ERROR; the errno is in the cause chain.
  const cause = readString(readProperty(error, "cause"), "code");
  if (inner !== undefined) return inner;
  const preserved = preservedHeader(error, "x-keyproof-error-code");
  if (preserved !== undefined) return preserved;
  if (code !== undefined && code !== "REQUEST_SEND_ERROR") return code;
  if (cause !== undefined) return cause;
  if (code !== undefined) return code;
  const status = azureStatusCode(error);
  if (status !== undefined) return `HTTP${status}`;
  const name = readString(error, "name");
  return name !== undefined && name !== "Error" ? name : "UnknownError";
}

export function isRetryableAzureError(error: unknown): boolean {
  const status = azureStatusCode(error);
  if (status === 429 || status === 408 || (status !== undefined && status >= 500)) return true;
  return TRANSIENT_CODES.has(azureErrorCode(error));
}

function messageOf(error: unknown): string {
  const preserved = preservedHeader(error, "x-keyproof-error-message");
  if (preserved !== undefined) return preserved;
  const message = readString(error, "message");
  if (message !== undefined) return message.split("\n")[0] ?? message;
  const status = azureStatusCode(error);
  return status === undefined ? String(error) : `HTTP ${status} without an error message`;
}

/** `call` names the client and method, e.g. `keyvault:getKeyRotationPolicy`, `arm:RoleAssignments.listForScope`. */
export function toCollectionError(call: string, error: unknown): CollectionError {
  return {
    call,
    code: azureErrorCode(error),
    message: messageOf(error),
    retryable: isRetryableAzureError(error),
  };
}

/** A collection error that is not an exception: a lookup that found nothing where something was required. */
export function missingFact(call: string, code: string, message: string): CollectionError {
  return { call, code, message, retryable: false };
}
