import { FINDING_STATUSES, type Finding, type FindingStatus } from "../../model/finding.ts";
import type { Tone } from "./tone.ts";

/**
 * Findings are the only verdict. Every ok/bad word, mark or colour a person sees in a picture or a report
 * is looked up here, from the findings of that key or location by check id; a view model never judges a
 * fact itself. A fact no check judges is shown neutral.
 */

/** A finding status, or `not-judged` when no finding of that check exists for the scope. */
export type DisplayStatus = FindingStatus | "not-judged";

export interface DisplayVerdict {
  checkId: string;
  status: DisplayStatus;
  /** `Enabled`, `Not applicable`, `Could not be read`... */
  label: string;
  tone: Tone;
  /** The finding's message (backticks removed), or why there is no verdict. */
  reason: string;
}

/** What a key or location is: findings are matched on all three parts. */
export interface VerdictScope {
  source: string;
  location?: string;
  keyId?: string;
}

/** Words for the statuses whose meaning depends on the check (`Enabled` / `Not enabled`). */
export interface VerdictWording {
  pass?: string;
  fail?: string;
  warn?: string;
}

export const NOT_APPLICABLE_LABEL = "Not applicable";
export const ERROR_LABEL = "Could not be read";
export const NOT_JUDGED_LABEL = "Not judged";

/** Worst first: when a check gives one scope several findings, the worst one speaks for it. */
const SEVERITY_ORDER: readonly FindingStatus[] = ["fail", "error", "warn", "pass", "not-applicable"];

export const STATUS_TONES: Record<DisplayStatus, Tone> = {
  pass: "ok",
  fail: "bad",
  warn: "warn",
  error: "warn",
  "not-applicable": "plain",
  "not-judged": "plain",
};

/** Findings by check id and scope, built once per render and shared by every view model. */
export interface FindingIndex {
  readonly byScope: ReadonlyMap<string, Finding[]>;
  /** Every finding of one key (source, location, key id), whatever the check. */
  readonly byKey: ReadonlyMap<string, Finding[]>;
  readonly all: readonly Finding[];
}

function scopeKey(scope: VerdictScope, checkId: string): string {
  return [scope.source, scope.location ?? "", scope.keyId ?? "", checkId].join("\u0000");
}

export function indexFindings(findings: readonly Finding[]): FindingIndex {
  const byScope = new Map<string, Finding[]>();
  const byKey = new Map<string, Finding[]>();
  const push = (map: Map<string, Finding[]>, key: string, finding: Finding): void => {
    const list = map.get(key);
    if (list === undefined) map.set(key, [finding]);
    else list.push(finding);
  };
  for (const finding of findings) {
    push(byScope, scopeKey(finding, finding.checkId), finding);
    if (finding.keyId !== undefined) push(byKey, scopeKey(finding, ""), finding);
  }
  return { byScope, byKey, all: findings };
}

/** Every finding on one key, in findings.json order. */
export function findingsOfKey(
  index: FindingIndex,
  key: { source: string; location: string; keyId: string },
): Finding[] {
  return index.byKey.get(scopeKey(key, "")) ?? [];
}

/** Backticks are markdown for code in check prose; a PDF or PNG shows the words, not the markers. */
export function stripMarkdown(text: string): string {
  return text.replaceAll("`", "");
}

/** `a \`b\` c` → segments; templates set the code segments in code font. */
export type ProseSegment = { text: string; code: boolean };

export function proseOf(text: string): ProseSegment[] {
  const parts = text.split("`");
  // An odd number of backticks leaves the last one unpaired: treat it as text, never as an open code span.
  const paired = parts.length % 2 === 1;
  return parts
    .map((part, index) => ({ text: part, code: paired && index % 2 === 1 }))
    .filter((segment) => segment.text.length > 0);
}

export function worstStatus(statuses: readonly FindingStatus[]): FindingStatus | undefined {
  return SEVERITY_ORDER.find((status) => statuses.includes(status));
}

function labelOf(status: DisplayStatus, wording: VerdictWording): string {
  switch (status) {
    case "pass":
      return wording.pass ?? "Pass";
    case "fail":
      return wording.fail ?? "Fail";
    case "warn":
      return wording.warn ?? "Needs review";
    case "error":
      return ERROR_LABEL;
    case "not-applicable":
      return NOT_APPLICABLE_LABEL;
    case "not-judged":
      return NOT_JUDGED_LABEL;
  }
}

/** The findings of one check on exactly this key (source, location, key id) or location (no key id). */
export function findingsOf(index: FindingIndex, scope: VerdictScope, checkId: string): Finding[] {
  return index.byScope.get(scopeKey(scope, checkId)) ?? [];
}

/** The display verdict of one check on one key or location. */
export function verdictOf(
  index: FindingIndex,
  scope: VerdictScope,
  checkId: string,
  wording: VerdictWording = {},
): DisplayVerdict {
  const findings = findingsOf(index, scope, checkId);
  const status = worstStatus(findings.map((finding) => finding.status)) ?? "not-judged";
  const reason =
    status === "not-judged"
      ? `no ${checkId} finding for this ${scope.keyId === undefined ? "location" : "key"}`
      : findings
          .filter((finding) => finding.status === status)
          .map((finding) => stripMarkdown(finding.message))
          .join("; ");
  return { checkId, status, label: labelOf(status, wording), tone: STATUS_TONES[status], reason };
}

/** How the findings of one check over many keys or locations came out: `2 pass, 1 fail, 1 not applicable`. */
export interface VerdictTally {
  checkId: string;
  counts: Record<FindingStatus, number>;
  total: number;
  worst: DisplayStatus;
  tone: Tone;
  /** `key-rotation-enabled: 2 pass, 1 fail` or `key-rotation-enabled: no findings`. */
  text: string;
}

const TALLY_WORDS: Record<FindingStatus, string> = {
  pass: "pass",
  fail: "fail",
  warn: "warn",
  error: "could not be read",
  "not-applicable": "not applicable",
};

export function describeTally(checkId: string, counts: Record<FindingStatus, number>): string {
  const parts = FINDING_STATUSES.filter((status) => counts[status] > 0).map(
    (status) => `${counts[status]} ${TALLY_WORDS[status]}`,
  );
  return `${checkId}: ${parts.length === 0 ? "no findings" : parts.join(", ")}`;
}

/** Tally of one check's findings whose scope `matches` (e.g. every key of a source). */
export function tallyOf(
  index: FindingIndex,
  checkId: string,
  matches: (finding: Finding) => boolean,
): VerdictTally {
  const counts: Record<FindingStatus, number> = {
    pass: 0,
    fail: 0,
    warn: 0,
    error: 0,
    "not-applicable": 0,
  };
  for (const finding of index.all)
    if (finding.checkId === checkId && matches(finding)) counts[finding.status] += 1;
  const total = FINDING_STATUSES.reduce((sum, status) => sum + counts[status], 0);
  const worst = worstStatus(FINDING_STATUSES.filter((status) => counts[status] > 0)) ?? "not-judged";
  return { checkId, counts, total, worst, tone: STATUS_TONES[worst], text: describeTally(checkId, counts) };
}
