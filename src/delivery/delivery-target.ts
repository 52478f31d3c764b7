import type { DeliveryTargetConfig } from "../config/deliver.schema.ts";

/**
 * The port every delivery target implements (Vanta, Drata, Secureframe, webhook), and what it is given.
 * A target does HTTP only: choosing artifacts, never sending one twice, retries, and recording outcomes are
 * the orchestrator's (`deliver-run.ts`), so every target gets them the same way. The contract suite in
 * test/contract/delivery-target.contract.test.ts holds every target to it.
 */

/** What a delivery says about the run, identical for every target (the webhook sends it as its body). */
export interface DeliveryRunSummary {
  runId: string;
  /** The chain scope the bundle is stored under. */
  scope: string;
  organization: string;
  period: { label: string; from: string; to: string };
  findings: {
    byStatus: Record<string, number>;
    /** Counts of failing results by severity. */
    bySeverity: Record<string, number>;
  };
  /** Collection gaps (unreachable sources, failed calls): a run with gaps is incomplete. */
  gaps: number;
  bundle: {
    /** Where the sealed bundle is stored (`s3://bucket/key` or a local path). */
    location: string;
    /** S3 object version id, when stored in S3. */
    versionId?: string;
    manifestSha256: string;
  };
  /** The schedule that produced the run (Drata's renewal), absent for on-demand runs. */
  schedule?: { name: string; cron: string; period: string };
}

/** One artifact to send: a file of the sealed bundle. */
export interface DeliveryArtifact {
  /** Bundle-relative path, `/`-separated: `reports/findings-report.pdf`. */
  path: string;
  /** Absolute path of the file on this worker's disk (read it as a stream; never buffer a whole bundle). */
  file: string;
  sizeBytes: number;
  /** SHA-256 (hex) of the file, the same digest the manifest lists. */
  sha256: string;
  mimeType: string;
}

/** What a target reports for one artifact it sent. */
export interface SentArtifact {
  /** The platform's id of what was created (upload id, evidence id); absent when it returns none. */
  remoteId?: string;
  httpStatus: number;
}

/** An artifact a target refused to send, on purpose, with the reason (Drata's size limit): never silent. */
export interface SkippedArtifact {
  skipped: true;
  reason: string;
}

export interface DeliveryTarget {
  readonly config: DeliveryTargetConfig;
  /**
   * Sends one artifact. Throws `DeliveryError` on failure, with `retryable` and `retryAfterMs` set from the
   * response (429 with Retry-After, 5xx: retryable; other 4xx: not).
   */
  sendArtifact(artifact: DeliveryArtifact, run: DeliveryRunSummary): Promise<SentArtifact | SkippedArtifact>;
  /**
   * Runs once after every artifact of the run was sent (Vanta: submit the document; webhook: POST the
   * summary, which has no artifacts). Must be safe to call again after a crash.
   */
  finish?(run: DeliveryRunSummary, sent: readonly DeliveryOutcome[]): Promise<SentArtifact | undefined>;
  /**
   * Looks for an artifact already on the platform from an attempt whose outcome was never recorded (the
   * worker died after the upload, before the record): its remote id, or undefined when it is not there or
   * the platform cannot be asked. Lets a retry avoid a second upload. Matching is by the run id and SHA-256
   * the target wrote into the artifact's description. `"unknown"` when the platform answered but its answer
   * cannot tell (a listing without the field the match needs): the orchestrator then treats the attempt as
   * possibly delivered and does not send it again unless asked (`keyproof deliver --resend`).
   */
  findSent?(
    artifact: DeliveryArtifact,
    run: DeliveryRunSummary,
  ): Promise<SentArtifact | undefined | "unknown">;
}

/** The recorded outcome of one artifact (or of `finish`, with path `(finish)`), as in delivery.json. */
export interface DeliveryOutcome {
  target: string;
  type: DeliveryTargetConfig["type"];
  path: string;
  state: "delivered" | "skipped" | "failed";
  remoteId?: string;
  /** UTC ISO-8601 of the outcome. */
  time: string;
  sha256: string;
  httpStatus?: number;
  /** Why it was skipped or failed. Never a credential or a response body that could hold one. */
  reason?: string;
}

/** A failed platform call, typed so the orchestrator decides retries without parsing messages. */
export class DeliveryError extends Error {
  override readonly name = "DeliveryError";
  readonly status: number | undefined;
  readonly retryable: boolean;
  /** From `Retry-After` (seconds or an HTTP date), when the platform sent one. */
  readonly retryAfterMs: number | undefined;

  constructor(
    message: string,
    options: { status?: number; retryable: boolean; retryAfterMs?: number; cause?: unknown },
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.status = options.status;
    this.retryable = options.retryable;
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** 429 and 5xx are worth a retry; other 4xx are not (a wrong id stays wrong). Network errors: status undefined. */
export function isRetryableStatus(status: number | undefined): boolean {
  return status === undefined || status === 429 || status >= 500;
}

/** `Retry-After` as milliseconds from `now`: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(
  value: string | null | undefined,
  now: number = Date.now(),
): number | undefined {
  if (value === null || value === undefined || value.trim() === "") return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
