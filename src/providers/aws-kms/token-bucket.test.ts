import { describe, expect, it } from "vitest";
import { createTokenBucket } from "./token-bucket.ts";

/** A clock that moves only when the bucket sleeps. */
function fakeTime() {
  let now = 1_000;
  const sleeps: number[] = [];
  return {
    now: () => now,
    sleep: async (milliseconds: number) => {
      sleeps.push(milliseconds);
      now += milliseconds;
    },
    advance: (milliseconds: number) => {
      now += milliseconds;
    },
    sleeps,
  };
}

describe("createTokenBucket", () => {
  it("lets the first request through at once and spaces the next ones 1/rate apart", async () => {
    const time = fakeTime();
    const bucket = createTokenBucket({ ratePerSecond: 2, now: time.now, sleep: time.sleep });
    const sentAt: number[] = [];
    for (let index = 0; index < 4; index += 1) {
      await bucket.take();
      sentAt.push(time.now());
    }
    expect(sentAt).toEqual([1_000, 1_500, 2_000, 2_500]);
    expect(time.sleeps).toEqual([500, 500, 500]);
  });

  it("does not wait when the caller was slower than the rate", async () => {
    const time = fakeTime();
    const bucket = createTokenBucket({ ratePerSecond: 2, now: time.now, sleep: time.sleep });
    await bucket.take();
    time.advance(800);
    await bucket.take();
    expect(time.sleeps).toEqual([]);
  });

  it("serves concurrent callers in order, never more than the rate", async () => {
    const time = fakeTime();
    const bucket = createTokenBucket({ ratePerSecond: 2, now: time.now, sleep: time.sleep });
    const sentAt: number[] = [];
    await Promise.all(Array.from({ length: 5 }, () => bucket.take().then(() => sentAt.push(time.now()))));
    expect(sentAt).toEqual([1_000, 1_500, 2_000, 2_500, 3_000]);
  });

  it("allows a burst of `capacity` and then the rate", async () => {
    const time = fakeTime();
    const bucket = createTokenBucket({ ratePerSecond: 2, capacity: 2, now: time.now, sleep: time.sleep });
    const sentAt: number[] = [];
    for (let index = 0; index < 4; index += 1) {
      await bucket.take();
      sentAt.push(time.now());
    }
    expect(sentAt).toEqual([1_000, 1_000, 1_500, 2_000]);
  });

  it("keeps spacing even with a frozen clock (the wait is counted as elapsed)", async () => {
    const sleeps: number[] = [];
    const bucket = createTokenBucket({
      ratePerSecond: 2,
      now: () => 0,
      sleep: async (milliseconds) => void sleeps.push(milliseconds),
    });
    for (let index = 0; index < 3; index += 1) await bucket.take();
    expect(sleeps).toEqual([500, 1_000]);
  });

  it("refuses a rate that is not positive", () => {
    expect(() => createTokenBucket({ ratePerSecond: 0 })).toThrow(RangeError);
  });
});
