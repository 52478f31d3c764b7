import type { SourceType } from "../model/key.ts";
import type { DateRange, LocationSnapshot } from "../model/snapshot.ts";
import type { UsageItem } from "../model/usage.ts";

/**
 * The one port every key source implements. Only what the core uses; no SDK types cross it.
 * A provider gathers facts and never judges them (checks do). A failed call inside a location is
 * carried on the key (`Collected` with `ok: false`) or as a gap; it is never dropped.
 */
export interface KeyProvider {
  readonly sourceId: string;
  readonly type: SourceType;
  /** Regions, vault URLs or Vault mounts-scope this source covers; collection fans out over these. */
  listLocations(): string[];
  /** Who the evidence is about (AWS account id, subscription, Vault cluster). Undefined if unknown. */
  describeAccount(): Promise<string | undefined>;
  /** Every key in the location with its configuration, rotation and access, plus the logging status. */
  collectLocation(location: string): Promise<LocationSnapshot>;
  /**
   * Usage events of one location for the range, streamed: memory must not grow with the range.
   * Unreadable parts (a corrupt log object, a failed page) come out as `gap` items and the stream goes on.
   * `method` names where events come from, for the extract header.
   */
  streamUsage(location: string, range: DateRange): { method: string; items: AsyncIterable<UsageItem> };
}

/** Injectable time source so captured-at stamps are testable. */
export type Clock = () => Date;
export const systemClock: Clock = () => new Date();
