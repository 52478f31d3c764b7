import { loadConfig } from "../../config/load-config.ts";
import { KeyproofError } from "../../errors/errors.ts";
import { QueueClient } from "../../jobs/queue/queue-client.ts";
import { resolveQueueSettings } from "../../jobs/queue/queue-settings.ts";
import { assertRedisReachable } from "../../jobs/queue/redis-connection.ts";
import { runInline, type RunProgress } from "../../jobs/run-inline.ts";
import { formatQueuedProgress, runQueued } from "../../jobs/run-queued.ts";
import {
  formatRunSummary,
  hasFailAtOrAbove,
  isSummaryComplete,
  type RunSummary,
} from "../../jobs/run-summary.ts";
import type { DateRange } from "../../model/snapshot.ts";
import { assertRangeWithinLimit, parsePeriod, parseRange } from "../../time/date-range.ts";
import {
  DEFAULT_DELIVERY_WAIT_SECONDS,
  type CliIo,
  type FailOnSeverity,
  type RunCliOptions,
} from "../cli-types.ts";
import { EXIT_CODES } from "../exit-codes.ts";
import type { StorageRecord } from "../../storage/store-sealed-bundle.ts";
import type { TargetDelivery } from "../../delivery/deliver-run.ts";
import { formatDeliveries } from "../../delivery/format-deliveries.ts";

/** `--period` xor `--from` + `--to`. Wrong combinations are argument errors (exit 2). */
export function resolveRange(options: Pick<RunCliOptions, "period" | "from" | "to">): DateRange {
  if (options.period !== undefined) {
    if (options.from !== undefined || options.to !== undefined) {
      throw new KeyproofError("ARGUMENT_INVALID", "give either --period or --from/--to, not both");
    }
    return parsePeriod(options.period);
  }
  if (options.from !== undefined && options.to !== undefined) return parseRange(options.from, options.to);
  if (options.from !== undefined || options.to !== undefined) {
    throw new KeyproofError("ARGUMENT_INVALID", "--from and --to go together (inclusive UTC dates)");
  }
  throw new KeyproofError(
    "ARGUMENT_INVALID",
    "give the range: --period 2026-Q3 (or 2026-09, 2026) or --from <date> --to <date>",
  );
}

export async function runRunCommand(options: RunCliOptions, io: CliIo): Promise<number> {
  // Arguments and config are checked before anything is contacted: exit 2 must mean "nothing happened".
  const range = resolveRange(options);
  const loaded = await loadConfig(options.config);
  assertRangeWithinLimit(
    range,
    loaded.config.policy.maxRangeDays,
    options.period === undefined ? "--from/--to" : "--period",
  );
  const settings = resolveQueueSettings({
    config: loaded.config,
    configDirectory: loaded.directory,
    overrides: {
      ...(options.redisUrl === undefined ? {} : { redisUrl: options.redisUrl }),
      ...(options.prefix === undefined ? {} : { prefix: options.prefix }),
    },
  });
  // With Redis configured the run goes through the queue (workers do the work) unless --inline says otherwise.
  if (options.inline !== true && settings.redisUrl !== undefined) {
    const client = QueueClient.connect(settings.redisUrl, settings.prefix);
    try {
      await assertRedisReachable(client.redis, settings.redisUrl);
      const queued = await runQueued({
        client,
        loaded,
        range,
        // Resolved against this shell's directory: every worker must see the same absolute path.
        outDirectory: options.out,
        ...(options.runId === undefined ? {} : { runId: options.runId }),
        render: options.render,
        ...(io.isTty
          ? {
              onProgress: (progress, record) =>
                io.stderr(`\r\x1b[K${formatQueuedProgress(progress, record)}`),
            }
          : {}),
        onWaiting: (reason) => io.stderr(`\r\x1b[Kwaiting for Redis: ${reason}\n`),
        onNoWorker: (_queue, message) => io.stderr(`\r\x1b[Kkeyproof: ${message}\n`),
        deliveryWaitMs: (options.deliveryWait ?? DEFAULT_DELIVERY_WAIT_SECONDS) * 1000,
        ...(io.isTty
          ? {
              onWaitingForDeliveries: (targets) =>
                io.stderr(`\r\x1b[Ksealed; delivering to ${targets.join(", ")}`),
            }
          : {}),
      });
      if (io.isTty) io.stderr("\r\x1b[K");
      if (queued.joined)
        io.stderr(`keyproof: an identical run (${queued.runId}) was already going; followed it\n`);
      printResult(options, io, {
        bundle: queued.bundle,
        summary: queued.summary,
        storage: queued.storage,
        delivery: queued.delivery,
      });
      const unsettled = (queued.delivery ?? []).filter(
        (target) => target.state === "pending" || target.state === "retrying",
      );
      if (unsettled.length > 0) {
        // Not a failure: the workers keep retrying; this command only stopped waiting for them.
        io.stderr(
          `keyproof: still delivering to ${unsettled.map((target) => target.target).join(", ")} after --delivery-wait; follow it with GET /v1/runs/${queued.runId} or keyproof deliver --run ${queued.runId}\n`,
        );
      }
      return runExitCode(queued.summary, options.failOn, queued.delivery);
    } finally {
      await client.close();
    }
  }
  const result = await runInline({
    loaded,
    range,
    outDirectory: options.out,
    ...(options.runId === undefined ? {} : { runId: options.runId }),
    render: options.render,
    ...(io.isTty ? { onProgress: progressPrinter(io) } : {}),
    queueOverrides: {
      ...(options.redisUrl === undefined ? {} : { redisUrl: options.redisUrl }),
      ...(options.prefix === undefined ? {} : { prefix: options.prefix }),
    },
  });
  if (io.isTty) io.stderr("\r\x1b[K");
  printResult(options, io, result);
  return runExitCode(result.summary, options.failOn, result.delivery);
}

/**
 * 0 complete; 3 sealed but incomplete, or a `deliver:` target failed for good; 4 (only with --fail-on)
 * complete with an open fail at or above the threshold. 3 wins over 4: findings judged on incomplete
 * evidence are not the whole picture, and evidence that did not reach the auditors' platform is not where
 * it should be; a CI gate that only looks for 4 must not pass either.
 */
export function runExitCode(
  summary: RunSummary,
  failOn: FailOnSeverity | undefined,
  delivery: readonly Pick<TargetDelivery, "state">[] = [],
): number {
  if (!isSummaryComplete(summary)) return EXIT_CODES.INCOMPLETE;
  if (delivery.some((target) => target.state === "failed")) return EXIT_CODES.INCOMPLETE;
  if (failOn !== undefined && hasFailAtOrAbove(summary, failOn)) return EXIT_CODES.FAIL_ON;
  return EXIT_CODES.OK;
}

function printResult(
  options: RunCliOptions,
  io: CliIo,
  result: {
    bundle: { directory: string; archive: string; manifestSha256: string };
    summary: RunSummary;
    storage?: StorageRecord | undefined;
    delivery?: TargetDelivery[] | undefined;
  },
): void {
  if (options.json === true) {
    io.stdout(
      `${JSON.stringify({ storage: result.storage, bundle: result.bundle.directory, archive: result.bundle.archive, manifestSha256: result.bundle.manifestSha256, summary: result.summary, delivery: result.delivery }, null, 2)}\n`,
    );
  } else {
    io.stdout(formatRunSummary(result.summary, result.bundle));
    if (result.storage !== undefined) io.stdout(formatStorage(result.storage));
    if (result.delivery !== undefined) io.stdout(formatDeliveries(result.delivery));
  }
}

/** One rewritten status line on a TTY; nothing when output is piped (CI logs stay clean). */
function progressPrinter(io: CliIo): (progress: RunProgress) => void {
  return (progress) => {
    const counter = progress.total > 1 ? ` ${progress.done}/${progress.total}` : "";
    io.stderr(`\r\x1b[K${progress.step}${counter} ${progress.target}`);
  };
}

/** Where the sealed archive went, as read back from each store (version, retention). */
function formatStorage(record: StorageRecord): string {
  const lines = ["", `Stored (chain scope ${record.scope}):`];
  for (const outcome of record.stores) {
    if (!outcome.stored) {
      lines.push(`  ${outcome.store}: NOT stored: ${outcome.reason}`);
      continue;
    }
    const version =
      outcome.versionId === undefined || outcome.location.includes("versionId=")
        ? ""
        : ` version ${outcome.versionId}`;
    const retention =
      outcome.retention === undefined
        ? ""
        : `, ${outcome.retention.mode} until ${outcome.retention.retainUntil}`;
    lines.push(`  ${outcome.location}${version}${retention}`);
  }
  if (record.previousBundle !== undefined) lines.push(`  chained to ${record.previousBundle.location}`);
  return `${lines.join("\n")}\n`;
}
