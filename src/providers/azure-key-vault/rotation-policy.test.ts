import { describe, expect, it } from "vitest";
import { isEmptyRotationPolicy, isoDurationToDays, toRotationStatus } from "./rotation-policy.ts";

const versions = [
  { version: "b", createdOn: "2026-04-01T00:00:00.000Z" },
  { version: "a", createdOn: "2026-01-01T00:00:00.000Z" },
];

describe("isoDurationToDays", () => {
  it.each([
    ["P90D", 90],
    ["P1Y", 365],
    ["P2Y", 730],
    ["P1M", 30],
    ["P2W", 14],
    ["P1Y6M", 545],
    ["PT36H", 1.5],
    ["p30d", 30],
  ])("%s is %d days", (duration, days) => {
    expect(isoDurationToDays(duration)).toBe(days);
  });

  it.each(["", "P", "PT", "90D", "P-1D", "nonsense"])("%j is not a duration", (duration) => {
    expect(isoDurationToDays(duration)).toBeUndefined();
  });
});

describe("toRotationStatus", () => {
  it("is on with a Rotate action after creation, whatever its case", () => {
    for (const action of ["Rotate", "rotate", "ROTATE"]) {
      const status = toRotationStatus(
        {
          id: "x",
          expiresIn: "P2Y",
          lifetimeActions: [{ action, timeAfterCreate: "P90D" }],
          createdOn: new Date(),
        },
        versions,
      );
      expect(status).toMatchObject({
        enabled: true,
        periodDays: 90,
        lastRotation: "2026-04-01T00:00:00.000Z",
        nextRotation: "2026-06-30T00:00:00.000Z",
      });
      expect(status.history).toEqual([
        { date: "2026-04-01T00:00:00.000Z", type: "new-version", version: "b" },
      ]);
      expect(status.detail).toMatchObject({ policy: "set", expiryTime: "P2Y", timeAfterCreateDays: 90 });
    }
  });

  it("derives the period from expiry minus time-before-expiry", () => {
    const status = toRotationStatus(
      {
        id: "x",
        expiresIn: "P1Y",
        lifetimeActions: [{ action: "Rotate", timeBeforeExpiry: "P30D" }],
        createdOn: new Date(),
      },
      versions,
    );
    expect(status).toMatchObject({ enabled: true, periodDays: 335 });
  });

  it("leaves the period unknown when the policy does not say it", () => {
    const status = toRotationStatus(
      { id: "x", lifetimeActions: [{ action: "Rotate", timeBeforeExpiry: "P30D" }], createdOn: new Date() },
      versions,
    );
    expect(status.enabled).toBe(true);
    expect(status.periodDays).toBeUndefined();
    expect(status.nextRotation).toBeUndefined();
  });

  it("is off with Azure's Notify-only default and says it is the service default", () => {
    const status = toRotationStatus(
      { id: "x", lifetimeActions: [{ action: "Notify", timeBeforeExpiry: "P30D" }] },
      versions,
    );
    expect(status.enabled).toBe(false);
    expect(status.periodDays).toBeUndefined();
    expect(status.detail).toMatchObject({ policy: "service-default" });
  });

  it("a key with one version never rotated: no lastRotation, no history, the schedule counts from its creation", () => {
    const status = toRotationStatus(
      { id: "x", lifetimeActions: [{ action: "Rotate", timeAfterCreate: "P30D" }], createdOn: new Date() },
      [{ version: "v1", createdOn: "2026-01-01T00:00:00.000Z" }],
    );
    expect(status.history).toEqual([]);
    expect(status.lastRotation).toBeUndefined();
    expect(status.nextRotation).toBe("2026-01-31T00:00:00.000Z");
  });

  it("is off with no policy at all (Lowkey's empty body)", () => {
    expect(isEmptyRotationPolicy({})).toBe(true);
    expect(isEmptyRotationPolicy(undefined)).toBe(true);
    const status = toRotationStatus(undefined, [{ version: "a" }]);
    expect(status).toMatchObject({
      enabled: false,
      history: [],
      detail: { policy: "none", versionCount: 1 },
    });
    expect(status.lastRotation).toBeUndefined();
  });
});
