import type { JobName } from "./job-names.ts";

/**
 * Deterministic job ids: the same (run, step, target) always names the same BullMQ job, so adding a flow
 * twice, or retrying one, can never create a second job that writes the same artifact again (BullMQ
 * ignores an add whose id exists). Segments are URI-encoded: BullMQ refuses `:` in custom ids, and
 * encoding keeps two different targets from mapping to one id.
 */
export function jobIdFor(runId: string, name: JobName, ...target: string[]): string {
  return [runId, name, ...target].map((segment) => encodeURIComponent(segment)).join("/");
}

export function locationJobId(
  runId: string,
  name: "collect-location" | "extract-usage",
  source: string,
  location: string,
): string {
  return jobIdFor(runId, name, source, location);
}

/** `<run>/render-screenshot-batch/<index>`. */
export function screenshotBatchJobId(runId: string, batch: number): string {
  return jobIdFor(runId, "render-screenshot-batch", String(batch));
}

/**
 * `<run>/deliver/<target>`: one delivery job per (run, target), whoever asks (the sealed run, `keyproof
 * deliver`), so a delivery already queued or running is never doubled.
 */
export function deliverTargetJobId(runId: string, target: string): string {
  return [runId, "deliver", target].map((segment) => encodeURIComponent(segment)).join("/");
}

/** `<run>/collect-key-batch/<source>/<location>/<index>`: the same batch of a plan always has the same job. */
export function batchJobId(runId: string, source: string, location: string, batch: number): string {
  return jobIdFor(runId, "collect-key-batch", source, location, String(batch));
}
