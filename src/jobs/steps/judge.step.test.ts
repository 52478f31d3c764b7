import { describe, expect, it } from "vitest";
import { makeProcedureApproval, makeSignedReviewFact, makeSnapshot } from "../../../test/factories/index.ts";
import { ConfigSchema } from "../../config/config.schema.ts";
import { procedureIdentityOf, procedureInputOf } from "../../procedure/procedure-text.ts";
import { assembleSnapshot, buildProcedureApprovalExport, buildReviewsExport } from "./judge.step.ts";

const config = ConfigSchema.parse({
  organization: "Judge Corp",
  sources: [{ id: "aws-main", type: "aws-kms", regions: ["us-east-1"] }],
  policy: { reviewIntervalDays: 180 },
  signing: { localKeyFile: "./k.pem" },
});

describe("judge step: governance", () => {
  it("assembles the snapshot with the governance facts read, the configuration's procedure and the review interval", () => {
    const governance = { state: "read" as const, signedReviews: [makeSignedReviewFact()] };
    const snapshot = assembleSnapshot({
      runId: "run-1",
      config,
      range: makeSnapshot().range,
      capturedAt: "2026-10-01T08:00:00.000Z",
      sources: [{ id: "aws-main", type: "aws-kms", locations: [] }],
      locations: new Map(),
      usage: new Map(),
      governance,
    });
    expect(snapshot.governance).toBe(governance);
    expect(snapshot.procedure).toEqual(procedureIdentityOf(procedureInputOf(config)));
    expect(snapshot.policy.reviewIntervalDays).toBe(180);
  });

  it("writes the latest approval with the run's procedure and whether they match (a run includes the latest approval)", () => {
    const base = makeSnapshot();
    const approval = makeProcedureApproval(base.procedure);
    expect(
      buildProcedureApprovalExport({
        ...base,
        governance: { state: "read", signedReviews: [], latestApproval: approval },
      }),
    ).toEqual({
      procedure: base.procedure,
      state: "read",
      latestApproval: approval,
      matchesCurrentText: true,
    });
    expect(buildProcedureApprovalExport(base)).toEqual({
      procedure: base.procedure,
      state: "read",
      latestApproval: null,
      matchesCurrentText: false,
    });
    const unavailable = { state: "unavailable" as const, severity: "warn" as const, reason: "no Redis" };
    expect(buildProcedureApprovalExport({ ...base, governance: unavailable })).toEqual({
      procedure: base.procedure,
      ...unavailable,
    });
    expect(buildReviewsExport({ ...base, governance: unavailable })).toEqual(unavailable);
    const review = makeSignedReviewFact();
    expect(buildReviewsExport({ ...base, governance: { state: "read", signedReviews: [review] } })).toEqual({
      state: "read",
      signedReviews: [review],
    });
  });
});
