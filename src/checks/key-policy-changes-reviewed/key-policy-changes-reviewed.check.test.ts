import { describe, expect, it } from "vitest";
import {
  makeChangeRecord,
  makeChangeSummary,
  makeGap,
  makeKey,
  makeKeyChangeHistory,
  makeKeys,
  makeSnapshot,
  makeUsageGap,
  makeUsageSummary,
} from "../../../test/factories/index.ts";
import { check } from "./key-policy-changes-reviewed.check.ts";

const ADMIN = "arn:aws:iam::111122223333:role/key-admin";
const putPolicy = makeChangeRecord({
  action: "PutKeyPolicy",
  principal: ADMIN,
  time: "2026-07-10T08:00:00.000Z",
});
const grant = makeChangeRecord({
  action: "CreateGrant",
  principal: ADMIN,
  time: "2026-09-01T12:00:00.000Z",
  eventId: "e-grant",
});
delete grant.sourceAddress;

describe("key-policy-changes-reviewed", () => {
  it("has nothing to judge in an empty snapshot", () => {
    expect(check.run(makeSnapshot())).toEqual([]);
  });

  it("passes a key with no policy or grant change in the period", () => {
    const key = makeKey();
    expect(check.run(makeSnapshot({ keys: [key] }))).toEqual([
      expect.objectContaining({
        checkId: "key-policy-changes-reviewed",
        status: "pass",
        keyId: key.keyId,
        message: "no key policy or grant change was logged in 2026-Q3",
      }),
    ]);
  });

  it("warns for a key with changes, naming each action, who and when", () => {
    const key = makeKey();
    const changes = [
      makeChangeSummary({ keys: [makeKeyChangeHistory(key.keyId, { accessChanges: [putPolicy, grant] })] }),
    ];
    const [finding] = check.run(makeSnapshot({ keys: [key], changes }));
    expect(finding).toMatchObject({ status: "warn", severity: "medium", date: "2026-07-10T08:00:00.000Z" });
    expect(finding?.message).toBe(
      `2 key policy or grant changes in 2026-Q3 to review: PutKeyPolicy by ${ADMIN} from 203.0.113.7 at 2026-07-10T08:00:00.000Z; CreateGrant by ${ADMIN} at 2026-09-01T12:00:00.000Z`,
    );
  });

  it("names at most ten changes and counts the rest, capped ones included", () => {
    const key = makeKey();
    const many = Array.from({ length: 12 }, (_, index) =>
      makeChangeRecord({ action: "CreateGrant", time: `2026-08-${String(index + 10)}T00:00:00.000Z` }),
    );
    const history = makeKeyChangeHistory(key.keyId, { accessChanges: many, accessChangesOmitted: 5 });
    const [finding] = check.run(
      makeSnapshot({ keys: [key], changes: [makeChangeSummary({ keys: [history] })] }),
    );
    expect(finding?.message).toMatch(/^17 key policy or grant changes/);
    expect(finding?.message).toContain("and 7 more in changes.ndjson");
  });

  it("errors when the history is unknown, warns when the log is incomplete", () => {
    const key = makeKey();
    expect(check.run(makeSnapshot({ keys: [key], usage: [], changes: [] }))[0]?.status).toBe("error");
    expect(
      check.run(
        makeSnapshot({ keys: [key], usage: [makeUsageSummary({ method: "none", eventCount: 0 })] }),
      )[0]?.status,
    ).toBe("error");
    const [partial] = check.run(
      makeSnapshot({ keys: [key], usage: [makeUsageSummary({ gaps: [makeUsageGap()] })] }),
    );
    expect(partial?.status).toBe("warn");
    expect(partial?.message).toContain("changes may be in the 1 unreadable part");
  });

  it("marks provider-managed keys not-applicable and reports collection gaps as errors", () => {
    const findings = check.run(
      makeSnapshot({ keys: [makeKey({ manager: "provider" })], gaps: [makeGap({ location: "sa-east-1" })] }),
    );
    expect(findings.map((finding) => finding.status)).toEqual(["not-applicable", "error"]);
  });

  it("gives each of many keys its own verdict", () => {
    const keys = makeKeys(3);
    const changes = [
      makeChangeSummary({ keys: [makeKeyChangeHistory(keys[2]?.keyId ?? "", { accessChanges: [grant] })] }),
    ];
    expect(check.run(makeSnapshot({ keys, changes })).map((finding) => finding.status)).toEqual([
      "pass",
      "pass",
      "warn",
    ]);
  });
});
