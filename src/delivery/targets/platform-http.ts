import { openAsBlob } from "node:fs";
import type { DeliveryArtifact, DeliveryRunSummary } from "../delivery-target.ts";
import { DeliveryError, isRetryableStatus, parseRetryAfter } from "../delivery-target.ts";

/**
 * What the GRC platform targets (Vanta, Drata, Secureframe) share: reading credentials from the environment,
 * one `fetch` wrapper that turns network failures and HTTP errors into `DeliveryError`, the artifact as a
 * streamed Blob, and the description that lets `findSent` recognise an upload later. Every message built here
 * passes through `redact` with the target's secrets, because platforms sometimes echo a header or a field
 * back in an error body.
 */

/** Longest slice of an error body quoted in a message: enough to read the platform's reason, not a dump. */
const MAX_QUOTED_BODY = 300;

/** The value of `env[name]`; a missing or empty variable is a permanent failure naming the variable, never a value. */
export function readCredential(env: NodeJS.ProcessEnv, name: string, platform: string): string {
  const value = env[name];
  if (value === undefined || value.trim() === "") {
    throw new DeliveryError(
      `${platform}: the environment variable ${name} is not set (it holds the ${platform} credential; set it in the worker's environment)`,
      { retryable: false },
    );
  }
  return value;
}

/** `text` with every secret replaced by `[redacted]`; secrets shorter than 4 characters are ignored (too common). */
export function redact(text: string, secrets: readonly string[]): string {
  let result = text;
  for (const secret of secrets) {
    if (secret.length >= 4) result = result.split(secret).join("[redacted]");
  }
  return result;
}

export interface PlatformCall {
  platform: string;
  /** Every credential value of the target (and live tokens), scrubbed from any message. */
  secrets: readonly string[];
}

/**
 * `fetch` with network failures as retryable `DeliveryError`s (status undefined). The cause is kept only as
 * its redacted message: an undici error can carry the request, headers included.
 */
export async function fetchPlatform(
  call: PlatformCall,
  what: string,
  url: string,
  init: RequestInit,
): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (error) {
    const reason =
      error instanceof Error
        ? error.cause instanceof Error
          ? error.cause.message
          : error.message
        : String(error);
    throw new DeliveryError(
      `${call.platform}: ${what} failed before any answer: ${redact(reason, call.secrets)}`,
      {
        retryable: true,
      },
    );
  }
}

/** Reads the body of a failed response as text, capped, redacted, on one line. */
async function quotedBody(response: Response, secrets: readonly string[]): Promise<string> {
  let text: string;
  try {
    text = await response.text();
  } catch {
    return "";
  }
  const oneLine = redact(text, secrets).replace(/\s+/g, " ").trim();
  return oneLine.length > MAX_QUOTED_BODY ? `${oneLine.slice(0, MAX_QUOTED_BODY)}…` : oneLine;
}

/**
 * The `DeliveryError` for a non-2xx answer: retryable on 429/5xx with `Retry-After`, permanent otherwise.
 * `readMessage` picks the platform's message out of its error body (Drata's `{statusCode, message, code}`);
 * without it the (redacted, capped) body is quoted.
 */
export async function failureFrom(
  call: PlatformCall,
  what: string,
  response: Response,
  readMessage?: (body: unknown) => string | undefined,
): Promise<DeliveryError> {
  const raw = await quotedBody(response, call.secrets);
  let detail = raw;
  if (readMessage !== undefined && raw !== "") {
    try {
      detail = redact(readMessage(JSON.parse(raw) as unknown) ?? raw, call.secrets);
    } catch {
      detail = raw;
    }
  }
  const retryAfterMs = parseRetryAfter(response.headers.get("retry-after"));
  return new DeliveryError(
    `${call.platform}: ${what} answered HTTP ${response.status}${detail === "" ? "" : `: ${detail}`}`,
    {
      status: response.status,
      retryable: isRetryableStatus(response.status),
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    },
  );
}

/** The JSON body of a 2xx answer; a body that is not JSON is a retryable failure (a proxy page, a cut stream). */
export async function jsonBody(call: PlatformCall, what: string, response: Response): Promise<unknown> {
  try {
    return (await response.json()) as unknown;
  } catch {
    throw new DeliveryError(
      `${call.platform}: ${what} answered HTTP ${response.status} without a JSON body`,
      {
        status: response.status,
        retryable: true,
      },
    );
  }
}

/** The artifact as a Blob backed by the file: `fetch` streams it, so a large bundle is never held in memory. */
export async function artifactBlob(artifact: DeliveryArtifact): Promise<Blob> {
  try {
    return await openAsBlob(artifact.file, { type: artifact.mimeType });
  } catch (error) {
    throw new DeliveryError(
      `cannot read ${artifact.path} from this worker's disk: ${error instanceof Error ? error.message : String(error)}`,
      { retryable: false, cause: error },
    );
  }
}

/** The file name a platform shows: the last segment of the bundle path. */
export function artifactFileName(artifact: DeliveryArtifact): string {
  return artifact.path.split("/").pop() ?? artifact.path;
}

/**
 * The line that identifies one artifact of one run on a platform; `findSent` looks for exactly this text, so
 * it never changes shape: `keyproof run=<runId> sha256=<artifact digest>`.
 */
export function evidenceMarker(artifact: DeliveryArtifact, run: DeliveryRunSummary): string {
  return `keyproof run=${run.runId} sha256=${artifact.sha256}`;
}

/** The description written with every upload: what an auditor reads, then the marker `findSent` matches. */
export function evidenceDescription(artifact: DeliveryArtifact, run: DeliveryRunSummary): string {
  return [
    `keyproof evidence ${artifact.path} for ${run.organization}, period ${run.period.label} (${run.period.from} .. ${run.period.to}),`,
    `sealed bundle manifest sha256 ${run.bundle.manifestSha256}.`,
    evidenceMarker(artifact, run),
  ].join(" ");
}

/** The last day of the evidence period as `YYYY-MM-DD` (`period.to` is the inclusive last day or an instant). */
export function periodEndDate(run: DeliveryRunSummary): string {
  const day = run.period.to.slice(0, 10);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day) || Number.isNaN(Date.parse(`${day}T00:00:00.000Z`))) {
    throw new DeliveryError(`the run's period end "${run.period.to}" is not a date`, { retryable: false });
  }
  return day;
}

/**
 * The end of the evidence period as an ISO instant: 00:00 UTC of its last day, the form Vanta's and Drata's
 * examples use (`2024-06-30T00:00:00.000Z` for Q2), so the platform shows the period's last date.
 */
export function periodEndInstant(run: DeliveryRunSummary): string {
  return `${periodEndDate(run)}T00:00:00.000Z`;
}
