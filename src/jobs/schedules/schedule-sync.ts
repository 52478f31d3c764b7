import type { Queue } from "bullmq";
import { JOB_OPTIONS } from "../queue/job-options.ts";
import { validatePayload, JOB_PAYLOAD_SCHEMAS } from "../queue/job-payloads.ts";
import { ScheduleSchema, type Schedule } from "../queue/queue-settings.ts";

/**
 * Schedules are BullMQ job schedulers on the `schedule` queue, one per schedule name; each tick adds a
 * `start-scheduled-run` job. Sync makes Redis match the config: every configured schedule is upserted
 * (a changed cron or zone takes effect), and every config-made scheduler no longer in the config is
 * removed. Schedulers an operator created over the API (`origin: api`) are left to the API.
 */

export type ScheduleOrigin = "config" | "api";

export interface ScheduleListing extends Schedule {
  origin: ScheduleOrigin | "unknown";
  /** Next tick, UTC ISO-8601; undefined when BullMQ has none (e.g. ended). */
  next?: string;
}

export async function upsertSchedule(
  queue: Queue,
  schedule: Schedule,
  origin: ScheduleOrigin,
): Promise<void> {
  const valid = ScheduleSchema.parse(schedule);
  await queue.upsertJobScheduler(
    valid.name,
    { pattern: valid.cron, tz: valid.tz },
    {
      name: "start-scheduled-run",
      data: validatePayload("start-scheduled-run", {
        schedule: valid.name,
        period: valid.period,
        tz: valid.tz,
        origin,
      }),
      opts: JOB_OPTIONS["start-scheduled-run"],
    },
  );
}

export async function syncSchedules(
  queue: Queue,
  schedules: readonly Schedule[],
): Promise<{ upserted: string[]; removed: string[] }> {
  const wanted = new Set(schedules.map((schedule) => schedule.name));
  for (const schedule of schedules) await upsertSchedule(queue, schedule, "config");
  const removed: string[] = [];
  for (const existing of await listSchedules(queue)) {
    if (existing.origin === "config" && !wanted.has(existing.name)) {
      await queue.removeJobScheduler(existing.name);
      removed.push(existing.name);
    }
  }
  return { upserted: schedules.map((schedule) => schedule.name), removed };
}

export async function removeSchedule(queue: Queue, name: string): Promise<boolean> {
  return queue.removeJobScheduler(name);
}

/** Every scheduler on the queue with its next run time, soonest first. */
export async function listSchedules(queue: Queue): Promise<ScheduleListing[]> {
  const schedulers = await queue.getJobSchedulers(0, -1, true);
  return schedulers.map((scheduler) => {
    const parsed = JOB_PAYLOAD_SCHEMAS["start-scheduled-run"].safeParse(scheduler.template?.data);
    const listing: ScheduleListing = {
      name: scheduler.key,
      cron: scheduler.pattern ?? "",
      tz: scheduler.tz ?? "UTC",
      period: parsed.success ? parsed.data.period : "previous-quarter",
      origin: parsed.success ? parsed.data.origin : "unknown",
    };
    if (typeof scheduler.next === "number") listing.next = new Date(scheduler.next).toISOString();
    return listing;
  });
}
