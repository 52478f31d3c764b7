import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { registry } from "../../src/checks/registry.ts";
import { runChecks } from "../../src/checks/run-checks.ts";
import { keyReference, matchInventory } from "../../src/inventory/match-inventory.ts";
import { FINDING_STATUSES, type Finding, type FindingStatus } from "../../src/model/finding.ts";
import { UNKNOWN_KEY_SPEC, type KeyRecord } from "../../src/model/key.ts";
import type { Snapshot } from "../../src/model/snapshot.ts";
import {
  FINDINGS_REPORT_PATH,
  KEY_INVENTORY_REPORT_PATH,
  KEY_MANAGEMENT_PROCEDURE_PATH,
  USAGE_SUMMARY_REPORT_PATH,
} from "../../src/render/artifact-paths.ts";
import { BrowserPool } from "../../src/render/browser-pool.ts";
import {
  buildReportViews,
  buildScreenshotViews,
  renderEvidence,
  type RenderInput,
} from "../../src/render/render-evidence.ts";
import type { FindingsReportView } from "../../src/render/view-models/findings-report.view-model.ts";
import { describeState, formatDay, type Row } from "../../src/render/view-models/format.ts";
import type { KeyManagementProcedureView } from "../../src/render/view-models/key-management-procedure.view-model.ts";
import type { KeyInventoryView } from "../../src/render/view-models/key-inventory.view-model.ts";
import type { UsageSummaryView } from "../../src/render/view-models/usage-summary.view-model.ts";
import {
  accountRootGrant,
  collected,
  inventoryEntryFor,
  makeAccess,
  makeAzureKey,
  makeCollectionError,
  makeGrant,
  makeKey,
  makeLoggingStatus,
  makeRotation,
  makeSink,
  makeSnapshot,
  makeUsageGap,
  makeUsageSummary,
  makeVaultKey,
  notCollected,
} from "../factories/index.ts";
import { writeFixtureExports } from "../fixtures/render/render-fixture.ts";
import { cellsOf, columnOf, readKeyedCells, readPdfLines, readPdfTable } from "../support/pdf-words.ts";

/**
 * Findings are the only verdict: a mixed estate (three sources; pass, fail, warn, error and not-applicable
 * on rotation, spec, access and logging) is judged by the real checks, findings.json is written and read
 * back, and every status in the view models the renderer draws, and in the PDF text, must equal it: each
 * finding of the findings report, the key inventory's State, Rotation and Owner cells (read by column from
 * the word boxes), usage-log-present per location in the usage summary, the procedure's tallies per source.
 * Keep the PDFs with KEYPROOF_KEEP_RENDER=1.
 */

const run = promisify(execFile);
const AZURE_VAULT = "https://kp-mixed.vault.azure.net";
const DENIED = makeCollectionError({ call: "kms:DescribeKey", message: "denied by an explicit deny" });

function normalize(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, "");
}

function awsKeyId(index: number): string {
  return `11111111-aaaa-4000-8000-${String(index).padStart(12, "0")}`;
}

/**
 * Three sources, each area judged every way. Rotation (key-rotation-enabled, key-rotation-period): pass
 * A1, fail A2, not-applicable A3 (asymmetric), error A5 (status not read), warn V1 (Vault reports no
 * period). Spec: pass A1, fail A4 (RSA_1024), warn Z2 (oct-HSM, size unknown), error A8 (metadata failed),
 * not-applicable A7 (AWS-managed). Access: pass A1, fail A6 (a human user), warn A9 (a principal of unknown
 * kind), error A5 (policy not read), not-applicable A7. Logging (key-usage-logging-enabled,
 * log-retention-sufficient): pass and fail us-east-1 (90 days), warn Vault (retention unknown), error
 * eu-central-1 (trails not read), not-applicable ap-southeast-2 (no sink records key events).
 */
function buildMixedEstate(): Snapshot {
  const aws = (index: number, overrides: Partial<KeyRecord> = {}): KeyRecord =>
    makeKey({ location: "us-east-1", keyId: awsKeyId(index), aliases: [`alias/key-${index}`], ...overrides });
  const keys: KeyRecord[] = [
    aws(1),
    aws(2, { rotation: makeRotation({ enabled: false }) }),
    aws(3, {
      keySpec: "RSA_2048",
      rawKeyType: "RSA_2048",
      keyUsage: "SIGN_VERIFY",
      rotation: makeRotation({ enabled: false }),
    }),
    aws(4, { keySpec: "RSA_1024", rawKeyType: "RSA_1024", rotation: makeRotation({ enabled: false }) }),
    aws(5, { rotation: notCollected("kms:GetKeyRotationStatus"), access: notCollected("kms:GetKeyPolicy") }),
    aws(6, {
      state: "pending-deletion",
      deletionDate: "2026-10-20T00:00:00.000Z",
      access: makeAccess([
        accountRootGrant(),
        makeGrant({
          principal: "arn:aws:iam::111122223333:user/alice",
          principalKind: "human-user",
          via: "grant",
          reference: "grant-alice",
          actions: ["kms:Decrypt"],
        }),
      ]),
    }),
    aws(7, { aliases: ["alias/aws/ebs"], manager: "provider" }),
    aws(8, {
      aliases: [],
      keySpec: UNKNOWN_KEY_SPEC,
      rawKeyType: UNKNOWN_KEY_SPEC,
      state: "other",
      errors: [DENIED],
    }),
    aws(9, {
      state: "disabled",
      access: makeAccess([
        accountRootGrant(),
        makeGrant({
          principal: "arn:aws:iam::444455556666:root",
          principalKind: "unknown",
          principalAccount: "444455556666",
          actions: ["kms:Decrypt"],
          reference: "Allow partner account",
        }),
      ]),
    }),
    makeAzureKey({
      location: AZURE_VAULT,
      aliases: ["orders"],
      rotation: collected({ enabled: true, periodDays: 500, history: [] }, "keyvault:getKeyRotationPolicy"),
      access: makeAccess([
        makeGrant({
          principal: "3f2a1b4c-0000-4d5e-8f90-a1b2c3d4e5f6",
          principalKind: "managed-identity",
          actions: ["Microsoft.KeyVault/vaults/keys/unwrap/action"],
          via: "rbac-role",
          reference: "Key Vault Crypto Service Encryption User",
        }),
      ]),
    }),
    makeAzureKey({
      location: AZURE_VAULT,
      aliases: ["tokens-oct"],
      keySpec: "OCT_UNKNOWN",
      rawKeyType: "oct-HSM",
      keySpecUnknownReason: "Azure does not report the size of oct-HSM keys; confirm it in the portal",
    }),
    makeVaultKey({
      location: "transit",
      keyId: "transit/app",
      rotation: collected(
        { enabled: true, lastRotation: "2026-09-08T12:00:00.000Z", history: [] },
        "vault:GET transit/keys/app",
      ),
      access: makeAccess([
        makeGrant({
          principal: "app",
          principalKind: "policy",
          actions: ["update"],
          via: "acl-policy",
          reference: 'path "transit/encrypt/app"',
        }),
      ]),
    }),
  ];
  const byName = (name: string): KeyRecord => keys.find((key) => key.aliases.includes(name))!;
  return makeSnapshot({
    runId: "run-mixed-0001",
    keys,
    inventory: [
      inventoryEntryFor(byName("alias/key-1")),
      inventoryEntryFor(byName("alias/key-6"), { owner: "bo@example.com" }),
      inventoryEntryFor(byName("alias/key-9"), { owner: "cy@example.com" }),
      inventoryEntryFor(byName("orders"), { owner: "omar.khan@example.com" }),
      // Two entries, two owners: key-owner-documented warns.
      inventoryEntryFor(byName("tokens-oct"), { owner: "dee@example.com" }),
      inventoryEntryFor(byName("tokens-oct"), { match: "tokens-oct", owner: "eve@example.com" }),
      inventoryEntryFor(byName("app"), { owner: "li.wei@example.com", usage: "application" }),
    ],
    accounts: { "azure-prod": "8f3e1c2a-1111-2222-3333-444455556666", "vault-prod": "vault-mixed" },
    logging: [
      // us-east-1: key events logged (pass), kept 90 of the required 365 days (fail).
      makeLoggingStatus({
        location: "us-east-1",
        sinks: [makeSink({ retention: { kind: "days", days: 90 } })],
      }),
      // eu-central-1: the trails could not be read: both logging checks error.
      makeLoggingStatus({
        location: "eu-central-1",
        sinks: [],
        errors: [makeCollectionError({ call: "cloudtrail:DescribeTrails", message: "not authorized" })],
      }),
      // ap-southeast-2: one trail, recording no key events: logging fails, retention is not applicable.
      makeLoggingStatus({
        location: "ap-southeast-2",
        sinks: [
          makeSink({
            name: "data-events-only",
            coversKeyEvents: false,
            coverageReason: "management events excluded",
          }),
        ],
      }),
      // Azure: the setting that records key events is off (fail); it keeps a year (pass).
      makeLoggingStatus({
        source: "azure-prod",
        location: AZURE_VAULT,
        sinks: [
          makeSink({
            kind: "azure-diagnostic-setting",
            name: "to-law",
            reference: "/subscriptions/x/diagnosticSettings/to-law",
            active: false,
            retention: { kind: "days", days: 365 },
          }),
          makeSink({
            kind: "azure-diagnostic-setting",
            name: "metrics",
            reference: "/subscriptions/x/diagnosticSettings/metrics",
            coversKeyEvents: false,
            coverageReason: "category AuditEvent not enabled",
          }),
        ],
      }),
      // Vault: key events logged (pass), retention unknown (warn).
      makeLoggingStatus({
        source: "vault-prod",
        location: "transit",
        sinks: [
          makeSink({
            kind: "vault-audit-device",
            name: "file/",
            reference: "sys/audit/file",
            retention: { kind: "unknown", reason: "set by the log shipper" },
          }),
        ],
      }),
    ],
    // usage-log-present: pass us-east-1, warn eu-central-1 (gaps), not-applicable ap-southeast-2 (no
    // enabled key, no events), fail Azure (no events), error Vault (its usage log was not read).
    usage: [
      makeUsageSummary({ location: "us-east-1", byKey: { [awsKeyId(1)]: 42 } }),
      makeUsageSummary({
        location: "eu-central-1",
        gaps: [makeUsageGap({ location: "eu-central-1" })],
      }),
      makeUsageSummary({
        location: "ap-southeast-2",
        eventCount: 0,
        byKey: {},
        byAction: {},
        byPrincipal: {},
        byDay: {},
      }),
      makeUsageSummary({
        source: "azure-prod",
        location: AZURE_VAULT,
        method: "log-analytics",
        eventCount: 0,
        byKey: {},
        byAction: {},
        byPrincipal: {},
        byDay: {},
      }),
    ],
  });
}

/** The checks of each area the issue names; each area must show every status. */
const AREAS: Record<string, string[]> = {
  rotation: ["key-rotation-enabled", "key-rotation-period"],
  spec: ["key-spec-approved"],
  access: [
    "key-access-no-human-users",
    "key-access-not-public",
    "azure-access-too-broad",
    "vault-policy-least-privilege",
  ],
  logging: ["key-usage-logging-enabled", "log-retention-sufficient"],
};

/** What a reader sees for each status: the findings report's badges. */
const STATUS_WORDS: Record<FindingStatus, string> = {
  pass: "PASS",
  fail: "FAIL",
  warn: "WARN",
  error: "ERROR",
  "not-applicable": "N/A",
};

/** Where a check could not judge a fact, these words replace it. */
const UNJUDGED_LABELS = { error: "Could not be read", "not-applicable": "Not applicable" } as const;

const ROTATION_LABELS: Record<FindingStatus | "not-judged", string> = {
  pass: "Enabled",
  fail: "Not enabled",
  warn: "Needs review",
  ...UNJUDGED_LABELS,
  "not-judged": "Not judged",
};

const USAGE_LABELS: Record<FindingStatus | "not-judged", string> = {
  pass: "Present",
  fail: "Missing",
  warn: "Incomplete",
  ...UNJUDGED_LABELS,
  "not-judged": "Not judged",
};

const INVENTORY_HEADERS = ["State", "Rotation", "Owner", "Usage", "Systems"];

/** `layout` keeps table rows on one line; reading order (the default) keeps a wrapped cell's text together. */
async function pdfText(file: string, mode: "layout" | "reading" = "layout"): Promise<string> {
  const { stdout } = await run("pdftotext", [...(mode === "layout" ? ["-layout"] : []), file, "-"], {
    maxBuffer: 64 * 1024 * 1024,
  });
  return stdout;
}

const WORST: readonly FindingStatus[] = ["fail", "error", "warn", "pass", "not-applicable"];

/** The status findings.json gives one check on one key or location (the worst, if it gave several). */
function expectedStatus(
  findings: readonly Finding[],
  scope: { source: string; location: string; keyId?: string },
  checkId: string,
): FindingStatus | "not-judged" {
  const statuses = findings
    .filter(
      (finding) =>
        finding.checkId === checkId &&
        finding.source === scope.source &&
        finding.location === scope.location &&
        finding.keyId === scope.keyId,
    )
    .map((finding) => finding.status);
  return WORST.find((status) => statuses.includes(status)) ?? "not-judged";
}

const TONES: Record<FindingStatus | "not-judged", Row["tone"]> = {
  pass: "ok",
  fail: "bad",
  warn: "warn",
  error: "warn",
  "not-applicable": "plain",
  "not-judged": "plain",
};

describe("rendered statuses equal findings.json on a mixed estate", () => {
  let directory: string;
  let pool: BrowserPool;
  let snapshot: Snapshot;
  let findings: Finding[];
  let input: RenderInput;

  const allKeys = (): KeyRecord[] =>
    snapshot.sources.flatMap((source) => source.locations.flatMap((location) => location.keys));
  const allLocations = (): Array<{ source: string; location: string }> =>
    snapshot.sources.flatMap((source) => source.locations);

  /** What findings.json says of one check on one key or location: the worst status and its messages. */
  const verdictIn = (
    scope: { source: string; location: string; keyId?: string },
    checkId: string,
  ): { status: FindingStatus | "not-judged"; reason: string } => {
    const status = expectedStatus(findings, scope, checkId);
    const reason = findings
      .filter(
        (finding) =>
          finding.checkId === checkId &&
          finding.status === status &&
          finding.source === scope.source &&
          finding.location === scope.location &&
          finding.keyId === scope.keyId,
      )
      .map((finding) => finding.message.replaceAll("`", ""))
      .join("; ");
    return { status, reason };
  };

  /**
   * The [text, note] of a key's State, Rotation and Owner cells, from findings.json and the key's facts: a
   * judged fact is shown as collected with the check's message unless it passed; where the check could not
   * judge it (error, not applicable) its label and reason replace the fact.
   */
  const expectedInventoryCells = (
    key: KeyRecord,
  ): Record<"state" | "rotation" | "owner", [string, string]> => {
    const judged = (fact: string, verdict: ReturnType<typeof verdictIn>): [string, string] => {
      const label = UNJUDGED_LABELS[verdict.status as keyof typeof UNJUDGED_LABELS];
      const note = verdict.status === "pass" || verdict.status === "not-judged" ? "" : verdict.reason;
      return [label ?? fact, note];
    };
    const rotation = verdictIn(key, "key-rotation-enabled");
    const entry = input.inventoryEntryByKey.get(keyReference(key));
    const owner = entry === undefined || entry.owner.trim() === "" ? "NO OWNER DOCUMENTED" : entry.owner;
    return {
      state: judged(describeState(key.state), verdictIn(key, "key-state-active")),
      rotation: [
        ROTATION_LABELS[rotation.status],
        rotation.status === "error" || rotation.status === "not-applicable" ? rotation.reason : "",
      ],
      owner: judged(owner, verdictIn(key, "key-owner-documented")),
    };
  };

  /** The usage summary's check cell of one location: label, then the reason unless it passed. */
  const expectedUsageCell = (location: { source: string; location: string }): string => {
    const verdict = verdictIn(location, "usage-log-present");
    return `${USAGE_LABELS[verdict.status]} ${verdict.status === "pass" ? "" : verdict.reason}`.trim();
  };

  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), "keyproof-render-consistency-"));
    snapshot = buildMixedEstate();
    await writeFile(join(directory, "findings.json"), JSON.stringify(runChecks(snapshot), null, 2));
    findings = JSON.parse(await readFile(join(directory, "findings.json"), "utf8")) as Finding[];
    const keys = snapshot.sources.flatMap((source) => source.locations.flatMap((location) => location.keys));
    input = {
      snapshot,
      findings,
      checks: registry.map((check) => check.metadata),
      inventoryEntryByKey: matchInventory(snapshot.inventory, keys).entryByKey,
      exportDigests: await writeFixtureExports(snapshot, directory),
      signer: { keyId: `local:${"ab".repeat(32)}` },
      generatedAt: new Date("2026-10-01T09:00:00.000Z"),
    };
    pool = new BrowserPool({ size: 1 });
    if (process.env.KEYPROOF_KEEP_RENDER === "1") console.log(`rendered into ${directory}`);
    // Reports only: the consistency of the pictures is asserted on the view models they are drawn from.
    await renderEvidence(input, directory, pool, { screenshotsRendered: true });
  }, 300_000);

  afterAll(async () => {
    await pool?.close();
    if (directory !== undefined && process.env.KEYPROOF_KEEP_RENDER !== "1")
      await rm(directory, { recursive: true, force: true });
  });

  it.each(Object.entries(AREAS))(
    "the estate really is mixed: %s checks give pass, fail, warn, error and not-applicable",
    (_, checkIds) => {
      const statuses = new Set(
        findings.filter((finding) => checkIds.includes(finding.checkId)).map((finding) => finding.status),
      );
      expect(statuses).toEqual(new Set(FINDING_STATUSES));
    },
  );

  it("the estate really is mixed: usage, state and owner, every status the check can give", () => {
    const statusesOf = (checkId: string): Set<FindingStatus> =>
      new Set(findings.filter((finding) => finding.checkId === checkId).map((finding) => finding.status));
    expect(statusesOf("usage-log-present")).toEqual(new Set(FINDING_STATUSES));
    expect(statusesOf("key-owner-documented")).toEqual(new Set(FINDING_STATUSES));
    // key-state-active has no not-applicable: every key has a state.
    expect(statusesOf("key-state-active")).toEqual(new Set(["pass", "fail", "warn", "error"]));
  });

  it("every judged row, headline and badge of every screenshot view model equals findings.json", () => {
    const views = buildScreenshotViews(input);
    expect(views.length).toBe(allKeys().length * 2 + allLocations().length);
    let compared = 0;
    for (const screenshot of views) {
      if (screenshot.kind === "configuration") {
        const view = screenshot.view;
        const key = snapshot.sources
          .flatMap((source) => source.locations.flatMap((location) => location.keys))
          .find((candidate) => candidate.keyId === view.keyId)!;
        const scope = { source: key.source, location: key.location, keyId: key.keyId };
        const rotation = expectedStatus(findings, scope, "key-rotation-enabled");
        expect(view.rotationVerdict, `${key.keyId} headline`).toBe(rotation);
        expect(view.rotationTone).toBe(TONES[rotation]);
        expect(view.rotationStatus).toBe(
          { pass: "Enabled", fail: "Not enabled", warn: "Needs review", error: "Could not be read" }[
            rotation as string
          ] ?? (rotation === "not-applicable" ? "Not applicable" : "Not judged"),
        );
        for (const row of [...view.generalRows, ...view.rotationRows, ...view.ownershipRows]) {
          if (row.checkId === "") {
            expect(row.tone, `${key.keyId} ${row.label} is a fact no check judges`).toBe("plain");
            continue;
          }
          const status = expectedStatus(findings, scope, row.checkId);
          expect(row.status, `${key.keyId} ${row.label}`).toBe(status);
          expect(row.tone, `${key.keyId} ${row.label}`).toBe(TONES[status]);
          compared += 1;
        }
        const ofKey = findings.filter(
          (finding) => finding.source === key.source && finding.keyId === key.keyId,
        );
        expect(view.checks.map((check) => [check.checkId, check.status]).sort()).toEqual(
          ofKey.map((finding) => [finding.checkId, finding.status]).sort(),
        );
      } else if (screenshot.kind === "access") {
        const view = screenshot.view;
        const ofKey = findings.filter((finding) => finding.keyId === view.keyId);
        expect(view.findings.map((badge) => [badge.checkId, badge.statusClass]).sort()).toEqual(
          ofKey.map((finding) => [finding.checkId, finding.status]).sort(),
        );
        compared += ofKey.length;
      } else {
        const view = screenshot.view;
        // Source rows: Source, account, location, read at.
        const scope = { source: view.sourceRows[0]!.value, location: view.sourceRows[2]!.value };
        for (const verdict of view.verdicts) {
          const status = expectedStatus(findings, scope, verdict.checkId);
          expect(verdict.status, `${screenshot.path} ${verdict.checkId}`).toBe(status);
          expect(verdict.tone).toBe(TONES[status]);
          compared += 1;
        }
        for (const row of view.sourceRows) expect(row.tone).toBe("plain");
      }
    }
    expect(compared).toBeGreaterThan(50);
  });

  it("the report view models (findings, inventory, procedure, usage) carry the statuses of findings.json", () => {
    const reports = buildReportViews(input, new Date("2026-10-01T09:00:00.000Z"));
    const report = reports.find((candidate) => candidate.path === FINDINGS_REPORT_PATH)!
      .view as FindingsReportView;
    const shown = [...report.groups.flatMap((group) => group.findings), ...report.closed].map((entry) =>
      [entry.statusClass, entry.checkId, entry.resource].join(" "),
    );
    expect(shown.sort()).toEqual(
      findings.map((finding) => [finding.status, finding.checkId, finding.resource].join(" ")).sort(),
    );

    const inventory = reports.find((candidate) => candidate.path === KEY_INVENTORY_REPORT_PATH)!
      .view as KeyInventoryView;
    const listed = inventory.sources.flatMap((source) =>
      source.locations.flatMap((location) => location.keys.map((key) => ({ location, key }))),
    );
    expect(listed).toHaveLength(allKeys().length);
    for (const { key: row } of listed) {
      const key = allKeys().find((candidate) => candidate.keyId === row.keyId)!;
      const expected = expectedInventoryCells(key);
      const state = expectedStatus(findings, key, "key-state-active");
      const rotation = expectedStatus(findings, key, "key-rotation-enabled");
      const owner = expectedStatus(findings, key, "key-owner-documented");
      expect([row.stateStatus, row.stateTone], `${key.keyId} state`).toEqual([state, TONES[state]]);
      expect([row.rotationStatus, row.rotationTone], `${key.keyId} rotation`).toEqual([
        rotation,
        TONES[rotation],
      ]);
      expect([row.ownerStatus, row.ownerTone], `${key.keyId} owner`).toEqual([owner, TONES[owner]]);
      expect([row.state, row.stateNote], `${key.keyId} state`).toEqual(expected.state);
      expect([row.rotation, row.rotationNote], `${key.keyId} rotation`).toEqual(expected.rotation);
      expect([row.owner, row.ownerNote], `${key.keyId} owner`).toEqual(expected.owner);
    }

    const procedure = reports.find((candidate) => candidate.path === KEY_MANAGEMENT_PROCEDURE_PATH)!
      .view as KeyManagementProcedureView;
    for (const observed of procedure.observed) {
      for (const row of observed.rows) {
        if (row.checkId === "") continue;
        const statuses = findings
          .filter((finding) => finding.source === observed.source && finding.checkId === row.checkId)
          .map((finding) => finding.status);
        const worst = WORST.find((status) => statuses.includes(status)) ?? "not-judged";
        expect(row.status, `${observed.source} ${row.label}`).toBe(worst);
        expect(row.tone, `${observed.source} ${row.label}`).toBe(TONES[worst]);
      }
    }

    const usage = reports.find((candidate) => candidate.template === "reports/usage-summary.html")!
      .view as UsageSummaryView;
    expect(usage.locations.map((row) => `${row.source} ${row.location}`).sort()).toEqual(
      allLocations()
        .map((location) => `${location.source} ${location.location}`)
        .sort(),
    );
    for (const row of usage.locations) {
      const status = expectedStatus(findings, row, "usage-log-present");
      expect([row.checkStatus, row.checkTone], row.location).toEqual([status, TONES[status]]);
      expect(`${row.checkLabel} ${row.checkReason}`.trim(), row.location).toBe(expectedUsageCell(row));
    }
  });

  it("findings report PDF: every open finding's entry shows its status, check id, key and location", async () => {
    const reading = normalize(await pdfText(join(directory, FINDINGS_REPORT_PATH), "reading"));
    const open = findings.filter((finding) => ["fail", "warn", "error"].includes(finding.status));
    const sectionStart = reading.indexOf(normalize(`Open findings (${open.length})`));
    const sectionEnd = reading.indexOf(normalize("Passed and not applicable ("));
    expect(sectionStart).toBeGreaterThan(0);
    expect(sectionEnd).toBeGreaterThan(sectionStart);
    const section = reading.slice(sectionStart, sectionEnd);
    // Each entry opens with "<STATUS> <check title> <check id>": the markers split the section into entries.
    // pdftotext reads an entry that starts at the top of a page with its status badge placed later, after
    // the title or inside a wrapped id ("trail-bucket- ERROR protected"), so the status word is accepted at
    // any point of "<title> <id>" (which entry lands at a page top moves with every added check).
    const markers: Array<{ at: number; status: FindingStatus; checkId: string }> = [];
    for (const check of registry) {
      const heading = normalize(`${check.metadata.title} ${check.metadata.id}`);
      for (const status of ["fail", "warn", "error"] as const) {
        const word = normalize(STATUS_WORDS[status]);
        const found = new Set<number>();
        for (let split = 0; split <= heading.length; split++) {
          const marker = `${heading.slice(0, split)}${word}${heading.slice(split)}`;
          for (let at = section.indexOf(marker); at >= 0; at = section.indexOf(marker, at + 1)) {
            // One entry, however many split points spell it (a word next to equal letters matches twice).
            if (![...found].some((seen) => Math.abs(seen - at) <= word.length)) found.add(at);
          }
        }
        for (const at of found) markers.push({ at, status, checkId: check.metadata.id });
      }
    }
    markers.sort((left, right) => left.at - right.at);
    const entries = markers.map((marker, index) => ({
      ...marker,
      text: section.slice(marker.at, markers[index + 1]?.at ?? section.length),
      used: false,
    }));
    expect(entries).toHaveLength(open.length);
    for (const finding of open) {
      const where = [finding.source, finding.location].filter((part) => part !== undefined).join(" / ");
      const facts = normalize(
        `Resource ${finding.resource} ${finding.keyId === undefined ? "" : `Key ID ${finding.keyId}`} Source / location ${where}`,
      );
      const entry = entries.find(
        (candidate) =>
          !candidate.used &&
          candidate.status === finding.status &&
          candidate.checkId === finding.checkId &&
          candidate.text.includes(facts),
      );
      expect(entry, `${finding.status} ${finding.checkId} ${finding.resource}`).toBeDefined();
      expect(entry!.text).toContain(normalize(finding.message));
      entry!.used = true;
    }
  });

  it("findings report PDF: every passed or not-applicable finding has one row with its status", async () => {
    const lines = await readPdfLines(join(directory, FINDINGS_REPORT_PATH));
    const table = readPdfTable(lines, ["Status", "Check", "Resource", "Result"], (line, columns) =>
      line.words.some((word) => columnOf(columns, word) === 0),
    )!;
    expect(table).toBeDefined();
    const rows = table.rows.map((words) => {
      const [status = "", checkId = "", resource = ""] = cellsOf(table.columns, words);
      return [normalize(status), normalize(checkId), normalize(resource)].join(" ");
    });
    const closed = findings.filter((finding) => ["pass", "not-applicable"].includes(finding.status));
    expect(rows.sort()).toEqual(
      closed
        .map((finding) => {
          const where = [finding.source, finding.location].filter((part) => part !== undefined).join(" / ");
          return [
            normalize(STATUS_WORDS[finding.status]),
            normalize(finding.checkId),
            normalize(`${finding.resource} ${where}`),
          ].join(" ");
        })
        .sort(),
    );
  });

  it("key inventory PDF: the State, Rotation and Owner cells of every key say what findings.json says", async () => {
    const lines = await readPdfLines(join(directory, KEY_INVENTORY_REPORT_PATH));
    // The key line ("<id> <name> · <spec> · created <day>") spans every column; the cells follow it.
    const cells = readKeyedCells(
      lines,
      INVENTORY_HEADERS,
      new Map(allKeys().map((key) => [key.keyId, formatDay(key.createdAt)])),
    );
    const keyIds = allKeys().map((key) => key.keyId);
    expect([...cells.keys()].sort()).toEqual(keyIds.sort());
    for (const key of allKeys()) {
      const [state = "", rotation = "", owner = ""] = cells.get(key.keyId)!;
      const expected = expectedInventoryCells(key);
      expect(normalize(state), `${key.keyId} State`).toBe(normalize(expected.state.join(" ")));
      expect(normalize(rotation), `${key.keyId} Rotation`).toBe(normalize(expected.rotation.join(" ")));
      expect(normalize(owner), `${key.keyId} Owner`).toBe(normalize(expected.owner.join(" ")));
    }
    // Dates are never split at their hyphens.
    const reading = await pdfText(join(directory, KEY_INVENTORY_REPORT_PATH), "reading");
    expect(reading.match(/created\s+2025-01-15/g)).toHaveLength(allKeys().length);
  });

  it("usage summary PDF: usage-log-present of every location says what findings.json says", async () => {
    const lines = await readPdfLines(join(directory, USAGE_SUMMARY_REPORT_PATH));
    const sources = new Set(snapshot.sources.map((source) => source.source));
    const table = readPdfTable(
      lines,
      ["Source", "Method", "Events", "First", "Last", "Gaps", "Usage"],
      (line, columns) => line.words.some((word) => columnOf(columns, word) === 0 && sources.has(word.text)),
    )!;
    expect(table).toBeDefined();
    const shown = new Map(
      table.rows.map((words) => {
        const cells = cellsOf(table.columns, words);
        return [normalize(cells[0]!), cells[6]!];
      }),
    );
    expect(shown.size).toBe(allLocations().length);
    for (const location of allLocations()) {
      const cell = shown.get(normalize(`${location.source} / ${location.location}`));
      expect(cell, location.location).toBeDefined();
      expect(normalize(cell!), location.location).toBe(normalize(expectedUsageCell(location)));
    }
  });

  it("procedure PDF: each source's observed settings tally the statuses of findings.json", async () => {
    const procedureText = await pdfText(join(directory, KEY_MANAGEMENT_PROCEDURE_PATH), "reading");
    const normalized = normalize(procedureText);
    const observedAt = normalized.indexOf(normalize("7. Observed settings by source"));
    expect(observedAt).toBeGreaterThan(0);
    const starts = snapshot.sources.map((source) => normalized.indexOf(normalize(source.source), observedAt));
    for (const [index, source] of snapshot.sources.entries()) {
      const section = normalized.slice(starts[index], starts[index + 1] ?? normalized.length);
      for (const checkId of [
        "key-state-active",
        "key-spec-approved",
        "key-rotation-enabled",
        "key-rotation-period",
        "key-owner-documented",
        "key-usage-logging-enabled",
        "log-retention-sufficient",
      ]) {
        const counts = new Map<FindingStatus, number>();
        for (const finding of findings)
          if (finding.source === source.source && finding.checkId === checkId)
            counts.set(finding.status, (counts.get(finding.status) ?? 0) + 1);
        const words: Record<FindingStatus, string> = {
          pass: "pass",
          fail: "fail",
          warn: "warn",
          error: "could not be read",
          "not-applicable": "not applicable",
        };
        const parts = FINDING_STATUSES.filter((status) => (counts.get(status) ?? 0) > 0).map(
          (status) => `${counts.get(status)} ${words[status]}`,
        );
        const expected = `${checkId}: ${parts.length === 0 ? "no findings" : parts.join(", ")}`;
        expect(section, `${source.source} ${expected}`).toContain(normalize(expected));
      }
    }
  });
});
