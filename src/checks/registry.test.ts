import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import {
  accountRootGrant,
  inventoryEntryFor,
  makeAccess,
  makeCollectionError,
  makeGap,
  makeGrant,
  makeInventoryEntry,
  makeKey,
  makeLoggingStatus,
  makeRotation,
  makeSink,
  makeSnapshot,
  makeSourceGap,
  makeUsageGap,
  makeUsageSummary,
  notCollected,
  withRawReadsRecorded,
} from "../../test/factories/index.ts";
import type { Check } from "./check.ts";
import { CheckMetadataSchema } from "./check-metadata.schema.ts";
import { CHECK_IDS, findCheck, isCheckId, registry } from "./registry.ts";
import { FINDING_STATUSES, SEVERITIES } from "../model/finding.ts";
import { UNKNOWN_KEY_SPEC } from "../model/key.ts";

const checksDirectory = fileURLToPath(new URL(".", import.meta.url));
const folders = readdirSync(checksDirectory, { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name)
  .sort();
const ids = registry.map((check) => check.metadata.id);

describe("check registry", () => {
  it("registers every check folder exactly once, and nothing else", () => {
    expect([...ids].sort()).toEqual(folders);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("keeps the public id list equal to the registry, in order", () => {
    expect(ids).toEqual([...CHECK_IDS]);
    expect(isCheckId("key-rotation-enabled")).toBe(true);
    expect(isCheckId("no-such-check")).toBe(false);
    expect(findCheck("key-state-active")?.metadata.id).toBe("key-state-active");
    expect(findCheck("no-such-check")).toBeUndefined();
  });

  describe.each(folders)("%s", (folder) => {
    const file = (suffix: string) => join(checksDirectory, folder, `${folder}${suffix}`);

    it("has <id>.check.ts, <id>.metadata.json and <id>.check.test.ts", () => {
      expect(existsSync(file(".check.ts"))).toBe(true);
      expect(existsSync(file(".metadata.json"))).toBe(true);
      expect(existsSync(file(".check.test.ts"))).toBe(true);
    });

    it("holds valid metadata whose id is the folder name", () => {
      const parsed = CheckMetadataSchema.safeParse(JSON.parse(readFileSync(file(".metadata.json"), "utf8")));
      expect(parsed.error?.issues ?? []).toEqual([]);
      expect(parsed.data?.id).toBe(folder);
    });

    it("exports `check` as registered, carrying the metadata from its JSON file", async () => {
      const module = (await import(`./${folder}/${folder}.check.ts`)) as { check: Check };
      expect(registry).toContain(module.check);
      expect(module.check.metadata).toEqual(JSON.parse(readFileSync(file(".metadata.json"), "utf8")));
    });
  });
});

/** A snapshot that exercises every branch family at once: used to check invariants shared by all checks. */
function busySnapshot() {
  const documented = makeKey({ aliases: ["alias/payments"] });
  return makeSnapshot({
    keys: [
      documented,
      makeKey({ rotation: makeRotation({ enabled: false, periodDays: 800 }) }),
      makeKey({
        keySpec: "RSA_1024",
        access: makeAccess([makeGrant({ principal: "*", principalKind: "wildcard" })]),
      }),
      makeKey({ manager: "provider", aliases: ["alias/aws/s3"] }),
      makeKey({ state: "pending-deletion", deletionDate: "2026-10-08T00:00:00.000Z" }),
      makeKey({
        location: "us-east-1",
        rotation: notCollected("kms:GetKeyRotationStatus"),
        access: notCollected("kms:GetKeyPolicy"),
        errors: [makeCollectionError({ call: "kms:ListAliases" })],
      }),
      makeKey({
        source: "aws-dr",
        location: "eu-west-2",
        access: makeAccess([
          accountRootGrant(),
          makeGrant({
            principal: "arn:aws:iam::111122223333:user/alice",
            principalKind: "human-user",
            actions: ["kms:*"],
          }),
        ]),
      }),
      makeKey({
        source: "azure-prod",
        sourceType: "azure-key-vault",
        location: "https://kv-prod.vault.azure.net",
        keySpec: "RSA_2048",
        access: notCollected("arm:roleAssignments.listForScope"),
        vaultProtection: notCollected("arm:Vaults.get"),
      }),
      makeKey({
        source: "vault-prod",
        sourceType: "hashicorp-vault",
        location: "transit",
        keyId: "transit/payments",
        keySpec: "aes256-gcm96",
        access: notCollected("vault:GET sys/policies/acl"),
      }),
      makeKey({
        source: "vault-prod",
        sourceType: "hashicorp-vault",
        location: "transit",
        keyId: "transit/unreadable",
        keySpec: UNKNOWN_KEY_SPEC,
        state: "unavailable",
        rotation: notCollected("vault:GET transit/keys/unreadable"),
        errors: [makeCollectionError({ call: "vault:GET transit/keys/unreadable" })],
      }),
    ],
    logging: [
      makeLoggingStatus({
        location: "us-east-1",
        sinks: [makeSink({ active: false, retention: { kind: "days", days: 30 } })],
      }),
      makeLoggingStatus({
        source: "aws-dr",
        location: "eu-west-2",
        sinks: [],
        errors: [makeCollectionError()],
      }),
      // The Vault audit-device listing and the Azure diagnostic settings failed: the monitoring checks' errors.
      makeLoggingStatus({
        source: "vault-prod",
        location: "transit",
        sinks: [],
        errors: [makeCollectionError({ call: "vault:GET sys/audit", code: "PermissionDenied" })],
      }),
      makeLoggingStatus({
        source: "azure-prod",
        location: "https://kv-prod.vault.azure.net",
        sinks: [],
        errors: [makeCollectionError({ call: "arm:DiagnosticSettings.list", code: "AuthorizationFailed" })],
      }),
    ],
    usage: [
      makeUsageSummary(),
      makeUsageSummary({
        location: "us-east-1",
        eventCount: 0,
        gaps: [makeUsageGap({ location: "us-east-1" })],
      }),
    ],
    gaps: [makeGap({ location: "sa-east-1" }), makeSourceGap({ source: "aws-gone" })],
    inventory: [inventoryEntryFor(documented), makeInventoryEntry({ match: "alias/retired" })],
  });
}

/**
 * The governance checks judge reviews and approvals, not the collected keys: their evidence is the
 * governance/*.json the judge step writes (and the procedure PDF), and the "failed collection" they depend
 * on is the Redis read of those facts, so the busy snapshot's key gaps cannot make them err.
 */
const GOVERNANCE_CHECKS: ReadonlySet<string> = new Set([
  "procedure-approved-current",
  "access-review-current",
]);
const EVIDENCE_PATH = /^(sources\/[^\s]+|inventory\.json|gaps\.json)$/;
const GOVERNANCE_EVIDENCE_PATH =
  /^(governance\/(procedure-approval|reviews)\.json|reports\/key-management-procedure\.pdf)$/;

describe.each(registry.map((check) => [check.metadata.id, check] as const))(
  "%s on a busy snapshot",
  (id, check) => {
    const snapshot = busySnapshot();
    const governance = GOVERNANCE_CHECKS.has(id);
    const findings = check.run(snapshot);

    it("labels every finding with its own id and a valid status and severity", () => {
      expect(findings.length).toBeGreaterThan(0);
      for (const finding of findings) {
        expect(finding.checkId).toBe(id);
        expect(FINDING_STATUSES).toContain(finding.status);
        expect(SEVERITIES).toContain(finding.severity);
      }
    });

    it("says what was judged, why, and where the evidence is", () => {
      for (const finding of findings) {
        expect(finding.source).not.toBe("");
        expect(finding.resource).not.toBe("");
        expect(finding.message).not.toBe("");
        expect(finding.evidence.length).toBeGreaterThan(0);
        for (const path of finding.evidence)
          expect(path).toMatch(governance ? GOVERNANCE_EVIDENCE_PATH : EVIDENCE_PATH);
      }
    });

    it("never leaves an optional field set to undefined (exactOptionalPropertyTypes, stable JSON)", () => {
      for (const finding of findings) {
        for (const value of Object.values(finding)) expect(value).not.toBeUndefined();
      }
    });

    it("reports the failed collections it depends on as errors", () => {
      const judged = governance
        ? check.run({
            ...snapshot,
            governance: { state: "unavailable", severity: "error", reason: "Redis: connection refused" },
          })
        : findings;
      expect(judged.some((finding) => finding.status === "error")).toBe(true);
    });

    it("never reads KeyRecord.raw: raw is evidence for people, every judged fact is a typed field", () => {
      const read: string[] = [];
      const guarded = withRawReadsRecorded(snapshot, read);
      check.run(guarded);
      expect(read).toEqual([]);
    });

    it("is pure: the same snapshot gives the same findings and is left untouched", () => {
      const before = structuredClone(snapshot);
      expect(check.run(snapshot)).toEqual(findings);
      expect(snapshot).toEqual(before);
    });
  },
);
