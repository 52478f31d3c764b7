import type { Check } from "../check.ts";
import { keysOf, makeFinding } from "../check.ts";
import { parseCheckMetadata } from "../check-metadata.schema.ts";
import {
  accessPolicyEvidence,
  actionMatches,
  customerManaged,
  describeCollectionError,
  keyFindingBase,
  keyPopulationGapFindings,
  summarizeList,
  ineligibleStatus,
} from "../eligibility.ts";
import type { Finding } from "../../model/finding.ts";
import type { KeyRecord, SourceType } from "../../model/key.ts";
import rawMetadata from "./key-access-no-human-users.metadata.json" with { type: "json" };

const metadata = parseCheckMetadata(rawMetadata);

/**
 * Actions that use key material or change who/what can: granting any of them to a person is the finding.
 * Read-only actions (Describe*, Get*, List*) are left out: reviewers and auditors legitimately hold them.
 * Typed per source type so adding a source forces a decision about its vocabulary.
 */
export const SENSITIVE_ACTIONS: Record<SourceType, readonly string[]> = {
  "aws-kms": [
    "kms:Decrypt",
    "kms:Encrypt",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:GenerateDataKeyPair",
    "kms:GenerateDataKeyPairWithoutPlaintext",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
    "kms:Sign",
    "kms:GenerateMac",
    "kms:DeriveSharedSecret",
    "kms:CreateGrant",
    "kms:PutKeyPolicy",
    "kms:ScheduleKeyDeletion",
    "kms:CancelKeyDeletion",
    "kms:DisableKey",
    "kms:EnableKey",
    "kms:DisableKeyRotation",
    "kms:EnableKeyRotation",
    "kms:RotateKeyOnDemand",
    "kms:ImportKeyMaterial",
    "kms:DeleteImportedKeyMaterial",
    "kms:UpdateKeyDescription",
    "kms:UpdatePrimaryRegion",
    "kms:ReplicateKey",
    "kms:CreateAlias",
    "kms:UpdateAlias",
    "kms:DeleteAlias",
    "kms:RevokeGrant",
    "kms:RetireGrant",
  ],
  // Key Vault access-policy key permissions and RBAC data actions (research/apis.md §2.4).
  "azure-key-vault": [
    "all",
    "decrypt",
    "encrypt",
    "unwrapKey",
    "wrapKey",
    "sign",
    "create",
    "update",
    "import",
    "delete",
    "purge",
    "rotate",
    "setrotationpolicy",
    "release",
    "restore",
    "Microsoft.KeyVault/vaults/keys/decrypt/action",
    "Microsoft.KeyVault/vaults/keys/encrypt/action",
    "Microsoft.KeyVault/vaults/keys/unwrap/action",
    "Microsoft.KeyVault/vaults/keys/wrap/action",
    "Microsoft.KeyVault/vaults/keys/sign/action",
    "Microsoft.KeyVault/vaults/keys/update/action",
    "Microsoft.KeyVault/vaults/keys/create/action",
    "Microsoft.KeyVault/vaults/keys/import/action",
    "Microsoft.KeyVault/vaults/keys/delete",
    "Microsoft.KeyVault/vaults/keys/rotate/action",
    "Microsoft.KeyVault/vaults/keys/release/action",
  ],
  // Vault ACL capabilities: transit encrypt/decrypt are `update` on transit/{encrypt,decrypt}/<key>.
  "hashicorp-vault": ["create", "update", "patch", "delete", "sudo"],
};

/** A grant's action patterns that reach at least one sensitive action (`kms:*`, `kms:GenerateDataKey*`, `*`...). */
export function sensitiveActionsOf(sourceType: SourceType, actions: readonly string[]): string[] {
  const sensitive = SENSITIVE_ACTIONS[sourceType];
  return actions.filter((pattern) => sensitive.some((action) => actionMatches(pattern, action)));
}

export function judgeHumanAccess(key: KeyRecord): Finding {
  const base = { ...keyFindingBase(key), evidence: accessPolicyEvidence(key) };
  const managed = customerManaged(key);
  if (!managed.eligible)
    return makeFinding(metadata, { ...base, status: ineligibleStatus(managed), message: managed.reason });
  if (!key.access.ok) {
    return makeFinding(metadata, {
      ...base,
      status: "error",
      message: `access policy unknown: ${describeCollectionError(key.access.error)}`,
    });
  }
  // Only principals the source itself classifies as people count; the account-root delegation statement
  // (`account-root`) and roles are not human users even though people may reach the key through them.
  const violations = key.access.value.grants
    .filter((grant) => grant.effect === "allow" && grant.principalKind === "human-user")
    .map((grant) => ({ grant, actions: sensitiveActionsOf(key.sourceType, grant.actions) }))
    .filter((violation) => violation.actions.length > 0);
  if (violations.length === 0) {
    // A principal the source could not classify may be a person: unknown is a warn, never a pass or a fail.
    const unclassified = key.access.value.grants
      .filter((grant) => grant.effect === "allow" && grant.principalKind === "unknown")
      .map((grant) => ({ grant, actions: sensitiveActionsOf(key.sourceType, grant.actions) }))
      .filter((candidate) => candidate.actions.length > 0);
    if (unclassified.length > 0) {
      const described = unclassified.map(
        ({ grant, actions }) =>
          `${grant.principal} (${actions.join(", ")} via ${grant.via} "${grant.reference}")`,
      );
      return makeFinding(metadata, {
        ...base,
        status: "warn",
        message: `no principal known to be a human user, but the source does not say what kind of principal ${unclassified.length === 1 ? "this is" : "these are"}: ${summarizeList(described, 10)}; confirm none is a person`,
      });
    }
    return makeFinding(metadata, {
      ...base,
      status: "pass",
      message: "no human user is allowed to use or administer the key",
    });
  }
  const described = violations.map(
    ({ grant, actions }) =>
      `${grant.principal} (${actions.join(", ")} via ${grant.via} "${grant.reference}")`,
  );
  const users = new Set(violations.map(({ grant }) => grant.principal));
  return makeFinding(metadata, {
    ...base,
    status: "fail",
    message: `${users.size} human user${users.size === 1 ? "" : "s"} can use or administer the key: ${summarizeList(described, 10)}`,
  });
}

/** People must reach keys through roles, never as IAM users named in key policies, grants or their own policies. */
export const check: Check = {
  metadata,
  run(snapshot) {
    return [
      ...keysOf(snapshot, metadata.sourceTypes).map(judgeHumanAccess),
      ...keyPopulationGapFindings(metadata, snapshot),
    ];
  },
};
