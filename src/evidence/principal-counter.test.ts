import { describe, expect, it } from "vitest";
import { PrincipalCounter } from "./principal-counter.ts";

/** A deterministic stream: a few heavy principals among many that appear once or twice. */
function stream(events: number): string[] {
  const principals: string[] = [];
  for (let n = 0; n < events; n++) {
    if (n % 10 === 0) principals.push("role/heavy-a");
    else if (n % 25 === 1) principals.push("role/heavy-b");
    else if (n % 101 === 2) principals.push("role/heavy-c");
    else principals.push(`assumed-role/app/session-${(n * 7919) % (events / 2)}`);
  }
  return principals;
}

function exactCounts(principals: string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const principal of principals) counts.set(principal, (counts.get(principal) ?? 0) + 1);
  return counts;
}

describe("PrincipalCounter", () => {
  it("counts nothing", () => {
    expect(new PrincipalCounter(3).build()).toEqual({
      byPrincipal: {},
      principalCounting: { method: "exact", capacity: 3 },
    });
  });

  it("is exact, sorted by name, up to its capacity", () => {
    const counter = new PrincipalCounter(3);
    for (const principal of ["b", "a", "b", "c", "b", "a"]) counter.add(principal);
    const built = counter.build();
    expect(built).toEqual({
      byPrincipal: { a: 2, b: 3, c: 1 },
      principalCounting: { method: "exact", capacity: 3 },
    });
    expect(Object.keys(built.byPrincipal)).toEqual(["a", "b", "c"]);
  });

  it("past its capacity keeps the heavy principals with certain counts and accounts for every event", () => {
    const principals = stream(20_000);
    const exact = exactCounts(principals);
    const counter = new PrincipalCounter(200);
    for (const principal of principals) counter.add(principal);
    const { byPrincipal, principalCounting } = counter.build();
    if (principalCounting.method !== "space-saving") throw new Error("expected the sketch");
    expect(Object.keys(byPrincipal).length).toBeLessThanOrEqual(200);
    const itemized = Object.values(byPrincipal).reduce((sum, count) => sum + count, 0);
    expect(itemized + principalCounting.eventsNotItemized).toBe(principals.length);
    for (const [principal, count] of Object.entries(byPrincipal)) {
      const truth = exact.get(principal) ?? 0;
      expect(count).toBeLessThanOrEqual(truth);
      expect(truth - count).toBeLessThanOrEqual(principalCounting.maxUndercount);
    }
    for (const [principal, truth] of exact)
      if (!(principal in byPrincipal)) expect(truth).toBeLessThanOrEqual(principalCounting.maxUndercount);
    // Every principal with more than events / capacity events is listed.
    for (const heavy of ["role/heavy-a", "role/heavy-b", "role/heavy-c"])
      expect(byPrincipal).toHaveProperty(heavy);
    expect(principalCounting.note).toContain(`at most ${principalCounting.maxUndercount}`);
  });

  it("keeps its memory at its capacity", () => {
    const counter = new PrincipalCounter(50);
    for (let n = 0; n < 10_000; n++) counter.add(`unique-${n}`);
    const { byPrincipal, principalCounting } = counter.build();
    expect(Object.keys(byPrincipal).length).toBeLessThanOrEqual(50);
    expect(principalCounting).toMatchObject({ method: "space-saving", capacity: 50 });
  });
});
