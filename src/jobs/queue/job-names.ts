/**
 * Queues per kind of work, so each kind scales and fails on its own: `collect` calls the key sources,
 * `render` drives the browser (its own worker kind, one Chromium per process), `seal` judges and signs
 * (no outbound calls), `deliver` hands the sealed bundle on (stores, then one job per `deliver:` target), `schedule` turns a cron tick into a run.
 */
export const QUEUE_NAMES = ["collect", "render", "seal", "deliver", "schedule"] as const;
export type QueueName = (typeof QUEUE_NAMES)[number];

export const JOB_NAMES = [
  "collect-location",
  "collect-key-batch",
  "extract-usage",
  "judge-run",
  "render-evidence",
  "render-screenshot-batch",
  "seal-bundle",
  "deliver-run",
  "deliver-target",
  "start-scheduled-run",
  "seal-review",
] as const;
export type JobName = (typeof JOB_NAMES)[number];

export function isQueueName(value: string): value is QueueName {
  return (QUEUE_NAMES as readonly string[]).includes(value);
}

export function isJobName(value: string): value is JobName {
  return (JOB_NAMES as readonly string[]).includes(value);
}
