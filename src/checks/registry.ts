import type { Check } from "./check.ts";
import { check as accessReviewCurrent } from "./access-review-current/access-review-current.check.ts";
import { check as procedureApprovedCurrent } from "./procedure-approved-current/procedure-approved-current.check.ts";
import { check as azureDiagnosticsMonitored } from "./azure-diagnostics-monitored/azure-diagnostics-monitored.check.ts";
import { check as azureKeyDeletionAlerted } from "./azure-key-deletion-alerted/azure-key-deletion-alerted.check.ts";
import { check as azureAccessTooBroad } from "./azure-access-too-broad/azure-access-too-broad.check.ts";
import { check as azureVaultPurgeProtection } from "./azure-vault-purge-protection/azure-vault-purge-protection.check.ts";
import { check as iamKmsWildcard } from "./iam-kms-wildcard/iam-kms-wildcard.check.ts";
import { check as inventoryEntryMatched } from "./inventory-entry-matched/inventory-entry-matched.check.ts";
import { check as kmsDeletionAlarmed } from "./kms-deletion-alarmed/kms-deletion-alarmed.check.ts";
import { check as keyAccessNoHumanUsers } from "./key-access-no-human-users/key-access-no-human-users.check.ts";
import { check as keyAccessNotPublic } from "./key-access-not-public/key-access-not-public.check.ts";
import { check as keyInInventory } from "./key-in-inventory/key-in-inventory.check.ts";
import { check as keyOwnerDocumented } from "./key-owner-documented/key-owner-documented.check.ts";
import { check as keyRotationEnabled } from "./key-rotation-enabled/key-rotation-enabled.check.ts";
import { check as keyPolicyChangesReviewed } from "./key-policy-changes-reviewed/key-policy-changes-reviewed.check.ts";
import { check as rotationContinuous } from "./rotation-continuous/rotation-continuous.check.ts";
import { check as rotationPerformed } from "./rotation-performed/rotation-performed.check.ts";
import { check as keyRotationPeriod } from "./key-rotation-period/key-rotation-period.check.ts";
import { check as keySpecApproved } from "./key-spec-approved/key-spec-approved.check.ts";
import { check as keyStateActive } from "./key-state-active/key-state-active.check.ts";
import { check as keyUsageLoggingEnabled } from "./key-usage-logging-enabled/key-usage-logging-enabled.check.ts";
import { check as logRetentionSufficient } from "./log-retention-sufficient/log-retention-sufficient.check.ts";
import { check as trailBucketProtected } from "./trail-bucket-protected/trail-bucket-protected.check.ts";
import { check as trailLocationMatches } from "./trail-location-matches/trail-location-matches.check.ts";
import { check as trailLogValidationEnabled } from "./trail-log-validation-enabled/trail-log-validation-enabled.check.ts";
import { check as trailLogsEncrypted } from "./trail-logs-encrypted/trail-logs-encrypted.check.ts";
import { check as trailMonitored } from "./trail-monitored/trail-monitored.check.ts";
import { check as usageLogPresent } from "./usage-log-present/usage-log-present.check.ts";
import { check as vaultAuditMonitored } from "./vault-audit-monitored/vault-audit-monitored.check.ts";
import { check as vaultAuditRedundant } from "./vault-audit-redundant/vault-audit-redundant.check.ts";
import { check as vaultKeyExportable } from "./vault-key-exportable/vault-key-exportable.check.ts";
import { check as vaultPolicyLeastPrivilege } from "./vault-policy-least-privilege/vault-policy-least-privilege.check.ts";

/**
 * Check ids are public interface: findings, suppressions, GRC mappings and dashboards key on them.
 * Renaming one is a breaking change; registry.test.ts keeps this list, the registry and the folders equal.
 */
export const CHECK_IDS = [
  "key-rotation-enabled",
  "key-rotation-period",
  "key-spec-approved",
  "key-access-not-public",
  "key-access-no-human-users",
  // Identity policies that reach every key (issue 13, AWS only).
  "iam-kms-wildcard",
  "key-usage-logging-enabled",
  "log-retention-sufficient",
  "usage-log-present",
  "trail-location-matches",
  // Step 5, log integrity and monitoring of the CloudTrail trails that log KMS events (AWS only).
  "trail-log-validation-enabled",
  "trail-logs-encrypted",
  "trail-monitored",
  "trail-bucket-protected",
  // Step 5, alerting: someone hears of a key disabled or scheduled for deletion (AWS only).
  "kms-deletion-alarmed",
  "key-owner-documented",
  "key-in-inventory",
  "inventory-entry-matched",
  "key-state-active",
  // Source-specific checks: judge facts only one source type has.
  "azure-access-too-broad",
  "azure-vault-purge-protection",
  "vault-key-exportable",
  "vault-policy-least-privilege",
  // Monitoring checks (issue 13): where the audit records go beyond the source itself, observed or declared.
  "vault-audit-redundant",
  "vault-audit-monitored",
  "azure-diagnostics-monitored",
  "azure-key-deletion-alerted",
  // Configuration history checks (issue 13): what changed during the period, read from the usage log.
  "rotation-continuous",
  "key-policy-changes-reviewed",
  // Rotations the source reports with their dates, across the period (issue 13).
  "rotation-performed",
  // Governance checks (procedure steps 6 and 7), last: access-review-current reads the findings before it.
  "procedure-approved-current",
  "access-review-current",
] as const;
export type CheckId = (typeof CHECK_IDS)[number];

/** Every check keyproof runs, in the order of the procedure (ownership is judged last, on the full population). */
export const registry: readonly Check[] = [
  keyRotationEnabled,
  keyRotationPeriod,
  keySpecApproved,
  keyAccessNotPublic,
  keyAccessNoHumanUsers,
  iamKmsWildcard,
  keyUsageLoggingEnabled,
  logRetentionSufficient,
  usageLogPresent,
  trailLocationMatches,
  trailLogValidationEnabled,
  trailLogsEncrypted,
  trailMonitored,
  trailBucketProtected,
  kmsDeletionAlarmed,
  keyOwnerDocumented,
  keyInInventory,
  inventoryEntryMatched,
  keyStateActive,
  azureAccessTooBroad,
  azureVaultPurgeProtection,
  vaultKeyExportable,
  vaultPolicyLeastPrivilege,
  vaultAuditRedundant,
  vaultAuditMonitored,
  azureDiagnosticsMonitored,
  azureKeyDeletionAlerted,
  rotationContinuous,
  keyPolicyChangesReviewed,
  rotationPerformed,
  procedureApprovedCurrent,
  accessReviewCurrent,
];

export function isCheckId(value: string): value is CheckId {
  return (CHECK_IDS as readonly string[]).includes(value);
}

/** The registered check with this id, or undefined. */
export function findCheck(id: string): Check | undefined {
  return registry.find((check) => check.metadata.id === id);
}
