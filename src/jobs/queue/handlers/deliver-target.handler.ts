import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { UnrecoverableError } from "bullmq";
import type { Cluster, Redis } from "ioredis";
import { KeyproofError } from "../../../errors/errors.ts";
import { chainScope } from "../../../storage/chain-scope.ts";
import { createBundleStores } from "../../../storage/create-store.ts";
import { createDeliveryTarget } from "../../../delivery/create-target.ts";
import {
  deliverToTarget,
  deliveryRunSummaryOf,
  expectsFinish,
  finalState,
  openSealedRun,
  readTargetDelivery,
  selectArtifacts,
  type SealedRun,
  type TargetDelivery,
} from "../../../delivery/deliver-run.ts";
import { RedisDeliveryLedger } from "../../../delivery/delivery-ledger.ts";
import {
  deliveryRecordOf,
  readRunDeliveries,
  writeDeliveryRecord,
} from "../../../delivery/delivery-record.ts";
import type { DeliveryRunSummary } from "../../../delivery/delivery-target.ts";
import { isFinalAttempt, type JobContext } from "../job-context.ts";
import type { DeliverTargetPayload } from "../job-payloads.ts";
import { withSealedFiles } from "../run-workspace.ts";
import type { RunRecord, RunTargetDelivery } from "../run-store.ts";

/**
 * One `deliver:` target of a sealed, stored run. Retryable failures (429, 5xx, network) are recorded and
 * thrown, so BullMQ retries with the delivery backoff (which honours Retry-After); a permanent failure is
 * recorded and ends the job as failed (UnrecoverableError) without failing the run or the other targets.
 * The ledger in Redis makes a retry, a stalled job handed to another worker, and `keyproof deliver` skip
 * what was delivered. Credentials are read from this worker's environment, never from the job.
 */
export async function handleDeliverTarget(
  payload: DeliverTargetPayload,
  job: JobContext,
): Promise<TargetDelivery> {
  const record = await job.runs.get(payload.runId);
  if (record?.bundle === undefined) {
    throw new KeyproofError("INTERNAL", `run ${payload.runId} has no sealed bundle to deliver`);
  }
  const { config } = record.plan;
  const targetConfig = config.deliver.find((target) => target.name === payload.target);
  if (targetConfig === undefined) {
    throw new KeyproofError(
      "ARGUMENT_INVALID",
      `run ${payload.runId} has no deliver: target ${payload.target}`,
    );
  }
  // Kept in S3: every file, since a target may take any artifact; delivery.json is published back.
  return withSealedFiles(
    {
      plan: record.plan,
      bundle: record.bundle,
      ...(job.dataDirectory === undefined ? {} : { scratchDirectory: job.dataDirectory }),
      hydrate: "all",
    },
    async (files) => {
      const sealed = await openSealedRun(files.directory);
      const ledger = new RedisDeliveryLedger(job.redis, job.prefix);
      const run = deliveryRunSummaryOf(sealed, chainScope(config), scheduleOf(record));
      let delivery: TargetDelivery;
      try {
        delivery = await deliverToTarget({
          target: createDeliveryTarget(targetConfig),
          run,
          sealed,
          ledger,
        });
      } catch (error) {
        if (!(error instanceof Error && error.name === "DeliveryRetryError")) throw error;
        const final = isFinalAttempt(job);
        const artifacts = selectArtifacts(targetConfig, sealed.bundleDirectory, sealed.manifest.files);
        const now = await readTargetDelivery(
          ledger,
          payload.runId,
          targetConfig,
          artifacts,
          expectsFinish(targetConfig),
        );
        await settle(job, record, sealed, final ? finalState(now) : now);
        // Not final: BullMQ retries after the delivery backoff, which reads retryAfterMs from this error.
        if (!final) throw error;
        throw new UnrecoverableError(
          `${payload.target}: failed after ${job.job.attempt} attempts: ${error.message}`,
        );
      }
      const settled = finalState(delivery);
      await settle(job, record, sealed, settled);
      if (settled.state === "failed") {
        const reasons = settled.outcomes
          .filter((outcome) => outcome.state === "failed")
          .map((outcome) => `${outcome.path}: ${outcome.reason ?? "failed"}`);
        throw new UnrecoverableError(`${payload.target}: ${reasons.join("; ")}`);
      }
      return settled;
    },
  );
}

/** The schedule that produced a scheduled run (Drata's renewal schedule), from the run's own config. */
function scheduleOf(record: RunRecord): DeliveryRunSummary["schedule"] {
  const name = record.plan.request.schedule;
  const schedule = record.plan.config.schedules?.find((entry) => entry.name === name);
  return schedule === undefined
    ? undefined
    : { name: schedule.name, cron: schedule.cron, period: schedule.period };
}

/** How long one job may hold a run's delivery.json write before another may take it (a holder that died). */
const RECORD_LOCK_MS = 30_000;

/**
 * Runs `write` while holding a per-run Redis lock (SET NX PX, released only by its holder), so the target
 * jobs of one run write delivery.json one after another: the last writer read the record after every earlier
 * writer had recorded its target, so the latest delivery.json lists every target's last state. Without it,
 * two jobs finishing together could leave the later version one update behind for the other target.
 */
async function withDeliveryRecordLock(
  redis: Redis | Cluster,
  key: string,
  write: () => Promise<void>,
): Promise<void> {
  const token = randomUUID();
  const deadline = Date.now() + RECORD_LOCK_MS;
  // Past the deadline the holder is gone (its lock expired) or stuck: write anyway rather than never.
  while ((await redis.set(key, token, "PX", RECORD_LOCK_MS, "NX")) !== "OK" && Date.now() < deadline) {
    await sleep(50);
  }
  try {
    await write();
  } finally {
    await redis.eval(
      'if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end return 0',
      1,
      key,
      token,
    );
  }
}

/**
 * The target's delivery into the run record (its own field), then delivery.json beside the bundle and in
 * the stores, built from the run record so it shows every target as its last job left it.
 */
async function settle(
  job: JobContext,
  record: RunRecord,
  sealed: SealedRun,
  delivery: TargetDelivery,
): Promise<void> {
  const { target, ...kept } = delivery;
  await job.runs.recordDelivery(record.runId, target, toRunDelivery(kept));
  await withDeliveryRecordLock(job.redis, `${job.prefix}:kp:delivery-record-lock:${record.runId}`, () =>
    writeRunDeliveryRecord(job, record, sealed),
  );
}

async function writeRunDeliveryRecord(job: JobContext, record: RunRecord, sealed: SealedRun): Promise<void> {
  const fresh = (await job.runs.get(record.runId)) ?? record;
  const { config } = record.plan;
  const ledgerView = await readRunDeliveries(
    new RedisDeliveryLedger(job.redis, job.prefix),
    sealed,
    config.deliver,
  );
  const deliveries: TargetDelivery[] = ledgerView.map((view) => {
    const recorded = fresh.delivery?.[view.target];
    return recorded === undefined ? view : { ...view, state: recorded.state };
  });
  await writeDeliveryRecord({
    sealed,
    record: deliveryRecordOf(sealed, deliveries, new Date()),
    stores: createBundleStores(config.storage, record.plan.configDirectory),
  });
}

function toRunDelivery(delivery: Omit<TargetDelivery, "target">): RunTargetDelivery {
  return {
    type: delivery.type,
    state: delivery.state,
    outcomes: delivery.outcomes.map(({ target: _target, type: _type, ...outcome }) => outcome),
  };
}
