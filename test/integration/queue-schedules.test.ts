/**
 * Schedules on real Redis: `schedule sync` semantics (config → BullMQ job schedulers, removal when gone
 * from the config, API-made schedules kept), next run times, and a tick that starts a real run.
 */
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { QueueClient } from "../../src/jobs/queue/queue-client.ts";
import { DEFAULT_SCHEDULES, readSchedulesSection } from "../../src/jobs/queue/queue-settings.ts";
import { storeServiceConfig } from "../../src/jobs/queue/service-config.ts";
import { startWorkerRuntime, type WorkerRuntime } from "../../src/jobs/queue/worker-runtime.ts";
import { followRun } from "../../src/jobs/run-queued.ts";
import { listSchedules, syncSchedules, upsertSchedule } from "../../src/jobs/schedules/schedule-sync.ts";
import { previousQuarter } from "../../src/time/previous-quarter.ts";
import {
  REDIS_URL,
  cleanupPrefix,
  prepareEstate,
  removeDirectory,
  uniquePrefix,
  waitFor,
  type TestEstate,
} from "./queue-harness.ts";

const prefix = uniquePrefix("sched");
let client: QueueClient;
let setup: TestEstate | undefined;
let runtime: WorkerRuntime | undefined;

beforeAll(() => {
  client = QueueClient.connect(REDIS_URL, prefix);
});

afterAll(async () => {
  await runtime?.close();
  await client?.close();
  await cleanupPrefix(REDIS_URL, prefix);
  await removeDirectory(setup?.directory);
});

describe("schedule sync", () => {
  it("registers the default quarterly schedule when the config has none", async () => {
    expect(readSchedulesSection({})).toEqual(DEFAULT_SCHEDULES);
    const result = await syncSchedules(client.queue("schedule"), readSchedulesSection({}));
    expect(result).toEqual({ upserted: ["quarterly"], removed: [] });
    const [quarterly] = await listSchedules(client.queue("schedule"));
    expect(quarterly).toMatchObject({
      name: "quarterly",
      cron: "0 6 1 1,4,7,10 *",
      tz: "UTC",
      period: "previous-quarter",
      origin: "config",
    });
    // The next tick is 06:00 UTC on the first day of the next calendar quarter.
    const next = new Date(quarterly?.next ?? "");
    expect(next.getUTCDate()).toBe(1);
    expect(next.getUTCHours()).toBe(6);
    expect([0, 3, 6, 9]).toContain(next.getUTCMonth());
    expect(next.getTime()).toBeGreaterThan(Date.now());
    expect(next.getTime() - Date.now()).toBeLessThanOrEqual(92 * 86_400_000);
  });

  it("updates changed schedules, removes those gone from the config, and keeps API-made ones", async () => {
    const queue = client.queue("schedule");
    await upsertSchedule(
      queue,
      { name: "operator-adhoc", cron: "0 9 * * 1", tz: "UTC", period: "previous-month" },
      "api",
    );
    const schedules = readSchedulesSection({
      schedules: [
        { name: "monthly", cron: "30 5 2 * *", tz: "Europe/Berlin", period: "previous-month" },
        { name: "yearly", cron: "0 8 15 1 *", period: "previous-year" },
      ],
    });
    expect(await syncSchedules(queue, schedules)).toEqual({
      upserted: ["monthly", "yearly"],
      removed: ["quarterly"],
    });
    const listed = await listSchedules(queue);
    expect(listed.map((item) => [item.name, item.origin]).sort()).toEqual([
      ["monthly", "config"],
      ["operator-adhoc", "api"],
      ["yearly", "config"],
    ]);
    expect(listed.find((item) => item.name === "yearly")).toMatchObject({ tz: "UTC", cron: "0 8 15 1 *" });
    // 05:30 in Berlin is 03:30 or 04:30 UTC depending on daylight saving time.
    const monthly = new Date(listed.find((item) => item.name === "monthly")?.next ?? "");
    expect(monthly.getUTCMinutes()).toBe(30);
    expect([3, 4]).toContain(monthly.getUTCHours());

    // Changing a schedule in the config changes it in Redis; syncing twice changes nothing.
    await syncSchedules(queue, [{ name: "monthly", cron: "0 6 3 * *", tz: "UTC", period: "previous-month" }]);
    await syncSchedules(queue, [{ name: "monthly", cron: "0 6 3 * *", tz: "UTC", period: "previous-month" }]);
    const after = await listSchedules(queue);
    expect(after.map((item) => item.name).sort()).toEqual(["monthly", "operator-adhoc"]);
    expect(after.find((item) => item.name === "monthly")).toMatchObject({ cron: "0 6 3 * *", tz: "UTC" });
    expect(await queue.getJobSchedulersCount()).toBe(2);
  });

  it("rejects bad schedule config naming the field", () => {
    expect(() =>
      readSchedulesSection({ schedules: [{ name: "x", cron: "every day", period: "previous-quarter" }] }),
    ).toThrow(/schedules\[0\]\.cron/);
    expect(() =>
      readSchedulesSection({
        schedules: [{ name: "x", cron: "0 6 1 * *", tz: "Mars/Base", period: "previous-quarter" }],
      }),
    ).toThrow(/schedules\[0\]\.tz/);
    expect(() =>
      readSchedulesSection({
        schedules: [
          { name: "x", cron: "0 6 1 * *", period: "previous-quarter" },
          { name: "x", cron: "0 7 1 * *", period: "previous-month" },
        ],
      }),
    ).toThrow(/schedules\[1\]\.name: duplicate/);
  });
});

describe("a schedule tick", () => {
  it("starts a run for the previous period with the stored service config, and identical ticks join it", async () => {
    setup = await prepareEstate();
    await storeServiceConfig(client.redis, prefix, {
      config: setup.loaded.config,
      configDirectory: setup.loaded.directory,
      dataDirectory: path.join(setup.directory, "data"),
      render: false,
    });
    runtime = await startWorkerRuntime({
      redisUrl: REDIS_URL,
      prefix,
      queues: ["collect", "seal", "deliver", "schedule"],
    });
    // Six fields: a tick every second, so several ticks land while the run goes on.
    await upsertSchedule(
      client.queue("schedule"),
      { name: "every-second", cron: "* * * * * *", tz: "UTC", period: "previous-quarter" },
      "config",
    );
    const runId = await waitFor(
      "a scheduled run",
      async () => (await client.runs.list(0, 10)).runs[0]?.runId,
      20_000,
    );
    await new Promise((resolve) => setTimeout(resolve, 2500));
    await client.queue("schedule").removeJobScheduler("every-second");

    const record = await followRun(client, runId, { pollIntervalMs: 200, timeoutMs: 60_000 });
    expect(record.status).toBe("completed");
    expect(record.plan.request).toEqual({ origin: "schedule", schedule: "every-second" });
    expect(record.plan.range).toEqual(previousQuarter(new Date(record.createdAt)));
    const ticks = await client.queue("schedule").getJobs(["completed"]);
    expect(ticks.length).toBeGreaterThanOrEqual(2);
    // Every tick while the run went on returned that run; none started another.
    const results = ticks.map((tick) => tick.returnvalue as { runId: string; existing: boolean });
    const joined = results.filter((result) => result.runId === runId);
    expect(joined.length).toBeGreaterThanOrEqual(2);
    expect(joined.filter((result) => !result.existing)).toHaveLength(1);
  });
});
