/**
 * Where each artifact lives inside a bundle. Checks use these to point findings at their evidence,
 * the bundle writer uses them to place files: one definition, so pointers never dangle.
 */

export const MANIFEST_FILE = "manifest.json";
export const SIGNATURE_FILE = "manifest.sig.json";
export const FINDINGS_FILE = "findings.json";
export const INVENTORY_FILE = "inventory.json";
export const GAPS_FILE = "gaps.json";
/** How each source's population (accounts, vaults, namespaces) was found: model/discovery.ts. */
export const DISCOVERY_FILE = "discovery.json";
export const SUMMARY_FILE = "summary.json";
/** Written by the judge step: the latest procedure approval, the run's procedure identity, and whether they match. */
export const PROCEDURE_APPROVAL_FILE = "governance/procedure-approval.json";
/** Written by the judge step: the signed access reviews the run judged coverage by. */
export const REVIEWS_FILE = "governance/reviews.json";
/**
 * Written after judging, before rendering: what changed since the previous evidence bundle of the chain
 * (src/evidence/bundle-diff.ts), or why that could not be said (`previous: null` and a reason).
 */
export const CHANGES_FILE = "changes-since-previous.json";
/**
 * Written just before sealing (src/jobs/steps/oscal.step.ts): the run as an OSCAL 1.0.6 assessment-results
 * document, listing every other file written before it with its SHA-256.
 */
export const OSCAL_ASSESSMENT_RESULTS_FILE = "oscal/assessment-results.json";
/** Written at seal time (bundle-writer.ts), listed in the manifest: how to verify with sha256sum and openssl. */
export const VERIFY_INSTRUCTIONS_FILE = "VERIFY.md";
/** Written at seal time: `sha256sum -c` lines for every other listed file. */
export const CHECKSUMS_FILE = "SHA256SUMS";
/** Written at seal time: the signer's SPKI PEM, for openssl (compare its fingerprint with the published one). */
export const SIGNER_PUBLIC_KEY_FILE = "signer-public-key.pem";

/** A path segment safe on every filesystem and in tar: ARNs, URLs and mounts become readable slugs. */
export function slugify(value: string): string {
  const slug = value
    .replace(/^https?:\/\//, "")
    .replace(/[^A-Za-z0-9._-]+/g, "_")
    .replace(/^[._]+|_+$/g, "");
  return slug.length > 0 ? slug.slice(0, 120) : "_";
}

export function sourceDirectory(source: string): string {
  return `sources/${slugify(source)}`;
}

/**
 * An AWS organization member location `<account>/<region>` (issue 15) is two folder levels,
 * `sources/<source>/<account>/<region>/`, so an auditor finds each account's evidence together. Only
 * that form nests: an account folder holds region folders and nothing else, whereas a free-form location
 * with `/` (a Vault namespace path) could name a folder such as `keys` beside another location's key
 * folders, so it stays one slug.
 */
const AWS_MEMBER_LOCATION = /^(\d{12})\/([a-z]{2}(?:-[a-z]+)+-\d+)$/;

export function locationDirectory(source: string, location: string): string {
  const member = AWS_MEMBER_LOCATION.exec(location);
  if (member?.[1] !== undefined && member[2] !== undefined)
    return `${sourceDirectory(source)}/${member[1]}/${member[2]}`;
  return `${sourceDirectory(source)}/${slugify(location)}`;
}

export function keyDirectory(source: string, location: string, keyId: string): string {
  return `${locationDirectory(source, location)}/keys/${slugify(keyId)}`;
}

export function keyConfigurationPath(source: string, location: string, keyId: string): string {
  return `${keyDirectory(source, location, keyId)}/configuration.json`;
}

export function keyAccessPolicyPath(source: string, location: string, keyId: string): string {
  return `${keyDirectory(source, location, keyId)}/access-policy.json`;
}

export function loggingStatusPath(source: string, location: string): string {
  return `${locationDirectory(source, location)}/logging.json`;
}

export function usageExtractPath(source: string, location: string, format: "ndjson" | "csv"): string {
  return `${locationDirectory(source, location)}/usage-events.${format}`;
}

/** The configuration history of the period: the administrative events of the usage log (issue 13). */
export function changesExtractPath(source: string, location: string, format: "ndjson" | "csv"): string {
  return `${locationDirectory(source, location)}/changes.${format}`;
}

export function changesSummaryPath(source: string, location: string): string {
  return `${locationDirectory(source, location)}/changes-summary.json`;
}

export function usageSummaryPath(source: string, location: string): string {
  return `${locationDirectory(source, location)}/usage-summary.json`;
}

/** The signed annual access review as data (the full ReviewRecord), in the bundle that seals it. */
export function annualReviewJsonPath(year: number): string {
  return `review/annual-review-${year}.json`;
}

/** The signed annual access review as a report, beside its JSON. */
export function annualReviewPdfPath(year: number): string {
  return `review/annual-review-${year}.pdf`;
}
