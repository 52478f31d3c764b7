import type { ProcedureApproval, ProcedureIdentity, SignedReviewFact } from "../../src/model/review.ts";
import { DEFAULT_SOURCE } from "./key.factory.ts";

/** A review of the default source, signed 30 days before CAPTURED_AT, that left nothing open. */
export function makeSignedReviewFact(overrides: Partial<SignedReviewFact> = {}): SignedReviewFact {
  return {
    id: "rv-2026-0001",
    year: 2026,
    sources: [DEFAULT_SOURCE],
    signedAt: "2026-09-01T10:00:00.000Z",
    reviewer: { name: "Ana Analyst", title: "Security Analyst" },
    decisionsSha256: "a".repeat(64),
    bundleManifestSha256: "b".repeat(64),
    open: [],
    ...overrides,
  };
}

/** An approval of `procedure` (the snapshot's own identity, so it matches), 30 days before CAPTURED_AT. */
export function makeProcedureApproval(
  procedure: ProcedureIdentity,
  overrides: Partial<ProcedureApproval> = {},
): ProcedureApproval {
  return {
    version: procedure.version,
    textSha256: procedure.textSha256,
    name: "Erin Lead",
    title: "Engineering Lead",
    approvedAt: "2026-09-01T10:00:00.000Z",
    recordedBy: "cli:erin",
    ...overrides,
  };
}
