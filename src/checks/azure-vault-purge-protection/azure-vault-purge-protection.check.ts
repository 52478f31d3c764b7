import type { Check } from "../check.ts";
import { makeFinding } from "../check.ts";
import { parseCheckMetadata } from "../check-metadata.schema.ts";
import {
  configurationEvidence,
  describeCollectionError,
  judgedLocations,
  locationFindingBase,
  loggingEvidence,
  missingLocationFinding,
} from "../eligibility.ts";
import type { Finding } from "../../model/finding.ts";
import type { CollectionError, VaultProtection } from "../../model/key.ts";
import type { LocationSnapshot } from "../../model/snapshot.ts";
import rawMetadata from "./azure-vault-purge-protection.metadata.json" with { type: "json" };

const metadata = parseCheckMetadata(rawMetadata);

type VaultProtectionLookup =
  | { kind: "found"; protection: VaultProtection; evidence: string[] }
  | { kind: "failed"; error: CollectionError; evidence: string[] }
  | { kind: "absent" };

/**
 * Every key of a vault carries the vault's deletion safeguards (`KeyRecord.vaultProtection`, one ARM read
 * per vault), so any key's copy will do. A failed read wins over a key that has none.
 */
export function vaultProtectionOf(location: LocationSnapshot): VaultProtectionLookup {
  for (const key of location.keys) {
    const collected = key.vaultProtection;
    if (collected === undefined) continue;
    if (!collected.ok)
      return { kind: "failed", error: collected.error, evidence: configurationEvidence(key) };
    return { kind: "found", protection: collected.value, evidence: configurationEvidence(key) };
  }
  return { kind: "absent" };
}

export function judgeVaultProtection(location: LocationSnapshot): Finding {
  const base = locationFindingBase(location);
  const lookup = vaultProtectionOf(location);
  if (lookup.kind === "failed") {
    return makeFinding(metadata, {
      ...base,
      status: "error",
      evidence: lookup.evidence,
      message: `vault properties unknown: ${describeCollectionError(lookup.error)}`,
    });
  }
  if (lookup.kind === "absent") {
    if (location.keys.length === 0) {
      return makeFinding(metadata, {
        ...base,
        status: "not-applicable",
        evidence: loggingEvidence(location),
        message: "the vault holds no keys, so there is no key to lose to a purge",
      });
    }
    return makeFinding(metadata, {
      ...base,
      status: "error",
      evidence: loggingEvidence(location),
      message: "vault properties were not recorded for this vault's keys",
    });
  }
  const { protection, evidence } = lookup;
  const retention =
    protection.softDeleteRetentionDays === undefined
      ? ""
      : ` (soft-delete retention ${protection.softDeleteRetentionDays} days)`;
  if (protection.softDelete === false) {
    return makeFinding(metadata, {
      ...base,
      status: "fail",
      evidence,
      message: `vault ${protection.vault} has soft delete disabled: a deleted key is gone at once`,
    });
  }
  if (protection.purgeProtection === false) {
    return makeFinding(metadata, {
      ...base,
      status: "fail",
      evidence,
      message: `vault ${protection.vault} has purge protection disabled: a deleted key can be purged before its retention ends${retention}`,
    });
  }
  const unreported = [
    ...(protection.softDelete === undefined ? ["soft delete (enableSoftDelete)"] : []),
    ...(protection.purgeProtection === undefined ? ["purge protection (enablePurgeProtection)"] : []),
  ];
  if (unreported.length > 0) {
    return makeFinding(metadata, {
      ...base,
      status: "warn",
      evidence,
      message: `Azure Resource Manager did not report ${unreported.join(" or ")} for vault ${protection.vault}; confirm it is enabled in the portal (Key Vault > Properties)`,
    });
  }
  return makeFinding(metadata, {
    ...base,
    status: "pass",
    evidence,
    message: `vault ${protection.vault} has soft delete and purge protection enabled${retention}`,
  });
}

/** One verdict per Azure vault; a vault that could not be collected is an `error`, never skipped. */
export const check: Check = {
  metadata,
  run(snapshot) {
    return judgedLocations(snapshot, metadata.sourceTypes).map((judged) =>
      judged.kind === "missing"
        ? missingLocationFinding(metadata, judged.gap, "vault deletion protection")
        : judgeVaultProtection(judged.location),
    );
  },
};
