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
import { z } from "zod";
import { CollectionErrorSchema } from "../../model/collection-error.schema.ts";
// Placeholder spec when DescribeKey failed: the error is on the key, the spec is simply not known.
import { UNKNOWN_KEY_SPEC } from "../../model/key.ts";
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
  MultiRegionConfiguration,
  RotationEvent,
  RotationStatus,
} from "../../model/key.ts";
import type { SourceGap } from "../../model/snapshot.ts";
import type { Clock, JsonValue, KeyBatch, KeyListing, KeyRef } from "../key-provider.ts";
import { capture, collectPages } from "./capture.ts";
import { mapWithConcurrency } from "../shared/concurrency.ts";
import type { IdentityKmsStatement } from "./identity-policy.normalizer.ts";
import { identityStatementsForKey } from "./identity-policy.normalizer.ts";
import {
  keyPolicyEnablesIamPolicies,
  normalizeKeyPolicy,
  normalizeKmsGrants,
} from "./key-policy.normalizer.ts";
import { toIsoInstant, toRawValue } from "../shared/raw-value.ts";
import { readWindowOf } from "../shared/read-window.ts";

/**
 * Lists and describes the KMS keys of one region with their configuration, rotation and access. Listing
 * (ListKeys + ListAliases) and describing are separate so a large region can be described in batches by
 * different workers; each call's outcome is kept (`Collected`), and a failed call fills its slot with the
 * error and never drops the key.
 */

export interface KeyListingContext {
  sourceId: string;
  location: string;
  kms: KMSClient;
  clock: Clock;
}

export interface KeyCollectionContext extends KeyListingContext {
  /** Identity-policy statements of the account, read once per provider instance and shared by every key. */
  identityStatements: () => Promise<Collected<IdentityKmsStatement[]>>;
  /** Keys described in parallel; each key makes six calls at once. Default 4. */
  keyConcurrency?: number;
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

/** Code of the error recorded when a key reference cannot be read back (it is not what listKeys wrote). */
export const INVALID_KEY_REF = "InvalidKeyRef";

/** One ListAliases entry as plain JSON (toRawValue output: dates as ISO strings, no undefined values). */
type AliasEntry = { [field: string]: JsonValue };

/**
 * What `listKeys` puts in a reference's `listed`: the key ARN from ListKeys (absent when ListKeys gave
 * none) and the key's share of the region's one ListAliases answer, failure included, so a batch never
 * calls ListAliases again. Field order of the parsed value follows these shapes, which are the order
 * `capture` and `toCollectionError` write, so the raw evidence rebuilt from it is byte-identical.
 */
const ListedKeySchema = z.object({
  keyArn: z.string().min(1).optional(),
  aliases: z.discriminatedUnion("ok", [
    z.object({
      ok: z.literal(true),
      value: z.array(z.record(z.string(), z.json())),
      call: z.string(),
      capturedAt: z.string(),
    }),
    z.object({ ok: z.literal(false), error: CollectionErrorSchema, capturedAt: z.string() }),
  ]),
});

interface ListedKey {
  keyArn?: string;
  aliases: Collected<AliasEntry[]>;
}

/** ListKeys, then ListAliases, of one region: every key as a reference sorted by key id. */
export async function listLocationKeys(context: KeyListingContext): Promise<KeyListing> {
  const { kms, clock } = context;
  const listed = await capture("kms:ListKeys", clock, () =>
    collectPages(paginateListKeys({ client: kms }, {}), (page) => page.Keys),
  );
  if (!listed.ok) {
    return {
      refs: [],
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
  const refs: KeyRef[] = keyEntries.map((entry) => ({
    keyId: entry.KeyId,
    listed: {
      ...(entry.KeyArn === undefined ? {} : { keyArn: entry.KeyArn }),
      // This key's share of the region's one ListAliases answer.
      aliases: aliases.ok
        ? {
            ok: true,
            // toRawValue leaves plain JSON: dates become ISO strings, undefined fields and $metadata go.
            value: toRawValue(aliasesByKey.get(entry.KeyId) ?? []) as JsonValue,
            call: aliases.call,
            capturedAt: aliases.capturedAt,
          }
        : { ok: false, error: jsonOfError(aliases.error), capturedAt: aliases.capturedAt },
    },
  }));
  refs.sort((left, right) => left.keyId.localeCompare(right.keyId));
  // A failed ListAliases does not stop the listing (each key carries the failure), but it is reported so a
  // queued plan is retried instead of handing a throttled answer to every batch.
  return { refs, gaps: [], ...(aliases.ok ? {} : { errors: [aliases.error] }) };
}

/** Describes exactly the given keys, in reference order. */
export async function collectLocationKeyBatch(
  context: KeyCollectionContext,
  refs: readonly KeyRef[],
): Promise<KeyBatch> {
  const gaps: SourceGap[] = [];
  const readable: Array<{ keyId: string; listed: ListedKey }> = [];
  refs.forEach((ref, index) => {
    // Refs come back from a file another process wrote: even the key id is checked before use.
    const keyId: unknown = (ref as { keyId?: unknown } | null)?.keyId;
    if (typeof keyId !== "string" || keyId.length === 0) {
      gaps.push({
        source: context.sourceId,
        location: context.location,
        error: invalidRef(`key reference ${index} of the batch has no key id`),
      });
      return;
    }
    readable.push({ keyId, listed: readListed(context, keyId, ref.listed) });
  });
  const keys = await mapWithConcurrency(readable, context.keyConcurrency ?? 4, ({ keyId, listed }) =>
    collectKey(context, keyId, listed),
  );
  return { keys, gaps };
}

function jsonOfError(error: CollectionError): { [field: string]: JsonValue } {
  return { call: error.call, code: error.code, message: error.message, retryable: error.retryable };
}

function invalidRef(message: string): CollectionError {
  return { call: "kms:ListAliases", code: INVALID_KEY_REF, message, retryable: false };
}

/**
 * The listing's facts about one key, or, when the reference is not what listKeys wrote, the key still
 * described from KMS with its aliases slot failed naming the key: the population stays complete.
 */
function readListed(context: KeyCollectionContext, keyId: string, listed: unknown): ListedKey {
  const parsed = ListedKeySchema.safeParse(listed);
  const problem = parsed.success
    ? aliasProblem(keyId, parsed.data.aliases)
    : parsed.error.issues
        .map(
          (issue) =>
            `${issue.path.length === 0 ? "listed" : `listed.${issue.path.join(".")}`}: ${issue.message}`,
        )
        .join("; ");
  if (parsed.success && problem === undefined) {
    const { keyArn, aliases } = parsed.data;
    return { ...(keyArn === undefined ? {} : { keyArn }), aliases };
  }
  return {
    aliases: {
      ok: false,
      error: invalidRef(
        `the reference to key ${keyId} in ${context.location} does not carry the listing's aliases as listKeys wrote them (${problem ?? "unreadable"}); list the location again`,
      ),
      capturedAt: context.clock().toISOString(),
    },
  };
}

/** Entries the schema cannot express: each names this key and has a string alias name when it has one. */
function aliasProblem(keyId: string, aliases: Collected<AliasEntry[]>): string | undefined {
  if (!aliases.ok) return undefined;
  const index = aliases.value.findIndex(
    (alias) =>
      alias.TargetKeyId !== keyId || (alias.AliasName !== undefined && typeof alias.AliasName !== "string"),
  );
  return index === -1
    ? undefined
    : `listed.aliases.value.${index}: not an alias of this key with a string AliasName`;
}

async function collectKey(
  context: KeyCollectionContext,
  KeyId: string,
  listed: ListedKey,
): Promise<KeyRecord> {
  const { kms, clock } = context;
  const keyAliases = listed.aliases;
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

  const arn = metadata?.Arn ?? listed.keyArn ?? KeyId;
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
          .filter((name): name is string => typeof name === "string")
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
    readWindow: readWindowOf([...Object.values(raw), rotation, access], context.clock().toISOString()),
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
  const multiRegion = multiRegionConfigurationOf(metadata);
  if (multiRegion !== undefined) record.multiRegionConfiguration = multiRegion;
  // KMS protects AWS_KMS and imported material in its FIPS-validated HSMs, CloudHSM keys in the customer's
  // cluster; an external key store keeps material outside AWS, which KMS cannot vouch for.
  if (metadata.Origin !== undefined && metadata.Origin !== "EXTERNAL_KEY_STORE") record.hsmBacked = true;
}

/**
 * DescribeKey's MultiRegionConfiguration as the model's typed fact. A configuration without a key type or
 * a primary ARN names nothing a check could follow, so it is left out (the raw DescribeKey keeps it).
 * The primary's region falls back to the region in its ARN (`arn:aws:kms:<region>:...`).
 */
function multiRegionConfigurationOf(metadata: KeyMetadata): MultiRegionConfiguration | undefined {
  const configuration = metadata.MultiRegionConfiguration;
  if (metadata.MultiRegion !== true || configuration === undefined) return undefined;
  const type = configuration.MultiRegionKeyType;
  const primaryArn = configuration.PrimaryKey?.Arn;
  if ((type !== "PRIMARY" && type !== "REPLICA") || primaryArn === undefined) return undefined;
  const primaryRegion = configuration.PrimaryKey?.Region ?? primaryArn.split(":")[3] ?? "";
  return {
    role: type === "PRIMARY" ? "primary" : "replica",
    primaryArn,
    primaryRegion,
    replicaArns: (configuration.ReplicaKeys ?? [])
      .map((replica) => replica.Arn)
      .filter((arn): arn is string => arn !== undefined)
      .sort(),
  };
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
  let historyUnavailable: string | undefined;
  if (rotations.ok) {
    for (const rotation of rotations.value) {
      const date = toIsoInstant(rotation.RotationDate);
      if (date === undefined) continue;
      history.push({ date, type: rotation.RotationType === "ON_DEMAND" ? "on-demand" : "automatic" });
    }
    history.sort((left, right) => left.date.localeCompare(right.date));
  } else if (rotations.error.code !== UNSUPPORTED) {
    errors.push(rotations.error);
    historyUnavailable = `${rotations.error.call} failed (${rotations.error.code}): ${rotations.error.message}`;
    detail.historyUnavailable = historyUnavailable;
  }
  const onDemandStart = toIsoInstant(status.value.OnDemandRotationStartDate);
  if (onDemandStart !== undefined) detail.onDemandRotationStartDate = onDemandStart;
  const nextRotation = toIsoInstant(status.value.NextRotationDate);
  const lastRotation = history.at(-1)?.date;
  const value: RotationStatus = {
    enabled: status.value.KeyRotationEnabled === true,
    history,
    ...(historyUnavailable === undefined ? {} : { historyUnavailable }),
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
