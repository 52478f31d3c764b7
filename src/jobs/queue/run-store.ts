import type { Cluster, Redis } from "ioredis";
import { z } from "zod";
import { KeyproofError } from "../../errors/errors.ts";
import { isSummaryComplete, type RunSummary } from "../run-summary.ts";
import { redisKeys, type RedisKeys } from "./redis-keys.ts";
import { RunPlanSchema, type RunPlan } from "./run-plan.ts";

/**
 * Run records in Redis: the plan, the state, and the result, one hash per run, plus a sorted index for
 * paging and the "active run by scope + period" lock that makes identical requests share one run.
 */

export const RUN_STATUSES = ["queued", "running", "sealed", "completed", "failed"] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/**
 * What the run came to, for people and scripts: the status, except that a completed run whose evidence is
 * incomplete (any gap, any `error` finding) is `completed-with-gaps`, the queued twin of `keyproof run`'s
 * exit code 3. `status` keeps the lifecycle alone (queued → running → sealed → completed | failed).
 */
export const RUN_STATES = [
  "queued",
  "running",
  "sealed",
  "completed",
  "completed-with-gaps",
  "failed",
] as const;
export type RunState = (typeof RUN_STATES)[number];

/** Pure: the state of a run from its status and summary (a summary without `complete` counts its gaps). */
export function runStateOf(status: RunStatus, summary: RunSummary | undefined): RunState {
  if (status !== "completed" || summary === undefined) return status;
  return isSummaryComplete(summary) ? "completed" : "completed-with-gaps";
}

export interface BundleLocation {
  directory: string;
  archive: string;
  manifestSha256: string;
  /**
   * `s3://bucket/<workPrefix><runId>/` when the run kept its files in S3 (`storage.s3`): then `directory`
   * and `archive` are `s3://` URLs under `<remote>files/`, and readers download from there.
   */
  remote?: string;
}

export interface RunRecord {
  runId: string;
  status: RunStatus;
  /** `completed-with-gaps` when the run completed but its evidence is incomplete; otherwise the status. */
  state: RunState;
  createdAt: string;
  updatedAt: string;
  startedAt?: string;
  finishedAt?: string;
  plan: RunPlan;
  summary?: RunSummary;
  bundle?: BundleLocation;
  /** Why the run failed: the cause of the job that failed for good. */
  error?: string;
  /** Key batches per planned location (`keyBatchTarget`), known once the location has been listed. */
  keyBatches: Record<string, number>;
  /** Screenshot slices rendered as their own jobs, known once rendering has started (0: none). */
  screenshotBatches: number;
  /** Per `deliver:` target name: its delivery state and outcomes, once its job has run. */
  delivery?: Record<string, RunTargetDelivery>;
}

/** A target's delivery as the run record keeps it (deliver-run.ts `TargetDelivery` without its name). */
export interface RunTargetDelivery {
  type: string;
  state: "delivered" | "failed" | "retrying" | "pending";
  outcomes: Array<{
    path: string;
    state: "delivered" | "skipped" | "failed";
    time: string;
    sha256: string;
    remoteId?: string;
    httpStatus?: number;
    reason?: string;
  }>;
}

const KEY_BATCHES_FIELD = "batches:";
const DELIVERY_FIELD = "delivery:";

/** A batch count from a hash field; anything else (absent, edited by hand) counts as none. */
function countOf(value: string | undefined): number {
  const count = Number(value ?? 0);
  return Number.isInteger(count) && count >= 0 ? count : 0;
}

/** `<source>/<location>`, the progress target of a location; segments encoded so `/` in a location stays unambiguous. */
export function keyBatchTarget(source: string, location: string): string {
  return `${encodeURIComponent(source)}/${encodeURIComponent(location)}`;
}

const BundleLocationSchema = z.object({
  directory: z.string(),
  archive: z.string(),
  manifestSha256: z.string(),
  remote: z.string().optional(),
});

/**
 * Creates the run record and takes the scope lock in one step, or returns the run already holding it, or
 * (with a dedupe window) the identical run that completed within the window; refuses when one of the run's
 * sources already has the maximum of unfinished runs. One script, so concurrent requests cannot interleave.
 * KEYS: active-run, run record prefix, run index, recent-run, then one unfinished-runs set per source.
 * ARGV: run id, plan JSON, now ISO, now ms, lock TTL seconds, completed-since ISO ('' = no window),
 * max unfinished runs per source ('0' = no bound).
 */
const CREATE_RUN = `
local function live(status)
  return status == 'queued' or status == 'running' or status == 'sealed'
end
local current = redis.call('GET', KEYS[1])
if current then
  if live(redis.call('HGET', KEYS[2] .. current, 'status')) then return {current, 1} end
end
if ARGV[6] ~= '' then
  local recent = redis.call('GET', KEYS[4])
  if recent then
    local fields = redis.call('HMGET', KEYS[2] .. recent, 'status', 'finishedAt')
    if fields[1] and string.sub(fields[1], 1, 9) == 'completed' and fields[2] and fields[2] >= ARGV[6] then
      return {recent, 1}
    end
  end
end
local limit = tonumber(ARGV[7])
if limit > 0 then
  for index = 5, #KEYS do
    local count = 0
    for _, id in ipairs(redis.call('SMEMBERS', KEYS[index])) do
      if live(redis.call('HGET', KEYS[2] .. id, 'status')) then count = count + 1 else redis.call('SREM', KEYS[index], id) end
    end
    if count >= limit then return redis.error_reply('RUN_LIMIT ' .. (index - 4) .. ' ' .. count) end
  end
end
if redis.call('EXISTS', KEYS[2] .. ARGV[1]) == 1 then return redis.error_reply('RUN_EXISTS') end
redis.call('SET', KEYS[1], ARGV[1], 'EX', tonumber(ARGV[5]))
redis.call('SET', KEYS[4], ARGV[1], 'EX', tonumber(ARGV[5]))
for index = 5, #KEYS do
  redis.call('SADD', KEYS[index], ARGV[1])
  redis.call('EXPIRE', KEYS[index], tonumber(ARGV[5]))
end
redis.call('HSET', KEYS[2] .. ARGV[1], 'status', 'queued', 'plan', ARGV[2], 'createdAt', ARGV[3], 'updatedAt', ARGV[3], 'activeKey', KEYS[1])
redis.call('ZADD', KEYS[3], tonumber(ARGV[4]), ARGV[1])
return {ARGV[1], 0}
`;

/** Final state + release of the scope lock only if this run still holds it. KEYS: run record. ARGV: status, now, error. */
const FINISH_RUN = `
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return 0 end
if status == 'completed' or status == 'failed' then return 0 end
redis.call('HSET', KEYS[1], 'status', ARGV[1], 'updatedAt', ARGV[2], 'finishedAt', ARGV[2])
if ARGV[3] ~= '' then redis.call('HSET', KEYS[1], 'error', ARGV[3]) end
local active = redis.call('HGET', KEYS[1], 'activeKey')
if active and redis.call('GET', active) == ARGV[4] then redis.call('DEL', active) end
return 1
`;

/** queued → running, once; later states are left alone. KEYS: run record. ARGV: now. */
const MARK_RUNNING = `
if redis.call('HGET', KEYS[1], 'status') == 'queued' then
  redis.call('HSET', KEYS[1], 'status', 'running', 'startedAt', ARGV[1], 'updatedAt', ARGV[1])
  return 1
end
return 0
`;

/** The scope lock outlives any sane run; it is released when the run ends, the TTL only guards against a lost run. */
export const ACTIVE_RUN_TTL_SECONDS = 7 * 24 * 3600;

export interface CreateRunLimits {
  /** Seconds after a run completed during which an identical request returns it; 0 or absent: none. */
  dedupeWindowSeconds?: number;
  /** Runs queued or running per source at most; absent or 0: no bound. */
  maxUnfinishedRunsPerSource?: number;
}

export class RunStore {
  readonly keys: RedisKeys;

  constructor(
    readonly redis: Redis | Cluster,
    readonly prefix: string,
  ) {
    this.keys = redisKeys(prefix);
  }

  /**
   * `existing: true` when a run for the same scope and period is still going, or (with
   * `dedupeWindowSeconds`) completed at most that many seconds ago: its id is returned. With
   * `maxUnfinishedRunsPerSource`, refuses (RUN_LIMIT_REACHED) when one of the plan's sources already has
   * that many runs queued or running.
   */
  async create(
    plan: RunPlan,
    now = new Date(),
    limits: CreateRunLimits = {},
  ): Promise<{ runId: string; existing: boolean }> {
    const runPrefix = this.keys.run("");
    const sourceIds = plan.sources.map((source) => source.id);
    const window = limits.dedupeWindowSeconds ?? 0;
    let reply: unknown;
    try {
      reply = await this.redis.eval(
        CREATE_RUN,
        4 + sourceIds.length,
        this.keys.activeRun(plan.scopeDigest),
        runPrefix,
        this.keys.runIndex,
        this.keys.recentRun(plan.scopeDigest),
        ...sourceIds.map((id) => this.keys.unfinishedRuns(id)),
        plan.runId,
        JSON.stringify(plan),
        now.toISOString(),
        String(now.getTime()),
        String(ACTIVE_RUN_TTL_SECONDS),
        window > 0 ? new Date(now.getTime() - window * 1000).toISOString() : "",
        String(limits.maxUnfinishedRunsPerSource ?? 0),
      );
    } catch (error) {
      if (error instanceof Error && error.message.includes("RUN_EXISTS")) {
        throw new KeyproofError("ARGUMENT_INVALID", `run id ${plan.runId} is already used`, {
          remediation: "omit --run-id to get a fresh id, or choose another",
        });
      }
      const limit = error instanceof Error ? /RUN_LIMIT (\d+) (\d+)/.exec(error.message) : null;
      if (limit !== null) {
        const source = sourceIds[Number(limit[1]) - 1] ?? "?";
        throw new KeyproofError(
          "RUN_LIMIT_REACHED",
          `source ${source} already has ${limit[2]} runs queued or running (queue.maxQueuedRunsPerSource)`,
          { remediation: "wait for one of them to finish, then ask again" },
        );
      }
      throw error;
    }
    const [runId, existing] = reply as [string, number];
    return { runId, existing: existing === 1 };
  }

  async get(runId: string): Promise<RunRecord | undefined> {
    const fields = await this.redis.hgetall(this.keys.run(runId));
    if (fields.plan === undefined || fields.status === undefined) return undefined;
    const status = fields.status as RunStatus;
    const record: RunRecord = {
      runId,
      status,
      state: status,
      createdAt: fields.createdAt ?? "",
      updatedAt: fields.updatedAt ?? fields.createdAt ?? "",
      plan: RunPlanSchema.parse(JSON.parse(fields.plan)),
      keyBatches: {},
      screenshotBatches: countOf(fields.screenshotBatches),
    };
    for (const [field, value] of Object.entries(fields)) {
      if (field.startsWith(KEY_BATCHES_FIELD))
        record.keyBatches[field.slice(KEY_BATCHES_FIELD.length)] = countOf(value);
      if (field.startsWith(DELIVERY_FIELD)) {
        record.delivery ??= {};
        record.delivery[field.slice(DELIVERY_FIELD.length)] = JSON.parse(value) as RunTargetDelivery;
      }
    }
    if (fields.startedAt !== undefined) record.startedAt = fields.startedAt;
    if (fields.finishedAt !== undefined) record.finishedAt = fields.finishedAt;
    if (fields.summary !== undefined) record.summary = JSON.parse(fields.summary) as RunSummary;
    if (fields.bundle !== undefined) {
      const { remote, ...bundle } = BundleLocationSchema.parse(JSON.parse(fields.bundle));
      record.bundle = remote === undefined ? bundle : { ...bundle, remote };
    }
    if (fields.error !== undefined) record.error = fields.error;
    record.state = runStateOf(status, record.summary);
    return record;
  }

  /** The plan of a run a job belongs to; a missing run is not retryable (its record was deleted). */
  async getPlan(runId: string): Promise<RunPlan> {
    const raw = await this.redis.hget(this.keys.run(runId), "plan");
    if (raw === null) {
      throw new KeyproofError("INTERNAL", `run ${runId} has no record in Redis (prefix ${this.prefix})`);
    }
    return RunPlanSchema.parse(JSON.parse(raw));
  }

  /** Newest first. `offset` + `limit` paging; `total` for the page links. */
  async list(offset: number, limit: number): Promise<{ total: number; runs: RunRecord[] }> {
    const [total, ids] = await Promise.all([
      this.redis.zcard(this.keys.runIndex),
      this.redis.zrevrange(this.keys.runIndex, offset, offset + limit - 1),
    ]);
    const runs: RunRecord[] = [];
    for (const id of ids) {
      const record = await this.get(id);
      if (record !== undefined) runs.push(record);
    }
    return { total, runs };
  }

  async markRunning(runId: string, now = new Date()): Promise<void> {
    await this.redis.eval(MARK_RUNNING, 1, this.keys.run(runId), now.toISOString());
  }

  /** How many batches a location's listing was cut into: progress then counts the batch jobs too. */
  async recordKeyBatches(runId: string, source: string, location: string, batches: number): Promise<void> {
    await this.redis.hset(
      this.keys.run(runId),
      `${KEY_BATCHES_FIELD}${keyBatchTarget(source, location)}`,
      String(batches),
    );
  }

  async recordScreenshotBatches(runId: string, batches: number): Promise<void> {
    await this.redis.hset(this.keys.run(runId), "screenshotBatches", String(batches));
  }

  async recordSummary(runId: string, summary: RunSummary, now = new Date()): Promise<void> {
    await this.redis.hset(
      this.keys.run(runId),
      "summary",
      JSON.stringify(summary),
      "updatedAt",
      now.toISOString(),
    );
  }

  async recordBundle(runId: string, bundle: BundleLocation, now = new Date()): Promise<void> {
    await this.redis.hset(
      this.keys.run(runId),
      "bundle",
      JSON.stringify(bundle),
      "status",
      "sealed",
      "updatedAt",
      now.toISOString(),
    );
  }

  /**
   * One target's delivery, in a field of its own: target jobs run concurrently and each writes only its
   * own. The run's status is left alone (a failed delivery does not fail a sealed, stored run).
   */
  async recordDelivery(runId: string, target: string, delivery: RunTargetDelivery): Promise<void> {
    await this.redis.hset(this.keys.run(runId), `${DELIVERY_FIELD}${target}`, JSON.stringify(delivery));
  }

  async complete(runId: string, now = new Date()): Promise<void> {
    await this.redis.eval(FINISH_RUN, 1, this.keys.run(runId), "completed", now.toISOString(), "", runId);
  }

  /** Marks the run failed and frees its scope, so the next identical request starts a fresh run. */
  async fail(runId: string, reason: string, now = new Date()): Promise<void> {
    await this.redis.eval(
      FINISH_RUN,
      1,
      this.keys.run(runId),
      "failed",
      now.toISOString(),
      reason.slice(0, 2000),
      runId,
    );
  }
}
