import type { ChangeKind, ChangeRecord, ChangeSummary, KeyChangeHistory } from "../model/changes.ts";
import { CHANGES_KEPT_PER_KEY, ROTATION_TOGGLES } from "../model/changes.ts";
import type { UsageEvent } from "../model/usage.ts";

/**
 * Builds a location's `ChangeSummary` while its events stream past. Memory is bounded by keys × the cap:
 * each list keeps the earliest `cap` changes in time order (the log is read object by object, so events
 * can arrive out of order) and counts the rest.
 */
export class ChangeSummaryBuilder {
  readonly #source: string;
  readonly #location: string;
  readonly #cap: number;
  readonly #keys = new Map<string, KeyChangeHistory>();
  readonly #byAction = new Map<string, number>();
  #changeCount = 0;

  constructor(source: string, location: string, cap = CHANGES_KEPT_PER_KEY) {
    this.#source = source;
    this.#location = location;
    this.#cap = cap;
  }

  /** Counts every administrative event; only successful rotation and access changes enter the key lists (a denied call changed nothing). */
  add(event: UsageEvent, kind: ChangeKind): void {
    this.#changeCount++;
    this.#byAction.set(event.action, (this.#byAction.get(event.action) ?? 0) + 1);
    if (event.outcome !== "success" || kind === "other") return;
    const key = event.keyId ?? event.keyReference;
    // A change that names no key cannot be put on one; changes.ndjson still has it.
    if (key === undefined) return;
    const history = this.#historyOf(key);
    const record: ChangeRecord = {
      time: event.time,
      action: event.action,
      principal: event.principal,
      ...(event.sourceAddress === undefined ? {} : { sourceAddress: event.sourceAddress }),
      eventId: event.eventId,
    };
    if (kind === "rotation") {
      if (ROTATION_TOGGLES[event.action] === "disabled") history.rotationDisabledCount++;
      if (this.#insert(history.rotationToggles, record)) history.rotationTogglesOmitted++;
    } else if (this.#insert(history.accessChanges, record)) {
      history.accessChangesOmitted++;
    }
  }

  build(): ChangeSummary {
    const byAction: Record<string, number> = {};
    for (const action of [...this.#byAction.keys()].sort())
      byAction[action] = this.#byAction.get(action) ?? 0;
    return {
      source: this.#source,
      location: this.#location,
      changeCount: this.#changeCount,
      byAction,
      keys: [...this.#keys.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)),
    };
  }

  #historyOf(key: string): KeyChangeHistory {
    let history = this.#keys.get(key);
    if (history === undefined) {
      history = {
        key,
        rotationToggles: [],
        rotationTogglesOmitted: 0,
        rotationDisabledCount: 0,
        accessChanges: [],
        accessChangesOmitted: 0,
      };
      this.#keys.set(key, history);
    }
    return history;
  }

  /** Inserts in time order; answers true when a record had to be dropped (the list is full). */
  #insert(list: ChangeRecord[], record: ChangeRecord): boolean {
    let index = list.length;
    while (index > 0 && (list[index - 1]?.time ?? "") > record.time) index--;
    if (index >= this.#cap) return true;
    list.splice(index, 0, record);
    if (list.length > this.#cap) {
      list.pop();
      return true;
    }
    return false;
  }
}
