import type { CollectionError } from "../../model/key.ts";
import { readProperty } from "../shared/json-fields.ts";

/**
 * Turns whatever a node-vault call threw into the model's `CollectionError`, naming the call that failed.
 *
 * node-vault 0.12 rejects any status other than 200/204 with `ApiResponseError`: `message` is Vault's first
 * `errors` entry (or `Status <code>` when the list is empty) and `response.statusCode` the HTTP status.
 * Transport failures are raw axios errors with a Node errno `code` (ECONNREFUSED...); an unreachable host on
 * Node 20 can surface as an `AggregateError` whose own message is empty. The token travels in a header and
 * never appears in either message, so messages are kept as they are.
 */

/** Names for the statuses Vault documents (sdk/logical/response_util.go), so codes read like the other sources'. */
const STATUS_CODES: Record<number, string> = {
  400: "InvalidRequest",
  403: "PermissionDenied",
  404: "NotFound",
  405: "UnsupportedOperation",
  412: "PreconditionFailed",
  429: "RateLimited",
  473: "PerformanceStandby",
  500: "InternalError",
  502: "BadGateway",
  503: "Unavailable",
};

const TRANSIENT_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "ECONNABORTED",
  "EPIPE",
  "EAI_AGAIN",
  "ENOTFOUND",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ERR_NETWORK",
]);

/** HTTP status of a Vault API error, undefined for transport errors. */
export function vaultHttpStatus(error: unknown): number | undefined {
  const status = readProperty(readProperty(error, "response"), "statusCode");
  return typeof status === "number" ? status : undefined;
}

/** Vault answers an empty LIST with `404 {"errors":[]}`: an empty result, not a failure. */
export function isEmptyListResponse(error: unknown): boolean {
  if (vaultHttpStatus(error) !== 404) return false;
  const errors = readProperty(readProperty(readProperty(error, "response"), "body"), "errors");
  return !Array.isArray(errors) || errors.length === 0;
}

function transportCode(error: unknown): string | undefined {
  const code = readProperty(error, "code");
  if (typeof code === "string" && code.length > 0) return code;
  const nested = readProperty(error, "errors");
  if (Array.isArray(nested)) {
    for (const inner of nested) {
      const innerCode = readProperty(inner, "code");
      if (typeof innerCode === "string" && innerCode.length > 0) return innerCode;
    }
  }
  const cause = readProperty(error, "cause");
  return cause === undefined || cause === error ? undefined : transportCode(cause);
}

function messageOf(error: unknown, code: string): string {
  const message = readProperty(error, "message");
  if (typeof message === "string" && message.trim().length > 0) return message.trim();
  const nested = readProperty(error, "errors");
  if (Array.isArray(nested)) {
    const inner = nested
      .map((entry) => readProperty(entry, "message"))
      .filter((entry): entry is string => typeof entry === "string" && entry.length > 0);
    if (inner.length > 0) return inner.join("; ");
  }
  return error instanceof Error ? code : String(error);
}

export function toVaultCollectionError(call: string, error: unknown): CollectionError {
  const status = vaultHttpStatus(error);
  if (status !== undefined) {
    const code = STATUS_CODES[status] ?? `HTTP${status}`;
    // "1 error occurred:\n\t* permission denied\n\n" → "permission denied"
    const raw = messageOf(error, code);
    const bullets = raw
      .split("\n")
      .map((line) => /^\s*\*\s*(.+)$/.exec(line)?.[1])
      .filter((line): line is string => line !== undefined);
    return {
      call,
      code,
      message: bullets.length > 0 ? bullets.join("; ") : raw,
      retryable: status === 429 || status >= 500,
    };
  }
  const code = transportCode(error) ?? (error instanceof Error ? error.name : "UnknownError");
  return { call, code, message: messageOf(error, code), retryable: TRANSIENT_CODES.has(code) };
}

/** A failure of keyproof's own preparation (no token, unreadable CA file), in the same shape. */
export function setupError(call: string, code: string, message: string): CollectionError {
  return { call, code, message, retryable: false };
}
