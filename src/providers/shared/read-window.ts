import type { ReadWindow } from "../../model/key.ts";

/**
 * The read window of a key record: the earliest and latest `capturedAt` among the calls behind it. Every
 * provider calls this once it has built the record's facts, so `KeyRecord.readWindow` means the same for
 * all three. A stamp that is not a time is passed over; with none left, `fallback` is both ends.
 */
export function readWindowOf(
  stamps: Iterable<{ capturedAt: string } | undefined>,
  fallback: string,
): ReadWindow {
  let first: number | undefined;
  let last: number | undefined;
  for (const stamp of stamps) {
    if (stamp === undefined) continue;
    const time = Date.parse(stamp.capturedAt);
    if (Number.isNaN(time)) continue;
    if (first === undefined || time < first) first = time;
    if (last === undefined || time > last) last = time;
  }
  if (first === undefined || last === undefined) return { first: fallback, last: fallback };
  return { first: new Date(first).toISOString(), last: new Date(last).toISOString() };
}
