import { describe, expect, it } from "vitest";
import { readWindowOf } from "./read-window.ts";

describe("readWindowOf", () => {
  it("spans the earliest and the latest stamp, whatever their order", () => {
    expect(
      readWindowOf(
        [
          { capturedAt: "2026-10-01T08:00:05.000Z" },
          undefined,
          { capturedAt: "2026-10-01T08:00:01.000Z" },
          { capturedAt: "2026-10-01T08:03:00.000Z" },
        ],
        "2026-10-01T00:00:00.000Z",
      ),
    ).toEqual({ first: "2026-10-01T08:00:01.000Z", last: "2026-10-01T08:03:00.000Z" });
  });

  it("falls back to the given time when no stamp is a time", () => {
    expect(readWindowOf([{ capturedAt: "not a time" }], "2026-10-01T00:00:00.000Z")).toEqual({
      first: "2026-10-01T00:00:00.000Z",
      last: "2026-10-01T00:00:00.000Z",
    });
  });
});
