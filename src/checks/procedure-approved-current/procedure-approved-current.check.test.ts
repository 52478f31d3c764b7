import { describe, expect, it } from "vitest";
import { makeKey, makeProcedureApproval, makeSnapshot } from "../../../test/factories/index.ts";
import { ORGANIZATION_SOURCE, PROCEDURE_RESOURCE, check } from "./procedure-approved-current.check.ts";

const EVIDENCE = ["governance/procedure-approval.json", "reports/key-management-procedure.pdf"];

describe("procedure-approved-current", () => {
  it("judges the organization's procedure even with nothing collected: no approval fails", () => {
    const snapshot = makeSnapshot();
    expect(check.run(snapshot)).toEqual([
      {
        checkId: "procedure-approved-current",
        status: "fail",
        severity: "medium",
        source: ORGANIZATION_SOURCE,
        resource: PROCEDURE_RESOURCE,
        message: `The key-management procedure (version ${snapshot.procedure.version}) has no recorded approval.`,
        evidence: EVIDENCE,
      },
    ]);
  });

  it("passes an approval of the current text within the interval", () => {
    const base = makeSnapshot({ keys: [makeKey()] });
    const approval = makeProcedureApproval(base.procedure);
    const [finding] = check.run({
      ...base,
      governance: { state: "read", signedReviews: [], latestApproval: approval },
    });
    expect(finding).toMatchObject({
      status: "pass",
      severity: "info",
      date: approval.approvedAt,
      message: `The procedure (version ${base.procedure.version}) was approved by Erin Lead (Engineering Lead) on 2026-09-01.`,
    });
  });

  it("fails when the procedure text changed since the approval", () => {
    const base = makeSnapshot();
    const approval = makeProcedureApproval({ version: "1.0+000000000000", textSha256: "0".repeat(64) });
    const [finding] = check.run({
      ...base,
      governance: { state: "read", signedReviews: [], latestApproval: approval },
    });
    expect(finding?.status).toBe("fail");
    expect(finding?.message).toBe(
      `The procedure text changed since its approval by Erin Lead (Engineering Lead) on 2026-09-01: approved version 1.0+000000000000, current version ${base.procedure.version}.`,
    );
  });

  it("fails an approval older than policy.reviewIntervalDays", () => {
    const base = makeSnapshot({ policy: { reviewIntervalDays: 20 } });
    const approval = makeProcedureApproval(base.procedure);
    const [finding] = check.run({
      ...base,
      governance: { state: "read", signedReviews: [], latestApproval: approval },
    });
    expect(finding?.status).toBe("fail");
    expect(finding?.message).toContain("29 days before this run: more than the 20-day review interval");
  });

  it("gives one finding however many sources and keys there are", () => {
    const snapshot = makeSnapshot({
      keys: [makeKey(), makeKey({ source: "aws-dr" }), makeKey({ source: "aws-dr", location: "us-east-1" })],
    });
    expect(check.run(snapshot)).toHaveLength(1);
  });

  it("warns when there is no Redis to read approvals from, and errs when the read failed", () => {
    const base = makeSnapshot();
    const warn = check.run({
      ...base,
      governance: { state: "unavailable", severity: "warn", reason: "no Redis configured" },
    });
    expect(warn).toEqual([
      expect.objectContaining({
        status: "warn",
        message: "The approval of the procedure could not be read: no Redis configured.",
      }),
    ]);
    const error = check.run({
      ...base,
      governance: { state: "unavailable", severity: "error", reason: "connect ECONNREFUSED" },
    });
    expect(error.map((finding) => finding.status)).toEqual(["error"]);
  });
});
