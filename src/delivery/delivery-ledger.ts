import { randomUUID } from "node:crypto";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import type { Cluster, Redis } from "ioredis";
import type { DeliveryOutcome } from "./delivery-target.ts";

/**
 * The "never twice" record of a (run, target): one entry per artifact path (and `(finish)`), moved
 * `sending` → `delivered` | `skipped` | `failed` by compare-and-set only, so two workers that both believe
 * they own a delivery (a stalled job handed over while the first still runs) cannot both send: the second
 * compare-and-set fails and it re-reads. `sending` is written before the platform is called; an entry
 * still `sending` later means a worker died mid-send and the upload may have happened.
 *
 * Entries hold outcomes (paths, digests, remote ids, statuses, reasons), never a credential.
 */

export interface LedgerEntry {
  state: "sending" | "delivered" | "skipped" | "failed";
  /** UTC ISO-8601 of the send attempt (state `sending`). */
  attemptAt?: string;
  /** The recorded outcome (every state but `sending`). */
  outcome?: DeliveryOutcome;
  /** A failure the next attempt may retry (429, 5xx, network). */
  retryable?: boolean;
  /**
   * The failure is not known to be one: a send was cut off (the worker died) and the target cannot look
   * the upload up. Never resent unless asked by path (`keyproof deliver --resend <path>`).
   */
  unconfirmed?: boolean;
}

export interface LedgerSlot {
  /** The stored text, the value a compare-and-set must match. */
  raw: string;
  entry: LedgerEntry;
}

export interface DeliveryLedger {
  /** Every entry of (run, target) by path. */
  read(runId: string, target: string): Promise<Map<string, LedgerSlot>>;
  /**
   * Writes `next` only if the entry still is `expected` (undefined: absent). False when another writer
   * got there first; the caller re-reads and decides again.
   */
  compareAndSet(
    runId: string,
    target: string,
    artifactPath: string,
    expected: string | undefined,
    next: LedgerEntry,
  ): Promise<LedgerSlot | undefined>;
}

/** Ledger entries outlive any retry and re-delivery window of a run (BullMQ keeps failed jobs 30 days). */
export const LEDGER_TTL_SECONDS = 400 * 24 * 3600;

function parseSlot(raw: string): LedgerSlot | undefined {
  try {
    const entry = JSON.parse(raw) as LedgerEntry;
    return typeof entry.state === "string" ? { raw, entry } : undefined;
  } catch {
    return undefined;
  }
}

/** KEYS: ledger hash. ARGV: field, expected ('' = absent), next, ttl seconds. 1 when written. */
const COMPARE_AND_SET = `
local current = redis.call('HGET', KEYS[1], ARGV[1])
if (current or '') ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[4]))
return 1
`;

/** `<prefix>:kp:delivery:<run>:<target>`, the same namespace as the run records (redis-keys.ts). */
export function deliveryLedgerKey(prefix: string, runId: string, target: string): string {
  return `${prefix}:kp:delivery:${runId}:${target}`;
}

export class RedisDeliveryLedger implements DeliveryLedger {
  constructor(
    readonly redis: Redis | Cluster,
    readonly prefix: string,
  ) {}

  async read(runId: string, target: string): Promise<Map<string, LedgerSlot>> {
    const fields = await this.redis.hgetall(deliveryLedgerKey(this.prefix, runId, target));
    const slots = new Map<string, LedgerSlot>();
    for (const [field, raw] of Object.entries(fields)) {
      const slot = parseSlot(raw);
      if (slot !== undefined) slots.set(field, slot);
    }
    return slots;
  }

  async compareAndSet(
    runId: string,
    target: string,
    artifactPath: string,
    expected: string | undefined,
    next: LedgerEntry,
  ): Promise<LedgerSlot | undefined> {
    const raw = JSON.stringify(next);
    const written = await this.redis.eval(
      COMPARE_AND_SET,
      1,
      deliveryLedgerKey(this.prefix, runId, target),
      artifactPath,
      expected ?? "",
      raw,
      String(LEDGER_TTL_SECONDS),
    );
    return written === 1 ? { raw, entry: next } : undefined;
  }
}

/**
 * The ledger of a run delivered without Redis (`keyproof run --inline` with no Redis configured): a JSON
 * file beside the bundle, `<bundle>.delivery-ledger.json`. One process at a time delivers a local run, so
 * compare-and-set within the process is enough; the file is replaced by rename, never half-written.
 */
export class FileDeliveryLedger implements DeliveryLedger {
  #queue: Promise<unknown> = Promise.resolve();

  constructor(readonly file: string) {}

  static besideBundle(bundleDirectory: string): FileDeliveryLedger {
    return new FileDeliveryLedger(`${bundleDirectory}.delivery-ledger.json`);
  }

  async #load(): Promise<Record<string, Record<string, string>>> {
    try {
      return JSON.parse(await readFile(this.file, "utf8")) as Record<string, Record<string, string>>;
    } catch {
      return {};
    }
  }

  async read(runId: string, target: string): Promise<Map<string, LedgerSlot>> {
    const all = await this.#load();
    const slots = new Map<string, LedgerSlot>();
    for (const [field, raw] of Object.entries(all[`${runId}:${target}`] ?? {})) {
      const slot = parseSlot(raw);
      if (slot !== undefined) slots.set(field, slot);
    }
    return slots;
  }

  compareAndSet(
    runId: string,
    target: string,
    artifactPath: string,
    expected: string | undefined,
    next: LedgerEntry,
  ): Promise<LedgerSlot | undefined> {
    // Serialized: the read-compare-write of one call must not interleave with another's.
    const result = this.#queue.then(async () => {
      const all = await this.#load();
      const fields = (all[`${runId}:${target}`] ??= {});
      if (fields[artifactPath] !== expected) return undefined;
      const raw = JSON.stringify(next);
      fields[artifactPath] = raw;
      await mkdir(path.dirname(this.file), { recursive: true });
      const temporary = `${this.file}.${randomUUID()}.tmp`;
      await writeFile(temporary, `${JSON.stringify(all, null, 2)}\n`);
      await rename(temporary, this.file);
      return { raw, entry: next };
    });
    this.#queue = result.catch(() => undefined);
    return result;
  }
}
