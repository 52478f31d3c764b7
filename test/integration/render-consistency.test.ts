import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { registry } from "../../src/checks/registry.ts";
import { runChecks } from "../../src/checks/run-checks.ts";
import { matchInventory } from "../../src/inventory/match-inventory.ts";
import type { Finding, FindingStatus } from "../../src/model/finding.ts";
import type { KeyRecord } from "../../src/model/key.ts";
import type { Snapshot } from "../../src/model/snapshot.ts";
import { KEY_INVENTORY_REPORT_PATH, KEY_MANAGEMENT_PROCEDURE_PATH } from "../../src/render/artifact-paths.ts";
import { BrowserPool } from "../../src/render/browser-pool.ts";
import {
  buildReportViews,
  buildScreenshotViews,
  renderEvidence,
  type RenderInput,
} from "../../src/render/render-evidence.ts";
import type { Row } from "../../src/render/view-models/format.ts";
import type { KeyManagementProcedureView } from "../../src/render/view-models/key-management-procedure.view-model.ts";
import type { KeyInventoryView } from "../../src/render/view-models/key-inventory.view-model.ts";
import type { UsageSummaryView } from "../../src/render/view-models/usage-summary.view-model.ts";
import {
  inventoryEntryFor,
  makeAccess,
  makeGrant,
  makeKey,
  makeLoggingStatus,
  makeRotation,
  makeSink,
  makeSnapshot,
  makeUsageSummary,
  notCollected,
  accountRootGrant,
  collected,
} from "../factories/index.ts";
import { writeFixtureExports } from "../fixtures/render/render-fixture.ts";

/**
 * Findings are the only verdict: a mixed estate (three sources; pass, fail, warn, error and not-applicable
 * on rotation, spec, access and logging) is judged by the real checks, findings.json is written and read
 * back, and every status in the view models the renderer draws, and in the PDF text, must equal it.
 */

const run = promisify(execFile);
const AZURE_VAULT = "https://kp-mixed.vault.azure.net";

function normalize(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, "");
}

function buildMixedEstate(): Snapshot {
  const aws = (overrides: Partial<KeyRecord>): KeyRecord => makeKey({ location: "us-east-1", ...overrides });
  const keys: KeyRecord[] = [
    // rotation pass, spec pass, access pass
    aws({ keyId: "11111111-aaaa-4000-8000-000000000001", aliases: ["alias/rotating"] }),
    // rotation fail
    aws({ keyId: "11111111-aaaa-4000-8000-000000000002", rotation: makeRotation({ enabled: false }) }),
    // rotation not-applicable (asymmetric), spec fail (RSA_1024 is not approved)
    aws({
      keyId: "11111111-aaaa-4000-8000-000000000003",
      keySpec: "RSA_2048",
      rawKeyType: "RSA_2048",
      keyUsage: "SIGN_VERIFY",
      rotation: makeRotation({ enabled: false }),
    }),
    aws({
      keyId: "11111111-aaaa-4000-8000-000000000004",
      keySpec: "RSA_1024",
      rawKeyType: "RSA_1024",
      rotation: makeRotation({ enabled: false }),
    }),
    // rotation error, access error
    aws({
      keyId: "11111111-aaaa-4000-8000-000000000005",
      rotation: notCollected("kms:GetKeyRotationStatus"),
      access: notCollected("kms:GetKeyPolicy"),
    }),
    // access fail: a human user may decrypt; rotation period unknown
    aws({
      keyId: "11111111-aaaa-4000-8000-000000000006",
      rotation: collected({ enabled: true, history: [] }, "kms:GetKeyRotationStatus"),
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
    makeKey({
      source: "azure-mixed",
      sourceType: "azure-key-vault",
      location: AZURE_VAULT,
      keyId: `${AZURE_VAULT}/keys/orders`,
      arn: `${AZURE_VAULT}/keys/orders`,
      aliases: ["orders"],
      keySpec: "RSA_2048",
      rawKeyType: "RSA",
      rotation: makeRotation({ periodDays: 500 }),
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
    makeKey({
      source: "vault-mixed",
      sourceType: "hashicorp-vault",
      location: "transit",
      keyId: "transit/app",
      arn: "https://vault.example.internal:8200/v1/transit/keys/app",
      aliases: ["app"],
      keySpec: "AES256_GCM96",
      rawKeyType: "aes256-gcm96",
      rotation: makeRotation({ periodDays: 90, lastRotation: "2026-09-08T12:00:00.000Z", history: [] }),
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
  const [first, , , , , , azure, vault] = keys;
  return makeSnapshot({
    runId: "run-mixed-0001",
    keys,
    inventory: [first!, azure!, vault!].map((key) => inventoryEntryFor(key)),
    accounts: { "azure-mixed": "8f3e1c2a-1111-2222-3333-444455556666", "vault-mixed": "vault-mixed" },
    logging: [
      // us-east-1: logging pass, retention 90 < 365 fail
      makeLoggingStatus({
        location: "us-east-1",
        sinks: [makeSink({ retention: { kind: "days", days: 90 } })],
      }),
      // Azure: no active sink records key events: logging fail
      makeLoggingStatus({
        source: "azure-mixed",
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
      // Vault: logging pass, retention unknown: warn
      makeLoggingStatus({
        source: "vault-mixed",
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
    usage: [
      makeUsageSummary({ location: "us-east-1" }),
      makeUsageSummary({
        source: "azure-mixed",
        location: AZURE_VAULT,
        eventCount: 0,
        byKey: {},
        byAction: {},
      }),
    ],
  });
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

  it("the estate really is mixed: every status on rotation, spec, access and logging", () => {
    const statusesOf = (checkIds: string[]): Set<FindingStatus> =>
      new Set(
        findings.filter((finding) => checkIds.includes(finding.checkId)).map((finding) => finding.status),
      );
    expect(statusesOf(["key-rotation-enabled"])).toEqual(
      new Set(["pass", "fail", "error", "not-applicable"]),
    );
    // All five statuses across rotation, spec, access and logging (the Vault retention is the warn).
    expect(
      statusesOf([
        "key-rotation-enabled",
        "key-rotation-period",
        "key-spec-approved",
        "key-access-no-human-users",
        "key-usage-logging-enabled",
        "log-retention-sufficient",
      ]),
    ).toEqual(new Set(["pass", "fail", "warn", "error", "not-applicable"]));
    expect([...statusesOf(["key-spec-approved"])]).toEqual(expect.arrayContaining(["pass", "fail"]));
    expect([...statusesOf(["key-access-no-human-users"])]).toEqual(
      expect.arrayContaining(["pass", "fail", "error"]),
    );
    expect([...statusesOf(["key-usage-logging-enabled", "log-retention-sufficient"])]).toEqual(
      expect.arrayContaining(["pass", "fail", "warn"]),
    );
  });

  it("every judged row, headline and badge of every screenshot view model equals findings.json", () => {
    const views = buildScreenshotViews(input);
    expect(views.length).toBe(8 * 2 + 3);
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

  it("the report view models (inventory, procedure, usage) carry the statuses of findings.json", () => {
    const reports = buildReportViews(input, new Date("2026-10-01T09:00:00.000Z"));
    const inventory = reports.find((report) => report.path === KEY_INVENTORY_REPORT_PATH)!
      .view as KeyInventoryView;
    for (const source of inventory.sources)
      for (const location of source.locations)
        for (const key of location.keys) {
          const scope = { source: source.source, location: location.location, keyId: key.keyId };
          expect(key.rotationStatus, key.keyId).toBe(expectedStatus(findings, scope, "key-rotation-enabled"));
          expect(key.stateStatus, key.keyId).toBe(expectedStatus(findings, scope, "key-state-active"));
          expect(key.ownerStatus, key.keyId).toBe(expectedStatus(findings, scope, "key-owner-documented"));
        }
    const procedure = reports.find((report) => report.path === KEY_MANAGEMENT_PROCEDURE_PATH)!
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
    const usage = reports.find((report) => report.template === "reports/usage-summary.html")!
      .view as UsageSummaryView;
    for (const location of usage.locations)
      expect(location.checkStatus, location.location).toBe(
        expectedStatus(
          findings,
          { source: location.source, location: location.location },
          "usage-log-present",
        ),
      );
  });

  it("the PDF text shows the same statuses: key inventory per key, procedure per source", async () => {
    const { stdout: inventoryText } = await run("pdftotext", [
      "-layout",
      join(directory, KEY_INVENTORY_REPORT_PATH),
      "-",
    ]);
    const labels: Record<string, string> = {
      pass: "Enabled",
      fail: "Not enabled",
      error: "Could not be read",
      "not-applicable": "Not applicable",
    };
    const allKeys = snapshot.sources.flatMap((source) =>
      source.locations.flatMap((location) => location.keys),
    );
    for (const key of allKeys) {
      const status = expectedStatus(findings, key, "key-rotation-enabled");
      const label = labels[status];
      expect(label, `${key.keyId}: ${status}`).toBeDefined();
      const at = inventoryText.indexOf(key.keyId);
      expect(at, key.keyId).toBeGreaterThanOrEqual(0);
      // The entry runs to the next key line; its facts line reads "<state>   <rotation verdict>".
      const others = allKeys
        .filter((other) => other.keyId !== key.keyId)
        .map((other) => inventoryText.indexOf(other.keyId, at + 1))
        .filter((index) => index > at);
      const entry = inventoryText.slice(at, Math.min(inventoryText.length, ...others));
      expect(entry, key.keyId).toMatch(new RegExp(`\\n\\s*Enabled +${label!}\\b`));
    }
    // Dates are never split at their hyphens.
    const { stdout: inventoryReading } = await run("pdftotext", [
      join(directory, KEY_INVENTORY_REPORT_PATH),
      "-",
    ]);
    expect(inventoryReading.match(/created\s+2025-01-15/g)).toHaveLength(8);

    const { stdout: procedureText } = await run("pdftotext", [
      join(directory, KEY_MANAGEMENT_PROCEDURE_PATH),
      "-",
    ]);
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
        const parts = (["pass", "fail", "warn", "error", "not-applicable"] as const)
          .filter((status) => (counts.get(status) ?? 0) > 0)
          .map((status) => `${counts.get(status)} ${words[status]}`);
        const expected = `${checkId}: ${parts.length === 0 ? "no findings" : parts.join(", ")}`;
        expect(section, `${source.source} ${expected}`).toContain(normalize(expected));
      }
    }
  });
});
