import type { CheckMetadata } from "../../checks/check.ts";
import {
  FINDING_STATUSES,
  SEVERITIES,
  type Finding,
  type FindingStatus,
  type Severity,
} from "../../model/finding.ts";
import type { Snapshot } from "../../model/snapshot.ts";
import { describeChanges, type ChangesSincePrevious } from "../../evidence/bundle-diff.ts";
import {
  buildChangesDuringPeriodView,
  type ChangesDuringPeriodView,
} from "./changes-during-period.view-model.ts";
import { buildReportHeader, type ReportHeaderView } from "./report-header.view-model.ts";
import { STATUS_TEXT, compareText, formatInstant, isAttentionStatus } from "./format.ts";
import { proseOf, stripMarkdown, type ProseSegment } from "./verdicts.ts";

export type FindingEntryView = {
  status: string;
  statusClass: FindingStatus;
  attention: boolean;
  checkId: string;
  checkTitle: ProseSegment[];
  resource: string;
  keyId: string;
  where: string;
  message: ProseSegment[];
  date: string;
  evidence: Array<{ path: string }>;
  risk: ProseSegment[];
  remediation: ProseSegment[];
  soc2: string;
  procedureStep: string;
};

/** One compact table row per closed finding (pass, not applicable): the open ones get the full entry. */
export type ClosedFindingView = {
  status: string;
  statusClass: FindingStatus;
  checkId: string;
  resource: string;
  where: string;
  message: ProseSegment[];
  date: string;
};

/** "Since the previous bundle": the changes by section, or the reason there is nothing to compare with. */
export type SincePreviousView = {
  compared: boolean;
  /** The previous bundle (run, period, manifest digest) when compared; the reason otherwise. */
  summary: string;
  unchanged: boolean;
  sections: Array<{ title: string; count: number; lines: string[] }>;
  notes: string[];
};

export type FindingsReportView = {
  report: ReportHeaderView;
  changesDuringPeriod: ChangesDuringPeriodView;
  sincePrevious: SincePreviousView;
  statusTotals: Array<{ status: string; statusClass: FindingStatus; count: number }>;
  severityTotals: Array<{ severity: string; attention: number; total: number }>;
  total: number;
  attentionTotal: number;
  /** Open findings (fail, error, warn) by severity, critical first. */
  groups: Array<{ severity: string; severityClass: Severity; count: number; findings: FindingEntryView[] }>;
  closedTotal: number;
  /** Passed and not-applicable findings, one row each, by check. */
  closed: ClosedFindingView[];
  checks: Array<{
    id: string;
    title: ProseSegment[];
    severity: string;
    soc2: string;
    procedureStep: string;
    risk: ProseSegment[];
    remediation: ProseSegment[];
  }>;
};

const SEVERITY_TITLES: Record<Severity, string> = {
  critical: "Critical",
  high: "High",
  medium: "Medium",
  low: "Low",
  info: "Informational",
};

const STATUS_ORDER: readonly FindingStatus[] = ["fail", "error", "warn", "pass", "not-applicable"];

function missingMetadata(
  checkId: string,
): Pick<FindingEntryView, "checkTitle" | "risk" | "remediation" | "soc2" | "procedureStep"> {
  const text = `No metadata was supplied for check ${checkId}`;
  return {
    checkTitle: proseOf(checkId),
    risk: proseOf(text),
    remediation: proseOf(text),
    soc2: "Not mapped",
    procedureStep: text,
  };
}

/** Pure: the changes-since-previous section from the file's content (or the reason it is not available). */
export function buildSincePreviousView(
  changes: ChangesSincePrevious | string | undefined,
): SincePreviousView {
  const notCompared = (reason: string): SincePreviousView => ({
    compared: false,
    summary: reason,
    unchanged: false,
    sections: [],
    notes: [],
  });
  if (changes === undefined) return notCompared("Not computed for this report.");
  if (typeof changes === "string") return notCompared(`Not available: ${changes}.`);
  if (changes.previous === null) {
    return notCompared(
      changes.reason === "first bundle of its chain"
        ? "None: this is the first bundle of its chain."
        : `Not available: ${changes.reason}.`,
    );
  }
  const previous = changes.previous;
  return {
    compared: true,
    summary: `Compared with run ${previous.runId} (period ${previous.period.label}, captured ${formatInstant(previous.capturedAt)}${previous.manifestSha256 === undefined ? "" : `, manifest SHA-256 ${previous.manifestSha256}`}).`,
    unchanged: changes.unchanged,
    sections: describeChanges(changes).map((section) => ({
      title: section.title,
      count: section.lines.length,
      lines: section.lines,
    })),
    notes: changes.notCompared.map(
      (item) =>
        `${item.key.source} / ${item.key.location} / ${item.key.keyId}: ${item.what} not compared (${item.reason})`,
    ),
  };
}

/** Pure: the findings report, grouped by severity (critical first), the worst status first within a group. */
export function buildFindingsReportView(input: {
  snapshot: Pick<Snapshot, "organization" | "range" | "runId" | "capturedAt"> &
    Partial<Pick<Snapshot, "sources">>;
  findings: readonly Finding[];
  checks: readonly CheckMetadata[];
  generatedAt: Date;
  /** changes-since-previous.json as the run wrote it, or why it could not be read. */
  changes?: ChangesSincePrevious | string;
}): FindingsReportView {
  const checksById = new Map(input.checks.map((check) => [check.id, check]));
  const ordered = [...input.findings].sort(
    (left, right) =>
      STATUS_ORDER.indexOf(left.status) - STATUS_ORDER.indexOf(right.status) ||
      compareText(left.checkId, right.checkId) ||
      compareText(left.source, right.source) ||
      compareText(left.resource, right.resource),
  );
  const open = ordered.filter((finding) => isAttentionStatus(finding.status));
  // Closed findings by check, then where: an auditor scans one check's population at a time.
  const closed = ordered
    .filter((finding) => !isAttentionStatus(finding.status))
    .sort(
      (left, right) =>
        compareText(left.checkId, right.checkId) ||
        STATUS_ORDER.indexOf(left.status) - STATUS_ORDER.indexOf(right.status) ||
        compareText(left.source, right.source) ||
        compareText(left.resource, right.resource),
    );
  const toEntry = (finding: Finding): FindingEntryView => {
    const check = checksById.get(finding.checkId);
    const prose =
      check === undefined
        ? missingMetadata(finding.checkId)
        : {
            checkTitle: proseOf(check.title),
            risk: proseOf(check.risk),
            remediation: proseOf(check.remediation),
            soc2: check.soc2.join(", "),
            procedureStep: stripMarkdown(check.procedureStep),
          };
    return {
      status: STATUS_TEXT[finding.status],
      statusClass: finding.status,
      attention: isAttentionStatus(finding.status),
      checkId: finding.checkId,
      resource: finding.resource,
      keyId: finding.keyId ?? "",
      where: [finding.source, finding.location].filter((part) => part !== undefined).join(" / "),
      message: proseOf(finding.message),
      date: finding.date === undefined ? "" : formatInstant(finding.date),
      evidence: finding.evidence.map((path) => ({ path })),
      ...prose,
    };
  };

  return {
    report: buildReportHeader(input.snapshot, "Findings report", input.generatedAt),
    changesDuringPeriod: buildChangesDuringPeriodView(input.snapshot.sources ?? [], input.findings),
    sincePrevious: buildSincePreviousView(input.changes),
    statusTotals: FINDING_STATUSES.map((status) => ({
      status: STATUS_TEXT[status],
      statusClass: status,
      count: input.findings.filter((finding) => finding.status === status).length,
    })),
    severityTotals: SEVERITIES.map((severity) => {
      const ofSeverity = input.findings.filter((finding) => finding.severity === severity);
      return {
        severity: SEVERITY_TITLES[severity],
        attention: ofSeverity.filter((finding) => isAttentionStatus(finding.status)).length,
        total: ofSeverity.length,
      };
    }),
    total: input.findings.length,
    attentionTotal: input.findings.filter((finding) => isAttentionStatus(finding.status)).length,
    groups: SEVERITIES.map((severity) => {
      const findings = open.filter((finding) => finding.severity === severity).map(toEntry);
      return {
        severity: SEVERITY_TITLES[severity],
        severityClass: severity,
        count: findings.length,
        findings,
      };
    }).filter((group) => group.count > 0),
    closedTotal: closed.length,
    closed: closed.map((finding) => ({
      status: STATUS_TEXT[finding.status],
      statusClass: finding.status,
      checkId: finding.checkId,
      resource: finding.resource,
      where: [finding.source, finding.location].filter((part) => part !== undefined).join(" / "),
      message: proseOf(finding.message),
      date: finding.date === undefined ? "" : formatInstant(finding.date),
    })),
    checks: [...input.checks]
      .sort((left, right) => compareText(left.id, right.id))
      .map((check) => ({
        id: check.id,
        title: proseOf(check.title),
        severity: SEVERITY_TITLES[check.severity],
        soc2: check.soc2.join(", "),
        procedureStep: stripMarkdown(check.procedureStep),
        risk: proseOf(check.risk),
        remediation: proseOf(check.remediation),
      })),
  };
}
