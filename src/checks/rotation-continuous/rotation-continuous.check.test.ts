import { describe, expect, it } from "vitest";
import {
  makeChangeRecord,
  makeChangeSummary,
  makeGap,
  makeKey,
  makeKeyChangeHistory,
  makeKeys,
  makeRotation,
  makeSnapshot,
  makeUsageGap,
  makeUsageSummary,
  notCollected,
} from "../../../test/factories/index.ts";
import { UNKNOWN_KEY_SPEC } from "../../model/key.ts";
import { check } from "./rotation-continuous.check.ts";

const MALLORY = "arn:aws:iam::111122223333:user/mallory";
const ADMIN = "arn:aws:iam::111122223333:role/key-admin";
const disable = makeChangeRecord({
  action: "DisableKeyRotation",
  rotationState: "disabled",
  principal: MALLORY,
  time: "2026-08-14T09:30:00.000Z",
});
const enable = makeChangeRecord({
  action: "EnableKeyRotation",
  rotationState: "enabled",
  principal: ADMIN,
  sourceAddress: "10.0.0.9",
  time: "2026-08-20T16:00:00.000Z",
  eventId: "e-enable",
});

describe("rotation-continuous", () => {
  it("has nothing to judge in an empty snapshot", () => {
    expect(check.run(makeSnapshot())).toEqual([]);
  });

  it("passes a key whose rotation was never switched off, pointing at the change extract", () => {
    const key = makeKey();
    const [finding] = check.run(makeSnapshot({ keys: [key] }));
    expect(finding).toMatchObject({
      checkId: "rotation-continuous",
      status: "pass",
      keyId: key.keyId,
      evidence: [
        "sources/aws-prod/eu-west-1/changes.ndjson",
        "sources/aws-prod/eu-west-1/changes-summary.json",
      ],
    });
    expect(finding?.message).toContain("not disabled at any time in 2026-Q3 (no rotation switch was logged)");
  });

  it("fails a key whose rotation was disabled in the period although it is enabled at capture, naming who and when", () => {
    const key = makeKey({ rotation: makeRotation({ enabled: true }) });
    const changes = [
      makeChangeSummary({
        changeCount: 2,
        keys: [makeKeyChangeHistory(key.keyId, { rotationToggles: [disable, enable] })],
      }),
    ];
    const [finding] = check.run(makeSnapshot({ keys: [key], changes }));
    expect(finding).toMatchObject({ status: "fail", severity: "high", date: "2026-08-14T09:30:00.000Z" });
    expect(finding?.message).toBe(
      `automatic rotation was disabled 1 time in 2026-Q3: DisableKeyRotation by ${MALLORY} from 203.0.113.7 at 2026-08-14T09:30:00.000Z, EnableKeyRotation by ${ADMIN} from 10.0.0.9 at 2026-08-20T16:00:00.000Z; rotation is enabled again at capture`,
    );
  });

  it("matches the history by key ARN too, and says when rotation is still off", () => {
    const key = makeKey({ rotation: makeRotation({ enabled: false }) });
    const changes = [
      makeChangeSummary({ keys: [makeKeyChangeHistory(key.arn, { rotationToggles: [disable] })] }),
    ];
    const [finding] = check.run(makeSnapshot({ keys: [key], changes }));
    expect(finding?.status).toBe("fail");
    expect(finding?.message).toContain("rotation is still disabled at capture");
  });

  it("fails on the counted disables even when the capped list kept none of them", () => {
    const key = makeKey();
    const history = makeKeyChangeHistory(key.keyId, {
      rotationToggles: [enable],
      rotationTogglesOmitted: 150,
      rotationDisabledCount: 75,
    });
    const [finding] = check.run(
      makeSnapshot({ keys: [key], changes: [makeChangeSummary({ keys: [history] })] }),
    );
    expect(finding?.status).toBe("fail");
    expect(finding?.message).toContain("disabled 75 times");
    expect(finding?.message).toContain("150 more switches in changes.ndjson");
    expect(finding).not.toHaveProperty("date");
  });

  it("passes a key whose rotation was only switched on", () => {
    const key = makeKey();
    const changes = [
      makeChangeSummary({ keys: [makeKeyChangeHistory(key.keyId, { rotationToggles: [enable] })] }),
    ];
    const [finding] = check.run(makeSnapshot({ keys: [key], changes }));
    expect(finding?.status).toBe("pass");
    expect(finding?.message).toContain(`EnableKeyRotation by ${ADMIN}`);
  });

  it("marks keys that cannot rotate not-applicable, and an unreadable key spec error", () => {
    const findings = check.run(
      makeSnapshot({
        keys: [
          makeKey({ keySpec: "RSA_2048" }),
          makeKey({ manager: "provider" }),
          makeKey({ keySpec: UNKNOWN_KEY_SPEC, rotation: notCollected("kms:GetKeyRotationStatus") }),
        ],
      }),
    );
    expect(findings.map((finding) => finding.status)).toEqual(["not-applicable", "not-applicable", "error"]);
  });

  it("errors when the location's usage log was not extracted or has no log source: unknown is not pass", () => {
    const key = makeKey();
    const notExtracted = check.run(makeSnapshot({ keys: [key], usage: [], changes: [] }));
    expect(notExtracted).toEqual([
      expect.objectContaining({
        status: "error",
        evidence: ["gaps.json"],
        message: expect.stringContaining("was not extracted") as string,
      }),
    ]);
    const none = check.run(
      makeSnapshot({ keys: [key], usage: [makeUsageSummary({ method: "none", eventCount: 0 })] }),
    );
    expect(none[0]).toMatchObject({
      status: "error",
      message: expect.stringContaining("method none") as string,
    });
    const unreadable = check.run(
      makeSnapshot({ keys: [key], usage: [makeUsageSummary({ eventCount: 0, gaps: [makeUsageGap()] })] }),
    );
    expect(unreadable[0]).toMatchObject({
      status: "error",
      message: expect.stringContaining("could not be read") as string,
    });
  });

  it("warns when nothing was found but parts of the log were unreadable", () => {
    const key = makeKey();
    const [finding] = check.run(
      makeSnapshot({ keys: [key], usage: [makeUsageSummary({ gaps: [makeUsageGap()] })] }),
    );
    expect(finding).toMatchObject({
      status: "warn",
      evidence: expect.arrayContaining(["gaps.json"]) as string[],
    });
    expect(finding?.message).toContain("a switch-off may be in the 1 unreadable part: AWSLogs/");
  });

  it("judges Azure and Vault keys too, and reports collection gaps as errors", () => {
    const findings = check.run(
      makeSnapshot({
        keys: [
          ...makeKeys(3),
          makeKey({
            source: "vault-prod",
            sourceType: "hashicorp-vault",
            location: "transit",
            keySpec: "aes256-gcm96",
          }),
        ],
        gaps: [makeGap({ location: "sa-east-1" })],
      }),
    );
    expect(findings.map((finding) => finding.status)).toEqual(["pass", "pass", "pass", "pass", "error"]);
    expect(findings[4]?.message).toContain("collection gap in aws-prod/sa-east-1");
  });

  it("warns, naming who and when, on a rotation change whose resulting state the log does not show (Azure)", () => {
    const vault = "https://kv-prod.vault.azure.net";
    const key = makeKey({
      source: "azure-prod",
      sourceType: "azure-key-vault",
      location: vault,
      keyId: `${vault}/keys/payments`,
      keySpec: "RSA_2048",
      rotation: makeRotation({ enabled: true }),
    });
    const policySet = makeChangeRecord({
      action: "KeyRotationPolicySet",
      rotationState: "unknown",
      principal: "ops@example.com",
      sourceAddress: "203.0.113.20",
      time: "2026-08-02T09:00:00.000Z",
    });
    const snapshot = makeSnapshot({
      keys: [key],
      usage: [makeUsageSummary({ source: "azure-prod", location: vault })],
      changes: [
        makeChangeSummary({
          source: "azure-prod",
          location: vault,
          keys: [makeKeyChangeHistory(key.keyId, { rotationToggles: [policySet] })],
        }),
      ],
    });
    const [finding] = check.run(snapshot);
    expect(finding).toMatchObject({ status: "warn", date: "2026-08-02T09:00:00.000Z" });
    expect(finding?.message).toBe(
      "the rotation settings were changed 1 time in 2026-Q3 and the log does not show whether rotation stayed on; review: KeyRotationPolicySet (resulting rotation state not logged) by ops@example.com from 203.0.113.20 at 2026-08-02T09:00:00.000Z; rotation is enabled again at capture",
    );
  });

  it("fails a Vault key whose auto_rotate_period was logged in clear as 0, even among unknown changes", () => {
    const key = makeKey({
      source: "vault-prod",
      sourceType: "hashicorp-vault",
      location: "https://vault.example:8200",
      keyId: "transit/payments",
      keySpec: "aes256-gcm96",
    });
    const off = makeChangeRecord({
      action: "transit/configure-key",
      rotationState: "disabled",
      principal: "token-ops",
    });
    const unknown = makeChangeRecord({
      action: "transit/configure-key",
      rotationState: "unknown",
      time: "2026-09-01T00:00:00.000Z",
    });
    const [finding] = check.run(
      makeSnapshot({
        keys: [key],
        usage: [makeUsageSummary({ source: "vault-prod", location: key.location })],
        changes: [
          makeChangeSummary({
            source: "vault-prod",
            location: key.location,
            keys: [makeKeyChangeHistory(key.keyId, { rotationToggles: [off, unknown] })],
          }),
        ],
      }),
    );
    expect(finding?.status).toBe("fail");
    expect(finding?.message).toContain(
      "automatic rotation was disabled 1 time in 2026-Q3: transit/configure-key by token-ops",
    );
  });

  it("gives each of many keys its own verdict", () => {
    const keys = makeKeys(4);
    const changes = [
      makeChangeSummary({
        keys: [
          makeKeyChangeHistory(keys[1]?.keyId ?? "", { rotationToggles: [disable] }),
          makeKeyChangeHistory(keys[3]?.keyId ?? "", { rotationToggles: [disable] }),
        ],
      }),
    ];
    expect(check.run(makeSnapshot({ keys, changes })).map((finding) => finding.status)).toEqual([
      "pass",
      "fail",
      "pass",
      "fail",
    ]);
  });
});
