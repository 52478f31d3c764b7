import { describe, expect, it } from "vitest";
import {
  assertRangeWithin,
  assertSupportedYear,
  MAX_RANGE_DAYS_DEFAULT,
  maxRangeDaysOf,
  parsePeriod,
  parseRange,
  rangeDays,
} from "./date-range.ts";

describe("supported years", () => {
  it("accepts 1970 and 2100, refuses 99, 1969, 2101 and 9999 by field and year", () => {
    expect(() => assertSupportedYear(1970, "period")).not.toThrow();
    expect(() => assertSupportedYear(2100, "period")).not.toThrow();
    for (const year of [99, 1969, 2101, 9999]) {
      expect(() => assertSupportedYear(year, "from")).toThrow(`from: year ${year} is outside 1970-2100`);
    }
  });
});

describe("range length", () => {
  it("counts whole UTC days: a quarter, a leap year", () => {
    expect(rangeDays(parsePeriod("2026-Q3"))).toBe(92);
    expect(rangeDays(parsePeriod("2028"))).toBe(366);
  });

  it("allows exactly the limit and refuses one day more, naming the limit", () => {
    expect(() => assertRangeWithin(parseRange("2026-01-01", "2027-02-04"), 400, "to")).not.toThrow();
    expect(() => assertRangeWithin(parseRange("2026-01-01", "2027-02-05"), 400, "to")).toThrow(
      "to: the range covers 401 days; at most 400 are allowed (policy.maxRangeDays)",
    );
  });

  it("reads policy.maxRangeDays, else 400", () => {
    expect(maxRangeDaysOf({ maxRotationDays: 365 })).toBe(MAX_RANGE_DAYS_DEFAULT);
    expect(maxRangeDaysOf({ maxRangeDays: 31 })).toBe(31);
  });
});
