export const FINDING_STATUSES = ["pass", "fail", "warn", "error", "not-applicable"] as const;
export type FindingStatus = (typeof FINDING_STATUSES)[number];

export const SEVERITIES = ["critical", "high", "medium", "low", "info"] as const;
export type Severity = (typeof SEVERITIES)[number];

/** One check's verdict on one resource. The population is complete: every key a check applies to gets one. */
export interface Finding {
  checkId: string;
  status: FindingStatus;
  severity: Severity;
  source: string;
  location?: string;
  /** Absent for source-level or inventory-level findings. */
  keyId?: string;
  /** What was judged: a key ARN, a trail, an inventory entry. */
  resource: string;
  message: string;
  /** Bundle-relative paths of the evidence the verdict rests on. */
  evidence: string[];
  /** UTC ISO-8601 date that matters to the verdict (deletion date, last rotation...). */
  date?: string;
}

/**
 * The source of findings about the organization rather than one configured source (the approval of the
 * key-management procedure). In parentheses, so it can never be a configured source id (a slug).
 */
export const ORGANIZATION_SOURCE = "(organization)";
