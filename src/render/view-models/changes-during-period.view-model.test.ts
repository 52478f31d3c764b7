import { describe, expect, it } from "vitest";
import {
  makeChangeRecord,
  makeChangeSummary,
  makeKey,
  makeKeyChangeHistory,
  makeKeys,
  makeRotation,
  makeSnapshot,
  makeUsageSummary,
} from "../../../test/factories/index.ts";
import { runChecks } from "../../checks/run-checks.ts";
import {
  CHANGES_SHOWN,
  KEYS_SHOWN,
  buildChangesDuringPeriodView,
} from "./changes-during-period.view-model.ts";

const MALLORY = "arn:aws:iam::111122223333:user/mallory";
const disable = makeChangeRecord({
  action: "DisableKeyRotation",
  rotationState: "disabled",
  principal: MALLORY,
});
const enable = makeChangeRecord({
  action: "EnableKeyRotation",
  rotationState: "enabled",
  time: "2026-08-20T16:00:00.000Z",
  eventId: "e-enable",
});
const grant = makeChangeRecord({
  action: "CreateGrant",
  time: "2026-08-02T00:00:00.000Z",
  sourceAddress: "10.0.0.9",
});

describe("buildChangesDuringPeriodView", () => {
  it("lists each location's actions and each key's changes with who, when and from where, and the checks' verdicts", () => {
    const key = makeKey({ rotation: makeRotation({ enabled: true }) });
    const snapshot = makeSnapshot({
      keys: [key],
      changes: [
        makeChangeSummary({
          changeCount: 4,
          byAction: { CreateGrant: 1, DisableKeyRotation: 1, EnableKeyRotation: 1, TagResource: 1 },
          keys: [
            makeKeyChangeHistory(key.keyId, { rotationToggles: [disable, enable], accessChanges: [grant] }),
          ],
        }),
      ],
    });
    const view = buildChangesDuringPeriodView(snapshot.sources, runChecks(snapshot));
    const [location] = view.locations;
    expect(location?.where).toBe(`${key.source} / ${key.location}`);
    expect(location?.summary).toBe(
      "4 administrative events (failed attempts included): CreateGrant 1, DisableKeyRotation 1, EnableKeyRotation 1, TagResource 1.",
    );
    expect(location?.keys).toEqual([
      {
        key: key.keyId,
        rotation: {
          lines: [
            `DisableKeyRotation by ${MALLORY} from 203.0.113.7, 2026-08-14 09:30:00 UTC`,
            `EnableKeyRotation by ${MALLORY} from 203.0.113.7, 2026-08-20 16:00:00 UTC`,
          ],
          more: "",
        },
        access: { lines: [expect.stringContaining("CreateGrant by") as string], more: "" },
        // Looked up from the findings the real checks gave: the disable fails, the grant is to review.
        verdicts: [
          { checkId: "rotation-continuous", label: "Fail", statusClass: "fail" },
          { checkId: "key-policy-changes-reviewed", label: "Needs review", statusClass: "warn" },
        ],
      },
    ]);
  });

  it("caps the lists and the keys, counting the rest with where to find them", () => {
    const keys = makeKeys(KEYS_SHOWN + 2);
    const many = Array.from({ length: CHANGES_SHOWN + 3 }, (_, day) =>
      makeChangeRecord({ action: "PutKeyPolicy", time: `2026-08-${String(day + 10)}T00:00:00.000Z` }),
    );
    const snapshot = makeSnapshot({
      keys,
      changes: [
        makeChangeSummary({
          keys: keys.map((key) =>
            makeKeyChangeHistory(key.keyId, { accessChanges: many, accessChangesOmitted: 40 }),
          ),
        }),
      ],
    });
    const [location] = buildChangesDuringPeriodView(snapshot.sources, runChecks(snapshot)).locations;
    expect(location?.keys).toHaveLength(KEYS_SHOWN);
    expect(location?.moreKeys).toBe("2 more keys with changes in changes-summary.json");
    expect(location?.keys[0]?.access.lines).toHaveLength(CHANGES_SHOWN);
    expect(location?.keys[0]?.access.more).toBe("43 more in changes.ndjson");
  });

  it("shows vault-wide access changes once, and names a history it does not have as unknown, never as no change", () => {
    const vault = "https://kv-prod.vault.azure.net";
    const patch = makeChangeRecord({ action: "VaultPatch", principal: "ops@example.com" });
    delete patch.sourceAddress;
    const snapshot = makeSnapshot({
      keys: [
        makeKey({
          source: "azure-prod",
          sourceType: "azure-key-vault",
          location: vault,
          keyId: `${vault}/keys/a`,
        }),
        makeKey({ location: "eu-west-1" }),
      ],
      usage: [
        makeUsageSummary({ source: "azure-prod", location: vault }),
        makeUsageSummary({ location: "eu-west-1", method: "none", eventCount: 0 }),
      ],
      changes: [makeChangeSummary({ source: "azure-prod", location: vault, locationAccessChanges: [patch] })],
    });
    const view = buildChangesDuringPeriodView(snapshot.sources, runChecks(snapshot));
    const byWhere = new Map(view.locations.map((location) => [location.where, location]));
    expect(byWhere.get(`azure-prod / ${vault}`)).toMatchObject({
      summary: "No administrative event was logged in the period.",
      locationAccess: { lines: ["VaultPatch by ops@example.com, 2026-08-14 09:30:00 UTC"], more: "" },
      keys: [],
    });
    expect(byWhere.get("aws-prod / eu-west-1")?.summary).toBe(
      "Unknown: no usage log source is configured for this location (method none).",
    );
  });

  it("says so when there is nothing collected", () => {
    expect(buildChangesDuringPeriodView([], [])).toEqual({
      locations: [],
      empty: "No source was collected in this run.",
    });
  });
});
