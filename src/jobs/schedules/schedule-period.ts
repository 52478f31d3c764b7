import type { DateRange } from "../../model/snapshot.ts";
import { parsePeriod } from "../../time/date-range.ts";
import type { SchedulePeriod } from "../queue/queue-settings.ts";

/** The calendar date (year, month 1-12) of an instant as seen in a time zone. */
export function calendarDateIn(instant: Date, timeZone: string): { year: number; month: number } {
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone,
    year: "numeric",
    month: "numeric",
  }).formatToParts(instant);
  const year = Number(parts.find((part) => part.type === "year")?.value);
  const month = Number(parts.find((part) => part.type === "month")?.value);
  return { year, month };
}

/**
 * The period a scheduled run covers: the quarter, month or year before the one the tick falls in, in the
 * schedule's time zone (a 00:30 Berlin tick on 1 April covers Q1 even though it is still 31 March in UTC).
 * Ranges themselves are whole UTC days, like every keyproof range.
 */
export function rangeForSchedule(period: SchedulePeriod, tick: Date, timeZone: string): DateRange {
  const { year, month } = calendarDateIn(tick, timeZone);
  switch (period) {
    case "previous-quarter": {
      const quarter = Math.floor((month - 1) / 3) + 1;
      return quarter === 1 ? parsePeriod(`${year - 1}-Q4`) : parsePeriod(`${year}-Q${quarter - 1}`);
    }
    case "previous-month":
      return month === 1
        ? parsePeriod(`${year - 1}-12`)
        : parsePeriod(`${year}-${String(month - 1).padStart(2, "0")}`);
    case "previous-year":
      return parsePeriod(`${year - 1}`);
    default: {
      const unknownPeriod: never = period;
      throw new Error(`unknown schedule period ${String(unknownPeriod)}`);
    }
  }
}
