import type { CollectionError, KeyRecord, SourceType } from "../model/key.ts";
import type { LoggingStatus } from "../model/logging.ts";
import type { DateRange, SourceGap } from "../model/snapshot.ts";
import type { UsageItem } from "../model/usage.ts";
import type { JsonValue } from "../model/json.ts";
import type { SourceDiscovery } from "../model/discovery.ts";

/** Plain JSON: what may travel between jobs (and machines) inside a key reference. */
export type { JsonValue };

/**
 * A key as its location's listing named it, before it is described. Collection of a large location is
 * split into batches of these that different workers (on different machines) describe, so a reference
 * must be JSON and self-contained: it is written to the run's work store and read back elsewhere.
 */
export interface KeyRef {
  keyId: string;
  /**
   * What the listing already said about the key that describing it needs, so no batch lists the whole
   * location again (AWS: the key's aliases from the region's one ListAliases; Azure: the listed
   * properties; Vault: mount and name). Provider-defined; only the provider that listed it reads it.
   */
  listed?: { [field: string]: JsonValue };
}

export interface KeyListing {
  /** In a stable order (sorted by key id), so batches cut from it are the same on every attempt. */
  refs: KeyRef[];
  /** A listing that failed (whole location, or a part such as one Vault mount). */
  gaps: SourceGap[];
  /**
   * Listing calls that failed without stopping the listing, their failure carried inside the references
   * (AWS: ListAliases). Not evidence by themselves (the keys carry them); they let the queued service
   * retry a throttled listing before handing its failure to every batch.
   */
  errors?: CollectionError[];
}

export interface KeyBatch {
  /** One record per reference, in reference order; a key whose calls failed carries the errors. */
  keys: KeyRecord[];
  gaps: SourceGap[];
}

/**
 * The one port every key source implements. Only what the core uses; no SDK types cross it.
 * A provider gathers facts and never judges them (checks do). A failed call inside a location is
 * carried on the key (`Collected` with `ok: false`) or as a gap; it is never dropped.
 *
 * Collection is three calls so a large location can fan out: `listKeys` once, `collectKeys` per batch
 * (any process, any order), `collectLogging` once. `collectLocation` (collect-location.ts) composes them
 * for callers that want the whole location at once.
 */
export interface KeyProvider {
  readonly sourceId: string;
  readonly type: SourceType;
  /**
   * Regions, vault URLs or Vault mounts-scope this source covers; collection fans out over these. For a
   * source that discovers its population (`discover` below) these are the configured ones only; a run plans
   * the discovered locations instead, and `listKeys`/`collectKeys`/`collectLogging`/`streamUsage` accept any
   * location `discover` returned, on a provider instance that never discovered (another worker).
   */
  listLocations(): string[];
  /**
   * Present on sources configured to find their population (AWS `organization:`, Azure `vaults: all`,
   * Vault `namespaces: all`): walks it once at planning time. Never rejects: a failed call or an
   * unreachable member is a gap in the result, and the members that could be found are still returned.
   */
  discover?(): Promise<SourceDiscovery>;
  /** Who the evidence is about (AWS account id, subscription, Vault cluster). Undefined if unknown. */
  describeAccount(): Promise<string | undefined>;
  /** Every key of the location, listed but not yet described. Cheap: the location's listing calls only. */
  listKeys(location: string): Promise<KeyListing>;
  /**
   * Configuration, rotation and access of the given keys. Facts the keys of a location share (IAM
   * identity policies, the vault's role assignments, Vault ACL policies) are read once per provider
   * instance and reused by later batches.
   */
  collectKeys(location: string, refs: readonly KeyRef[]): Promise<KeyBatch>;
  /** How the location's key usage is logged (trails, diagnostic settings, audit devices). */
  collectLogging(location: string): Promise<LoggingStatus>;
  /**
   * Usage events of one location for the range, streamed: memory must not grow with the range.
   * Unreadable parts (a corrupt log object, a failed page) come out as `gap` items and the stream goes on.
   * `method` names where events come from, for the extract header; a promise when the source must first
   * look up where its log lives (AWS without a configured trail bucket). It never rejects.
   */
  streamUsage(
    location: string,
    range: DateRange,
  ): { method: string | Promise<string>; items: AsyncIterable<UsageItem> };
}

/** Injectable time source so captured-at stamps are testable. */
export type Clock = () => Date;
export const systemClock: Clock = () => new Date();
