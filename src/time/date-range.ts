import { isValid, parseISO } from "date-fns";
import { KeyproofError } from "../errors/errors.ts";
import type { DateRange } from "../model/snapshot.ts";

/** UTC midnight of a `YYYY-MM-DD` string; rejects impossible dates like 2026-02-30. */
function parseDay(value: string, field: string): Date {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value)) {
    throw new KeyproofError("ARGUMENT_INVALID", `${field}: "${value}" is not a date (YYYY-MM-DD)`);
  }
  const date = parseISO(`${value}T00:00:00Z`);
  if (!isValid(date) || date.toISOString().slice(0, 10) !== value) {
    throw new KeyproofError("ARGUMENT_INVALID", `${field}: "${value}" is not a calendar date`);
  }
  return date;
}

const DAY_MS = 86_400_000;

/** UTC-safe: date-fns' addDays works in local time, which shifts across DST in a non-UTC TZ. */
export function addDays(date: Date, days: number): Date {
  return new Date(date.getTime() + days * DAY_MS);
}

function dayString(date: Date): string {
  return date.toISOString().slice(0, 10);
}

function build(start: Date, endExclusive: Date, label: string): DateRange {
  return {
    from: start.toISOString(),
    toExclusive: endExclusive.toISOString(),
    to: dayString(addDays(endExclusive, -1)),
    label,
  };
}

/**
 * `--period` values: a quarter `2026-Q3`, a month `2026-09`, or a year `2026`. All UTC.
 * Boundaries are computed with Date.UTC, never in local time.
 */
export function parsePeriod(period: string): DateRange {
  const quarter = /^(\d{4})-Q([1-4])$/i.exec(period);
  if (quarter) {
    const year = Number(quarter[1]);
    const index = Number(quarter[2]) - 1;
    return build(new Date(Date.UTC(year, index * 3, 1)), new Date(Date.UTC(year, index * 3 + 3, 1)), `${year}-Q${index + 1}`);
  }
  const month = /^(\d{4})-(\d{2})$/.exec(period);
  if (month) {
    const year = Number(month[1]);
    const monthIndex = Number(month[2]) - 1;
    if (monthIndex < 0 || monthIndex > 11) {
      throw new KeyproofError("ARGUMENT_INVALID", `--period: "${period}" has no month ${month[2]}`);
    }
    return build(new Date(Date.UTC(year, monthIndex, 1)), new Date(Date.UTC(year, monthIndex + 1, 1)), period);
  }
  const year = /^(\d{4})$/.exec(period);
  if (year) {
    const value = Number(year[1]);
    return build(new Date(Date.UTC(value, 0, 1)), new Date(Date.UTC(value + 1, 0, 1)), period);
  }
  throw new KeyproofError(
    "ARGUMENT_INVALID",
    `--period: "${period}" is not a quarter (2026-Q3), a month (2026-09) or a year (2026)`,
  );
}

/** `--from`/`--to`: inclusive UTC days. */
export function parseRange(from: string, to: string): DateRange {
  const start = parseDay(from, "--from");
  const end = parseDay(to, "--to");
  if (end < start) {
    throw new KeyproofError("ARGUMENT_INVALID", `--to (${to}) is before --from (${from})`);
  }
  return build(start, addDays(end, 1), `${from}..${to}`);
}

export function isInRange(instant: string, range: DateRange): boolean {
  return instant >= range.from && instant < range.toExclusive;
}

/** Every UTC day touched by the range, plus `extraDays` after it (late log delivery). */
export function daysOf(range: DateRange, extraDays = 0): string[] {
  const days: string[] = [];
  const end = addDays(parseISO(range.toExclusive), extraDays);
  for (let day = parseISO(range.from); day < end; day = addDays(day, 1)) days.push(dayString(day));
  return days;
}

/**
 * Years keyproof accepts in a period or date. Evidence before the Unix epoch cannot exist in any source, and
 * four-digit years like `0099` would otherwise be read by Date.UTC as 1999 (years 0-99 map to 1900-1999),
 * while `9999-12-31` would end a range at `+010000-01-01`, an instant no event string compares below.
 */
export const SUPPORTED_YEARS = { first: 1970, last: 2100 } as const;

/** Longest range a run or API request may cover unless `policy.maxRangeDays` says otherwise. */
export const MAX_RANGE_DAYS_DEFAULT = 400;

/** Refuses a year outside `SUPPORTED_YEARS`, naming the field (`--period`, `from`, ...) and the year. */
export function assertSupportedYear(year: number, field: string): void {
  if (!Number.isInteger(year) || year < SUPPORTED_YEARS.first || year > SUPPORTED_YEARS.last) {
    throw new KeyproofError(
      "ARGUMENT_INVALID",
      `${field}: year ${year} is outside ${SUPPORTED_YEARS.first}-${SUPPORTED_YEARS.last}`,
    );
  }
}

/** Whole UTC days a range covers (a quarter is 90-92, a leap year 366). */
export function rangeDays(range: Pick<DateRange, "from" | "toExclusive">): number {
  return Math.round((Date.parse(range.toExclusive) - Date.parse(range.from)) / DAY_MS);
}

/** Refuses a range longer than `maxDays`, naming the field and the limit. */
export function assertRangeWithin(range: DateRange, maxDays: number, field: string): void {
  const days = rangeDays(range);
  if (days > maxDays) {
    throw new KeyproofError(
      "ARGUMENT_INVALID",
      `${field}: the range covers ${days} days; at most ${maxDays} are allowed (policy.maxRangeDays)`,
    );
  }
}

/**
 * `policy.maxRangeDays` when the config sets it, else `MAX_RANGE_DAYS_DEFAULT`. Read through `object` so it
 * works whether or not the policy schema declares the field yet.
 */
export function maxRangeDaysOf(policy: object): number {
  const value = (policy as { maxRangeDays?: unknown }).maxRangeDays;
  return typeof value === "number" ? value : MAX_RANGE_DAYS_DEFAULT;
}
