import { setTimeout as sleepFor } from "node:timers/promises";
import type { DeliveryTargetConfig } from "../config/deliver.schema.ts";
import { describeError } from "../errors/errors.ts";
import type { BundleStore } from "../storage/bundle-store.ts";
import { createDeliveryTarget } from "./create-target.ts";
import {
  deliverToTarget,
  deliveryRunSummaryOf,
  finalState,
  type SealedRun,
  type TargetDelivery,
} from "./deliver-run.ts";
import type { DeliveryLedger } from "./delivery-ledger.ts";
import {
  deliveryRecordOf,
  readRunDeliveries,
  writeDeliveryRecord,
  type WrittenDeliveryRecord,
} from "./delivery-record.ts";
import type { DeliveryRunSummary } from "./delivery-target.ts";

/**
 * In-process delivery of a sealed run to its targets, one after another: `keyproof run --inline` after
 * sealing, and `keyproof deliver`. The retry rules are the queue's (retryable: 429 and 5xx and network;
 * never another 4xx), with bounded attempts and waits, since a CLI process should not sleep for an hour.
 */

export interface InlineRetryPolicy {
  /** Attempts per target, the first included. Default 4. */
  attempts: number;
  /** First backoff in ms, doubled per attempt. Default 1 000. */
  baseDelayMs: number;
  /**
   * Longest Retry-After honoured in process, in ms. Default 60 000. A platform asking for longer is not
   * waited for: the target is recorded failed and `keyproof deliver` sends the rest later.
   */
  maxRetryAfterMs: number;
}

export const INLINE_RETRY_POLICY: InlineRetryPolicy = {
  attempts: 4,
  baseDelayMs: 1000,
  maxRetryAfterMs: 60_000,
};

export interface DeliverSealedRunInput {
  sealed: SealedRun;
  /** Every configured target (delivery.json lists them all); `only` narrows what is sent now. */
  targets: readonly DeliveryTargetConfig[];
  only?: readonly string[];
  scope: string;
  ledger: DeliveryLedger;
  stores: readonly BundleStore[];
  env?: NodeJS.ProcessEnv;
  resend?: readonly string[];
  retryFailed?: boolean;
  schedule?: DeliveryRunSummary["schedule"];
  policy?: Partial<InlineRetryPolicy>;
  /** Injectable for tests that assert the waits without waiting them. */
  sleep?: (ms: number) => Promise<void>;
  now?: () => Date;
}

export interface SealedRunDelivery {
  deliveries: TargetDelivery[];
  record: WrittenDeliveryRecord;
}

export async function deliverSealedRun(input: DeliverSealedRunInput): Promise<SealedRunDelivery> {
  const policy = { ...INLINE_RETRY_POLICY, ...input.policy };
  const sleep = input.sleep ?? ((ms: number) => sleepFor(ms).then(() => undefined));
  const now = input.now ?? (() => new Date());
  const run = deliveryRunSummaryOf(input.sealed, input.scope, input.schedule);
  const chosen = input.targets.filter(
    (config) => input.only === undefined || input.only.includes(config.name),
  );
  const broken = new Map<string, TargetDelivery>();

  for (const config of chosen) {
    for (let attempt = 1; attempt <= policy.attempts; attempt += 1) {
      try {
        await deliverToTarget({
          target: createDeliveryTarget(config, input.env ?? process.env),
          run,
          sealed: input.sealed,
          ledger: input.ledger,
          ...(input.resend === undefined ? {} : { resend: input.resend }),
          // Only the first attempt re-sends earlier permanent failures; a later one would repeat this one's.
          retryFailed: input.retryFailed === true && attempt === 1,
          now,
        });
        break;
      } catch (error) {
        if (error instanceof Error && error.name === "DeliveryRetryError") {
          const retryAfterMs = (error as { retryAfterMs?: number }).retryAfterMs;
          if (attempt === policy.attempts) break;
          if (retryAfterMs !== undefined && retryAfterMs > policy.maxRetryAfterMs) break;
          await sleep(Math.max(policy.baseDelayMs * 2 ** (attempt - 1), retryAfterMs ?? 0));
          continue;
        }
        // Not a platform answer (the ledger's store is down, a bug): the target fails, the others go on.
        broken.set(config.name, {
          target: config.name,
          type: config.type,
          state: "failed",
          outcomes: [
            {
              target: config.name,
              type: config.type,
              path: "(target)",
              state: "failed",
              time: now().toISOString(),
              sha256: "",
              reason: describeError(error),
            },
          ],
        });
        break;
      }
    }
  }

  const all = (await readRunDeliveries(input.ledger, input.sealed, input.targets)).map(
    (delivery) => broken.get(delivery.target) ?? delivery,
  );
  // The attempts are over: what is still retrying has failed; targets not sent now keep their state.
  const settled = all.map((delivery) =>
    chosen.some((config) => config.name === delivery.target) ? finalState(delivery) : delivery,
  );
  const record = await writeDeliveryRecord({
    sealed: input.sealed,
    record: deliveryRecordOf(input.sealed, settled, now()),
    stores: input.stores,
  });
  return {
    deliveries: settled.filter((delivery) => chosen.some((config) => config.name === delivery.target)),
    record,
  };
}
