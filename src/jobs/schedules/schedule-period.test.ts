import { describe, expect, it } from "vitest";
import { rangeForSchedule } from "./schedule-period.ts";

describe("rangeForSchedule", () => {
  it("covers the quarter before the tick (the default quarterly schedule)", () => {
    expect(rangeForSchedule("previous-quarter", new Date("2026-10-01T06:00:00Z"), "UTC")).toMatchObject({
      label: "2026-Q3",
      from: "2026-07-01T00:00:00.000Z",
      to: "2026-09-30",
    });
    expect(rangeForSchedule("previous-quarter", new Date("2027-01-01T06:00:00Z"), "UTC")).toMatchObject({
      label: "2026-Q4",
      to: "2026-12-31",
    });
  });

  it("reads the tick's date in the schedule's time zone", () => {
    // 22:30 UTC on 31 March is already 1 April in Berlin (CEST): the quarter that just ended is Q1.
    const tick = new Date("2026-03-31T22:30:00Z");
    expect(rangeForSchedule("previous-quarter", tick, "Europe/Berlin").label).toBe("2026-Q1");
    expect(rangeForSchedule("previous-quarter", tick, "UTC").label).toBe("2025-Q4");
    // 03:00 UTC on 1 July is still 30 June in Los Angeles.
    expect(
      rangeForSchedule("previous-month", new Date("2026-07-01T03:00:00Z"), "America/Los_Angeles").label,
    ).toBe("2026-05");
  });

  it("covers the previous month across a year boundary and the previous year", () => {
    expect(rangeForSchedule("previous-month", new Date("2027-01-01T06:00:00Z"), "UTC")).toMatchObject({
      label: "2026-12",
      to: "2026-12-31",
    });
    expect(rangeForSchedule("previous-year", new Date("2027-01-01T06:00:00Z"), "UTC")).toMatchObject({
      label: "2026",
      from: "2026-01-01T00:00:00.000Z",
      to: "2026-12-31",
    });
  });
});
