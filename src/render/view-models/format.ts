import type { KeyUsage } from "../../config/config.schema.ts";
import type { FindingStatus } from "../../model/finding.ts";
import type { CollectionError, KeyOrigin, KeyState, SourceType } from "../../model/key.ts";
import type { Retention } from "../../model/logging.ts";
import type { SourceSnapshot } from "../../model/snapshot.ts";
import type { DisplayStatus, DisplayVerdict } from "./verdicts.ts";
import type { Tone } from "./tone.ts";

/**
 * Shared wording and formatting for view models. Everything here is pure and returns plain text; the
 * template layer escapes it. Dates are always UTC and always say so, because an auditor compares them
 * with dates from other systems.
 */

/** Shown where a source did not report a value; never a blank cell. */
export const NOT_REPORTED = "Not reported";

/** `2026-10-01 08:00:00 UTC` */
export function formatInstant(instant: string | undefined): string {
  if (instant === undefined) return NOT_REPORTED;
  const date = new Date(instant);
  if (Number.isNaN(date.getTime())) return instant;
  return `${date.toISOString().slice(0, 19).replace("T", " ")} UTC`;
}

/** `2026-10-01` (UTC day) */
export function formatDay(instant: string | undefined): string {
  if (instant === undefined) return NOT_REPORTED;
  const date = new Date(instant);
  if (Number.isNaN(date.getTime())) return instant;
  return date.toISOString().slice(0, 10);
}

export function formatCount(count: number): string {
  return count.toLocaleString("en-US");
}

export function plural(count: number, singular: string, pluralForm = `${singular}s`): string {
  return `${formatCount(count)} ${count === 1 ? singular : pluralForm}`;
}

const STATE_TEXT: Record<KeyState, string> = {
  enabled: "Enabled",
  disabled: "Disabled",
  "pending-deletion": "Pending deletion",
  "pending-import": "Pending import",
  unavailable: "Unavailable",
  other: "Other",
};

export function describeState(state: KeyState): string {
  return STATE_TEXT[state];
}

const ORIGIN_TEXT: Record<KeyOrigin, string> = {
  platform: "Platform-generated key material",
  imported: "Imported key material",
  "external-store": "External key store",
  "custom-key-store": "Custom key store (CloudHSM)",
};

export function describeOrigin(origin: KeyOrigin): string {
  return ORIGIN_TEXT[origin];
}

const USAGE_TEXT: Record<KeyUsage, string> = {
  "data-at-rest": "Data at rest",
  "data-in-transit": "Data in transit",
  application: "Application-level encryption",
};

export function describeUsage(usage: KeyUsage): string {
  return USAGE_TEXT[usage];
}

export function describeRetention(retention: Retention): string {
  switch (retention.kind) {
    case "days":
      return plural(retention.days, "day");
    case "unlimited":
      return "Kept indefinitely";
    case "unknown":
      return `Unknown: ${retention.reason}`;
  }
}

export function describeCollectionError(error: CollectionError): string {
  return `${error.call} failed: ${error.code}: ${error.message}`;
}

export const STATUS_TEXT: Record<FindingStatus, string> = {
  pass: "PASS",
  fail: "FAIL",
  warn: "WARN",
  error: "ERROR",
  "not-applicable": "N/A",
};

/** Statuses an auditor must look at: they are highlighted wherever findings are shown. */
export function isAttentionStatus(status: FindingStatus): boolean {
  return status === "fail" || status === "warn" || status === "error";
}

/**
 * A two-column table row. A fact no check judges is `plain`; a judged fact carries the check id, the
 * finding's status and its tone (see verdicts.ts), and `note` says why when the verdict is not a pass.
 */
export type Row = {
  label: string;
  value: string;
  mono: boolean;
  tone: Tone;
  note: string;
  /** Empty for a fact no check judges. */
  checkId: string;
  status: DisplayStatus | "";
};
export type { Tone } from "./tone.ts";

/** A fact shown neutral: no check judges it, so it carries no colour. */
export function row(label: string, value: string, options: { mono?: boolean } = {}): Row {
  return { label, value, mono: options.mono ?? false, tone: "plain", note: "", checkId: "", status: "" };
}

/**
 * A fact and the verdict of the check that judges it. The fact is shown as collected, coloured by the
 * verdict; where the check could not judge it (`not-applicable`, `error`, no finding) the verdict's label
 * replaces the value and the reason is given, so a picture never shows a mark the findings do not.
 */
export function judgedRow(
  label: string,
  value: string,
  verdict: DisplayVerdict,
  options: { mono?: boolean } = {},
): Row {
  const judged = verdict.status === "pass" || verdict.status === "fail" || verdict.status === "warn";
  return {
    label,
    value: judged || verdict.status === "not-judged" ? value : verdict.label,
    mono: judged || verdict.status === "not-judged" ? (options.mono ?? false) : false,
    tone: verdict.tone,
    note: verdict.status === "pass" || verdict.status === "not-judged" ? "" : verdict.reason,
    checkId: verdict.checkId,
    status: verdict.status,
  };
}

/** How each source type looks and names things, so each screenshot reads like the console an auditor knows. */
export interface ConsoleStyle {
  theme: "aws" | "azure" | "vault";
  consoleName: string;
  productName: string;
  keyIdLabel: string;
  arnLabel: string;
  aliasLabel: string;
  specLabel: string;
  locationLabel: string;
  accountLabel: string;
  loggingTitle: string;
  sinkLabel: string;
}

export const CONSOLE_STYLES: Record<SourceType, ConsoleStyle> = {
  "aws-kms": {
    theme: "aws",
    consoleName: "AWS Key Management Service",
    productName: "AWS KMS",
    keyIdLabel: "Key ID",
    arnLabel: "ARN",
    aliasLabel: "Aliases",
    specLabel: "Key spec",
    locationLabel: "Region",
    accountLabel: "AWS account",
    loggingTitle: "CloudTrail trails",
    sinkLabel: "Trail",
  },
  "azure-key-vault": {
    theme: "azure",
    consoleName: "Azure Key Vault",
    productName: "Azure Key Vault",
    keyIdLabel: "Key identifier",
    arnLabel: "Key URI",
    aliasLabel: "Name",
    specLabel: "Key type",
    locationLabel: "Key vault",
    accountLabel: "Subscription",
    loggingTitle: "Diagnostic settings",
    sinkLabel: "Diagnostic setting",
  },
  "hashicorp-vault": {
    theme: "vault",
    consoleName: "HashiCorp Vault",
    productName: "HashiCorp Vault",
    keyIdLabel: "Key path",
    arnLabel: "Address path",
    aliasLabel: "Name",
    specLabel: "Type",
    locationLabel: "Mount",
    accountLabel: "Cluster",
    loggingTitle: "Audit devices",
    sinkLabel: "Audit device",
  },
};

/** `AWS account 111122223333 / eu-west-1`, `Key vault https://x.vault.azure.net`, `Mount transit`. */
export function describeLocation(source: Pick<SourceSnapshot, "type" | "account">, location: string): string {
  const style = CONSOLE_STYLES[source.type];
  const account = source.account === undefined ? "" : `${style.accountLabel} ${source.account} / `;
  return `${account}${style.locationLabel} ${location}`;
}

/** Sorts `{ name: count }` by count (descending) then name, for "by key / by action" tables. */
export function sortedCounts(counts: Readonly<Record<string, number>>): Array<[string, number]> {
  return Object.entries(counts).sort(([leftName, left], [rightName, right]) =>
    right !== left ? right - left : leftName < rightName ? -1 : leftName > rightName ? 1 : 0,
  );
}

/** Byte-order comparison for stable sorting (the manifest sorts paths the same way). */
export function compareText(left: string, right: string): number {
  return left < right ? -1 : left > right ? 1 : 0;
}
