/**
 * Shared judgement helpers for checks: who is eligible for what, how collection failures read in a
 * finding, where the evidence lives. Pure functions of the normalized model; provider specifics are
 * confined to the few rules that genuinely differ per source type and say so.
 */
import type { CheckMetadata, FindingDraft } from "./check.ts";
import { makeFinding } from "./check.ts";
import {
  GAPS_FILE,
  INVENTORY_FILE,
  keyAccessPolicyPath,
  keyConfigurationPath,
  loggingStatusPath,
} from "../evidence/paths.ts";
import type { Finding } from "../model/finding.ts";
import type { CollectionError, KeyRecord, SourceType } from "../model/key.ts";
import { UNKNOWN_KEY_SPEC } from "../model/key.ts";
import type { LocationSnapshot, Snapshot, SourceGap, SourceSnapshot } from "../model/snapshot.ts";

/**
 * `unknown: true` means the facts needed to decide could not be collected: the check answers `error`,
 * never `not-applicable`, so a failed call cannot hide a key.
 */
export type Eligibility = { eligible: true } | { eligible: false; reason: string; unknown?: true };

/** Providers set this key spec when the key's metadata call failed; the failure itself is in `key.errors`. */
export { UNKNOWN_KEY_SPEC };

/** The verdict for an ineligible key: `error` when eligibility itself is unknown. */
export function ineligibleStatus(eligibility: { unknown?: true }): "error" | "not-applicable" {
  return eligibility.unknown === true ? "error" : "not-applicable";
}

const ELIGIBLE: Eligibility = { eligible: true };

/** `call failed (code): message` — the cause an auditor reads in an `error` finding. */
export function describeCollectionError(error: CollectionError): string {
  return `${error.call} failed (${error.code}): ${error.message}`;
}

/**
 * The alert rules on key events (CloudWatch Logs metric filters, CloudWatch alarms, EventBridge rules) are
 * read after the sinks; a failed lookup is judged by kms-deletion-alarmed and says nothing about the sinks.
 */
export function isAlertLookupError(error: CollectionError): boolean {
  return ["logs:", "cloudwatch:", "events:"].some((prefix) => error.call.startsWith(prefix));
}

/**
 * A failed logging read that may hide a sink or its status. A trail bucket's settings (`s3:` calls) and
 * the alert rules are facts about sinks already read: their failure is judged by the checks that need them.
 */
export function mayHideSink(error: CollectionError): boolean {
  return !error.call.startsWith("s3:") && !isAlertLookupError(error);
}

/** AWS HMAC keys (`HMAC_256`...) and asymmetric specs (RSA, ECC, SM2, ML-DSA) are not symmetric encryption keys. */
export function describeKeySpecFamily(keySpec: string): "symmetric" | "hmac" | "asymmetric" {
  if (keySpec === "SYMMETRIC_DEFAULT" || /^(OCT|AES)/i.test(keySpec) || /^(aes|chacha)/i.test(keySpec))
    return "symmetric";
  if (/^HMAC/i.test(keySpec)) return "hmac";
  return "asymmetric";
}

/** A key the customer controls; provider-managed keys (AWS-managed `alias/aws/*`) are configured by the provider. */
export function customerManaged(key: KeyRecord): Eligibility {
  if (key.keySpec === UNKNOWN_KEY_SPEC) {
    const failure = key.errors[0];
    return {
      eligible: false,
      unknown: true,
      reason: `key metadata unavailable${failure === undefined ? "" : `: ${describeCollectionError(failure)}`}`,
    };
  }
  return key.manager === "provider"
    ? {
        eligible: false,
        reason: "provider-managed key: its configuration is owned and rotated by the provider",
      }
    : ELIGIBLE;
}

const ORIGIN_REASONS: Record<Exclude<KeyRecord["origin"], "platform">, string> = {
  imported:
    "imported key material cannot be rotated automatically; rotate it manually on a documented schedule",
  "external-store": "key material lives in an external key store outside the platform; rotate it there",
  "custom-key-store":
    "key material lives in a custom key store (CloudHSM); automatic rotation is not supported",
};

/**
 * Whether automatic rotation can apply to the key at all. AWS KMS rotates only symmetric encryption keys
 * (`SYMMETRIC_DEFAULT`) with platform material (AWS docs "Rotating AWS KMS keys"); Azure Key Vault rotation
 * policies and Vault transit `auto_rotate_period` create new versions of any key type, so the spec rule is
 * AWS-only. Pending-deletion keys are on their way out: rotating them is moot.
 */
export function rotationEligibility(key: KeyRecord): Eligibility {
  const managed = customerManaged(key);
  if (!managed.eligible) return managed;
  if (key.state === "pending-deletion") {
    const when = key.deletionDate === undefined ? "" : ` (deletion on ${key.deletionDate})`;
    return { eligible: false, reason: `key is pending deletion${when}; key-state-active reports it` };
  }
  if (key.origin !== "platform") return { eligible: false, reason: ORIGIN_REASONS[key.origin] };
  if (key.sourceType === "aws-kms") {
    const family = describeKeySpecFamily(key.keySpec);
    if (family === "hmac")
      return {
        eligible: false,
        reason: `HMAC key (${key.keySpec}): AWS KMS cannot rotate HMAC keys automatically`,
      };
    if (family === "asymmetric") {
      return {
        eligible: false,
        reason: `asymmetric key (${key.keySpec}): AWS KMS cannot rotate asymmetric keys automatically`,
      };
    }
  }
  return ELIGIBLE;
}

/** Every source the check applies to. */
export function sourcesOf(snapshot: Snapshot, sourceTypes: readonly SourceType[]): SourceSnapshot[] {
  return snapshot.sources.filter((source) => sourceTypes.includes(source.type));
}

/** Source-level and location-level gaps of a source, in that order. */
export function gapsOf(source: SourceSnapshot): SourceGap[] {
  return [...source.gaps, ...source.locations.flatMap((location) => location.gaps)];
}

function gapScope(gap: SourceGap): string {
  return gap.location === undefined ? `source ${gap.source}` : `${gap.source}/${gap.location}`;
}

/**
 * Key checks cannot see the keys of a location (or source) that failed to collect: each gap becomes an
 * `error` finding, so an incomplete population is never mistaken for a clean one.
 */
export function keyPopulationGapFindings(metadata: CheckMetadata, snapshot: Snapshot): Finding[] {
  return sourcesOf(snapshot, metadata.sourceTypes).flatMap((source) =>
    gapsOf(source).map((gap) =>
      makeFinding(metadata, {
        status: "error",
        source: gap.source,
        ...(gap.location === undefined ? {} : { location: gap.location }),
        resource: gapScope(gap),
        message: `collection gap in ${gapScope(gap)}: ${describeCollectionError(gap.error)}; keys there may be missing from this check`,
        evidence: [GAPS_FILE],
      }),
    ),
  );
}

/** A location this check judges: collected, or known only through a gap that prevented collecting it. */
export type JudgedLocation =
  | { kind: "collected"; source: SourceSnapshot; location: LocationSnapshot }
  | { kind: "missing"; source: SourceSnapshot; gap: SourceGap };

/**
 * Locations of every applicable source, plus an entry for each gap naming a location that has no snapshot
 * (or a source-level gap of a source with no location at all): location checks answer `error` for those.
 */
export function judgedLocations(snapshot: Snapshot, sourceTypes: readonly SourceType[]): JudgedLocation[] {
  return sourcesOf(snapshot, sourceTypes).flatMap((source) => {
    const collected: JudgedLocation[] = source.locations.map((location) => ({
      kind: "collected",
      source,
      location,
    }));
    const known = new Set(source.locations.map((location) => location.location));
    const missing: JudgedLocation[] = gapsOf(source)
      .filter((gap) =>
        gap.location === undefined ? source.locations.length === 0 : !known.has(gap.location),
      )
      .map((gap) => ({ kind: "missing", source, gap }));
    return [...collected, ...missing];
  });
}

/** The `error` finding for a location that could not be collected. */
export function missingLocationFinding(metadata: CheckMetadata, gap: SourceGap, what: string): Finding {
  return makeFinding(metadata, {
    status: "error",
    source: gap.source,
    ...(gap.location === undefined ? {} : { location: gap.location }),
    resource: gapScope(gap),
    message: `${what} of ${gapScope(gap)} could not be judged: ${describeCollectionError(gap.error)}`,
    evidence: [GAPS_FILE],
  });
}

/** Draft fields that place a finding on a key. */
export function keyFindingBase(
  key: KeyRecord,
): Pick<FindingDraft, "source" | "location" | "keyId" | "resource"> {
  return { source: key.source, location: key.location, keyId: key.keyId, resource: key.arn };
}

/** Draft fields that place a finding on a location. */
export function locationFindingBase(
  location: LocationSnapshot,
): Pick<FindingDraft, "source" | "location" | "resource"> {
  return {
    source: location.source,
    location: location.location,
    resource: `${location.source}/${location.location}`,
  };
}

export function configurationEvidence(key: KeyRecord): string[] {
  return [keyConfigurationPath(key.source, key.location, key.keyId)];
}

/** Where a key's access-policy export lives: the evidence of every access check. */
export function accessPolicyEvidence(key: KeyRecord): string[] {
  return [keyAccessPolicyPath(key.source, key.location, key.keyId)];
}

export function loggingEvidence(location: Pick<LocationSnapshot, "source" | "location">): string[] {
  return [loggingStatusPath(location.source, location.location)];
}

/** `a, b, c and 4 more`: keeps messages readable when a list is long. */
export function summarizeList(items: readonly string[], limit = 5): string {
  if (items.length <= limit) return items.join(", ");
  return `${items.slice(0, limit).join(", ")} and ${items.length - limit} more`;
}

/**
 * IAM-style action matching: `*` matches any run of characters, `?` one character, case-insensitive
 * (IAM action names are case-insensitive). Used both ways: a granted pattern against a concrete action.
 */
export function actionMatches(pattern: string, action: string): boolean {
  return new RegExp(`^${wildcardExpression(pattern)}$`, "i").test(action);
}

/** IAM-style ARN matching: the same wildcards as actions, but case-sensitive (ARNs are). */
export function arnMatches(pattern: string, arn: string): boolean {
  return new RegExp(`^${wildcardExpression(pattern)}$`).test(arn);
}

function wildcardExpression(pattern: string): string {
  return pattern
    .split("")
    .map((character) =>
      character === "*" ? ".*" : character === "?" ? "." : character.replace(/[.+^${}()|[\]\\/]/g, "\\$&"),
    )
    .join("");
}

/** Every key of every source, whatever its type: inventory matching must see them all. */
export function allKeys(snapshot: Snapshot): KeyRecord[] {
  return snapshot.sources.flatMap((source) => source.locations.flatMap((location) => location.keys));
}

/**
 * Failures that may hide a key's names (aliases): the inventory may name the key by an alias the collector
 * could not read, so "not in the inventory" would be unproven.
 */
export function nameCollectionErrors(key: KeyRecord): CollectionError[] {
  return key.errors.filter((error) => /alias/i.test(error.call));
}

/** `inventory.json#keys[3]`: the pointer to one declared inventory entry. */
export function inventoryEntryResource(index: number): string {
  return `${INVENTORY_FILE}#keys[${index}]`;
}
