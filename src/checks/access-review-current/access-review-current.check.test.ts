import { describe, expect, it } from "vitest";
import {
  makeAccess,
  makeGap,
  makeGrant,
  makeKey,
  makeSignedReviewFact,
  makeSnapshot,
  notCollected,
} from "../../../test/factories/index.ts";
import type { Finding } from "../../model/finding.ts";
import type { SignedReviewFact } from "../../model/review.ts";
import type { Snapshot } from "../../model/snapshot.ts";
import { check } from "./access-review-current.check.ts";

const withReviews = (snapshot: Snapshot, signedReviews: SignedReviewFact[]): Snapshot => ({
  ...snapshot,
  governance: { state: "read", signedReviews },
});

const grantItem = (grant = makeGrant(), keyId = "key-1"): SignedReviewFact["open"][number] => ({
  id: `grant:${keyId}`,
  kind: "grant",
  source: "aws-prod",
  keyId,
  resource: `arn:aws:kms:eu-west-1:111122223333:key/${keyId}`,
  title: `${grant.principal} on ${keyId}`,
  grant: {
    principal: grant.principal,
    principalType: grant.principalKind,
    actions: grant.actions,
    effect: grant.effect,
    via: grant.via,
    reference: grant.reference,
  },
  decision: "revoke",
  note: "no longer needed",
});

describe("access-review-current", () => {
  it("has nothing to judge without sources", () => {
    expect(check.run(makeSnapshot())).toEqual([]);
  });

  it("fails a source no signed review covers", () => {
    expect(check.run(makeSnapshot({ keys: [makeKey()] }))).toEqual([
      {
        checkId: "access-review-current",
        status: "fail",
        severity: "medium",
        source: "aws-prod",
        resource: "access-review:aws-prod",
        message:
          'No signed access review covers source "aws-prod": the procedure asks for one at least every 365 days.',
        evidence: ["governance/reviews.json"],
      },
    ]);
  });

  it("passes a source covered by a review signed within the interval that left nothing open", () => {
    const [finding] = check.run(withReviews(makeSnapshot({ keys: [makeKey()] }), [makeSignedReviewFact()]));
    expect(finding).toMatchObject({
      status: "pass",
      date: "2026-09-01T10:00:00.000Z",
      message:
        'Source "aws-prod" is covered by review rv-2026-0001 signed on 2026-09-01 by Ana Analyst (Security Analyst).',
    });
  });

  it("fails a review older than the interval, and ignores one signed after the run read its facts", () => {
    const snapshot = makeSnapshot({ keys: [makeKey()], policy: { reviewIntervalDays: 10 } });
    const [old] = check.run(withReviews(snapshot, [makeSignedReviewFact()]));
    expect(old?.status).toBe("fail");
    expect(old?.message).toContain("more than 10 days before this run");
    const [future] = check.run(
      withReviews(snapshot, [makeSignedReviewFact({ signedAt: "2026-12-01T00:00:00.000Z" })]),
    );
    expect(future?.message).toContain("No signed access review covers");
  });

  it("warns with the grants a current review decided to revoke that are still in force, not the removed ones", () => {
    const kept = makeGrant({ principal: "arn:aws:iam::111122223333:user/alice", reference: "Alice" });
    const removed = makeGrant({ principal: "arn:aws:iam::111122223333:user/bob", reference: "Bob" });
    const key = makeKey({ keyId: "key-1", access: makeAccess([kept]) });
    const review = makeSignedReviewFact({ open: [grantItem(kept), grantItem(removed)] });
    const [finding] = check.run(withReviews(makeSnapshot({ keys: [key] }), [review]));
    expect(finding?.status).toBe("warn");
    expect(finding?.message).toContain("1 item it left to remediate, revoke or change is still present");
    expect(finding?.message).toContain("user/alice on key-1 (revoke)");
    expect(finding?.message).not.toContain("user/bob");
  });

  it("keeps a grant item open when the key's access could not be read", () => {
    const key = makeKey({ keyId: "key-1", access: notCollected("kms:GetKeyPolicy") });
    const review = makeSignedReviewFact({ open: [grantItem()] });
    expect(check.run(withReviews(makeSnapshot({ keys: [key] }), [review]))[0]?.status).toBe("warn");
  });

  it("keeps a grant item open when its key is missing from a source the run could not collect completely", () => {
    const review = makeSignedReviewFact({ open: [grantItem()] });
    const complete = makeSnapshot({ keys: [makeKey({ keyId: "key-2" })] });
    expect(check.run(withReviews(complete, [review]))[0]?.status).toBe("pass");
    const withGap = makeSnapshot({ keys: [makeKey({ keyId: "key-2" })], gaps: [makeGap()] });
    const [finding] = check.run(withReviews(withGap, [review]));
    expect(finding?.status).toBe("warn");
    expect(finding?.message).toContain("still present");
  });

  it("lists a finding item while the same check still fails on the same resource (earlier findings)", () => {
    const key = makeKey({ keyId: "key-1" });
    const item: SignedReviewFact["open"][number] = {
      id: "finding:key-rotation-enabled:key-1",
      kind: "rotation",
      source: "aws-prod",
      keyId: "key-1",
      resource: key.arn,
      title: "Rotation of key-1",
      checkId: "key-rotation-enabled",
      decision: "to remediate",
      note: "",
      ticketUrl: "https://tickets.example/SEC-1",
    };
    const failing: Finding = {
      checkId: "key-rotation-enabled",
      status: "fail",
      severity: "high",
      source: "aws-prod",
      resource: key.arn,
      message: "rotation off",
      evidence: [],
    };
    const snapshot = withReviews(makeSnapshot({ keys: [key] }), [makeSignedReviewFact({ open: [item] })]);
    const [open] = check.run(snapshot, { findings: [failing] });
    expect(open?.status).toBe("warn");
    expect(open?.message).toContain("Rotation of key-1 (to remediate, https://tickets.example/SEC-1)");
    const [fixed] = check.run(snapshot, { findings: [{ ...failing, status: "pass" }] });
    expect(fixed?.status).toBe("pass");
  });

  it("judges many sources, each by the reviews that name it", () => {
    const snapshot = makeSnapshot({
      keys: [
        makeKey(),
        makeKey({ source: "aws-dr" }),
        makeKey({ source: "vault-prod", sourceType: "hashicorp-vault" }),
      ],
    });
    const findings = check.run(
      withReviews(snapshot, [makeSignedReviewFact({ sources: ["aws-prod", "vault-prod"] })]),
    );
    expect(findings.map((finding) => [finding.source, finding.status])).toEqual([
      ["aws-prod", "pass"],
      ["aws-dr", "fail"],
      ["vault-prod", "pass"],
    ]);
  });

  it("warns without Redis and errs when reviews could not be read, per source", () => {
    const snapshot = makeSnapshot({ keys: [makeKey(), makeKey({ source: "aws-dr" })] });
    const warn = check.run({
      ...snapshot,
      governance: { state: "unavailable", severity: "warn", reason: "no Redis configured" },
    });
    expect(warn.map((finding) => finding.status)).toEqual(["warn", "warn"]);
    expect(warn[0]?.message).toBe(
      'Signed access reviews could not be read, so coverage of source "aws-prod" is not judged: no Redis configured.',
    );
    const error = check.run({
      ...snapshot,
      governance: { state: "unavailable", severity: "error", reason: "ECONNREFUSED" },
    });
    expect(error.map((finding) => finding.status)).toEqual(["error", "error"]);
  });
});
