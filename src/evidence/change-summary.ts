import type {
  AdministrativeClass,
  ChangeRecord,
  ChangeSummary,
  KeyChangeHistory,
  RotationState,
} from "../model/changes.ts";
import { CHANGES_KEPT_PER_KEY } from "../model/changes.ts";
import type { UsageEvent } from "../model/usage.ts";

/** An administrative event's classification, with the rotation state it left for a rotation change. */
export interface ClassifiedChange extends AdministrativeClass {
  rotationState?: RotationState;
}

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
  readonly #locationAccessChanges: ChangeRecord[] = [];
  #locationAccessChangesOmitted = 0;
  #changeCount = 0;

  constructor(source: string, location: string, cap = CHANGES_KEPT_PER_KEY) {
    this.#source = source;
    this.#location = location;
    this.#cap = cap;
  }

  /**
   * Counts every administrative event; only successful rotation and access changes enter the lists (a
   * denied call changed nothing). A location-wide access change is kept once, not copied onto each key.
   */
  add(event: UsageEvent, change: ClassifiedChange): void {
    this.#changeCount++;
    this.#byAction.set(event.action, (this.#byAction.get(event.action) ?? 0) + 1);
    if (event.outcome !== "success" || change.kind === "other") return;
    const record: ChangeRecord = {
      time: event.time,
      action: event.action,
      principal: event.principal,
      ...(event.sourceAddress === undefined ? {} : { sourceAddress: event.sourceAddress }),
      eventId: event.eventId,
    };
    if (change.scope === "location") {
      if (change.kind === "access" && this.#insert(this.#locationAccessChanges, record))
        this.#locationAccessChangesOmitted++;
      return;
    }
    const key = event.keyId ?? event.keyReference;
    // A change that names no key cannot be put on one; changes.ndjson still has it.
    if (key === undefined) return;
    const history = this.#historyOf(key);
    if (change.kind === "rotation") {
      const state = change.rotationState ?? "unknown";
      if (state === "disabled") history.rotationDisabledCount++;
      if (state === "unknown") history.rotationUnknownCount++;
      if (this.#insert(history.rotationToggles, { ...record, rotationState: state }))
        history.rotationTogglesOmitted++;
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
      locationAccessChanges: [...this.#locationAccessChanges],
      locationAccessChangesOmitted: this.#locationAccessChangesOmitted,
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
        rotationUnknownCount: 0,
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
