/**
 * A tiny token bucket (in its GCRA form: one "theoretical arrival time" instead of a token count).
 * CloudTrail LookupEvents allows 2 requests per second per account and region (AWS "CloudTrail quotas");
 * with `capacity` 1 requests go out `1000 / ratePerSecond` ms apart, so no one-second window ever sees
 * more than the rate. `now` is a monotonic millisecond clock and `sleep` a timer, both injectable so
 * unit tests drive time themselves (their `sleep` advances their `now`).
 */
export interface TokenBucketOptions {
  ratePerSecond: number;
  /** Burst size; 1 (the default) means strictly spaced requests. */
  capacity?: number;
  now?: () => number;
  sleep?: (milliseconds: number) => Promise<void>;
}

export interface TokenBucket {
  /** Resolves when the caller may send one request. Callers are served in call order. */
  take(): Promise<void>;
}

export const realSleep = (milliseconds: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, milliseconds));

export function createTokenBucket(options: TokenBucketOptions): TokenBucket {
  if (!(options.ratePerSecond > 0)) throw new RangeError("ratePerSecond must be positive");
  const capacity = Math.max(1, options.capacity ?? 1);
  const intervalMs = 1000 / options.ratePerSecond;
  const now = options.now ?? (() => performance.now());
  const sleep = options.sleep ?? realSleep;
  /** When the next request would be due if requests went out exactly at the rate. */
  let theoreticalArrival = Number.NEGATIVE_INFINITY;
  let queue: Promise<void> = Promise.resolve();

  async function takeInOrder(): Promise<void> {
    const current = now();
    const earliest = theoreticalArrival - (capacity - 1) * intervalMs;
    let sentAt = current;
    if (current < earliest) {
      await sleep(earliest - current);
      // The injected clock may not have moved (a frozen test clock): the request is sent at `earliest`.
      sentAt = Math.max(now(), earliest);
    }
    theoreticalArrival = Math.max(sentAt, theoreticalArrival) + intervalMs;
  }

  return {
    take() {
      const turn = queue.then(takeInOrder);
      queue = turn.catch(() => undefined);
      return turn;
    },
  };
}
