import { keyDirectory, locationDirectory } from "../evidence/paths.ts";

/**
 * Where rendered artifacts live in a bundle. Screenshots mirror the export tree of src/evidence/paths.ts
 * under `screenshots/`, so the PNG of a key sits at the same relative place as the JSON it was drawn from.
 */

export const SCREENSHOTS_DIRECTORY = "screenshots";
export const REPORTS_DIRECTORY = "reports";

export function keyConfigurationScreenshotPath(source: string, location: string, keyId: string): string {
  return `${SCREENSHOTS_DIRECTORY}/${keyDirectory(source, location, keyId)}/key-configuration.png`;
}

export function keyAccessPolicyScreenshotPath(source: string, location: string, keyId: string): string {
  return `${SCREENSHOTS_DIRECTORY}/${keyDirectory(source, location, keyId)}/access-policy.png`;
}

export function loggingConfigurationScreenshotPath(source: string, location: string): string {
  return `${SCREENSHOTS_DIRECTORY}/${locationDirectory(source, location)}/logging-configuration.png`;
}

export const FINDINGS_REPORT_PATH = `${REPORTS_DIRECTORY}/findings-report.pdf`;
export const KEY_INVENTORY_REPORT_PATH = `${REPORTS_DIRECTORY}/key-inventory.pdf`;
export const KEY_MANAGEMENT_PROCEDURE_PATH = `${REPORTS_DIRECTORY}/key-management-procedure.pdf`;
export const USAGE_SUMMARY_REPORT_PATH = `${REPORTS_DIRECTORY}/usage-summary.pdf`;
/** Rendered last: it lists the digest of every other file in the bundle directory. */
export const EVIDENCE_INDEX_PATH = `${REPORTS_DIRECTORY}/evidence-index.pdf`;
