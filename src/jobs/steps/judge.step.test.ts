import { describe, expect, it } from "vitest";
import { makeProcedureApproval, makeSignedReviewFact, makeSnapshot } from "../../../test/factories/index.ts";
import { ConfigSchema } from "../../config/config.schema.ts";
import { procedureIdentityOf, procedureInputOf } from "../../procedure/procedure-text.ts";
import {
  assembleSnapshot,
  buildDiscoveryRecord,
  buildProcedureApprovalExport,
  buildReviewsExport,
} from "./judge.step.ts";

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

describe("judge step: discovery", () => {
  const discovery = {
    source: "aws-main",
    type: "aws-kms" as const,
    method: "aws-organizations",
    discoveredAt: "2026-10-01T07:59:00.000Z",
    calls: [{ call: "organizations:ListAccounts", at: "2026-10-01T07:59:00.000Z", pages: 1, count: 2 }],
    members: [
      { id: "111111111111", status: "included" as const, locations: ["111111111111/us-east-1"] },
      { id: "222222222222", status: "unreachable" as const, reason: "AccessDenied", locations: [] },
    ],
    locations: ["111111111111/us-east-1"],
    gaps: [
      {
        source: "aws-main",
        location: "222222222222",
        error: { call: "sts:AssumeRole", code: "AccessDenied", message: "no role", retryable: false },
      },
    ],
  };

  it("makes a member discovery could not reach a gap of its source, before the locations that did not report", () => {
    const snapshot = assembleSnapshot({
      runId: "run-1",
      config,
      range: makeSnapshot().range,
      capturedAt: "2026-10-01T08:00:00.000Z",
      sources: [{ id: "aws-main", type: "aws-kms", locations: discovery.locations, discovery }],
      locations: new Map(),
      usage: new Map(),
      governance: { state: "read", signedReviews: [] },
    });
    expect(snapshot.sources[0]?.gaps.map((gap) => [gap.location, gap.error.code])).toEqual([
      ["222222222222", "AccessDenied"],
      ["111111111111/us-east-1", "NotCollected"],
    ]);
  });

  it("records each source's discovery, and a configured source's locations as configured at the capture time", () => {
    const record = buildDiscoveryRecord("run-1", "2026-10-01T08:00:00.000Z", [
      { id: "aws-main", type: "aws-kms", locations: discovery.locations, discovery },
      { id: "vault", type: "hashicorp-vault", locations: ["root"] },
    ]);
    expect(record.format).toBe("keyproof-discovery/1");
    expect(record.sources[0]).toBe(discovery);
    expect(record.sources[1]).toEqual({
      source: "vault",
      type: "hashicorp-vault",
      method: "configured",
      discoveredAt: "2026-10-01T08:00:00.000Z",
      calls: [],
      members: [{ id: "root", status: "included", locations: ["root"] }],
      locations: ["root"],
      gaps: [],
    });
  });
});
