import { rm } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { CollectionErrorSchema } from "../../model/collection-error.schema.ts";
import { describeError, KeyproofError } from "../../errors/errors.ts";
import type { BundleWriter } from "../../evidence/bundle-writer.ts";
import {
  buildKeyAccessPolicyExport,
  buildKeyConfigurationExport,
  buildLoggingExport,
  type ExportContext,
} from "../../evidence/key-exports.ts";
import {
  keyAccessPolicyPath,
  keyConfigurationPath,
  keyDirectory,
  loggingStatusPath,
  slugify,
} from "../../evidence/paths.ts";
import type { CollectionError, KeyRecord } from "../../model/key.ts";
import type { LoggingStatus } from "../../model/logging.ts";
import type { LocationSnapshot, SourceGap } from "../../model/snapshot.ts";
import { mergeLocation } from "../../providers/collect-location.ts";
import type { KeyBatch, KeyProvider, KeyRef } from "../../providers/key-provider.ts";
import type { WorkStore } from "../work-store.ts";

/**
 * Collection of one location, in three steps so a large location fans out:
 *
 *   planLocationStep     list the keys, read the logging status, cut the listing into batches
 *   collectBatchStep ×N  describe one batch of keys and write their exports (any worker, any order)
 *   finishLocationStep   merge plan and batches into the location snapshot judging reads
 *
 * Inline runs call the three in a row (collectLocationStep); the queued service runs each batch as its own
 * job. Both write the same files, so a queued bundle and an inline one have the same data digests.
 */

export interface CollectedLocation {
  account?: string;
  snapshot: LocationSnapshot;
}

/**
 * What the listing found. Stored in the work store as a summary plus one references file per batch, so
 * every batch job (on any machine) reads the same cut, and reads only its own part of it.
 */
export interface LocationPlan {
  source: string;
  location: string;
  account?: string;
  logging: LoggingStatus;
  /** Listing gaps (a failed ListKeys, an unreadable Vault mount). */
  gaps: SourceGap[];
  /** Listing calls that failed without stopping it (carried on the keys): a queued plan retries on them. */
  listingErrors: CollectionError[];
  batches: KeyRef[][];
}

/** The stored plan without its references: what the location job reads on every execution. */
export type StoredLocationPlan = Omit<LocationPlan, "batches"> & { batchCount: number };

/** Checks the shape of what another process wrote; model objects inside are the providers' own output. */
const StoredLocationPlanSchema = z.object({
  source: z.string(),
  location: z.string(),
  account: z.string().optional(),
  logging: z.looseObject({
    source: z.string(),
    location: z.string(),
    sinks: z.array(z.unknown()),
    errors: z.array(CollectionErrorSchema),
  }),
  gaps: z.array(z.looseObject({ source: z.string(), error: CollectionErrorSchema })),
  listingErrors: z.array(CollectionErrorSchema),
  batchCount: z.number().int().min(0),
});

const KeyRefsSchema = z.array(
  z.object({ keyId: z.string().min(1), listed: z.record(z.string(), z.json()).optional() }),
);

export interface CollectedBatch {
  keys: KeyRecord[];
  gaps: SourceGap[];
}

/** The location snapshot judging reads: `locations/<source>--<location>`. */
export function locationWorkName(source: string, location: string): string {
  return `locations/${slugify(source)}--${slugify(location)}`;
}

/** Plan and batch results live apart from `locations/`, which judging lists. */
function partsFolder(source: string, location: string): string {
  return `location-parts/${slugify(source)}--${slugify(location)}`;
}

export function locationPlanWorkName(source: string, location: string): string {
  return `${partsFolder(source, location)}/plan`;
}

export function batchWorkName(source: string, location: string, index: number): string {
  return `${partsFolder(source, location)}/batch-${String(index).padStart(5, "0")}`;
}

function batchRefsWorkName(source: string, location: string, index: number): string {
  return `${partsFolder(source, location)}/refs-${String(index).padStart(5, "0")}`;
}

/** Writes each batch's references, then the summary: a stored summary means the whole plan is there. */
export async function storePlan(work: WorkStore, plan: LocationPlan): Promise<StoredLocationPlan> {
  for (const [index, refs] of plan.batches.entries()) {
    await work.put(batchRefsWorkName(plan.source, plan.location, index), refs);
  }
  const { batches, ...summary } = plan;
  const stored: StoredLocationPlan = { ...summary, batchCount: batches.length };
  await work.put(locationPlanWorkName(plan.source, plan.location), stored);
  return stored;
}

export async function loadPlan(
  work: WorkStore,
  source: string,
  location: string,
): Promise<StoredLocationPlan | undefined> {
  const name = locationPlanWorkName(source, location);
  const raw = await work.get<unknown>(name);
  if (raw === undefined) return undefined;
  const parsed = StoredLocationPlanSchema.safeParse(raw);
  if (!parsed.success) {
    throw new KeyproofError(
      "INTERNAL",
      `work item ${name} is not a location plan: ${parsed.error.issues[0]?.message ?? "invalid"}`,
    );
  }
  return raw as StoredLocationPlan;
}

/** The references of one batch of a stored plan. */
export async function loadBatchRefs(
  work: WorkStore,
  plan: StoredLocationPlan,
  index: number,
): Promise<KeyRef[]> {
  const name = batchRefsWorkName(plan.source, plan.location, index);
  const parsed = KeyRefsSchema.safeParse(await work.get<unknown>(name));
  if (!parsed.success) {
    throw new KeyproofError(
      "INTERNAL",
      `batch ${index} of ${plan.source}/${plan.location} has no readable key references (${name}): ${parsed.error.issues[0]?.message ?? "invalid"}`,
    );
  }
  return parsed.data as KeyRef[];
}

/** Consecutive slices of `size` references; an empty listing is zero batches. */
export function cutBatches(refs: readonly KeyRef[], size: number): KeyRef[][] {
  if (!Number.isInteger(size) || size < 1)
    throw new KeyproofError("INTERNAL", `key batch size ${size} must be ≥ 1`);
  const batches: KeyRef[][] = [];
  for (let start = 0; start < refs.length; start += size) batches.push(refs.slice(start, start + size));
  return batches;
}

/**
 * Lists the location's keys and reads its logging status; writes the logging export and clears the
 * location's key folder (it belongs to this location's batches alone, and a key that has gone since an
 * earlier attempt must not leave its exports behind). Does not store the plan: the caller does, once it
 * accepts it (a queued job first retries a plan with retryable errors).
 *
 * A provider that throws (rather than returning gaps) still yields a plan: no keys, a gap naming the cause.
 */
export async function planLocationStep(input: {
  provider: KeyProvider;
  location: string;
  context: ExportContext;
  writer: BundleWriter;
  batchSize: number;
}): Promise<LocationPlan> {
  const { provider, location, context, writer } = input;
  const source = provider.sourceId;
  let plan: LocationPlan;
  try {
    const account = await provider.describeAccount();
    const [listing, logging] = await Promise.all([
      provider.listKeys(location),
      provider.collectLogging(location),
    ]);
    plan = {
      source,
      location,
      ...(account === undefined ? {} : { account }),
      logging,
      gaps: listing.gaps,
      listingErrors: listing.errors ?? [],
      batches: cutBatches(listing.refs, input.batchSize),
    };
  } catch (error) {
    plan = {
      source,
      location,
      logging: { source, location, capturedAt: context.capturedAt, sinks: [], errors: [] },
      gaps: [{ source, location, error: thrownError(`${provider.type}:collect`, error) }],
      listingErrors: [],
      batches: [],
    };
  }
  await rm(path.join(writer.directory, path.posix.dirname(keyDirectory(source, location, "_"))), {
    recursive: true,
    force: true,
  });
  await writer.writeJson(
    loggingStatusPath(source, location),
    buildLoggingExport(plan.logging, provider.type, context),
    {
      overwrite: true,
    },
  );
  return plan;
}

/**
 * Describes one batch of the plan and writes each key's configuration and access-policy exports.
 * Idempotent: a retried batch overwrites its own files. Like the plan, the result is stored by the caller
 * once accepted (storeBatch): a stored result is what marks the batch done.
 */
export async function collectBatchStep(input: {
  provider: KeyProvider;
  plan: Pick<LocationPlan, "source" | "location">;
  refs: readonly KeyRef[];
  context: ExportContext;
  writer: BundleWriter;
  /** Restricts the run to some keys (an auditor's scoped request); the others are not exported or judged. */
  selectKeys?: (key: KeyRecord) => boolean;
}): Promise<CollectedBatch> {
  const { provider, plan, refs, context, writer } = input;
  let described: KeyBatch;
  try {
    described = await provider.collectKeys(plan.location, refs);
  } catch (error) {
    // Providers keep failures as data; a throw is a defect, and the batch's keys are named in the gap so
    // the evidence says which keys are missing.
    const first = refs[0]?.keyId ?? "";
    const last = refs.at(-1)?.keyId ?? "";
    const failure = thrownError(`${provider.type}:collectKeys`, error);
    described = {
      keys: [],
      gaps: [
        {
          source: plan.source,
          location: plan.location,
          error: {
            ...failure,
            message: `${refs.length} keys (${first} … ${last}) not described: ${failure.message}`,
          },
        },
      ],
    };
  }
  const keys = input.selectKeys === undefined ? described.keys : described.keys.filter(input.selectKeys);
  for (const key of keys) {
    await writer.writeJson(
      keyConfigurationPath(key.source, key.location, key.keyId),
      buildKeyConfigurationExport(key, context),
      {
        overwrite: true,
      },
    );
    await writer.writeJson(
      keyAccessPolicyPath(key.source, key.location, key.keyId),
      buildKeyAccessPolicyExport(key, context),
      {
        overwrite: true,
      },
    );
  }
  return { keys, gaps: described.gaps };
}

export async function storeBatch(
  work: WorkStore,
  plan: Pick<LocationPlan, "source" | "location">,
  index: number,
  batch: CollectedBatch,
): Promise<void> {
  await work.put(batchWorkName(plan.source, plan.location, index), batch);
}

/** The batches of a plan whose results are not in the work store yet. */
export async function missingBatches(plan: StoredLocationPlan, work: WorkStore): Promise<number[]> {
  const present = new Set(await work.list(path.posix.dirname(batchWorkName(plan.source, plan.location, 0))));
  return Array.from({ length: plan.batchCount }, (_, index) => index).filter(
    (index) => !present.has(batchWorkName(plan.source, plan.location, index)),
  );
}

/** Merges plan and batch results into the location snapshot judging reads, and stores it. */
export async function finishLocationStep(input: {
  plan: StoredLocationPlan;
  work: WorkStore;
}): Promise<CollectedLocation> {
  const { plan, work } = input;
  const batches: CollectedBatch[] = [];
  for (let index = 0; index < plan.batchCount; index += 1) {
    const batch = await work.get<CollectedBatch>(batchWorkName(plan.source, plan.location, index));
    if (batch === undefined) {
      throw new KeyproofError(
        "INTERNAL",
        `batch ${index} of ${plan.source}/${plan.location} has no result in the work store`,
      );
    }
    batches.push(batch);
  }
  const snapshot = mergeLocation(
    plan.source,
    plan.location,
    plan.logging,
    [plan.gaps, ...batches.map((batch) => batch.gaps)],
    batches.map((batch) => batch.keys),
  );
  const collected: CollectedLocation =
    plan.account === undefined ? { snapshot } : { account: plan.account, snapshot };
  await work.put(locationWorkName(plan.source, plan.location), collected);
  return collected;
}

/** One whole location in this process: plan, every batch in turn, merge. The path of inline runs. */
export async function collectLocationStep(input: {
  provider: KeyProvider;
  location: string;
  context: ExportContext;
  writer: BundleWriter;
  work: WorkStore;
  batchSize: number;
  selectKeys?: (key: KeyRecord) => boolean;
}): Promise<CollectedLocation> {
  const plan = await planLocationStep(input);
  const stored = await storePlan(input.work, plan);
  for (const [index, refs] of plan.batches.entries()) {
    await storeBatch(input.work, plan, index, await collectBatchStep({ ...input, plan, refs }));
  }
  return finishLocationStep({ plan: stored, work: input.work });
}

function thrownError(call: string, error: unknown): CollectionError {
  return {
    call,
    code: error instanceof Error ? error.name : "Error",
    message: describeError(error),
    retryable: false,
  };
}
