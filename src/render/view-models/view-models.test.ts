import { describe, expect, it } from "vitest";
import type { CheckMetadata } from "../../checks/check.ts";
import type { Finding } from "../../model/finding.ts";
import {
  accountRootGrant,
  inventoryEntryFor,
  makeAccess,
  makeCollectionError,
  makeGrant,
  makeInventoryEntry,
  makeKey,
  makeMultiRegionKeys,
  makeRotation,
  makeSink,
  makeLoggingStatus,
  makeSnapshot,
  makeUsageSummary,
  notCollected,
  makeProcedureApproval,
} from "../../../test/factories/index.ts";
import { computeContentDigest } from "../content-digest.ts";
import { buildAccessPolicyView } from "./access-policy.view-model.ts";
import { buildEvidenceIndexView } from "./evidence-index.view-model.ts";
import { buildFindingsReportView, buildSincePreviousView } from "./findings-report.view-model.ts";
import { diffBundles, noPreviousBundle, type BundleContents } from "../../evidence/bundle-diff.ts";
import { buildKeyConfigurationView } from "./key-configuration.view-model.ts";
import { NO_OWNER_TEXT, buildKeyInventoryView, type InventoryKeyView } from "./key-inventory.view-model.ts";
import { buildKeyManagementProcedureView, reviewDateOf } from "./key-management-procedure.view-model.ts";
import { buildLoggingConfigurationView } from "./logging-configuration.view-model.ts";
import { PRINCIPALS_NOT_ITEMIZED, buildUsageSummaryView } from "./usage-summary.view-model.ts";
import { keyReference, matchInventory } from "../../inventory/match-inventory.ts";
import { runChecks } from "../../checks/run-checks.ts";
import type { Snapshot } from "../../model/snapshot.ts";
import { captureWindowOf } from "../../model/snapshot.ts";
import type { CaptureWindow } from "./capture-banner.view-model.ts";
import { describeSignerIdentity, publicKeyFingerprint } from "./signer-identity.ts";
import { indexFindings, proseOf, stripMarkdown, type FindingIndex } from "./verdicts.ts";

const generatedAt = new Date("2026-10-01T09:00:00.000Z");

/** What renderEvidence hands every view model: the capture window and the real checks' findings. */
function judged(snapshot: Snapshot): { capture: CaptureWindow; verdicts: FindingIndex } {
  return { capture: captureWindowOf(snapshot), verdicts: indexFindings(runChecks(snapshot)) };
}

/** The logging view of the snapshot's first location, judged by the real checks. */
function loggingViewOf(snapshot: Snapshot, exportSha256: string | undefined = "c".repeat(64)) {
  const source = snapshot.sources[0]!;
  return buildLoggingConfigurationView({
    snapshot,
    ...judged(snapshot),
    source,
    location: source.locations[0]!,
    exportSha256,
  });
}

const rotationCheck: CheckMetadata = {
  id: "key-rotation-enabled",
  title: "Automatic key rotation is enabled",
  severity: "high",
  risk: "A key that never rotates protects more data for longer.",
  remediation: "Enable automatic rotation.",
  soc2: ["CC6.1"],
  procedureStep: "Enable key rotation settings",
  sourceTypes: ["aws-kms"],
};

function finding(overrides: Partial<Finding>): Finding {
  return {
    checkId: "key-rotation-enabled",
    status: "pass",
    severity: "info",
    source: "aws-prod",
    resource: "r",
    message: "m",
    evidence: [],
    ...overrides,
  };
}

describe("buildKeyConfigurationView", () => {
  it("names a multi-Region replica's primary and counts a primary's replicas", () => {
    const { primary, replica, primaryArn } = makeMultiRegionKeys();
    const single = makeKey({ multiRegion: false });
    const snapshot = makeSnapshot({ keys: [primary, replica, single] });
    const multiRegionRow = (key: typeof primary) =>
      buildKeyConfigurationView({
        snapshot,
        ...judged(snapshot),
        source: snapshot.sources[0]!,
        key,
        inventoryEntry: undefined,
        exportSha256: undefined,
      }).generalRows.find((row) => row.label === "Multi-Region")?.value;
    expect(multiRegionRow(replica)).toBe(`Yes — replica of ${primaryArn} (us-east-1)`);
    expect(multiRegionRow(primary)).toBe("Yes — primary, 1 replica");
    expect(multiRegionRow(single)).toBe("No");
  });

  it("shows rotation, owner, banner digest and UTC dates", () => {
    const key = makeKey({
      aliases: ["alias/payments"],
      rotation: makeRotation({ lastRotation: "2026-01-15T10:00:00.000Z" }),
    });
    const snapshot = makeSnapshot({ keys: [key] });
    const view = buildKeyConfigurationView({
      snapshot,
      ...judged(snapshot),
      source: snapshot.sources[0]!,
      key,
      inventoryEntry: inventoryEntryFor(key),
      exportSha256: "ab".repeat(32),
    });
    expect(view.rotationStatus).toBe("Enabled");
    expect(view.banner).toMatchObject({
      capturedAt: "2026-10-01 08:00:00 UTC",
      runId: "run-test-0001",
      exportSha256: "ab".repeat(32),
      exportMissing: false,
    });
    expect(view.banner.exportPath).toBe(`sources/aws-prod/eu-west-1/keys/${key.keyId}/configuration.json`);
    expect(view.rotationRows).toContainEqual(
      expect.objectContaining({ label: "Last rotation", value: "2026-01-15 10:00:00 UTC" }),
    );
    expect(view.rotationRows).toContainEqual(
      expect.objectContaining({ label: "Rotation period", value: "365 days" }),
    );
    expect(view.ownershipRows).toContainEqual(
      expect.objectContaining({ label: "Owner", value: "jane.doe@example.com" }),
    );
    expect(view.theme).toBe("aws");
    expect(view.title).toBe("alias/payments");
  });

  it("says rotation could not be read, with the cause, and flags a key no inventory entry names", () => {
    const key = makeKey({ rotation: notCollected("kms:GetKeyRotationStatus") });
    const snapshot = makeSnapshot({ keys: [key] });
    const view = buildKeyConfigurationView({
      snapshot,
      ...judged(snapshot),
      source: snapshot.sources[0]!,
      key,
      inventoryEntry: undefined,
      exportSha256: undefined,
    });
    expect(view.rotationStatus).toBe("Could not be read");
    expect(view.rotationVerdict).toBe("error");
    expect(view.rotationReason).toContain("kms:GetKeyRotationStatus failed (AccessDeniedException)");
    expect(view.rotationRows[0]).toMatchObject({ value: "Could not be read", status: "error" });
    expect(view.ownershipRows[0]).toMatchObject({
      value: "No inventory entry names this key",
      tone: "bad",
      checkId: "key-owner-documented",
      status: "fail",
    });
    expect(view.banner.exportMissing).toBe(true);
  });

  it("shows rotation of an asymmetric AWS key as not applicable, with the check's reason, never as a red 'Not enabled'", () => {
    const key = makeKey({
      keySpec: "RSA_2048",
      rawKeyType: "RSA_2048",
      keyUsage: "SIGN_VERIFY",
      rotation: makeRotation({ enabled: false }),
    });
    const snapshot = makeSnapshot({ keys: [key] });
    const view = buildKeyConfigurationView({
      snapshot,
      ...judged(snapshot),
      source: snapshot.sources[0]!,
      key,
      inventoryEntry: inventoryEntryFor(key),
      exportSha256: undefined,
    });
    expect(view.rotationStatus).toBe("Not applicable");
    expect(view.rotationTone).toBe("plain");
    expect(view.rotationReason).toContain("AWS KMS cannot rotate asymmetric keys");
    const tones = [...view.rotationRows, ...view.generalRows].map((row) => row.tone);
    expect(tones).not.toContain("bad");
    expect(view.checks).toContainEqual(
      expect.objectContaining({ checkId: "key-rotation-enabled", status: "not-applicable" }),
    );
  });

  it("presents a last rotation and an empty history consistently (Vault reports no history)", () => {
    const key = makeKey({
      source: "vault-prod",
      sourceType: "hashicorp-vault",
      location: "transit",
      keyId: "transit/app",
      keySpec: "AES256_GCM96",
      rawKeyType: "aes256-gcm96",
      rotation: makeRotation({ periodDays: 90, lastRotation: "2026-09-08T12:00:00.000Z", history: [] }),
    });
    const snapshot = makeSnapshot({ keys: [key] });
    const view = buildKeyConfigurationView({
      snapshot,
      ...judged(snapshot),
      source: snapshot.sources[0]!,
      key,
      inventoryEntry: inventoryEntryFor(key),
      exportSha256: undefined,
    });
    const history = view.rotationRows.find((row) => row.label === "Rotation history")?.value ?? "";
    expect(history).not.toContain("No rotations recorded");
    expect(history).toContain("Not reported by the source");
    expect(history).toContain("2026-09-08 12:00:00 UTC");
  });

  it("shows the run's capture window on the banner, so no read time on the page is later than it", () => {
    const early = makeKey({
      rotation: { ...makeRotation(), capturedAt: "2026-10-01T07:59:00.000Z" },
    });
    const late = makeKey({
      access: { ...makeAccess([accountRootGrant()]), capturedAt: "2026-10-01T08:03:12.000Z" },
    });
    const snapshot = makeSnapshot({ keys: [early, late] });
    const view = buildKeyConfigurationView({
      snapshot,
      ...judged(snapshot),
      source: snapshot.sources[0]!,
      key: early,
      inventoryEntry: undefined,
      exportSha256: undefined,
    });
    expect(view.banner.capturedAt).toBe("2026-10-01 07:59:00 UTC to 2026-10-01 08:03:12 UTC");
  });
});

describe("buildAccessPolicyView", () => {
  it("separates statements from grants and flags the grants a failing finding names", () => {
    const human = makeGrant({
      principal: "arn:aws:iam::111122223333:user/alice",
      principalKind: "human-user",
      via: "grant",
      reference: "grant-1",
    });
    const key = makeKey({ access: makeAccess([accountRootGrant(), makeGrant(), human]) });
    const snapshot = makeSnapshot({ keys: [key] });
    const view = buildAccessPolicyView({
      snapshot,
      capture: captureWindowOf(snapshot),
      // Hand-made findings: this test is about flagging by message, not about what the checks say.
      verdicts: indexFindings([
        finding({
          checkId: "key-access-no-human-users",
          status: "fail",
          severity: "high",
          location: key.location,
          keyId: key.keyId,
          message: `${human.principal} is a human user with \`kms:Decrypt\``,
        }),
        finding({ location: key.location, keyId: key.keyId }),
      ]),
      source: snapshot.sources[0]!,
      key,
      inventoryEntry: undefined,
      exportSha256: undefined,
      checksById: new Map([[rotationCheck.id, rotationCheck]]),
    });
    expect(view.attentionCount).toBe(1);
    expect(view.findings[0]).toMatchObject({
      status: "FAIL",
      attention: true,
      message: `${human.principal} is a human user with kms:Decrypt`,
    });
    expect(view.findings[1]).toMatchObject({
      status: "PASS",
      attention: false,
      checkTitle: rotationCheck.title,
    });
    expect(view.statements).toHaveLength(2);
    expect(view.grants).toEqual([
      expect.objectContaining({ principal: human.principal, flagged: true, reference: "grant-1" }),
    ]);
    expect(view.statements.every((statement) => !statement.flagged)).toBe(true);
    expect(view.principals.find((principal) => principal.principal === human.principal)?.flagged).toBe(true);
  });

  it("shows why the policy is missing when it could not be read", () => {
    const key = makeKey({ access: notCollected("kms:GetKeyPolicy") });
    const snapshot = makeSnapshot({ keys: [key] });
    const view = buildAccessPolicyView({
      snapshot,
      ...judged(snapshot),
      source: snapshot.sources[0]!,
      key,
      inventoryEntry: undefined,
      exportSha256: undefined,
      checksById: new Map(),
    });
    expect(view.accessError).toContain("kms:GetKeyPolicy failed: AccessDeniedException");
    expect(view.statements).toEqual([]);
  });
});

describe("buildLoggingConfigurationView", () => {
  it("marks retention by log-retention-sufficient: 90 days where 365 are required is too short", () => {
    const snapshot = makeSnapshot({
      keys: [makeKey()],
      logging: [
        makeLoggingStatus({
          sinks: [
            makeSink({ retention: { kind: "days", days: 90 } }),
            makeSink({ name: "old-trail", active: false, coversKeyEvents: false, coverageReason: "stopped" }),
          ],
        }),
      ],
    });
    const view = loggingViewOf(snapshot);
    expect(view.summary).toBe("1 of 2 trail(s) active and recording key events");
    expect(view.verdicts).toEqual([
      expect.objectContaining({ checkId: "key-usage-logging-enabled", status: "pass", tone: "ok" }),
      expect.objectContaining({
        checkId: "log-retention-sufficient",
        status: "fail",
        label: "Retention too short",
        tone: "bad",
      }),
    ]);
    // The verdict is the location's: on the headline with the check's message, not on a sink's cell.
    expect(view.verdicts[1]?.reason).toBe(
      "key events are kept for less than the required 365 days (org-trail: 90 days)",
    );
    expect(view.sinks[0]).toEqual(expect.objectContaining({ retention: "90 days" }));
    expect(view.sinks[0]).not.toHaveProperty("retentionTone");
    expect(view.sinks[1]).toMatchObject({ name: "old-trail", activeText: "Inactive" });
    expect(view.title).toBe("CloudTrail trails");
  });
});

describe("buildLoggingConfigurationView: a sink's retention is never coloured by a verdict that does not name it", () => {
  it("shows a 90-day sink neutral when another sink keeps 400 days and the location passes", () => {
    const snapshot = makeSnapshot({
      keys: [makeKey()],
      logging: [
        makeLoggingStatus({
          sinks: [
            makeSink({ name: "short-trail", retention: { kind: "days", days: 90 } }),
            makeSink({ name: "archive-trail", retention: { kind: "days", days: 400 } }),
          ],
        }),
      ],
    });
    const view = loggingViewOf(snapshot, undefined);
    const retention = view.verdicts.find((verdict) => verdict.checkId === "log-retention-sufficient");
    expect(retention).toMatchObject({
      title: "Log retention",
      status: "pass",
      label: "Retention sufficient",
      tone: "ok",
      reason: "key events are retained for at least 365 days (archive-trail: 400 days)",
    });
    expect(view.sinks.map((sink) => [sink.name, sink.retention])).toEqual([
      ["short-trail", "90 days"],
      ["archive-trail", "400 days"],
    ]);
    // No sink carries a tone: only the headline, looked up from the location's finding, is coloured.
    for (const sink of view.sinks) expect(Object.keys(sink)).not.toContain("retentionTone");
  });
});

describe("buildFindingsReportView", () => {
  it("leads with open findings by severity, then one compact row per closed finding, without markdown", () => {
    const view = buildFindingsReportView({
      snapshot: makeSnapshot(),
      findings: [
        finding({ resource: "b" }),
        finding({
          status: "fail",
          severity: "high",
          resource: "a",
          date: "2025-01-01T00:00:00.000Z",
          message: "key policy grants `kms:*`",
        }),
        finding({ status: "error", severity: "info", resource: "c" }),
        finding({ status: "not-applicable", resource: "d" }),
      ],
      checks: [rotationCheck],
      generatedAt,
    });
    expect(view.groups.map((group) => group.severity)).toEqual(["High", "Informational"]);
    expect(view.groups[0]?.findings[0]).toMatchObject({
      status: "FAIL",
      risk: proseOf(rotationCheck.risk),
      soc2: "CC6.1",
      date: "2025-01-01 00:00:00 UTC",
      message: [
        { text: "key policy grants ", code: false },
        { text: "kms:*", code: true },
      ],
    });
    expect(view.groups[1]?.findings.map((entry) => entry.status)).toEqual(["ERROR"]);
    expect(view.closed.map((entry) => entry.status)).toEqual(["PASS", "N/A"]);
    expect(view.closedTotal).toBe(2);
    expect(view.attentionTotal).toBe(2);
  });
});

describe("buildSincePreviousView", () => {
  const contents = (runId: string, enabled: boolean): BundleContents => ({
    runId,
    period: { label: "2026-Q3", from: "2026-07-01", to: "2026-09-30" },
    capturedAt: "2026-10-01T09:00:00.000Z",
    findings: [],
    keys: [
      { source: "aws-prod", location: "us-east-1", keyId: "k1", configuration: { rotation: { enabled } } },
    ],
  });

  it("lists the changes by section, naming the previous bundle", () => {
    const view = buildSincePreviousView(diffBundles(contents("kp-a", true), contents("kp-b", false)));
    expect(view.compared).toBe(true);
    expect(view.summary).toContain("Compared with run kp-a (period 2026-Q3");
    expect(view.sections.find((section) => section.title === "Rotation")).toEqual({
      title: "Rotation",
      count: 1,
      lines: ["aws-prod / us-east-1 / k1: disabled: enabled → disabled"],
    });
  });

  it("says unchanged, first bundle of its chain, the reason, or not computed", () => {
    expect(
      buildSincePreviousView(diffBundles(contents("kp-a", true), contents("kp-b", true))).unchanged,
    ).toBe(true);
    expect(
      buildSincePreviousView(noPreviousBundle(contents("kp-b", true), "first bundle of its chain")).summary,
    ).toBe("None: this is the first bundle of its chain.");
    expect(
      buildSincePreviousView(noPreviousBundle(contents("kp-b", true), "it does not verify")).summary,
    ).toBe("Not available: it does not verify.");
    expect(buildSincePreviousView(undefined).summary).toBe("Not computed for this report.");
  });
});

describe("prose and markdown", () => {
  it("splits backtick code spans and leaves an unpaired backtick as text", () => {
    expect(proseOf("a `b` c")).toEqual([
      { text: "a ", code: false },
      { text: "b", code: true },
      { text: " c", code: false },
    ]);
    expect(proseOf("a `b")).toEqual([
      { text: "a ", code: false },
      { text: "b", code: false },
    ]);
    expect(stripMarkdown("`all`/`purge`")).toBe("all/purge");
  });
});

describe("describeSignerIdentity", () => {
  it("names the signer by key id and fingerprint, never by a file path", async () => {
    const { generateKeyPairSync } = await import("node:crypto");
    const { publicKey } = generateKeyPairSync("ed25519");
    const pem = publicKey.export({ type: "spki", format: "pem" }).toString();
    const fingerprint = publicKeyFingerprint(pem);
    const text = describeSignerIdentity({ keyId: `local:${fingerprint}`, publicKeyPem: pem });
    expect(text).toBe(
      `local Ed25519 key local:${fingerprint} (public key SHA-256 fingerprint ${fingerprint})`,
    );
    expect(text).not.toMatch(/\.pem|\//);
    expect(describeSignerIdentity({ keyId: "arn:aws:kms:eu-west-1:111122223333:key/abc" })).toContain(
      "AWS KMS key arn:aws:kms:eu-west-1:111122223333:key/abc (public key SHA-256 fingerprint not available)",
    );
  });
});

describe("buildKeyInventoryView", () => {
  it("lists every key with its owner and declared entries that match nothing", () => {
    const documented = makeKey();
    const undocumented = makeKey();
    const stray = inventoryEntryFor({ source: "aws-prod", keyId: "does-not-exist" }, { owner: "bob" });
    const entry = inventoryEntryFor(documented);
    const snapshot = makeSnapshot({ keys: [documented, undocumented], inventory: [entry, stray] });
    const view = buildKeyInventoryView({
      snapshot,
      inventoryEntryByKey: new Map([[keyReference(documented), entry]]),
      verdicts: judged(snapshot).verdicts,
      generatedAt,
    });
    expect(view).toMatchObject({ keyCount: 2, documentedCount: 1, undocumentedCount: 1 });
    const keys = view.sources[0]?.locations[0]?.keys ?? [];
    expect(keys.find((key) => key.keyId === undocumented.keyId)).toMatchObject({
      documented: false,
      owner: "NO OWNER DOCUMENTED",
      ownerStatus: "fail",
      ownerTone: "bad",
      rotation: "Enabled",
      rotationStatus: "pass",
    });
    expect(view.unmatched).toEqual([expect.objectContaining({ match: "does-not-exist", owner: "bob" })]);
  });
});

describe("buildKeyInventoryView: State and Owner take their status from the findings", () => {
  const denied = makeCollectionError({ call: "kms:DescribeKey", message: "denied" });
  const documented = makeKey({ aliases: ["alias/documented"] });
  const undocumented = makeKey({ aliases: ["alias/undocumented"] });
  const providerManaged = makeKey({ aliases: ["alias/aws/s3"], manager: "provider" });
  const unreadable = makeKey({
    keySpec: "UNKNOWN",
    rawKeyType: "UNKNOWN",
    state: "other",
    rotation: notCollected("kms:GetKeyRotationStatus"),
    errors: [denied],
  });
  const aliasesUnknown = makeKey({
    errors: [makeCollectionError({ call: "kms:ListAliases", message: "aliases denied" })],
  });
  const disabled = makeKey({ aliases: ["alias/disabled"], state: "disabled" });
  const pendingDeletion = makeKey({
    aliases: ["alias/leaving"],
    state: "pending-deletion",
    deletionDate: "2026-10-20T00:00:00.000Z",
  });
  const contested = makeKey({ aliases: ["alias/contested"] });
  const inventory = [
    inventoryEntryFor(documented, { owner: "ana@example.com" }),
    inventoryEntryFor(disabled, { owner: "bo@example.com" }),
    inventoryEntryFor(pendingDeletion, { owner: "cy@example.com" }),
    inventoryEntryFor(contested, { owner: "dee@example.com" }),
    makeInventoryEntry({ match: "alias/contested", owner: "eve@example.com" }),
  ];
  const keys = [
    documented,
    undocumented,
    providerManaged,
    unreadable,
    aliasesUnknown,
    disabled,
    pendingDeletion,
  ];
  const snapshot = makeSnapshot({ keys: [...keys, contested], inventory });
  const findings = runChecks(snapshot);
  const view = buildKeyInventoryView({
    snapshot,
    inventoryEntryByKey: matchInventory(inventory, [...keys, contested]).entryByKey,
    verdicts: indexFindings(findings),
    generatedAt,
  });
  const rows = view.sources.flatMap((source) => source.locations.flatMap((location) => location.keys));
  const rowOf = (key: { keyId: string }): InventoryKeyView => rows.find((row) => row.keyId === key.keyId)!;
  const statusOf = (key: { keyId: string }, checkId: string): string | undefined =>
    findings.find((finding) => finding.keyId === key.keyId && finding.checkId === checkId)?.status;

  it("shows the declared owner of a passing key, without a note", () => {
    expect(rowOf(documented)).toMatchObject({
      owner: "ana@example.com",
      ownerStatus: "pass",
      ownerTone: "ok",
      ownerNote: "",
      state: "Enabled",
      stateStatus: "pass",
      stateTone: "ok",
      stateNote: "",
    });
  });

  it("says NO OWNER DOCUMENTED only where key-owner-documented fails, with the check's message", () => {
    expect(statusOf(undocumented, "key-owner-documented")).toBe("fail");
    expect(rowOf(undocumented)).toMatchObject({
      owner: NO_OWNER_TEXT,
      ownerStatus: "fail",
      ownerTone: "bad",
      ownerFailed: true,
      ownerNote: "no inventory entry names this key, so it has no documented owner",
    });
  });

  it("says Not applicable with the reason for a provider-managed key, never NO OWNER DOCUMENTED", () => {
    expect(statusOf(providerManaged, "key-owner-documented")).toBe("not-applicable");
    expect(rowOf(providerManaged)).toMatchObject({
      owner: "Not applicable",
      ownerStatus: "not-applicable",
      ownerTone: "plain",
      ownerFailed: false,
      ownerNote: expect.stringContaining("provider-managed key"),
    });
  });

  it("says Could not be read with the cause where the owner or the state cannot be judged", () => {
    expect(statusOf(unreadable, "key-owner-documented")).toBe("error");
    expect(statusOf(unreadable, "key-state-active")).toBe("error");
    expect(rowOf(unreadable)).toMatchObject({
      owner: "Could not be read",
      ownerStatus: "error",
      ownerTone: "warn",
      ownerFailed: false,
      ownerNote: "key metadata unavailable: kms:DescribeKey failed (AccessDeniedException): denied",
      state: "Could not be read",
      stateStatus: "error",
      stateTone: "warn",
      stateNote: "key state unknown: kms:DescribeKey failed (AccessDeniedException): denied",
    });
    expect(rowOf(aliasesUnknown)).toMatchObject({
      owner: "Could not be read",
      ownerStatus: "error",
      ownerNote: expect.stringContaining("its aliases are unknown: kms:ListAliases failed"),
    });
  });

  it("gives warn and fail states and an ambiguous owner a short note from the check", () => {
    expect(rowOf(disabled)).toMatchObject({
      state: "Disabled",
      stateStatus: "warn",
      stateTone: "warn",
      stateNote: expect.stringContaining("key is disabled"),
      owner: "bo@example.com",
      ownerStatus: "pass",
    });
    expect(rowOf(pendingDeletion)).toMatchObject({
      state: "Pending deletion",
      stateStatus: "fail",
      stateTone: "bad",
      stateNote: expect.stringContaining("2026-10-20"),
    });
    expect(rowOf(contested)).toMatchObject({
      ownerStatus: "warn",
      ownerTone: "warn",
      ownerNote: expect.stringContaining("name different owners (dee@example.com, eve@example.com)"),
    });
  });

  it("colours every State and Owner cell exactly as findings.json says", () => {
    for (const key of [...keys, contested]) {
      expect(rowOf(key).stateStatus, key.keyId).toBe(statusOf(key, "key-state-active"));
      expect(rowOf(key).ownerStatus, key.keyId).toBe(statusOf(key, "key-owner-documented"));
    }
  });
});

describe("buildUsageSummaryView", () => {
  it("sums the typed per-principal and per-day breakdowns of every location", () => {
    const snapshot = makeSnapshot({
      keys: [makeKey(), makeKey({ location: "us-east-1" })],
      usage: [
        makeUsageSummary({
          eventCount: 5,
          byPrincipal: { "role/app": 3, "role/batch": 2 },
          byDay: { "2026-07-01": 5 },
        }),
        makeUsageSummary({
          location: "us-east-1",
          eventCount: 4,
          byPrincipal: { "role/app": 4 },
          byDay: { "2026-07-01": 1, "2026-07-02": 3 },
        }),
      ],
    });
    const view = buildUsageSummaryView({ snapshot, verdicts: judged(snapshot).verdicts, generatedAt });
    expect(view.byPrincipal.rows.map((row) => [row.name, row.count, row.share])).toEqual([
      ["role/app", "7", "77.8%"],
      ["role/batch", "2", "22.2%"],
    ]);
    const svg = view.chart.trustedHtml;
    // 2026-07-01 sums both locations (5 + 1), twice the 3 events of 2026-07-02.
    const heights = [...svg.matchAll(/<rect [^>]*height="([\d.]+)"/g)].map((match) => Number(match[1]));
    expect(heights).toHaveLength(2);
    expect(heights[0]).toBeCloseTo(2 * heights[1]!, 1);
  });

  it("gives the events of principals a bounded count did not itemize a row, so the table adds up", () => {
    const snapshot = makeSnapshot({
      keys: [makeKey()],
      usage: [
        makeUsageSummary({
          eventCount: 10,
          byPrincipal: { "role/app": 6 },
          principalCounting: {
            method: "space-saving",
            capacity: 1,
            eventsNotItemized: 4,
            maxUndercount: 1,
            note: "test",
          },
        }),
      ],
    });
    const view = buildUsageSummaryView({ snapshot, verdicts: judged(snapshot).verdicts, generatedAt });
    expect(view.byPrincipal.rows.map((row) => [row.name, row.count, row.share])).toEqual([
      ["role/app", "6", "60.0%"],
      [PRINCIPALS_NOT_ITEMIZED, "4", "40.0%"],
    ]);
  });

  it("lists a location whose usage log was not read, with usage-log-present's error and cause", () => {
    const snapshot = makeSnapshot({
      keys: [makeKey(), makeKey({ location: "us-east-1" })],
      usage: [makeUsageSummary()],
    });
    const findings = runChecks(snapshot);
    const view = buildUsageSummaryView({ snapshot, verdicts: indexFindings(findings), generatedAt });
    expect(view.locations.map((row) => [row.location, row.method, row.checkStatus, row.checkLabel])).toEqual([
      ["eu-west-1", "cloudtrail-s3", "pass", "Present"],
      ["us-east-1", "Not read", "error", "Could not be read"],
    ]);
    expect(view.locations[1]).toMatchObject({ events: "Not read", checkTone: "warn" });
    expect(view.locations[1]?.checkReason).toBe(
      findings.find((finding) => finding.checkId === "usage-log-present" && finding.location === "us-east-1")
        ?.message,
    );
  });

  it("draws the daily chart and the principal table when the summaries carry them", () => {
    const summary = makeUsageSummary({
      byPrincipal: { "arn:aws:iam::111122223333:role/app": 40, "arn:aws:iam::111122223333:user/<script>": 2 },
      byDay: { "2026-07-01": 10, "2026-09-30": 32 },
    });
    const snapshot = makeSnapshot({ keys: [makeKey()], usage: [summary] });
    const view = buildUsageSummaryView({ snapshot, verdicts: judged(snapshot).verdicts, generatedAt });
    expect(view.byPrincipal.rows.map((row) => row.name)).toEqual([
      "arn:aws:iam::111122223333:role/app",
      "arn:aws:iam::111122223333:user/<script>",
    ]);
    const svg = view.chart.trustedHtml;
    expect(svg).toContain("<svg");
    expect(svg).toContain("2026-07-01");
    expect(svg.match(/<rect /g)).toHaveLength(2);
  });
});

describe("buildKeyManagementProcedureView", () => {
  it("sets the review date one year after capture, leap day included", () => {
    expect(reviewDateOf("2026-10-01T08:00:00.000Z")).toBe("2027-10-01");
    expect(reviewDateOf("2028-02-29T12:00:00.000Z")).toBe("2029-03-01");
  });

  it("names only the tools in use and the observed settings", () => {
    const rotating = makeKey();
    const manual = makeKey({ rotation: makeRotation({ enabled: false }) });
    const vaultKey = makeKey({
      source: "vault-prod",
      sourceType: "hashicorp-vault",
      location: "transit",
      keyId: "transit/payments",
      rotation: makeRotation({ periodDays: 90 }),
    });
    const snapshot = makeSnapshot({
      keys: [rotating, manual, vaultKey],
      logging: [makeLoggingStatus({ source: "vault-prod", location: "transit", sinks: [] })],
    });
    const view = buildKeyManagementProcedureView({
      snapshot,
      signerDescription: "local Ed25519 key",
      verdicts: judged(snapshot).verdicts,
      generatedAt,
    });
    expect(view.reviewDate).toBe("2027-10-01");
    expect(view.tools.map((tool) => tool.name)).toEqual(
      expect.arrayContaining(["AWS KMS", "HashiCorp Vault", "AWS CloudTrail", "keyproof"]),
    );
    expect(view.tools.map((tool) => tool.name)).not.toContain("Azure Key Vault");
    expect(view.lifecycle.map((phase) => phase.phase)).toEqual([
      "Creating keys",
      "Rotating keys",
      "Revoking access and keys",
      "Deleting keys",
    ]);
    expect(view.lifecycle[1]?.tools.map((tool) => tool.product)).toEqual(["AWS KMS", "HashiCorp Vault"]);
    expect(view.lifecycle[1]?.tools[0]?.text).toContain("at most 365 days");
    expect(view.steps.map((step) => step.role)).toEqual([
      "Engineering Lead",
      "Engineering Lead",
      "Engineering Lead",
      "Engineering Lead",
      "Security Analyst",
      "Engineering Lead",
      "Security Analyst",
    ]);
    const aws = view.observed.find((source) => source.source === "aws-prod");
    expect(aws?.rows).toContainEqual(
      expect.objectContaining({
        label: "Automatic rotation",
        value: "on for 1 of 2 customer-managed keys",
        note: "key-rotation-enabled: 1 pass, 1 fail",
        tone: "bad",
        status: "fail",
      }),
    );
    // No audit device in the Vault mount: key-usage-logging-enabled fails there, and the row says so in red.
    expect(view.observed.find((source) => source.source === "vault-prod")?.rows).toContainEqual(
      expect.objectContaining({ label: "Logging", tone: "bad", note: "key-usage-logging-enabled: 1 fail" }),
    );
    expect(view.observed.find((source) => source.source === "vault-prod")?.rows).toContainEqual(
      expect.objectContaining({ label: "Rotation periods configured", value: "90 days" }),
    );
  });
});

describe("the procedure's approval block", () => {
  const viewOf = (snapshot: Snapshot) =>
    buildKeyManagementProcedureView({
      snapshot,
      signerDescription: "local Ed25519 key",
      verdicts: judged(snapshot).verdicts,
      generatedAt,
    }).approval;

  it("without an approval says so, with the finding's message as the verdict", () => {
    const snapshot = makeSnapshot({ keys: [makeKey()] });
    const view = viewOf(snapshot);
    expect(view).toMatchObject({
      version: snapshot.procedure.version,
      textSha256: snapshot.procedure.textSha256,
      approved: [],
      absence: "Not approved",
    });
    expect(view.verdict).toMatchObject({
      checkId: "procedure-approved-current",
      status: "fail",
      tone: "bad",
      reason: `The key-management procedure (version ${snapshot.procedure.version}) has no recorded approval.`,
    });
  });

  it("shows the approver, date and approved digest, and takes ok or not from the finding only", () => {
    const base = makeSnapshot({ keys: [makeKey()] });
    const approval = makeProcedureApproval(base.procedure);
    const current = viewOf({
      ...base,
      governance: { state: "read", signedReviews: [], latestApproval: approval },
    });
    expect(current.approved).toEqual([
      {
        version: base.procedure.version,
        name: "Erin Lead",
        title: "Engineering Lead",
        date: "2026-09-01",
        textSha256: base.procedure.textSha256,
      },
    ]);
    expect(current.absence).toBe("");
    expect(current.verdict).toMatchObject({ status: "pass", label: "Approved, current", tone: "ok" });

    const stale = makeProcedureApproval({ version: "1.0+000000000000", textSha256: "0".repeat(64) });
    const changed = viewOf({
      ...base,
      governance: { state: "read", signedReviews: [], latestApproval: stale },
    });
    expect(changed.approved[0]?.textSha256).toBe("0".repeat(64));
    expect(changed.verdict).toMatchObject({ status: "fail", label: "Not current" });
    expect(changed.verdict.reason).toContain("The procedure text changed since its approval");
  });

  it("says approvals could not be read when Redis was not there", () => {
    const view = viewOf({
      ...makeSnapshot(),
      governance: { state: "unavailable", severity: "warn", reason: "no Redis configured" },
    });
    expect(view.absence).toBe("Approvals could not be read");
    expect(view.verdict).toMatchObject({ status: "warn", label: "Not checked" });
  });
});

describe("buildEvidenceIndexView", () => {
  it("groups artifacts and computes the content digest over sorted path/sha lines", () => {
    const files = [
      { path: "sources/aws-prod/eu-west-1/logging.json", sha256: "1".repeat(64), bytes: 10 },
      { path: "reports/findings-report.pdf", sha256: "2".repeat(64), bytes: 2000 },
      { path: "findings.json", sha256: "3".repeat(64), bytes: 5 },
    ];
    const view = buildEvidenceIndexView({
      snapshot: makeSnapshot(),
      files,
      signerDescription: "signer",
      generatedAt,
    });
    expect(view.groups.map((group) => group.title)).toEqual([
      "Reports",
      "Configuration, access and logging exports",
      "Run records",
    ]);
    expect(view.contentDigest).toBe(computeContentDigest(files));
    expect(view.contentDigest).toMatch(/^[0-9a-f]{64}$/);
    expect(view.totalBytes).toBe("2,015");
  });
});

describe("buildLoggingConfigurationView with a sink whose status could not be read", () => {
  it("shows the status as unread, not as inactive, and the logging verdict as could not be read", () => {
    const error = makeCollectionError({
      call: "cloudtrail:GetTrailStatus",
      code: "AccessDeniedException",
      message: "denied",
    });
    const snapshot = makeSnapshot({
      logging: [makeLoggingStatus({ sinks: [makeSink({ active: undefined })], errors: [error] })],
    });
    const view = loggingViewOf(snapshot);
    expect(view.sinks[0]).toMatchObject({ activeText: "Status could not be read" });
    expect(view.summary).toBe("0 of 1 trail(s) active and recording key events");
    expect(view.verdicts[0]).toMatchObject({
      checkId: "key-usage-logging-enabled",
      status: "error",
      label: "Could not be read",
    });
  });
});
