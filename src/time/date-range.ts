import { KeyproofError, isKeyproofError } from "../errors/errors.ts";
import type { DateRange } from "../model/snapshot.ts";
import { MAX_YEAR, MIN_YEAR } from "./date-limits.ts";

/**
 * Date rules for every range keyproof collects (CLI `--period`/`--from`/`--to`, API requests, schedules).
 *
 * Years are bounded to {@link MIN_YEAR}..{@link MAX_YEAR}: a four-digit year like `0099` is legal ISO-8601
 * but `Date.UTC(99, …)` reads it as 1999, and `9999-12-31` ends at `+010000-01-01`, an ISO string that
 * sorts before every real timestamp so every event was silently out of range. No evidence period of a
 * key-management procedure lies outside 1970–2100, so those are refused by name instead.
 */
export { DEFAULT_MAX_RANGE_DAYS, MAX_YEAR, MIN_YEAR } from "./date-limits.ts";

const DAY_MS = 86_400_000;

/**
 * A date argument that is wrong. `field` is the argument as the caller spells it (`--from` on the CLI,
 * `from` in the API, `range`); `reason` the message without it, quoting the value given (the CLI user typed
 * it, and sees which of their arguments is meant); `rule` the same without any submitted value, for answers
 * that must never read the request back (the API). Code ARGUMENT_INVALID: exit 2 on the CLI.
 */
export class DateRangeError extends KeyproofError {
  readonly field: string;
  readonly reason: string;
  readonly rule: string;
  constructor(
    field: string,
    message: { reason: string; rule: string },
    options: { remediation?: string } = {},
  ) {
    super("ARGUMENT_INVALID", `${field}: ${message.reason}`, options);
    this.field = field;
    this.reason = message.reason;
    this.rule = message.rule;
  }
}

/** By shape, not `instanceof` alone (errors cross process boundaries): a KeyproofError with field, reason and rule. */
export function isDateRangeError(error: unknown): error is DateRangeError {
  return (
    isKeyproofError(error) &&
    typeof (error as { field?: unknown }).field === "string" &&
    typeof (error as { reason?: unknown }).reason === "string" &&
    typeof (error as { rule?: unknown }).rule === "string"
  );
}

/** Field names used in messages; the CLI defaults, the API passes its JSON field names. */
export interface RangeFieldNames {
  from: string;
  to: string;
}
export const CLI_RANGE_FIELDS: RangeFieldNames = { from: "--from", to: "--to" };
export const API_RANGE_FIELDS: RangeFieldNames = { from: "from", to: "to" };

/** Throws unless MIN_YEAR <= year <= MAX_YEAR; `value` is what the user wrote, quoted in the reason (not the rule). */
export function assertYearSupported(year: number, field: string, value: string): void {
  if (!Number.isInteger(year) || year < MIN_YEAR || year > MAX_YEAR) {
    const rule = `is outside the supported years ${MIN_YEAR}-${MAX_YEAR}`;
    throw new DateRangeError(field, {
      reason: `"${value}": year ${String(year).padStart(4, "0")} ${rule}`,
      rule: `the year ${rule}`,
    });
  }
}

/**
 * UTC midnight of year/month/day. `setUTCFullYear` rather than `Date.UTC`, which maps years 0-99 to
 * 1900-1999; month and day may run over (month 12 = January of the next year), as with Date.UTC.
 */
function utcMidnight(year: number, monthIndex: number, day: number): Date {
  const date = new Date(0);
  date.setUTCFullYear(year, monthIndex, day);
  return date;
}

/** UTC midnight of a `YYYY-MM-DD` string; rejects impossible dates like 2026-02-30 and unsupported years. */
function parseDay(value: string, field: string): Date {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (match === null) {
    throw new DateRangeError(field, {
      reason: `"${value}" is not a date (YYYY-MM-DD)`,
      rule: "is not a date (YYYY-MM-DD)",
    });
  }
  const year = Number(match[1]);
  assertYearSupported(year, field, value);
  const date = utcMidnight(year, Number(match[2]) - 1, Number(match[3]));
  if (dayString(date) !== value) {
    throw new DateRangeError(field, {
      reason: `"${value}" is not a calendar date`,
      rule: "is not a calendar date (no such day in that month)",
    });
  }
  return date;
}

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
 * `field` names the argument in errors (`--period` on the CLI, `period` in the API).
 */
export function parsePeriod(period: string, field = "--period"): DateRange {
  const quarter = /^(\d{4})-Q([1-4])$/i.exec(period);
  if (quarter) {
    const year = Number(quarter[1]);
    assertYearSupported(year, field, period);
    const index = Number(quarter[2]) - 1;
    return build(
      utcMidnight(year, index * 3, 1),
      utcMidnight(year, index * 3 + 3, 1),
      `${year}-Q${index + 1}`,
    );
  }
  const month = /^(\d{4})-(\d{2})$/.exec(period);
  if (month) {
    const year = Number(month[1]);
    assertYearSupported(year, field, period);
    const monthIndex = Number(month[2]) - 1;
    if (monthIndex < 0 || monthIndex > 11) {
      throw new DateRangeError(field, {
        reason: `"${period}" has no month ${month[2]}`,
        rule: "names a month that does not exist (months are 01-12)",
      });
    }
    return build(utcMidnight(year, monthIndex, 1), utcMidnight(year, monthIndex + 1, 1), period);
  }
  const year = /^(\d{4})$/.exec(period);
  if (year) {
    const value = Number(year[1]);
    assertYearSupported(value, field, period);
    return build(utcMidnight(value, 0, 1), utcMidnight(value + 1, 0, 1), period);
  }
  const rule = "is not a quarter (2026-Q3), a month (2026-09) or a year (2026)";
  throw new DateRangeError(field, { reason: `"${period}" ${rule}`, rule });
}

/** `--from`/`--to`: inclusive UTC days. `fields` names the two arguments in errors. */
export function parseRange(from: string, to: string, fields: RangeFieldNames = CLI_RANGE_FIELDS): DateRange {
  const start = parseDay(from, fields.from);
  const end = parseDay(to, fields.to);
  if (end < start) {
    throw new DateRangeError(fields.to, {
      reason: `${to} is before ${fields.from} (${from})`,
      rule: `is before ${fields.from}`,
    });
  }
  return build(start, addDays(end, 1), `${from}..${to}`);
}

/** Whole UTC days in the range (a quarter is 90-92, a leap year 366). */
export function rangeLengthDays(range: DateRange): number {
  return Math.round((Date.parse(range.toExclusive) - Date.parse(range.from)) / DAY_MS);
}

/**
 * Refuses a range longer than `maxDays` (config `policy.maxRangeDays`, default DEFAULT_MAX_RANGE_DAYS),
 * naming the length and the limit. `field` is what the caller calls the range (`range`, `period`, `to`).
 */
export function assertRangeWithinLimit(range: DateRange, maxDays: number, field = "range"): void {
  const days = rangeLengthDays(range);
  if (days > maxDays) {
    const rule = `covers ${days} days, more than the limit of ${maxDays} days (policy.maxRangeDays)`;
    throw new DateRangeError(
      field,
      { reason: `${range.label} ${rule}`, rule: `the range ${rule}` },
      { remediation: "split it into shorter runs, or raise policy.maxRangeDays in the config" },
    );
  }
}

export function isInRange(instant: string, range: DateRange): boolean {
  return instant >= range.from && instant < range.toExclusive;
}

/** Every UTC day touched by the range, plus `extraDays` after it (late log delivery). */
export function daysOf(range: DateRange, extraDays = 0): string[] {
  const days: string[] = [];
  const end = addDays(new Date(range.toExclusive), extraDays);
  for (let day = new Date(range.from); day < end; day = addDays(day, 1)) days.push(dayString(day));
  return days;
}
