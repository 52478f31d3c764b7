import type { FindingStatus } from "../model/finding.ts";
import type { GovernanceFacts } from "../model/review.ts";

/** Shared by the two governance checks (access-review-current, procedure-approved-current). */

const DAY_MS = 86_400_000;

/**
 * Whether `instant` lies within `days` days before `capturedAt` (inclusive), never after it: a review or
 * approval recorded after the run read its facts did not exist for that run.
 */
export function isWithinDaysBefore(instant: string, capturedAt: string, days: number): boolean {
  const at = Date.parse(instant);
  const captured = Date.parse(capturedAt);
  if (Number.isNaN(at) || Number.isNaN(captured)) return false;
  return at <= captured && captured - at <= days * DAY_MS;
}

/** Whole days from `instant` to `capturedAt`, for messages. */
export function daysBefore(instant: string, capturedAt: string): number {
  return Math.floor((Date.parse(capturedAt) - Date.parse(instant)) / DAY_MS);
}

/**
 * The verdict when reviews and approvals could not be read: never pass or fail (nothing was judged),
 * `warn` when there is nowhere to read from, `error` when the store failed.
 */
export function unavailableStatus(
  governance: Extract<GovernanceFacts, { state: "unavailable" }>,
): Extract<FindingStatus, "warn" | "error"> {
  return governance.severity;
}

/** `2026-09-30` from an instant, for messages. */
export function dayOf(instant: string): string {
  return instant.slice(0, 10);
}
