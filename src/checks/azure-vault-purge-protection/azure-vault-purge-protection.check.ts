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
import type { CollectionError } from "../../model/key.ts";
import type { LocationSnapshot } from "../../model/snapshot.ts";
import rawMetadata from "./azure-vault-purge-protection.metadata.json" with { type: "json" };

const metadata = parseCheckMetadata(rawMetadata);

/** The vault properties the Azure provider records (ARM `Microsoft.KeyVault/vaults` properties, normalized). */
export interface VaultProtection {
  name: string;
  softDeleteEnabled: boolean;
  softDeleteRetentionInDays?: number;
  purgeProtectionEnabled: boolean;
}

type VaultProtectionLookup =
  | { kind: "found"; protection: VaultProtection; evidence: string[] }
  | { kind: "failed"; error: CollectionError; evidence: string[] }
  | { kind: "absent" };

function asProtection(value: unknown): VaultProtection | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const record = value as Record<string, unknown>;
  if (
    typeof record["purgeProtectionEnabled"] !== "boolean" ||
    typeof record["softDeleteEnabled"] !== "boolean"
  )
    return undefined;
  const protection: VaultProtection = {
    name: typeof record["name"] === "string" ? record["name"] : "(unnamed vault)",
    softDeleteEnabled: record["softDeleteEnabled"],
    purgeProtectionEnabled: record["purgeProtectionEnabled"],
  };
  if (typeof record["softDeleteRetentionInDays"] === "number")
    protection.softDeleteRetentionInDays = record["softDeleteRetentionInDays"];
  return protection;
}

/**
 * The model has no vault-level slot yet, so the provider carries the vault's properties on every key's raw
 * `arm:vaultProperties` and on each diagnostic-setting sink's `detail.vault`. Any key's copy will do: they
 * come from the same ARM read.
 */
export function vaultProtectionOf(location: LocationSnapshot): VaultProtectionLookup {
  for (const key of location.keys) {
    const raw = key.raw["arm:vaultProperties"];
    if (raw === undefined) continue;
    if (!raw.ok) return { kind: "failed", error: raw.error, evidence: configurationEvidence(key) };
    const protection = asProtection(raw.value);
    if (protection !== undefined) return { kind: "found", protection, evidence: configurationEvidence(key) };
  }
  for (const sink of location.logging.sinks) {
    const protection = asProtection(sink.detail["vault"]);
    if (protection !== undefined) return { kind: "found", protection, evidence: loggingEvidence(location) };
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
    protection.softDeleteRetentionInDays === undefined
      ? ""
      : ` (soft-delete retention ${protection.softDeleteRetentionInDays} days)`;
  if (!protection.softDeleteEnabled) {
    return makeFinding(metadata, {
      ...base,
      status: "fail",
      evidence,
      message: `vault ${protection.name} has soft delete disabled: a deleted key is gone at once`,
    });
  }
  if (!protection.purgeProtectionEnabled) {
    return makeFinding(metadata, {
      ...base,
      status: "fail",
      evidence,
      message: `vault ${protection.name} has purge protection disabled: a deleted key can be purged before its retention ends${retention}`,
    });
  }
  return makeFinding(metadata, {
    ...base,
    status: "pass",
    evidence,
    message: `vault ${protection.name} has soft delete and purge protection enabled${retention}`,
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
