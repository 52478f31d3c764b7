import { withSealedFiles } from "../../jobs/queue/run-workspace.ts";
import { access } from "node:fs/promises";
import path from "node:path";
import { loadConfig } from "../../config/load-config.ts";
import { KeyproofError } from "../../errors/errors.ts";
import { deliverSealedRun } from "../../delivery/deliver-sealed-run.ts";
import { openSealedRun, type TargetDelivery } from "../../delivery/deliver-run.ts";
import { FileDeliveryLedger, RedisDeliveryLedger } from "../../delivery/delivery-ledger.ts";
import { formatDeliveries, hasFailedDelivery } from "../../delivery/format-deliveries.ts";
import { MANIFEST_FILE } from "../../evidence/paths.ts";
import { QueueClient } from "../../jobs/queue/queue-client.ts";
import { resolveQueueSettings } from "../../jobs/queue/queue-settings.ts";
import { assertRedisReachable } from "../../jobs/queue/redis-connection.ts";
import type { RunRecord } from "../../jobs/queue/run-store.ts";
import { chainScope } from "../../storage/chain-scope.ts";
import { createBundleStores } from "../../storage/create-store.ts";
import type { CliIo } from "../cli-types.ts";
import { EXIT_CODES } from "../exit-codes.ts";

export interface DeliverCliOptions {
  run: string;
  target?: string;
  config?: string;
  /** Bundle paths (or `(finish)`) recorded as possibly delivered, to send again on purpose. */
  resend?: string[];
  out: string;
  redisUrl?: string;
  prefix?: string;
  json?: boolean;
}

/**
 * `keyproof deliver --run <id>`: sends what a run's targets are missing, in this process, through the same
 * ledger as the workers (Redis when configured, else the file beside a local run's bundle): delivered
 * artifacts are never sent again, earlier permanent failures are tried again (the operator fixed the
 * cause), and an upload that may have landed is sent only when named with --resend.
 */
export async function runDeliverCommand(options: DeliverCliOptions, io: CliIo): Promise<number> {
  const loaded = options.config === undefined ? undefined : await loadConfig(options.config);
  const settings = resolveQueueSettings({
    ...(loaded === undefined ? {} : { config: loaded.config, configDirectory: loaded.directory }),
    overrides: {
      ...(options.redisUrl === undefined ? {} : { redisUrl: options.redisUrl }),
      ...(options.prefix === undefined ? {} : { prefix: options.prefix }),
    },
  });
  const client =
    settings.redisUrl === undefined ? undefined : QueueClient.connect(settings.redisUrl, settings.prefix);
  try {
    let record: RunRecord | undefined;
    if (client !== undefined && settings.redisUrl !== undefined) {
      await assertRedisReachable(client.redis, settings.redisUrl);
      record = await client.runs.get(options.run);
    }
    // The config the run was made with (queued runs keep it in their record) unless -c names another.
    const config = loaded?.config ?? record?.plan.config;
    const configDirectory = loaded?.directory ?? record?.plan.configDirectory;
    if (config === undefined || configDirectory === undefined) {
      throw new KeyproofError(
        "ARGUMENT_INVALID",
        `run ${options.run} is not in the queue${client === undefined ? " (no Redis configured)" : ""}: give its config with -c keyproof.yaml`,
      );
    }
    if (config.deliver.length === 0) {
      throw new KeyproofError("ARGUMENT_INVALID", "the config has no deliver: targets");
    }
    if (options.target !== undefined && !config.deliver.some((target) => target.name === options.target)) {
      throw new KeyproofError(
        "ARGUMENT_INVALID",
        `--target ${options.target}: no such deliver: target (configured: ${config.deliver.map((target) => target.name).join(", ")})`,
      );
    }
    const deliverFrom = async (bundleDirectory: string): Promise<number> => {
      try {
        await access(path.join(bundleDirectory, MANIFEST_FILE));
      } catch {
        throw new KeyproofError(
          "ARGUMENT_INVALID",
          `no sealed bundle of run ${options.run} in the queue or at ${bundleDirectory}`,
          { remediation: "pass -o <directory> the run wrote its bundle to (keyproof run -o)" },
        );
      }
      const ledger =
        client === undefined
          ? FileDeliveryLedger.besideBundle(bundleDirectory)
          : new RedisDeliveryLedger(client.redis, settings.prefix);
      const schedule = config.schedules?.find((entry) => entry.name === record?.plan.request.schedule);
      const result = await deliverSealedRun({
        sealed: await openSealedRun(bundleDirectory),
        targets: config.deliver,
        ...(options.target === undefined ? {} : { only: [options.target] }),
        scope: chainScope(config),
        ledger,
        stores: createBundleStores(config.storage, configDirectory),
        ...(options.resend === undefined ? {} : { resend: options.resend }),
        retryFailed: true,
        ...(schedule === undefined
          ? {}
          : { schedule: { name: schedule.name, cron: schedule.cron, period: schedule.period } }),
      });
      if (client !== undefined && record !== undefined) {
        for (const { target, ...delivery } of result.deliveries) {
          await client.runs.recordDelivery(options.run, target, {
            type: delivery.type,
            state: delivery.state,
            outcomes: delivery.outcomes.map(({ target: _target, type: _type, ...outcome }) => outcome),
          });
        }
      }
      printDeliveries(options, io, result.deliveries, result.record.local, result.record.problems);
      return hasFailedDelivery(result.deliveries) ? EXIT_CODES.INCOMPLETE : EXIT_CODES.OK;
    };
    const bundle = record?.bundle;
    if (record !== undefined && bundle?.remote !== undefined) {
      // A queued run kept in S3 (storage.s3): a scratch copy of its sealed files; delivery.json goes back.
      // Awaited here: the finally below closes the queue client.
      return await withSealedFiles({ plan: record.plan, bundle, hydrate: "all" }, (files) =>
        deliverFrom(files.directory),
      );
    }
    return await deliverFrom(bundle?.directory ?? path.resolve(options.out, options.run));
  } finally {
    await client?.close();
  }
}

function printDeliveries(
  options: DeliverCliOptions,
  io: CliIo,
  deliveries: TargetDelivery[],
  recordFile: string,
  problems: string[],
): void {
  if (options.json === true) {
    io.stdout(
      `${JSON.stringify({ runId: options.run, deliveries, record: recordFile, problems }, null, 2)}\n`,
    );
    return;
  }
  io.stdout(formatDeliveries(deliveries));
  io.stdout(`Recorded in ${recordFile}\n`);
  for (const problem of problems) io.stderr(`keyproof: ${problem}\n`);
}
