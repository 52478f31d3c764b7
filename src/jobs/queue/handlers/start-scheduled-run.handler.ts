import type { JobContext } from "../job-context.ts";
import type { JobPayloads } from "../job-payloads.ts";
import { rangeForSchedule } from "../../schedules/schedule-period.ts";
import { readServiceConfig } from "../service-config.ts";

/**
 * A cron tick of a job scheduler: runs the previous quarter/month/year (as seen in the schedule's time
 * zone at the tick's nominal time) with the service config stored by `keyproof serve`/`schedule sync`.
 * A tick retried or delivered twice joins the run already going for that period.
 */
export async function handleStartScheduledRun(
  payload: JobPayloads["start-scheduled-run"],
  job: JobContext,
): Promise<{ runId: string; existing: boolean }> {
  const service = await readServiceConfig(job.redis, job.prefix);
  const range = rangeForSchedule(payload.period, new Date(job.job.timestamp), payload.tz);
  return job.startRun({
    config: service.config,
    configDirectory: service.configDirectory,
    outDirectory: service.dataDirectory,
    range,
    render: service.render,
    request: { origin: "schedule", schedule: payload.schedule },
  });
}
