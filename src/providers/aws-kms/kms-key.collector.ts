import {
  DescribeKeyCommand,
  GetKeyPolicyCommand,
  GetKeyRotationStatusCommand,
  paginateListAliases,
  paginateListGrants,
  paginateListKeyRotations,
  paginateListKeys,
  paginateListResourceTags,
} from "@aws-sdk/client-kms";
import type {
  AliasListEntry,
  GrantListEntry,
  KeyListEntry,
  KeyMetadata,
  KMSClient,
  RotationsListEntry,
} from "@aws-sdk/client-kms";
import type {
  AccessGrant,
  AccessPolicy,
  Collected,
  CollectionError,
  KeyOrigin,
  KeyRecord,
  KeyState,
  RotationEvent,
  RotationStatus,
} from "../../model/key.ts";
import type { SourceGap } from "../../model/snapshot.ts";
import type { Clock } from "../key-provider.ts";
import { capture, collectPages, mapWithConcurrency } from "./capture.ts";
import type { IdentityKmsStatement } from "./identity-policy.normalizer.ts";
import { identityStatementsForKey } from "./identity-policy.normalizer.ts";
import {
  keyPolicyEnablesIamPolicies,
  normalizeKeyPolicy,
  normalizeKmsGrants,
} from "./key-policy.normalizer.ts";
import { toIsoInstant, toRawValue } from "./raw-value.ts";

/**
 * Collects every KMS key of one region with its configuration, rotation and access. Each call's outcome
 * is kept (`Collected`); a failed call fills its slot with the error and never drops the key.
 */

export interface KeyCollectionContext {
  sourceId: string;
  location: string;
  kms: KMSClient;
  clock: Clock;
  /** Identity-policy statements of the account, read once per source and shared by every key. */
  identityStatements: () => Promise<Collected<IdentityKmsStatement[]>>;
  /** Keys collected in parallel; each key makes six calls at once. */
  keyConcurrency?: number;
}

export interface LocationKeys {
  keys: KeyRecord[];
  gaps: SourceGap[];
}

const STATES: Record<string, KeyState> = {
  Enabled: "enabled",
  Disabled: "disabled",
  PendingDeletion: "pending-deletion",
  PendingReplicaDeletion: "pending-deletion",
  PendingImport: "pending-import",
  Unavailable: "unavailable",
};

const ORIGINS: Record<string, KeyOrigin> = {
  AWS_KMS: "platform",
  EXTERNAL: "imported",
  AWS_CLOUDHSM: "custom-key-store",
  EXTERNAL_KEY_STORE: "external-store",
};

/** Placeholder spec when DescribeKey failed: the error is on the key, the spec is simply not known. */
export const UNKNOWN_KEY_SPEC = "UNKNOWN";

export async function collectLocationKeys(context: KeyCollectionContext): Promise<LocationKeys> {
  const { kms, clock } = context;
  const listed = await capture("kms:ListKeys", clock, () =>
    collectPages(paginateListKeys({ client: kms }, {}), (page) => page.Keys),
  );
  if (!listed.ok) {
    return {
      keys: [],
      gaps: [{ source: context.sourceId, location: context.location, error: listed.error }],
    };
  }
  const keyEntries = listed.value.filter(
    (entry): entry is KeyListEntry & { KeyId: string } => entry.KeyId !== undefined,
  );
  const aliases = await capture("kms:ListAliases", clock, () =>
    collectPages(paginateListAliases({ client: kms }, {}), (page) => page.Aliases),
  );
  const aliasesByKey = new Map<string, AliasListEntry[]>();
  if (aliases.ok) {
    // Aliases without a target (reserved `alias/aws/*` names before first use, or emulators listing them
    // with a fixed target that ListKeys does not return) name no key of this region: they are skipped.
    for (const alias of aliases.value) {
      if (alias.TargetKeyId === undefined) continue;
      const list = aliasesByKey.get(alias.TargetKeyId) ?? [];
      list.push(alias);
      aliasesByKey.set(alias.TargetKeyId, list);
    }
  }
  const keys = await mapWithConcurrency(keyEntries, context.keyConcurrency ?? 4, (entry) =>
    collectKey(
      context,
      entry,
      // This key's share of the region's one ListAliases answer.
      aliases.ok ? { ...aliases, value: aliasesByKey.get(entry.KeyId) ?? [] } : aliases,
    ),
  );
  keys.sort((left, right) => left.keyId.localeCompare(right.keyId));
  return { keys, gaps: [] };
}

async function collectKey(
  context: KeyCollectionContext,
  entry: KeyListEntry & { KeyId: string },
  keyAliases: Collected<AliasListEntry[]>,
): Promise<KeyRecord> {
  const { kms, clock } = context;
  const KeyId = entry.KeyId;
  const [describe, tags, rotationStatus, rotations, policy, grants] = await Promise.all([
    capture("kms:DescribeKey", clock, () => kms.send(new DescribeKeyCommand({ KeyId }))),
    capture("kms:ListResourceTags", clock, () =>
      collectPages(paginateListResourceTags({ client: kms }, { KeyId }), (page) => page.Tags),
    ),
    capture("kms:GetKeyRotationStatus", clock, () => kms.send(new GetKeyRotationStatusCommand({ KeyId }))),
    capture("kms:ListKeyRotations", clock, () =>
      collectPages(paginateListKeyRotations({ client: kms }, { KeyId }), (page) => page.Rotations),
    ),
    // PolicyName is optional in the current API but KMS has exactly one policy, "default"; moto requires it.
    capture("kms:GetKeyPolicy", clock, () =>
      kms.send(new GetKeyPolicyCommand({ KeyId, PolicyName: "default" })),
    ),
    capture("kms:ListGrants", clock, () =>
      collectPages(paginateListGrants({ client: kms }, { KeyId }), (page) => page.Grants),
    ),
  ]);

  const errors: CollectionError[] = [];
  const metadata: KeyMetadata | undefined = describe.ok ? describe.value.KeyMetadata : undefined;
  if (!describe.ok) errors.push(describe.error);
  if (!tags.ok) errors.push(tags.error);
  if (!keyAliases.ok) errors.push(keyAliases.error);

  const arn = metadata?.Arn ?? entry.KeyArn ?? KeyId;
  const rotation = buildRotation(rotationStatus, rotations, errors);
  const access = await buildAccess(context, arn, policy, grants, errors);

  const raw: Record<string, Collected<unknown>> = {
    "kms:DescribeKey": rawOf(describe),
    "kms:ListResourceTags": rawOf(tags, (value) => ({ Tags: value })),
    "kms:ListAliases": rawOf(keyAliases, (value) => ({ Aliases: value })),
    "kms:GetKeyRotationStatus": rawOf(rotationStatus),
    "kms:ListKeyRotations": rawOf(rotations, (value) => ({ Rotations: value })),
    "kms:GetKeyPolicy": rawOf(policy),
    "kms:ListGrants": rawOf(grants, (value) => ({ Grants: value })),
  };

  const record: KeyRecord = {
    source: context.sourceId,
    sourceType: "aws-kms",
    location: context.location,
    keyId: KeyId,
    arn,
    aliases: keyAliases.ok
      ? keyAliases.value
          .map((alias) => alias.AliasName)
          .filter((name): name is string => name !== undefined)
          .sort()
      : [],
    keySpec: metadata?.KeySpec ?? metadata?.CustomerMasterKeySpec ?? UNKNOWN_KEY_SPEC,
    rawKeyType: metadata?.KeySpec ?? metadata?.CustomerMasterKeySpec ?? UNKNOWN_KEY_SPEC,
    // DescribeKey failing leaves origin unknown; the model has no such value, so `platform` is recorded
    // and the DescribeKey error sits in `errors` and `raw` for checks to see.
    origin: ORIGINS[metadata?.Origin ?? "AWS_KMS"] ?? "platform",
    manager: metadata?.KeyManager === "AWS" ? "provider" : "customer",
    state: metadata === undefined ? "other" : (STATES[metadata.KeyState ?? ""] ?? "other"),
    tags: tags.ok
      ? Object.fromEntries(
          tags.value
            .filter((tag) => tag.TagKey !== undefined)
            .map((tag) => [tag.TagKey as string, tag.TagValue ?? ""]),
        )
      : {},
    rotation,
    access,
    raw,
    errors,
  };
  if (metadata !== undefined) applyMetadata(record, metadata);
  return record;
}

/** Optional fields from DescribeKey; absent values stay absent (exactOptionalPropertyTypes). */
function applyMetadata(record: KeyRecord, metadata: KeyMetadata): void {
  if (metadata.Description !== undefined && metadata.Description.length > 0)
    record.description = metadata.Description;
  if (metadata.KeyUsage !== undefined) record.keyUsage = metadata.KeyUsage;
  const createdAt = toIsoInstant(metadata.CreationDate);
  if (createdAt !== undefined) record.createdAt = createdAt;
  const deletionDate = toIsoInstant(metadata.DeletionDate);
  if (deletionDate !== undefined) record.deletionDate = deletionDate;
  // ValidTo: imported key material that expires and is then deleted by KMS.
  const expiresAt = toIsoInstant(metadata.ValidTo);
  if (expiresAt !== undefined) record.expiresAt = expiresAt;
  if (metadata.MultiRegion !== undefined) record.multiRegion = metadata.MultiRegion;
  // KMS protects AWS_KMS and imported material in its FIPS-validated HSMs, CloudHSM keys in the customer's
  // cluster; an external key store keeps material outside AWS, which KMS cannot vouch for.
  if (metadata.Origin !== undefined && metadata.Origin !== "EXTERNAL_KEY_STORE") record.hsmBacked = true;
}

function rawOf<T>(collected: Collected<T>, shape?: (value: T) => unknown): Collected<unknown> {
  if (!collected.ok) return collected;
  return { ...collected, value: toRawValue(shape === undefined ? collected.value : shape(collected.value)) };
}

const UNSUPPORTED = "UnsupportedOperationException";

/**
 * AWS answers UnsupportedOperationException to rotation calls on keys it cannot rotate (asymmetric, HMAC,
 * imported material, custom key stores): that is a fact about the key, recorded as "not enabled" with the
 * reason, not as a collection failure.
 */
function buildRotation(
  status: Collected<{
    KeyRotationEnabled?: boolean | undefined;
    RotationPeriodInDays?: number | undefined;
    NextRotationDate?: Date | undefined;
    OnDemandRotationStartDate?: Date | undefined;
  }>,
  rotations: Collected<RotationsListEntry[]>,
  errors: CollectionError[],
): Collected<RotationStatus> {
  if (!status.ok) {
    if (status.error.code !== UNSUPPORTED) return status;
    return {
      ok: true,
      call: "kms:GetKeyRotationStatus",
      capturedAt: status.capturedAt,
      value: { enabled: false, history: [], detail: { unsupported: status.error.message } },
    };
  }
  const history: RotationEvent[] = [];
  const detail: Record<string, unknown> = {};
  if (rotations.ok) {
    for (const rotation of rotations.value) {
      const date = toIsoInstant(rotation.RotationDate);
      if (date === undefined) continue;
      history.push({ date, type: rotation.RotationType === "ON_DEMAND" ? "on-demand" : "automatic" });
    }
    history.sort((left, right) => left.date.localeCompare(right.date));
  } else if (rotations.error.code !== UNSUPPORTED) {
    errors.push(rotations.error);
    detail.historyUnavailable = `${rotations.error.call} failed (${rotations.error.code}): ${rotations.error.message}`;
  }
  const onDemandStart = toIsoInstant(status.value.OnDemandRotationStartDate);
  if (onDemandStart !== undefined) detail.onDemandRotationStartDate = onDemandStart;
  const nextRotation = toIsoInstant(status.value.NextRotationDate);
  const lastRotation = history.at(-1)?.date;
  const value: RotationStatus = {
    enabled: status.value.KeyRotationEnabled === true,
    history,
    ...(status.value.RotationPeriodInDays === undefined
      ? {}
      : { periodDays: status.value.RotationPeriodInDays }),
    ...(nextRotation === undefined ? {} : { nextRotation }),
    ...(lastRotation === undefined ? {} : { lastRotation }),
    ...(Object.keys(detail).length === 0 ? {} : { detail }),
  };
  return {
    ok: true,
    value,
    call: rotations.ok ? "kms:GetKeyRotationStatus, kms:ListKeyRotations" : "kms:GetKeyRotationStatus",
    capturedAt: status.capturedAt,
  };
}

function malformedPolicy(message: string): CollectionError {
  return { call: "kms:GetKeyPolicy", code: "MalformedPolicyDocument", message, retryable: false };
}

/**
 * The access picture is whole or it is an error: a policy that cannot be read, grants that cannot be
 * listed, or identity policies that cannot be read while the key policy lets them apply, each leave it
 * incomplete, and an incomplete picture judged as complete would pass keys it should not.
 */
async function buildAccess(
  context: KeyCollectionContext,
  keyArn: string,
  policy: Collected<{ Policy?: string | undefined }>,
  grants: Collected<GrantListEntry[]>,
  errors: CollectionError[],
): Promise<Collected<AccessPolicy>> {
  if (!policy.ok) {
    if (!grants.ok) errors.push(grants.error);
    return policy;
  }
  let document: unknown;
  try {
    document = JSON.parse(policy.value.Policy ?? "");
  } catch (error) {
    if (!grants.ok) errors.push(grants.error);
    return {
      ok: false,
      error: malformedPolicy(
        `key policy is not JSON: ${error instanceof Error ? error.message : String(error)}`,
      ),
      capturedAt: policy.capturedAt,
    };
  }
  if (!grants.ok) return grants;

  const accessGrants: AccessGrant[] = [...normalizeKeyPolicy(document), ...normalizeKmsGrants(grants.value)];
  const documents: AccessPolicy["documents"] = [
    { name: "key-policy", document },
    { name: "grants", document: toRawValue(grants.value) },
  ];
  const calls = ["kms:GetKeyPolicy", "kms:ListGrants"];
  let capturedAt = grants.capturedAt > policy.capturedAt ? grants.capturedAt : policy.capturedAt;
  if (keyPolicyEnablesIamPolicies(document, keyArn)) {
    const identity = await context.identityStatements();
    if (!identity.ok) return identity;
    calls.push(identity.call);
    const statements = identityStatementsForKey(identity.value, keyArn);
    const seen = new Set<string>();
    for (const statement of statements) {
      accessGrants.push(statement.grant);
      if (seen.has(statement.documentName)) continue;
      seen.add(statement.documentName);
      documents.push({ name: `identity-policy ${statement.documentName}`, document: statement.document });
    }
    if (identity.capturedAt > capturedAt) capturedAt = identity.capturedAt;
  }
  return { ok: true, value: { documents, grants: accessGrants }, call: calls.join(", "), capturedAt };
}
