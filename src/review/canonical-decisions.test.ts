import { describe, expect, it } from "vitest";
import { makeReviewRecord } from "../../test/factories/review-record.factory.ts";
import type { ReviewRecord } from "../model/review.ts";
import { canonicalDecisions, decisionsSha256 } from "./canonical-decisions.ts";

function withItem(
  record: ReviewRecord,
  index: number,
  change: (item: ReviewRecord["items"][number]) => ReviewRecord["items"][number],
): ReviewRecord {
  return { ...record, items: record.items.map((item, at) => (at === index ? change(item) : item)) };
}

describe("canonicalDecisions", () => {
  it("lists every decision sorted by item id, with only the decided fields", () => {
    const record = makeReviewRecord({ itemCount: 6 });
    const decisions = canonicalDecisions({ ...record, items: [...record.items].reverse() });
    expect(decisions.map((decision) => decision.itemId)).toEqual(record.items.map((item) => item.id).sort());
    const first = record.items[0];
    expect(decisions.find((decision) => decision.itemId === first?.id)).toEqual({
      itemId: "grant-000",
      kind: "grant",
      source: "aws-prod",
      keyId: "key-00",
      resource: "arn:aws:kms:eu-west-1:111122223333:key/key-00",
      decision: "keep",
      note: "Decision note 0",
      ticketUrl: "https://tickets.example.com/browse/SEC-100",
      decidedBy: "alice-reviewer",
      decidedAt: "2026-11-01T10:00:00.000Z",
    });
    // No keyId on a logging item, no ticket where none was given: absent, never `undefined` or "".
    expect(decisions.find((decision) => decision.kind === "logging")).not.toHaveProperty("keyId");
    expect(decisions.find((decision) => decision.itemId === "rotation-001")).not.toHaveProperty("ticketUrl");
  });

  it("refuses an undecided item, naming it", () => {
    const record = withItem(makeReviewRecord(), 2, ({ decision: _decision, ...item }) => item);
    expect(() => canonicalDecisions(record)).toThrow(
      expect.objectContaining({
        name: "KeyproofError",
        code: "ARGUMENT_INVALID",
        message: expect.stringContaining("1 item(s) have no decision: finding-002"),
      }),
    );
    expect(() => decisionsSha256(record)).toThrow(expect.objectContaining({ code: "ARGUMENT_INVALID" }));
  });

  it("refuses a decision the item's kind does not allow, and a repeated item id", () => {
    const record = makeReviewRecord();
    const wrongKind = withItem(record, 0, (item) => ({
      ...item,
      decision: { ...item.decision!, decision: "remediated" },
    }));
    expect(() => canonicalDecisions(wrongKind)).toThrow(
      expect.objectContaining({ code: "ARGUMENT_INVALID", message: expect.stringContaining("grant-000") }),
    );
    const repeated = { ...record, items: [...record.items, record.items[1]!] };
    expect(() => canonicalDecisions(repeated)).toThrow(
      expect.objectContaining({ code: "ARGUMENT_INVALID", message: expect.stringContaining("listed twice") }),
    );
  });
});

describe("decisionsSha256", () => {
  const record = makeReviewRecord({ itemCount: 12 });
  const digest = decisionsSha256(record);

  it("is a SHA-256 hex digest that does not depend on item order", () => {
    expect(digest).toMatch(/^[0-9a-f]{64}$/);
    const shuffled = [...record.items.slice(5), ...record.items.slice(0, 5).reverse()];
    expect(decisionsSha256({ ...record, items: shuffled })).toBe(digest);
  });

  it("does not change with what is not decided (titles, revisions, evidence paths)", () => {
    const cosmetic = withItem(record, 3, (item) => ({
      ...item,
      title: "another title",
      evidence: [],
      decision: { ...item.decision!, revision: 7 },
    }));
    expect(decisionsSha256(cosmetic)).toBe(digest);
  });

  it.each([
    [
      "a note",
      (item: ReviewRecord["items"][number]) => ({
        ...item,
        decision: { ...item.decision!, note: "Decision note 1." },
      }),
    ],
    [
      "a decision",
      (item: ReviewRecord["items"][number]) => ({
        ...item,
        decision: { ...item.decision!, decision: "to remediate" as const },
      }),
    ],
    [
      "a ticket added",
      (item: ReviewRecord["items"][number]) => ({
        ...item,
        decision: { ...item.decision!, ticketUrl: "https://tickets.example.com/browse/SEC-9" },
      }),
    ],
    [
      "who decided",
      (item: ReviewRecord["items"][number]) => ({
        ...item,
        decision: { ...item.decision!, decidedBy: "bob" },
      }),
    ],
    [
      "when it was decided",
      (item: ReviewRecord["items"][number]) => ({
        ...item,
        decision: { ...item.decision!, decidedAt: "2026-11-05T10:00:01.000Z" },
      }),
    ],
  ])("changes with %s", (_label, change) => {
    // Item 1 is a rotation item decided "accepted risk" without a ticket.
    expect(record.items[1]?.decision).toMatchObject({ decision: "accepted risk" });
    expect(record.items[1]?.decision).not.toHaveProperty("ticketUrl");
    expect(decisionsSha256(withItem(record, 1, change))).not.toBe(digest);
  });

  it("changes with a ticket changed or removed, the reviewed bundle, the review id and the year", () => {
    const ticketed = record.items[0]!;
    expect(ticketed.decision?.ticketUrl).toBeDefined();
    expect(
      decisionsSha256(
        withItem(record, 0, (item) => ({
          ...item,
          decision: { ...item.decision!, ticketUrl: "https://tickets.example.com/browse/SEC-101" },
        })),
      ),
    ).not.toBe(digest);
    expect(
      decisionsSha256(
        withItem(record, 0, ({ decision, ...item }) => {
          const { ticketUrl: _ticketUrl, ...rest } = decision!;
          return { ...item, decision: rest };
        }),
      ),
    ).not.toBe(digest);
    expect(
      decisionsSha256({ ...record, bundle: { ...record.bundle, manifestSha256: "b".repeat(64) } }),
    ).not.toBe(digest);
    expect(decisionsSha256({ ...record, id: "rv-2026-0002" })).not.toBe(digest);
    expect(decisionsSha256({ ...record, year: 2027 })).not.toBe(digest);
  });
});
