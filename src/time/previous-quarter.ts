import type { DateRange } from "../model/snapshot.ts";
import { parsePeriod } from "./date-range.ts";

/** The last complete calendar quarter before `now` (UTC): what a quarterly evidence run covers. */
export function previousQuarter(now: Date): DateRange {
  const quarterIndex = Math.floor(now.getUTCMonth() / 3);
  const year = quarterIndex === 0 ? now.getUTCFullYear() - 1 : now.getUTCFullYear();
  const previous = quarterIndex === 0 ? 4 : quarterIndex;
  return parsePeriod(`${year}-Q${previous}`);
}
