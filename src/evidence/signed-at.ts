import type { Manifest } from "./manifest.ts";

/**
 * When a signature may have been made: within the bundle's capture window (the manifest's `captureWindow`,
 * the first and last API read; bundles sealed before it existed have only `capturedAt`) widened by a margin
 * on both sides. A run signs after judging and rendering (hours for a large estate, more when a seal job
 * waits for a worker), and worker clocks drift; 24 hours bounds a back- or forward-dated signature without
 * failing honest slow runs. One rule for both sides: sealing refuses what `verify` would reject.
 */
export const SIGNED_AT_MARGIN_HOURS = 24;

const HOUR = 3_600_000;

/** Why `signedAt` is not plausible for this manifest, or undefined when it is. */
export function signedAtProblem(
  signedAt: string,
  manifest: Pick<Manifest, "capturedAt" | "captureWindow">,
): string | undefined {
  const signed = Date.parse(signedAt);
  const captured = Date.parse(manifest.capturedAt);
  if (Number.isNaN(captured)) return undefined; // the manifest check reports a bad capturedAt
  const window = manifest.captureWindow;
  const first = Math.min(captured, window === undefined ? captured : Date.parse(window.first));
  const last = Math.max(captured, window === undefined ? captured : Date.parse(window.last));
  const margin = SIGNED_AT_MARGIN_HOURS * HOUR;
  if (signed >= first - margin && signed <= last + margin) return undefined;
  const span =
    first === last
      ? `capture time ${new Date(first).toISOString()}`
      : `capture window ${new Date(first).toISOString()} to ${new Date(last).toISOString()}`;
  return `signedAt ${signedAt} is more than ${SIGNED_AT_MARGIN_HOURS} hours outside the bundle's ${span}`;
}
