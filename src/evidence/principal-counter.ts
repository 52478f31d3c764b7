import type { PrincipalCounting } from "../model/usage.ts";

/**
 * Events per principal in bounded memory. Real trails name assumed-role sessions
 * (`assumed-role/<role>/<session>`), so distinct principals grow almost with the events, and a plain map
 * made the extract's memory grow with the archive (issue 16: 458 MiB at 1M records).
 *
 * Up to `capacity` distinct principals every count is exact. Past it, the counter becomes a Space-Saving
 * sketch (Metwally, Agrawal, El Abbadi, "Efficient computation of frequent and top-k elements in data
 * streams", 2005): a new principal takes the place of one with the smallest count and inherits that count
 * as its possible overcount (`error`). Two facts then hold and are what the summary states:
 * - each kept principal's true count lies in [count − error, count]; the summary lists `count − error`,
 *   a number of events that principal certainly made;
 * - a principal not kept made at most `minimum` events (the smallest kept count), and every principal
 *   with more than eventCount / capacity events is kept.
 * Updates are O(1): principals are grouped by count, and counts only ever grow by one.
 */

/** Distinct principals counted exactly per location before the sketch takes over. */
export const PRINCIPALS_COUNTED_EXACTLY = 10_000;

interface Counter {
  count: number;
  error: number;
}

export class PrincipalCounter {
  readonly #capacity: number;
  readonly #counters = new Map<string, Counter>();
  /** Principals by their current count; the smallest count is `#minimum`. */
  readonly #byCount = new Map<number, Set<string>>();
  #minimum = 0;
  /**
   * Where eviction goes on in the smallest group. `set.values().next()` from a fresh iterator walks past
   * every entry deleted from the front since the set's last rehash, so evicting that way cost O(evictions)
   * each (issue 16's profile: 2 µs an event); a kept iterator resumes where the last eviction left off.
   * Sets iterate live in insertion order, so it yields the same principal a fresh one would.
   */
  #cursor: { group: Set<string>; values: IterableIterator<string> } | undefined;
  #evictions = 0;
  #events = 0;

  constructor(capacity = PRINCIPALS_COUNTED_EXACTLY) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError("capacity must be a positive integer");
    this.#capacity = capacity;
  }

  add(principal: string): void {
    this.#events++;
    const counter = this.#counters.get(principal);
    if (counter !== undefined) {
      this.#move(principal, counter.count, counter.count + 1);
      counter.count++;
      return;
    }
    if (this.#counters.size < this.#capacity) {
      this.#counters.set(principal, { count: 1, error: 0 });
      this.#place(principal, 1);
      this.#minimum = 1;
      return;
    }
    // Full: replace one principal with the smallest count; the newcomer may have made that many before.
    const smallest = this.#byCount.get(this.#minimum);
    const evicted = smallest === undefined ? undefined : this.#firstOf(smallest);
    if (smallest === undefined || evicted === undefined) throw new Error("principal counter out of step");
    smallest.delete(evicted);
    if (smallest.size === 0) this.#byCount.delete(this.#minimum);
    this.#counters.delete(evicted);
    this.#evictions++;
    const count = this.#minimum + 1;
    this.#counters.set(principal, { count, error: this.#minimum });
    this.#place(principal, count);
    if (!this.#byCount.has(this.#minimum)) this.#minimum = count;
  }

  /** `byPrincipal` (sorted by name) and the statement of how exact it is. */
  build(): { byPrincipal: Record<string, number>; principalCounting: PrincipalCounting } {
    const byPrincipal: Record<string, number> = {};
    let itemized = 0;
    for (const principal of [...this.#counters.keys()].sort()) {
      const counter = this.#counters.get(principal) as Counter;
      const certain = counter.count - counter.error;
      if (certain <= 0) continue;
      byPrincipal[principal] = certain;
      itemized += certain;
    }
    if (this.#evictions === 0) {
      return { byPrincipal, principalCounting: { method: "exact", capacity: this.#capacity } };
    }
    return {
      byPrincipal,
      principalCounting: {
        method: "space-saving",
        capacity: this.#capacity,
        eventsNotItemized: this.#events - itemized,
        maxUndercount: this.#minimum,
        note:
          `More than ${this.#capacity} distinct principals: each listed count is a number of events the principal ` +
          `certainly made, short of its true count by at most ${this.#minimum}; a principal not listed made at most ` +
          `${this.#minimum} events; ${this.#events - itemized} events are not attributed to a listed principal. ` +
          `usage-events.ndjson has every event with its principal.`,
      },
    };
  }

  /** The group's first principal in insertion order (all before it were evicted through the cursor). */
  #firstOf(group: Set<string>): string | undefined {
    if (this.#cursor?.group === group) {
      const next = this.#cursor.values.next();
      if (next.done !== true) return next.value;
    }
    // A new smallest group, or an exhausted iterator (it stays done even if the set grows again).
    const values = group.values();
    this.#cursor = { group, values };
    const first = values.next();
    return first.done === true ? undefined : first.value;
  }

  #place(principal: string, count: number): void {
    let group = this.#byCount.get(count);
    if (group === undefined) {
      group = new Set();
      this.#byCount.set(count, group);
    }
    group.add(principal);
  }

  #move(principal: string, from: number, to: number): void {
    const group = this.#byCount.get(from);
    group?.delete(principal);
    if (group !== undefined && group.size === 0) {
      this.#byCount.delete(from);
      if (this.#minimum === from) this.#minimum = to;
    }
    this.#place(principal, to);
  }
}
