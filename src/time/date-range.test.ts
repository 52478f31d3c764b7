import { describe, expect, it } from "vitest";
import {
  DEFAULT_MAX_RANGE_DAYS,
  DateRangeError,
  MAX_YEAR,
  MIN_YEAR,
  assertRangeWithinLimit,
  daysOf,
  isDateRangeError,
  parsePeriod,
  parseRange,
  rangeLengthDays,
} from "./date-range.ts";

function errorOf(run: () => unknown): DateRangeError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(DateRangeError);
    expect(isDateRangeError(error)).toBe(true);
    return error as DateRangeError;
  }
  throw new Error("expected a DateRangeError");
}

describe("parsePeriod", () => {
  it("reads quarters, months and years as UTC ranges", () => {
    expect(parsePeriod("2026-Q3")).toEqual({
      from: "2026-07-01T00:00:00.000Z",
      toExclusive: "2026-10-01T00:00:00.000Z",
      to: "2026-09-30",
      label: "2026-Q3",
    });
    expect(parsePeriod("2024-02").to).toBe("2024-02-29");
    expect(parsePeriod("2026-12").toExclusive).toBe("2027-01-01T00:00:00.000Z");
    expect(parsePeriod("2026")).toMatchObject({ from: "2026-01-01T00:00:00.000Z", to: "2026-12-31" });
  });

  it("refuses a year before 1970 by name, instead of reading 0099 as 1999", () => {
    const error = errorOf(() => parsePeriod("0099"));
    expect(error.code).toBe("ARGUMENT_INVALID");
    expect(error.field).toBe("--period");
    expect(error.message).toBe(`--period: "0099": year 0099 is outside the supported years 1970-2100`);
    // The rule is the reason without what was submitted: the API answers with it.
    expect(error.rule).toBe("the year is outside the supported years 1970-2100");
    expect(errorOf(() => parsePeriod("1969-Q4")).reason).toContain("year 1969");
    expect(errorOf(() => parsePeriod("0001-01", "period")).field).toBe("period");
  });

  it("accepts the first and last supported years and refuses the one after", () => {
    expect(parsePeriod(String(MIN_YEAR)).from).toBe("1970-01-01T00:00:00.000Z");
    expect(parsePeriod(`${MAX_YEAR}-Q4`).toExclusive).toBe("2101-01-01T00:00:00.000Z");
    expect(errorOf(() => parsePeriod("2101")).reason).toContain("year 2101");
  });

  it("names the field for a malformed value or month 13", () => {
    expect(errorOf(() => parsePeriod("2026-13", "period")).message).toBe('period: "2026-13" has no month 13');
    expect(errorOf(() => parsePeriod("2026-13", "period")).rule).toBe(
      "names a month that does not exist (months are 01-12)",
    );
    expect(errorOf(() => parsePeriod("Q3-xyz")).rule).toBe(
      "is not a quarter (2026-Q3), a month (2026-09) or a year (2026)",
    );
    expect(errorOf(() => parsePeriod("Q3")).field).toBe("--period");
  });
});

describe("parseRange", () => {
  it("reads inclusive UTC days", () => {
    expect(parseRange("2026-07-01", "2026-07-03")).toEqual({
      from: "2026-07-01T00:00:00.000Z",
      toExclusive: "2026-07-04T00:00:00.000Z",
      to: "2026-07-03",
      label: "2026-07-01..2026-07-03",
    });
  });

  it("refuses 9999-12-31 by name instead of ending at +010000-01-01 (which dropped every event)", () => {
    const error = errorOf(() => parseRange("2026-01-01", "9999-12-31"));
    expect(error.field).toBe("--to");
    expect(error.reason).toContain("outside the supported years 1970-2100");
  });

  it("computes the end of the last supported day without overflow", () => {
    const range = parseRange("2100-12-01", "2100-12-31");
    expect(range.toExclusive).toBe("2101-01-01T00:00:00.000Z");
    expect(range.to).toBe("2100-12-31");
  });

  it("names the API's field names when given them", () => {
    const fields = { from: "from", to: "to" };
    expect(errorOf(() => parseRange("1969-12-31", "2026-01-01", fields)).field).toBe("from");
    expect(errorOf(() => parseRange("2026-02-30", "2026-03-01", fields)).message).toBe(
      'from: "2026-02-30" is not a calendar date',
    );
    const reversed = errorOf(() => parseRange("2026-03-01", "2026-02-01", fields));
    expect(reversed.field).toBe("to");
    expect(reversed.reason).toBe("2026-02-01 is before from (2026-03-01)");
    expect(reversed.rule).toBe("is before from");
    expect(errorOf(() => parseRange("2026-02-30", "2026-03-01", fields)).rule).toBe(
      "is not a calendar date (no such day in that month)",
    );
    expect(errorOf(() => parseRange("2026-1-1", "2026-02-01")).rule).toBe("is not a date (YYYY-MM-DD)");
    expect(errorOf(() => parseRange("2026-1-1", "2026-02-01")).message).toBe(
      '--from: "2026-1-1" is not a date (YYYY-MM-DD)',
    );
  });
});

describe("assertRangeWithinLimit", () => {
  it("counts whole days", () => {
    expect(rangeLengthDays(parsePeriod("2026-Q3"))).toBe(92);
    expect(rangeLengthDays(parsePeriod("2024"))).toBe(366);
    expect(rangeLengthDays(parseRange("2026-07-01", "2026-07-01"))).toBe(1);
  });

  it("accepts a leap year under the default and refuses ten years naming the length and the limit", () => {
    expect(() => assertRangeWithinLimit(parsePeriod("2024"), DEFAULT_MAX_RANGE_DAYS)).not.toThrow();
    const error = errorOf(() =>
      assertRangeWithinLimit(parseRange("2016-01-01", "2025-12-31"), DEFAULT_MAX_RANGE_DAYS),
    );
    expect(error.code).toBe("ARGUMENT_INVALID");
    expect(error.field).toBe("range");
    expect(error.message).toBe(
      "range: 2016-01-01..2025-12-31 covers 3653 days, more than the limit of 400 days (policy.maxRangeDays)",
    );
    expect(error.remediation).toContain("policy.maxRangeDays");
    expect(error.rule).toBe(
      "the range covers 3653 days, more than the limit of 400 days (policy.maxRangeDays)",
    );
  });

  it("allows exactly the limit and refuses one day more", () => {
    expect(() => assertRangeWithinLimit(parseRange("2026-07-01", "2026-07-10"), 10)).not.toThrow();
    expect(
      errorOf(() => assertRangeWithinLimit(parseRange("2026-07-01", "2026-07-11"), 10, "to")).field,
    ).toBe("to");
  });
});

describe("isDateRangeError", () => {
  it("tells a date error from other keyproof errors and plain errors", () => {
    expect(isDateRangeError(new Error("--from: x"))).toBe(false);
    expect(
      isDateRangeError(Object.assign(new Error("x"), { name: "KeyproofError", code: "ARGUMENT_INVALID" })),
    ).toBe(false);
  });
});

describe("daysOf", () => {
  it("lists every day of the range plus the extra days", () => {
    expect(daysOf(parseRange("2026-12-30", "2026-12-31"), 1)).toEqual([
      "2026-12-30",
      "2026-12-31",
      "2027-01-01",
    ]);
  });
});
