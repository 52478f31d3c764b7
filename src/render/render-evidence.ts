import { mkdir, rename, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { CheckMetadata } from "../checks/check.ts";
import type { InventoryEntry } from "../config/config.schema.ts";
import { KeyproofError, describeError } from "../errors/errors.ts";
import { assertBundlePath } from "../evidence/bundle-path.ts";
import { hashFile, readBundleTree } from "../evidence/bundle-tree.ts";
import { sha256Hex } from "../evidence/manifest.ts";
import {
  MANIFEST_FILE,
  SIGNATURE_FILE,
  keyAccessPolicyPath,
  keyConfigurationPath,
  loggingStatusPath,
} from "../evidence/paths.ts";
import { keyReference } from "../inventory/match-inventory.ts";
import type { Finding } from "../model/finding.ts";
import type { KeyRecord } from "../model/key.ts";
import type { LocationSnapshot, Snapshot, SourceSnapshot } from "../model/snapshot.ts";
import {
  EVIDENCE_INDEX_PATH,
  FINDINGS_REPORT_PATH,
  KEY_INVENTORY_REPORT_PATH,
  KEY_MANAGEMENT_PROCEDURE_PATH,
  USAGE_SUMMARY_REPORT_PATH,
  keyAccessPolicyScreenshotPath,
  keyConfigurationScreenshotPath,
  loggingConfigurationScreenshotPath,
} from "./artifact-paths.ts";
import type { BrowserPool } from "./browser-pool.ts";
import type { DigestedFile } from "./content-digest.ts";
import { assemblePdf, type PdfDocumentInfo } from "./pdf-document.ts";
import { printHtml, screenshotHtml } from "./render-html.ts";
import { TemplateLibrary } from "./template.ts";
import { buildAccessPolicyView, type AccessPolicyView } from "./view-models/access-policy.view-model.ts";
import { captureWindowOf } from "../model/snapshot.ts";
import { buildEvidenceIndexView } from "./view-models/evidence-index.view-model.ts";
import type { ChangesSincePrevious } from "../evidence/bundle-diff.ts";
import { buildFindingsReportView } from "./view-models/findings-report.view-model.ts";
import {
  buildKeyConfigurationView,
  type KeyConfigurationView,
} from "./view-models/key-configuration.view-model.ts";
import { buildKeyInventoryView } from "./view-models/key-inventory.view-model.ts";
import { buildKeyManagementProcedureView } from "./view-models/key-management-procedure.view-model.ts";
import {
  buildLoggingConfigurationView,
  type LoggingConfigurationView,
} from "./view-models/logging-configuration.view-model.ts";
import { describeSignerIdentity, type SignerIdentity } from "./view-models/signer-identity.ts";
import { buildUsageSummaryView } from "./view-models/usage-summary.view-model.ts";
import { indexFindings } from "./view-models/verdicts.ts";

/**
 * The render step: dated PNGs of each key's configuration and access policy and of each location's
 * logging, then the PDF reports, then the evidence index over everything in the bundle directory.
 * It reads the model only; the JSON exports it points at were written by the bundle step before it.
 */

export interface RenderInput {
  snapshot: Snapshot;
  findings: Finding[];
  checks: CheckMetadata[];
  /** Keyed by keyReference() of src/inventory/match-inventory.ts. */
  inventoryEntryByKey: Map<string, InventoryEntry>;
  /** Bundle path → SHA-256 of the configuration, access and logging exports already written. */
  exportDigests: Map<string, string>;
  /** Shown by key id and fingerprint; a local key file's path never reaches a PDF. */
  signer: SignerIdentity;
  /**
   * What changed since the previous bundle (changes-since-previous.json), or why it is not known; the
   * findings report shows it. Absent: the report says the changes were not computed.
   */
  changes?: ChangesSincePrevious | string;
  /** Stamped on the PDFs; defaults to now. Pass a fixed value to get byte-identical output on a rerun. */
  generatedAt?: Date;
}

export interface RenderResult {
  /** Every artifact written, in the order written, with its digest. */
  files: DigestedFile[];
}

export interface RenderOptions {
  /** Templates to use; one library per process keeps them compiled across runs. */
  templates?: TemplateLibrary;
}

/** A slice of the screenshot list (`screenshotCount`): what one render batch of a large estate draws. */
export interface ScreenshotSlice {
  /** Inclusive index into the run's screenshot list. */
  start: number;
  /** Exclusive. */
  end: number;
}

/** How many PNGs the snapshot yields (two per key, one per location), in the order slices index them. */
export function screenshotCount(snapshot: Snapshot): number {
  return screenshotTargets(snapshot).length;
}

/**
 * The JSON exports the screenshots of a slice (default: all) are drawn from: their digests go on the
 * banners, so only these need hashing for that slice.
 */
export function screenshotExportPaths(snapshot: Snapshot, slice?: ScreenshotSlice): string[] {
  const targets = screenshotTargets(snapshot);
  return (slice === undefined ? targets : targets.slice(slice.start, slice.end)).map(
    (target) => target.exportPath,
  );
}

let defaultTemplates: TemplateLibrary | undefined;

function templatesOf(options: RenderOptions): TemplateLibrary {
  if (options.templates !== undefined) return options.templates;
  defaultTemplates ??= new TemplateLibrary();
  return defaultTemplates;
}

/** Writes beside the target and renames, so an interrupted render never leaves a truncated PNG or PDF. */
async function writeArtifact(
  outputDirectory: string,
  path: string,
  bytes: Uint8Array,
): Promise<DigestedFile> {
  assertBundlePath(path);
  const target = join(outputDirectory, ...path.split("/"));
  await mkdir(dirname(target), { recursive: true });
  const partial = `${target}.${process.pid}.partial`;
  await writeFile(partial, bytes);
  await rename(partial, target);
  return { path, sha256: sha256Hex(bytes), bytes: bytes.byteLength };
}

/**
 * Runs `task` over `items` with at most `limit` in flight, and reports every failure instead of the first:
 * one broken key must not hide which other artifacts are missing.
 */
async function runAll<T, R>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<R>,
  describe: (item: T) => string,
): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  const failures: string[] = [];
  const causes: unknown[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      const item = items[index] as T;
      try {
        results[index] = await task(item);
      } catch (error) {
        failures.push(`${describe(item)}: ${describeError(error)}`);
        causes.push(error);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (failures.length > 0) {
    throw new KeyproofError(
      "INTERNAL",
      `${failures.length} artifact(s) could not be rendered:\n${failures.join("\n")}`,
      {
        cause: causes.length === 1 ? causes[0] : new AggregateError(causes),
        remediation:
          "rerun the render step; if it keeps failing, check the render worker's log for Chromium errors",
      },
    );
  }
  return results;
}

interface KeyTarget {
  source: SourceSnapshot;
  key: KeyRecord;
}

interface LocationTarget {
  source: SourceSnapshot;
  location: LocationSnapshot;
}

/** One PNG to draw: what it shows, where it goes, and the JSON export it is drawn from (its digest is cited). */
type ScreenshotTarget = { path: string; exportPath: string } & (
  | { kind: "configuration"; target: KeyTarget }
  | { kind: "access"; target: KeyTarget }
  | { kind: "logging"; target: LocationTarget }
);

function screenshotTargets(snapshot: Snapshot): ScreenshotTarget[] {
  const targets: ScreenshotTarget[] = [];
  for (const source of snapshot.sources) {
    for (const location of source.locations) {
      for (const key of location.keys) {
        targets.push(
          {
            kind: "configuration",
            target: { source, key },
            path: keyConfigurationScreenshotPath(key.source, key.location, key.keyId),
            exportPath: keyConfigurationPath(key.source, key.location, key.keyId),
          },
          {
            kind: "access",
            target: { source, key },
            path: keyAccessPolicyScreenshotPath(key.source, key.location, key.keyId),
            exportPath: keyAccessPolicyPath(key.source, key.location, key.keyId),
          },
        );
      }
      targets.push({
        kind: "logging",
        target: { source, location },
        path: loggingConfigurationScreenshotPath(location.source, location.location),
        exportPath: loggingStatusPath(location.source, location.location),
      });
    }
  }
  return targets;
}

/**
 * The PNGs (configuration and access per key, logging per location), all of them or one slice of the
 * list (a render batch of a large estate; every slice of a run indexes the same list). renderEvidence
 * calls it first unless the screenshots were rendered in batches already.
 */
export async function renderScreenshots(
  input: RenderInput,
  outputDirectory: string,
  pool: BrowserPool,
  options: RenderOptions & { slice?: ScreenshotSlice } = {},
): Promise<DigestedFile[]> {
  const templates = templatesOf(options);
  const renderOne = async (screenshot: ScreenshotView): Promise<DigestedFile> => {
    const html = await templates.render(screenshot.template, screenshot.view);
    const png = await screenshotHtml(pool, html, screenshot.path, { template: screenshot.template });
    return writeArtifact(outputDirectory, screenshot.path, png);
  };
  // Twice the pool size in flight: pages never wait for HTML to be built, and memory stays bounded.
  return runAll(buildScreenshotViews(input, options.slice), pool.size * 2, renderOne, (view) => view.path);
}

/** One PNG as its view model: what the picture shows, and the template that draws it. */
export type ScreenshotView = { path: string } & (
  | { kind: "configuration"; template: "screenshots/key-configuration.html"; view: KeyConfigurationView }
  | { kind: "access"; template: "screenshots/key-access-policy.html"; view: AccessPolicyView }
  | { kind: "logging"; template: "screenshots/logging-configuration.html"; view: LoggingConfigurationView }
);

/**
 * The view models of the screenshots (all, or one slice), exactly as renderScreenshots draws them. Pure:
 * the consistency test reads every status in them against the findings.
 */
export function buildScreenshotViews(input: RenderInput, slice?: ScreenshotSlice): ScreenshotView[] {
  const { snapshot } = input;
  const checksById = new Map(input.checks.map((check) => [check.id, check]));
  const verdicts = indexFindings(input.findings);
  const capture = captureWindowOf(snapshot);
  const targets = screenshotTargets(snapshot);
  const chosen = slice === undefined ? targets : targets.slice(slice.start, slice.end);
  return chosen.map((target): ScreenshotView => {
    const exportSha256 = input.exportDigests.get(target.exportPath);
    switch (target.kind) {
      case "configuration": {
        const { source, key } = target.target;
        return {
          kind: "configuration",
          path: target.path,
          template: "screenshots/key-configuration.html",
          view: buildKeyConfigurationView({
            snapshot,
            capture,
            source,
            key,
            inventoryEntry: input.inventoryEntryByKey.get(keyReference(key)),
            exportSha256,
            verdicts,
          }),
        };
      }
      case "access": {
        const { source, key } = target.target;
        return {
          kind: "access",
          path: target.path,
          template: "screenshots/key-access-policy.html",
          view: buildAccessPolicyView({
            snapshot,
            capture,
            source,
            key,
            inventoryEntry: input.inventoryEntryByKey.get(keyReference(key)),
            exportSha256,
            verdicts,
            checksById,
          }),
        };
      }
      case "logging": {
        const { source, location } = target.target;
        return {
          kind: "logging",
          path: target.path,
          template: "screenshots/logging-configuration.html",
          view: buildLoggingConfigurationView({
            snapshot,
            capture,
            source,
            location,
            exportSha256,
            verdicts,
          }),
        };
      }
    }
  });
}

/** The PDF reports (all but the evidence index) as view models, exactly as renderEvidence prints them. */
export function buildReportViews(
  input: RenderInput,
  generatedAt: Date,
): Array<{ path: string; template: string; title: string; view: object }> {
  const { snapshot } = input;
  const verdicts = indexFindings(input.findings);
  return [
    {
      path: FINDINGS_REPORT_PATH,
      template: "reports/findings-report.html",
      title: "Findings report",
      view: buildFindingsReportView({
        snapshot,
        findings: input.findings,
        checks: input.checks,
        generatedAt,
        ...(input.changes === undefined ? {} : { changes: input.changes }),
      }),
    },
    {
      path: KEY_INVENTORY_REPORT_PATH,
      template: "reports/key-inventory.html",
      title: "Key inventory",
      view: buildKeyInventoryView({
        snapshot,
        inventoryEntryByKey: input.inventoryEntryByKey,
        verdicts,
        generatedAt,
      }),
    },
    {
      path: KEY_MANAGEMENT_PROCEDURE_PATH,
      template: "reports/key-management-procedure.html",
      title: "Encryption key management procedure",
      view: buildKeyManagementProcedureView({
        snapshot,
        signerDescription: describeSignerIdentity(input.signer),
        verdicts,
        generatedAt,
      }),
    },
    {
      path: USAGE_SUMMARY_REPORT_PATH,
      template: "reports/usage-summary.html",
      title: "Key usage summary",
      view: buildUsageSummaryView({ snapshot, verdicts, generatedAt }),
    },
  ];
}

function documentInfo(snapshot: Snapshot, title: string, generatedAt: Date): PdfDocumentInfo {
  return {
    title: `${title}: ${snapshot.organization}, ${snapshot.range.label}`,
    subject: `SOC 2 CC6 encryption key management evidence, ${snapshot.range.label}, run ${snapshot.runId}`,
    author: snapshot.organization,
    keywords: ["SOC 2", "CC6", "encryption keys", snapshot.range.label, snapshot.runId],
    generatedAt,
    footer: `${snapshot.organization} - ${title} - ${snapshot.range.label} - run ${snapshot.runId}`,
  };
}

async function renderReport(
  pool: BrowserPool,
  templates: TemplateLibrary,
  outputDirectory: string,
  report: { path: string; template: string; title: string; view: object },
  snapshot: Snapshot,
  generatedAt: Date,
): Promise<DigestedFile> {
  const html = await templates.render(report.template, report.view);
  const printed = await printHtml(pool, html, report.path, { template: report.template });
  const pdf = await assemblePdf([printed], documentInfo(snapshot, report.title, generatedAt));
  return writeArtifact(outputDirectory, report.path, pdf);
}

/** Every file under the bundle directory except the index itself, the manifest pair and partial writes. */
async function digestDirectory(outputDirectory: string): Promise<DigestedFile[]> {
  const excluded = new Set([EVIDENCE_INDEX_PATH, MANIFEST_FILE, SIGNATURE_FILE]);
  const files: DigestedFile[] = [];
  for (const path of (await readBundleTree(outputDirectory)).files) {
    if (excluded.has(path) || path.endsWith(".partial")) continue;
    files.push({ path, ...(await hashFile(join(outputDirectory, ...path.split("/")))) });
  }
  return files;
}

/**
 * Renders every screenshot and report into `outputDirectory` (the bundle directory), the evidence index
 * last so that it lists the digest of every other file there at that moment.
 */
export async function renderEvidence(
  input: RenderInput,
  outputDirectory: string,
  pool: BrowserPool,
  options: RenderOptions & {
    /** The screenshots are in `outputDirectory` already (rendered in batches): only reports and index. */
    screenshotsRendered?: boolean;
  } = {},
): Promise<RenderResult> {
  const templates = templatesOf(options);
  const generatedAt = input.generatedAt ?? new Date();
  const { snapshot } = input;

  const screenshots =
    options.screenshotsRendered === true
      ? []
      : await renderScreenshots(input, outputDirectory, pool, { templates });

  const reports = buildReportViews(input, generatedAt);
  const reportFiles = await runAll(
    reports,
    pool.size,
    (report) => renderReport(pool, templates, outputDirectory, report, snapshot, generatedAt),
    (report) => report.path,
  );

  const listed = await digestDirectory(outputDirectory);
  const indexView = buildEvidenceIndexView({
    snapshot,
    files: listed,
    signerDescription: describeSignerIdentity(input.signer),
    generatedAt,
  });
  const [cover, listing] = await Promise.all([
    templates
      .render("reports/evidence-index-cover.html", indexView)
      .then((html) => printHtml(pool, html, `${EVIDENCE_INDEX_PATH} (cover)`)),
    templates
      .render("reports/evidence-index.html", indexView)
      .then((html) => printHtml(pool, html, EVIDENCE_INDEX_PATH)),
  ]);
  const index = await writeArtifact(
    outputDirectory,
    EVIDENCE_INDEX_PATH,
    await assemblePdf([cover, listing], documentInfo(snapshot, "Evidence index", generatedAt)),
  );

  return { files: [...screenshots, ...reportFiles, index] };
}
