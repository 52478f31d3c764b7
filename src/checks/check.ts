import type { Finding, FindingStatus, Severity } from "../model/finding.ts";
import type { KeyRecord, SourceType } from "../model/key.ts";
import type { Snapshot } from "../model/snapshot.ts";

/** Human prose about a check lives in its `<id>.metadata.json`, beside the code. */
export interface CheckMetadata {
  id: string;
  title: string;
  severity: Severity;
  /** What can go wrong if the check fails, in an auditor's words. */
  risk: string;
  remediation: string;
  /** SOC 2 criteria, e.g. ["CC6.1", "CC6.7"]. */
  soc2: string[];
  /** Which procedure step or common finding it evidences. */
  procedureStep: string;
  sourceTypes: SourceType[];
}

/**
 * What a check may know besides the snapshot: the findings of the checks registered before it (run-checks.ts).
 * Only checks that judge other verdicts need it (access-review-current: is an item a review left open still
 * failing?); they are registered last, so every verdict they look at exists.
 */
export interface CheckContext {
  findings: readonly Finding[];
}

/** A check is a pure function of the snapshot (and the earlier findings). It never performs I/O. */
export interface Check {
  metadata: CheckMetadata;
  run(snapshot: Snapshot, context?: CheckContext): Finding[];
}

/** Keys of the snapshot a check may judge, restricted to source types the check applies to. */
export function keysOf(snapshot: Snapshot, sourceTypes: readonly SourceType[]): KeyRecord[] {
  return snapshot.sources
    .filter((source) => sourceTypes.includes(source.type))
    .flatMap((source) => source.locations.flatMap((location) => location.keys));
}

export interface FindingDraft {
  status: FindingStatus;
  source: string;
  location?: string;
  keyId?: string;
  resource: string;
  message: string;
  evidence: string[];
  date?: string;
  /** Overrides the metadata severity (e.g. a `warn` on a check whose fail is high). */
  severity?: Severity;
}

/**
 * Builds a finding. Fail, warn and error carry the check's severity (an unjudged critical check is still
 * critical to look at); pass and not-applicable carry `info` unless told otherwise.
 */
export function makeFinding(metadata: CheckMetadata, draft: FindingDraft): Finding {
  const severity =
    draft.severity ??
    (draft.status === "fail" || draft.status === "warn" || draft.status === "error"
      ? metadata.severity
      : "info");
  const finding: Finding = {
    checkId: metadata.id,
    status: draft.status,
    severity,
    source: draft.source,
    resource: draft.resource,
    message: draft.message,
    evidence: draft.evidence,
  };
  if (draft.location !== undefined) finding.location = draft.location;
  if (draft.keyId !== undefined) finding.keyId = draft.keyId;
  if (draft.date !== undefined) finding.date = draft.date;
  return finding;
}
