import { createHash } from "node:crypto";
import type { Config } from "../config/config.schema.ts";
import { SOURCE_TYPES, type SourceType } from "../model/key.ts";
import type { ProcedureIdentity } from "../model/review.ts";
import type { JudgementPolicy } from "../model/snapshot.ts";

/**
 * The normative text of the key-management procedure (procedure step 6): what a person approves. It is
 * built from the configuration only (organization, policy values, the configured source types' tools), never
 * from what a run observed, so the same configuration always yields the same text and the same digest, and
 * an approval stays valid across runs until the configuration or this template changes.
 *
 * The procedure PDF (render/view-models/key-management-procedure.view-model.ts) shows these same texts,
 * next to the observed lines of its run: one text exists.
 */

/**
 * The template's version. Bump it whenever a normative sentence below changes: the digest changes anyway,
 * the version tells a reader why an approval no longer matches.
 */
export const PROCEDURE_VERSION = "1.0";

export type LifecyclePhase = "create" | "rotate" | "revoke" | "delete";

/** Product names as the procedure names them (the same as the console pictures' product names). */
export const PRODUCT_NAMES: Record<SourceType, string> = {
  "aws-kms": "AWS KMS",
  "azure-key-vault": "Azure Key Vault",
  "hashicorp-vault": "HashiCorp Vault",
};

/** How each phase is carried out with each tool; `{max}` is the configured maximum rotation interval in days. */
export const TOOL_PROCEDURES: Record<SourceType, Record<LifecyclePhase, string>> = {
  "aws-kms": {
    create:
      "Create a customer managed key (console: Key Management Service > Customer managed keys > Create key; API: CreateKey) with key spec SYMMETRIC_DEFAULT (AES-256-GCM) unless an approved asymmetric spec is required, key material origin AWS_KMS, an alias (CreateAlias) and tags naming the owner.",
    rotate:
      "Enable automatic rotation (EnableKeyRotation with RotationPeriodInDays of at most {max} days). Keys that cannot rotate automatically (asymmetric, imported material, custom key stores) are rotated by creating a new key and moving the alias (UpdateAlias) on a documented schedule of at most {max} days; RotateKeyOnDemand is used after a suspected compromise.",
    revoke:
      "Remove the principal from the key policy (PutKeyPolicy), retire or revoke its grants (RetireGrant, RevokeGrant) and remove IAM permissions; stop all use of the key at once by disabling it (DisableKey).",
    delete:
      "After CloudTrail shows the key is no longer used, schedule deletion (ScheduleKeyDeletion) with a waiting period of 7 to 30 days; cancel it (CancelKeyDeletion) if any use appears during the waiting period.",
  },
  "azure-key-vault": {
    create:
      "Generate the key in the approved vault (portal: Key Vaults > vault > Keys > Generate/Import; API: Create Key) as RSA of 2048 bits or more, or EC P-256/P-384, HSM-backed where required, tagged with its owner.",
    rotate:
      "Attach a key rotation policy whose Rotate lifetime action fires at most {max} days after creation, with an expiry; Rotate Key creates a new version on demand.",
    revoke:
      "Remove the principal's role assignment (e.g. Key Vault Crypto User) or access-policy entry; disable the key (enabled = false) to stop all cryptographic use.",
    delete:
      "Delete the key; with soft-delete and purge protection on, it stays recoverable for the vault's retention period and cannot be purged early.",
  },
  "hashicorp-vault": {
    create:
      "Create a named key on the transit mount (vault write -f <mount>/keys/<name> type=aes256-gcm96, or rsa-2048 / ecdsa-p256 where an asymmetric key is required).",
    rotate:
      "Set auto_rotate_period of at most {max} days (vault write <mount>/keys/<name>/config auto_rotate_period=<n>d) or rotate manually (vault write -f <mount>/keys/<name>/rotate); rewrap stored ciphertext and raise min_decryption_version to retire old versions.",
    revoke:
      "Remove the key's paths from the ACL policies of the principal, revoke the tokens and leases it holds, and raise min_decryption_version to revoke old key versions.",
    delete:
      "Set deletion_allowed=true on the key's config, then delete it (vault delete <mount>/keys/<name>); deletion is irreversible, so it follows the same approval as revocation.",
  },
};

export const PHASES: ReadonlyArray<{ phase: LifecyclePhase; title: string; summary: string }> = [
  {
    phase: "create",
    title: "Creating keys",
    summary:
      "Keys are created only in the approved key management systems below, with approved algorithms and platform-generated key material where possible, and are added to the key inventory with an owner before use.",
  },
  {
    phase: "rotate",
    title: "Rotating keys",
    summary:
      "Automatic rotation is enabled wherever the platform supports it; otherwise a manual rotation schedule is kept. No key goes longer than the policy's maximum interval between rotations.",
  },
  {
    phase: "revoke",
    title: "Revoking access and keys",
    summary:
      "Access is revoked when a person or service no longer needs it (found at the annual review or on a role change); a key suspected of compromise is disabled at once and rotated.",
  },
  {
    phase: "delete",
    title: "Deleting keys",
    summary:
      "A key is deleted only after its data has been re-encrypted or destroyed, its usage log shows no recent use, and the key owner has approved; platforms' waiting periods are used, never bypassed.",
  },
];

export const ROLES: ReadonlyArray<{ role: string; duties: string }> = [
  {
    role: "Engineering Lead",
    duties: "Owns the key inventory, creates keys, configures access and rotation, maintains this procedure.",
  },
  {
    role: "Security Analyst",
    duties:
      "Monitors key usage logs, performs the annual access and configuration review, records findings and remediation.",
  },
  {
    role: "Key owner",
    duties: "Named per key in the inventory; approves access, revocation and deletion of the keys they own.",
  },
];

/** What the procedure text depends on: nothing a run observes. */
export interface ProcedureInput {
  organization: string;
  policy: Pick<
    JudgementPolicy,
    "maxRotationDays" | "logRetentionDays" | "approvedKeySpecs" | "reviewIntervalDays"
  >;
  /** The configured source types; order and repetition do not matter. */
  sourceTypes: readonly SourceType[];
}

export interface ProcedureStepText {
  number: number;
  title: string;
  role: string;
  /** The normative sentence; the PDF may add what the run observed after it. */
  description: string;
  output: string;
  evidence: string;
}

/** The configuration's procedure input (`keyproof procedure`, the API and the judge step use it). */
export function procedureInputOf(
  config: Pick<Config, "organization" | "policy" | "sources">,
): ProcedureInput {
  return {
    organization: config.organization,
    policy: config.policy,
    sourceTypes: config.sources.map((source) => source.type),
  };
}

/** The configured source types once each, in the fixed order of SOURCE_TYPES (config order must not move the digest). */
export function sourceTypesInOrder(types: readonly SourceType[]): SourceType[] {
  return SOURCE_TYPES.filter((type) => types.includes(type));
}

/** The tool procedure of one phase for one product, with the policy's maximum rotation interval filled in. */
export function toolProcedureText(type: SourceType, phase: LifecyclePhase, maxRotationDays: number): string {
  return TOOL_PROCEDURES[type][phase].replaceAll("{max}", String(maxRotationDays));
}

/** The seven steps of the procedure, in their normative wording. */
export function procedureStepsOf(input: ProcedureInput): ProcedureStepText[] {
  const products = sourceTypesInOrder(input.sourceTypes).map((type) => PRODUCT_NAMES[type]);
  const { policy } = input;
  return [
    {
      number: 1,
      title: "Define key ownership and scope",
      role: "Engineering Lead",
      description:
        "Identify the systems, databases and services that need encryption keys and assign a named owner to each key, recording whether it protects data at rest, data in transit or application-level data. The inventory lives in keyproof.yaml (keys:).",
      output: "Approved key inventory with owners and usage",
      evidence: "reports/key-inventory.pdf, inventory.json",
    },
    {
      number: 2,
      title: "Create encryption keys in the approved key management system",
      role: "Engineering Lead",
      description: `Create keys with ${products.join(", ")} using approved algorithms (${policy.approvedKeySpecs.join(", ")}) and platform-managed key material where possible. See "Creating keys" below.`,
      output: "New keys with unique identifiers",
      evidence: "screenshots/**/key-configuration.png, sources/**/configuration.json",
    },
    {
      number: 3,
      title: "Configure key access controls",
      role: "Engineering Lead",
      description:
        "Restrict key use to approved services and users with least privilege; prefer service roles and managed identities over human users.",
      output: "Enforced IAM or policy-based access restrictions on each key",
      evidence: "screenshots/**/access-policy.png, sources/**/access-policy.json",
    },
    {
      number: 4,
      title: "Enable key rotation settings",
      role: "Engineering Lead",
      description: `Enable automatic rotation where supported, at least every ${policy.maxRotationDays} days; define a manual schedule where it is not. See "Rotating keys" below.`,
      output: "Documented and configured rotation settings",
      evidence: "screenshots/**/key-configuration.png, reports/findings-report.pdf",
    },
    {
      number: 5,
      title: "Log and monitor key usage",
      role: "Security Analyst",
      description: `Keep logging of encrypt, decrypt and administrative events turned on, with at least ${policy.logRetentionDays} days of retention, integrated with central logging or SIEM.`,
      output: "Auditable logs of key access and usage",
      evidence:
        "screenshots/**/logging-configuration.png, sources/**/usage-events.*, reports/usage-summary.pdf",
    },
    {
      number: 6,
      title: "Document key management procedures",
      role: "Engineering Lead",
      description: `This document, regenerated at each evidence run from the configuration and the observed settings, stored in the policy repository, reviewed and approved at least every ${policy.reviewIntervalDays} days.`,
      output: "Approved key management procedure document",
      evidence: "reports/key-management-procedure.pdf, governance/procedure-approval.json",
    },
    {
      number: 7,
      title: "Perform annual access and configuration review",
      role: "Security Analyst",
      description: `At least every ${policy.reviewIntervalDays} days, review key access permissions, rotation status and logging configuration using a bundle's findings report; remediate and document every misconfiguration.`,
      output: "Completed annual review record with findings and remediation notes",
      evidence: "reports/findings-report.pdf, findings.json, governance/reviews.json",
    },
  ];
}

/**
 * The normative text, as plain UTF-8 lines. Its SHA-256 is what an approval records; any change to a line
 * here (wording, policy value, a source type added or removed) is a new procedure that needs approving.
 */
export function procedureTextOf(input: ProcedureInput): string {
  const types = sourceTypesInOrder(input.sourceTypes);
  const { policy } = input;
  const lines: string[] = [
    `Encryption key management procedure, version ${PROCEDURE_VERSION}`,
    `Organization: ${input.organization}`,
    "",
    "Policy",
    `Maximum interval between rotations: ${policy.maxRotationDays} days`,
    `Minimum log retention: ${policy.logRetentionDays} days`,
    `Review and approval interval: ${policy.reviewIntervalDays} days`,
    `Approved key specs: ${policy.approvedKeySpecs.join(", ")}`,
    `Key management systems: ${types.map((type) => PRODUCT_NAMES[type]).join(", ")}`,
    "",
    "Steps",
  ];
  for (const step of procedureStepsOf(input)) {
    lines.push(`${step.number}. ${step.title} (${step.role})`);
    lines.push(step.description);
    lines.push(`Output: ${step.output}`);
    lines.push(`Evidence: ${step.evidence}`);
  }
  lines.push("", "Key lifecycle");
  for (const { phase, title, summary } of PHASES) {
    lines.push(title, summary);
    for (const type of types)
      lines.push(`${PRODUCT_NAMES[type]}: ${toolProcedureText(type, phase, policy.maxRotationDays)}`);
  }
  lines.push("", "Roles");
  for (const { role, duties } of ROLES) lines.push(`${role}: ${duties}`);
  return `${lines.join("\n")}\n`;
}

/** Version and digest of the procedure text: `version` is `<PROCEDURE_VERSION>+<first 12 hex of the digest>`. */
export function procedureIdentityOf(input: ProcedureInput): ProcedureIdentity {
  const textSha256 = createHash("sha256").update(procedureTextOf(input), "utf8").digest("hex");
  return { version: `${PROCEDURE_VERSION}+${textSha256.slice(0, 12)}`, textSha256 };
}
