import { describe, expect, it } from "vitest";
import type { KeyRecord, RotationEvent, RotationStatus } from "../../model/key.ts";
import { UNKNOWN_KEY_SPEC } from "../../model/key.ts";
import {
  collected,
  makeAzureKey,
  makeGap,
  makeKey,
  makeMultiRegionKeys,
  makeRotation,
  makeSnapshot,
  makeVaultKey,
  notCollected,
} from "../../../test/factories/index.ts";
import { ROTATION_GRACE_DAYS, check } from "./rotation-performed.check.ts";

/** The default snapshot judges 2026-Q3: from 2026-07-01 to 2026-10-01 (exclusive), captured after it. */
const PERIOD_END = "2026-10-01T00:00:00.000Z";
const DAY_MS = 86_400_000;

function daysBefore(iso: string, days: number): string {
  return new Date(Date.parse(iso) - days * DAY_MS).toISOString();
}

function rotations(...dates: string[]): RotationEvent[] {
  return dates.map((date) => ({ date, type: "automatic" }));
}

function judge(key: KeyRecord, options: Parameters<typeof makeSnapshot>[0] = {}) {
  return check.run(makeSnapshot({ keys: [key], ...options }));
}

describe("rotation-performed", () => {
  it("has nothing to judge in an empty snapshot", () => {
    expect(check.run(makeSnapshot())).toEqual([]);
  });

  it("passes a key that rotated within its period, starting from the last rotation before the period", () => {
    const key = makeKey({
      rotation: makeRotation({
        periodDays: 90,
        history: rotations("2026-05-01T00:00:00.000Z", "2026-07-30T00:00:00.000Z"),
      }),
    });
    const [finding] = judge(key);
    expect(finding).toMatchObject({
      checkId: "rotation-performed",
      status: "pass",
      severity: "info",
      keyId: key.keyId,
      date: "2026-07-30T00:00:00.000Z",
      evidence: [`sources/aws-prod/eu-west-1/keys/${key.keyId}/configuration.json`],
    });
    expect(finding?.message).toBe(
      `in 2026-Q3 the key rotated 1 time (2026-07-30T00:00:00.000Z), starting from 2026-05-01T00:00:00.000Z (rotation), never more than its rotation period of 90 days plus ${ROTATION_GRACE_DAYS} days' grace apart up to ${PERIOD_END}`,
    );
  });

  it("counts a lastRotation the record carries without its history as a known rotation", () => {
    const key = makeKey({
      rotation: collected<RotationStatus>({
        enabled: true,
        periodDays: 365,
        history: [],
        lastRotation: "2026-01-15T10:00:00.000Z",
      }),
    });
    const [finding] = judge(key);
    expect(finding?.status).toBe("pass");
    expect(finding?.message).toContain("2026-01-15T10:00:00.000Z (rotation)");
  });

  it("passes a rotation exactly interval + grace before the end, and fails one day more", () => {
    const exactly = makeKey({
      rotation: makeRotation({ periodDays: 90, history: rotations(daysBefore(PERIOD_END, 97)) }),
    });
    const late = makeKey({
      rotation: makeRotation({ periodDays: 90, history: rotations(daysBefore(PERIOD_END, 98)) }),
    });
    const [pass, fail] = check.run(makeSnapshot({ keys: [exactly, late] }));
    expect(pass?.status).toBe("pass");
    expect(pass?.message).toContain("no rotation was due");
    expect(fail).toMatchObject({
      status: "fail",
      severity: "high",
      keyId: late.keyId,
      // The day the rotation became overdue: the last rotation plus interval and grace.
      date: daysBefore(PERIOD_END, 1),
    });
    expect(fail?.message).toBe(
      `no rotation for 98 days from 2026-06-25T00:00:00.000Z (rotation) to ${PERIOD_END} (end of the judged span, still none) in 2026-Q3, longer than its rotation period of 90 days plus 7 days' grace; 0 rotations in the judged span`,
    );
  });

  it("fails a gap between two rotations inside the period, and names it", () => {
    const key = makeKey({
      rotation: makeRotation({
        periodDays: 90,
        history: rotations("2026-06-01T00:00:00.000Z", "2026-09-20T00:00:00.000Z"),
      }),
    });
    const [finding] = judge(key);
    expect(finding?.status).toBe("fail");
    expect(finding?.message).toContain(
      "no rotation for 111 days from 2026-06-01T00:00:00.000Z (rotation) to 2026-09-20T00:00:00.000Z in 2026-Q3",
    );
    expect(finding?.message).toContain("1 rotation in the judged span");
  });

  it("holds a key without a configured period to the policy maximum and says so", () => {
    const key = makeKey({ rotation: collected<RotationStatus>({ enabled: false, history: [] }) });
    const [finding] = judge(key, { policy: { maxRotationDays: 365 } });
    expect(finding?.status).toBe("fail");
    expect(finding?.message).toContain("from 2025-01-15T10:00:00.000Z (creation)");
    expect(finding?.message).toContain(
      "longer than the policy maximum of 365 days (automatic rotation is off) plus 7 days' grace",
    );
  });

  it("judges a key created mid-period from its creation, and not at all before a rotation is due", () => {
    const overdue = makeKey({
      createdAt: "2026-08-01T00:00:00.000Z",
      rotation: makeRotation({ periodDays: 30 }),
    });
    const rotated = makeKey({
      createdAt: "2026-08-01T00:00:00.000Z",
      rotation: makeRotation({ periodDays: 30, history: rotations("2026-08-31T00:00:00.000Z") }),
    });
    const young = makeKey({
      createdAt: "2026-09-01T00:00:00.000Z",
      rotation: makeRotation({ periodDays: 30 }),
    });
    const findings = check.run(makeSnapshot({ keys: [overdue, rotated, young] }));
    expect(findings.map((finding) => finding.status)).toEqual(["fail", "pass", "not-applicable"]);
    expect(findings[0]?.message).toContain("61 days from 2026-08-01T00:00:00.000Z (creation)");
    expect(findings[1]?.message).toContain("starting from 2026-08-01T00:00:00.000Z (creation)");
    expect(findings[2]?.message).toBe(
      `key created 2026-09-01T00:00:00.000Z is younger than its rotation period of 30 days plus 7 days' grace at the end of the judged span (${PERIOD_END}): no rotation was due yet`,
    );
  });

  it("ends the judged span at the capture when the facts were read before the period ended", () => {
    const capturedAt = "2026-09-01T00:00:00.000Z";
    const key = makeKey({
      rotation: makeRotation({ periodDays: 90, history: rotations(daysBefore(capturedAt, 97)) }),
    });
    expect(judge(key, { capturedAt })[0]?.status).toBe("pass");
  });

  it("warns, never fails, when the source did not report the history", () => {
    const unread = makeKey({ rotation: notCollected("kms:GetKeyRotationStatus") });
    const noHistory = makeKey({
      rotation: makeRotation({
        historyUnavailable: "kms:ListKeyRotations failed (AccessDeniedException): not authorized",
      }),
    });
    const findings = check.run(makeSnapshot({ keys: [unread, noHistory] }));
    expect(findings.map((finding) => finding.status)).toEqual(["warn", "warn"]);
    expect(findings[0]?.message).toContain(
      "the rotation history could not be read (kms:GetKeyRotationStatus failed",
    );
    expect(findings[1]?.message).toBe(
      "whether the key rotated in 2026-Q3 is unknown: the source did not report its rotation history (kms:ListKeyRotations failed (AccessDeniedException): not authorized)",
    );
  });

  it("warns when neither the creation nor an earlier rotation is known and the first part is too long", () => {
    const key = makeVaultKey({ rotation: makeRotation({ periodDays: 30 }) });
    delete key.createdAt;
    expect(judge(key)[0]?.status).toBe("warn");
  });

  it("is not applicable to ineligible keys and errs when eligibility is unknown", () => {
    const keys = [
      makeKey({ keySpec: "RSA_2048" }),
      makeKey({ manager: "provider" }),
      makeKey({ origin: "imported" }),
      makeKey({ keySpec: UNKNOWN_KEY_SPEC, rotation: notCollected("kms:GetKeyRotationStatus") }),
    ];
    expect(check.run(makeSnapshot({ keys })).map((finding) => finding.status)).toEqual([
      "not-applicable",
      "not-applicable",
      "not-applicable",
      "error",
    ]);
  });

  it("judges Azure key versions and Vault version times the same way", () => {
    const azure = makeAzureKey({
      rotation: makeRotation({
        periodDays: 90,
        history: [
          { date: "2026-04-20T00:00:00.000Z", type: "new-version", version: "v2" },
          { date: "2026-07-15T00:00:00.000Z", type: "new-version", version: "v3" },
        ],
      }),
    });
    const vault = makeVaultKey({
      createdAt: "2026-06-01T00:00:00.000Z",
      rotation: makeRotation({ periodDays: 30, history: [] }),
    });
    const findings = check.run(makeSnapshot({ keys: [azure, vault] }));
    expect(findings.map((finding) => [finding.source, finding.status])).toEqual([
      ["azure-prod", "pass"],
      ["vault-prod", "fail"],
    ]);
  });

  it("judges a multi-Region replica on its primary's rotations, and names the primary", () => {
    // The replica reports nothing of its own (as moto does): its primary's rotations count.
    const { primary, replica, primaryArn, replicaArn } = makeMultiRegionKeys(
      {
        rotation: makeRotation({
          periodDays: 90,
          history: rotations("2026-05-10T00:00:00.000Z", "2026-08-01T00:00:00.000Z"),
        }),
      },
      { rotation: collected<RotationStatus>({ enabled: false, history: [] }) },
    );
    const [onPrimary, onReplica] = check.run(makeSnapshot({ keys: [primary, replica] }));
    expect(onPrimary?.status).toBe("pass");
    expect(onReplica).toMatchObject({ status: "pass", location: "eu-west-1", resource: replicaArn });
    expect(onReplica?.message).toContain(
      `(multi-Region replica: judged on its primary ${primaryArn} in us-east-1, which holds the shared key material and its rotation; the replica itself reports automatic rotation off, but rotation is set on the primary only)`,
    );

    const alone = check.run(makeSnapshot({ keys: [replica] }));
    expect(alone[0]?.status).toBe("fail");
    expect(alone[0]?.message).toContain(
      `its primary in us-east-1 was not collected, so the replica's own reported rotation facts are judged`,
    );
  });

  it("reports a location it could not collect as an error", () => {
    const findings = check.run(makeSnapshot({ gaps: [makeGap({ location: "us-east-1" })] }));
    expect(findings).toEqual([expect.objectContaining({ status: "error", location: "us-east-1" })]);
  });
});
