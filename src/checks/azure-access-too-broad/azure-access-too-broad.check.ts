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
import type { AccessGrant, KeyRecord } from "../../model/key.ts";
import rawMetadata from "./azure-access-too-broad.metadata.json" with { type: "json" };

const metadata = parseCheckMetadata(rawMetadata);

/**
 * What `key-access-no-human-users` cannot say about Azure: it judges only principals the source classifies
 * as people, but Key Vault access policies name bare object ids (a user, a group, an app: Key Vault does not
 * say), and groups are people by another name. This check judges the permissions themselves:
 * - fail: an access policy with `all` or `purge`, whoever holds it, a person included (whoever holds it can
 *   destroy every key), or a group holding destructive permissions (purge, delete, all);
 * - warn: crypto or administrative permissions held by a group, or by an access-policy principal whose type
 *   is unknown: someone must confirm it is a managed identity or service principal.
 * Other grants to human users are left to `key-access-no-human-users`.
 */

/** Permanently destructive: the key (and data under it) can be lost. Matched case-insensitively with wildcards. */
const DESTRUCTIVE = [
  "all",
  "purge",
  "delete",
  "Microsoft.KeyVault/vaults/keys/purge/action",
  "Microsoft.KeyVault/vaults/keys/delete",
];

/** Use of key material or change of the key: what a workload identity needs, not a person or a group. */
const SENSITIVE = [
  ...DESTRUCTIVE,
  "decrypt",
  "encrypt",
  "unwrapKey",
  "wrapKey",
  "sign",
  "create",
  "update",
  "import",
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
  "Microsoft.KeyVault/vaults/keys/rotate/action",
  "Microsoft.KeyVault/vaults/keys/release/action",
];

function matching(actions: readonly string[], vocabulary: readonly string[]): string[] {
  return actions.filter((pattern) => vocabulary.some((action) => actionMatches(pattern, action)));
}

interface Problem {
  severity: "fail" | "warn";
  text: string;
}

function describeGrant(grant: AccessGrant, actions: string[]): string {
  return `${grant.principal} (${actions.join(", ")} via ${grant.via} "${grant.reference}")`;
}

export function problemsOf(grant: AccessGrant): Problem[] {
  if (grant.effect !== "allow") return [];
  if (grant.via === "access-policy") {
    const broad = grant.actions.filter((action) => ["all", "purge"].includes(action.toLowerCase()));
    if (broad.length > 0)
      return [
        {
          severity: "fail",
          text: `access policy grants ${broad.join(", ")} to ${describeGrant(grant, broad)}`,
        },
      ];
  }
  // A person's use of the key is `key-access-no-human-users`' finding; only the `all`/`purge` policy is judged here.
  if (grant.principalKind === "human-user") return [];
  const destructive = matching(grant.actions, DESTRUCTIVE);
  const sensitive = matching(grant.actions, SENSITIVE);
  if (grant.principalKind === "group" && destructive.length > 0) {
    return [
      { severity: "fail", text: `group ${describeGrant(grant, destructive)} can delete or purge the key` },
    ];
  }
  if (grant.principalKind === "group" && sensitive.length > 0) {
    return [
      {
        severity: "warn",
        text: `group ${describeGrant(grant, sensitive)} can use the key: grant a managed identity instead`,
      },
    ];
  }
  if (grant.principalKind === "unknown" && sensitive.length > 0) {
    return [
      {
        severity: "warn",
        text: `principal of unknown type ${describeGrant(grant, sensitive)}: confirm it is a managed identity or service principal`,
      },
    ];
  }
  return [];
}

export function judgeAzureAccess(key: KeyRecord): Finding {
  const base = { ...keyFindingBase(key), evidence: accessPolicyEvidence(key) };
  const managed = customerManaged(key);
  if (!managed.eligible)
    return makeFinding(metadata, { ...base, status: ineligibleStatus(managed), message: managed.reason });
  if (!key.access.ok) {
    return makeFinding(metadata, {
      ...base,
      status: "error",
      message: `access unknown: ${describeCollectionError(key.access.error)}`,
    });
  }
  const problems = key.access.value.grants.flatMap(problemsOf);
  const failures = problems.filter((problem) => problem.severity === "fail");
  const warnings = problems.filter((problem) => problem.severity === "warn");
  if (failures.length > 0) {
    return makeFinding(metadata, {
      ...base,
      status: "fail",
      message: summarizeList(
        [...failures, ...warnings].map((problem) => problem.text),
        8,
      ),
    });
  }
  if (warnings.length > 0) {
    return makeFinding(metadata, {
      ...base,
      status: "warn",
      severity: "medium",
      message: summarizeList(
        warnings.map((problem) => problem.text),
        8,
      ),
    });
  }
  const count = key.access.value.grants.length;
  return makeFinding(metadata, {
    ...base,
    status: "pass",
    message: `${count} grant${count === 1 ? "" : "s"} reviewed: no all/purge access policy, no broad group or unidentified access`,
  });
}

export const check: Check = {
  metadata,
  run(snapshot) {
    return [
      ...keysOf(snapshot, metadata.sourceTypes).map(judgeAzureAccess),
      ...keyPopulationGapFindings(metadata, snapshot),
    ];
  },
};
