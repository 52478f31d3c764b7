import type { CheckMetadata } from "../../checks/check.ts";
import {
  FINDING_STATUSES,
  SEVERITIES,
  type Finding,
  type FindingStatus,
  type Severity,
} from "../../model/finding.ts";
import type { Snapshot } from "../../model/snapshot.ts";
import { buildReportHeader, type ReportHeaderView } from "./report-header.view-model.ts";
import { STATUS_TEXT, compareText, formatInstant, isAttentionStatus } from "./format.ts";

export type FindingEntryView = {
  status: string;
  statusClass: FindingStatus;
  attention: boolean;
  checkId: string;
  checkTitle: string;
  resource: string;
  keyId: string;
  where: string;
  message: string;
  date: string;
  evidence: Array<{ path: string }>;
  risk: string;
  remediation: string;
  soc2: string;
  procedureStep: string;
};

export type FindingsReportView = {
  report: ReportHeaderView;
  statusTotals: Array<{ status: string; statusClass: FindingStatus; count: number }>;
  severityTotals: Array<{ severity: string; attention: number; total: number }>;
  total: number;
  attentionTotal: number;
  groups: Array<{ severity: string; severityClass: Severity; count: number; findings: FindingEntryView[] }>;
  checks: Array<{
    id: string;
    title: string;
    severity: string;
    soc2: string;
    procedureStep: string;
    risk: string;
    remediation: string;
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
  return { checkTitle: checkId, risk: text, remediation: text, soc2: "Not mapped", procedureStep: text };
}

/** Pure: the findings report, grouped by severity (critical first), the worst status first within a group. */
export function buildFindingsReportView(input: {
  snapshot: Pick<Snapshot, "organization" | "range" | "runId" | "capturedAt">;
  findings: readonly Finding[];
  checks: readonly CheckMetadata[];
  generatedAt: Date;
}): FindingsReportView {
  const checksById = new Map(input.checks.map((check) => [check.id, check]));
  const ordered = [...input.findings].sort(
    (left, right) =>
      STATUS_ORDER.indexOf(left.status) - STATUS_ORDER.indexOf(right.status) ||
      compareText(left.checkId, right.checkId) ||
      compareText(left.source, right.source) ||
      compareText(left.resource, right.resource),
  );
  const toEntry = (finding: Finding): FindingEntryView => {
    const check = checksById.get(finding.checkId);
    const prose =
      check === undefined
        ? missingMetadata(finding.checkId)
        : {
            checkTitle: check.title,
            risk: check.risk,
            remediation: check.remediation,
            soc2: check.soc2.join(", "),
            procedureStep: check.procedureStep,
          };
    return {
      status: STATUS_TEXT[finding.status],
      statusClass: finding.status,
      attention: isAttentionStatus(finding.status),
      checkId: finding.checkId,
      resource: finding.resource,
      keyId: finding.keyId ?? "",
      where: [finding.source, finding.location].filter((part) => part !== undefined).join(" / "),
      message: finding.message,
      date: finding.date === undefined ? "" : formatInstant(finding.date),
      evidence: finding.evidence.map((path) => ({ path })),
      ...prose,
    };
  };

  return {
    report: buildReportHeader(input.snapshot, "Findings report", input.generatedAt),
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
      const findings = ordered.filter((finding) => finding.severity === severity).map(toEntry);
      return {
        severity: SEVERITY_TITLES[severity],
        severityClass: severity,
        count: findings.length,
        findings,
      };
    }).filter((group) => group.count > 0),
    checks: [...input.checks]
      .sort((left, right) => compareText(left.id, right.id))
      .map((check) => ({
        id: check.id,
        title: check.title,
        severity: SEVERITY_TITLES[check.severity],
        soc2: check.soc2.join(", "),
        procedureStep: check.procedureStep,
        risk: check.risk,
        remediation: check.remediation,
      })),
  };
}
