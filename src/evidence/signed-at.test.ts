import { describe, expect, it } from "vitest";
import { signedAtProblem } from "./signed-at.ts";

const capturedAt = "2026-10-01T06:00:00.000Z";
const window = { first: "2026-10-02T09:00:00.000Z", last: "2026-10-02T10:00:00.000Z" };

describe("signedAtProblem", () => {
  it("accepts a signature within 24 hours of the capture time, for a bundle without a capture window", () => {
    expect(signedAtProblem("2026-10-02T05:59:59.000Z", { capturedAt })).toBeUndefined();
    expect(signedAtProblem("2026-09-30T06:00:00.000Z", { capturedAt })).toBeUndefined();
    expect(signedAtProblem("2026-10-02T06:00:01.000Z", { capturedAt })).toBe(
      "signedAt 2026-10-02T06:00:01.000Z is more than 24 hours outside the bundle's capture time 2026-10-01T06:00:00.000Z",
    );
  });

  it("measures from the last read, so a run that waited for a worker before reading still seals", () => {
    // Started (capturedAt) a day and a half before its reads; signed three hours after the last one.
    expect(
      signedAtProblem("2026-10-02T13:00:00.000Z", { capturedAt, captureWindow: window }),
    ).toBeUndefined();
    expect(signedAtProblem("2026-10-03T10:00:01.000Z", { capturedAt, captureWindow: window })).toBe(
      "signedAt 2026-10-03T10:00:01.000Z is more than 24 hours outside the bundle's capture window 2026-10-01T06:00:00.000Z to 2026-10-02T10:00:00.000Z",
    );
  });

  it("rejects a back-dated signature: more than 24 hours before the run began", () => {
    expect(signedAtProblem("2026-09-30T05:59:59.000Z", { capturedAt, captureWindow: window })).toContain(
      "more than 24 hours outside",
    );
  });
});
