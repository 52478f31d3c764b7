import type { Command } from "commander";
import type { QueueCliOptions } from "../../jobs/queue/resolve-service.ts";
import { EXIT_CODES } from "../exit-codes.ts";
import type { CliIo } from "../cli-types.ts";

/** `keyproof schedule sync|list`: the config's `schedules:` as BullMQ job schedulers. */
export function registerScheduleCommand(
  program: Command,
  io: CliIo,
  setExitCode: (code: number) => void,
): void {
  const schedule = program.command("schedule").description("scheduled evidence runs (BullMQ job schedulers)");

  schedule
    .command("sync")
    .description(
      "make Redis match the config's schedules (default: quarterly, 06:00 UTC on 1 Jan/Apr/Jul/Oct)",
    )
    .requiredOption("-c, --config <file>", "keyproof.yaml")
    .option("--redis-url <url>", "Redis URL (default env REDIS_URL)")
    .option("--prefix <prefix>", "queue key prefix")
    .option("--data-dir <dir>", "shared data directory for scheduled runs' bundles")
    .action(async (options: QueueCliOptions) => {
      const { QueueClient, resolveService, storeServiceConfig, syncSchedules } = await loadScheduleModules();
      const service = await resolveService(options, true);
      const client = QueueClient.connect(service.settings.redisUrl, service.settings.prefix);
      try {
        if (service.loaded !== undefined) {
          await storeServiceConfig(client.redis, client.prefix, {
            config: service.loaded.config,
            configDirectory: service.loaded.directory,
            dataDirectory: service.settings.dataDirectory,
          });
        }
        const result = await syncSchedules(client.queue("schedule"), service.schedules);
        io.stdout(
          `synced: ${result.upserted.join(", ") || "(none)"}${result.removed.length > 0 ? `; removed: ${result.removed.join(", ")}` : ""}\n`,
        );
        setExitCode(EXIT_CODES.OK);
      } finally {
        await client.close();
      }
    });

  schedule
    .command("list")
    .description("schedules in Redis with their next run time")
    .option("-c, --config <file>", "keyproof.yaml (for its queue: section)")
    .option("--redis-url <url>", "Redis URL (default env REDIS_URL)")
    .option("--prefix <prefix>", "queue key prefix")
    .option("--json", "print as JSON")
    .action(async (options: QueueCliOptions & { json?: boolean }) => {
      const { QueueClient, resolveService, listSchedules } = await loadScheduleModules();
      const service = await resolveService(options, false);
      const client = QueueClient.connect(service.settings.redisUrl, service.settings.prefix);
      try {
        const schedules = await listSchedules(client.queue("schedule"));
        if (options.json === true) io.stdout(`${JSON.stringify(schedules, null, 2)}\n`);
        else if (schedules.length === 0)
          io.stdout("no schedules (run keyproof schedule sync -c keyproof.yaml)\n");
        else {
          for (const item of schedules) {
            io.stdout(
              `${item.name.padEnd(20)} ${item.cron.padEnd(20)} ${item.tz.padEnd(16)} ${item.period.padEnd(17)} next ${item.next ?? "-"} (${item.origin})\n`,
            );
          }
        }
        setExitCode(EXIT_CODES.OK);
      } finally {
        await client.close();
      }
    });
}

/** bullmq and the config loader, loaded when a schedule command runs, not for `keyproof --help`. */
async function loadScheduleModules() {
  const [{ QueueClient }, { resolveService }, { storeServiceConfig }, { listSchedules, syncSchedules }] =
    await Promise.all([
      import("../../jobs/queue/queue-client.ts"),
      import("../../jobs/queue/resolve-service.ts"),
      import("../../jobs/queue/service-config.ts"),
      import("../../jobs/schedules/schedule-sync.ts"),
    ]);
  return { QueueClient, resolveService, storeServiceConfig, listSchedules, syncSchedules };
}
