import type { LocationSnapshot } from "../model/snapshot.ts";
import type { KeyProvider } from "./key-provider.ts";

/**
 * A whole location in one call: list, describe every key, read the logging status. What a small location,
 * the contract tests and one-off callers use; the queued service calls the three parts as separate jobs
 * (jobs/steps/collect-location.step.ts) and merges them the same way, so both give the same snapshot.
 */
export async function collectLocation(provider: KeyProvider, location: string): Promise<LocationSnapshot> {
  const [listing, logging] = await Promise.all([
    provider.listKeys(location),
    provider.collectLogging(location),
  ]);
  const batch = await provider.collectKeys(location, listing.refs);
  return mergeLocation(provider.sourceId, location, logging, [listing.gaps, batch.gaps], [batch.keys]);
}

/** One location snapshot from its parts: gaps in listing-then-batch order, keys in batch order. */
export function mergeLocation(
  source: string,
  location: string,
  logging: LocationSnapshot["logging"],
  gaps: ReadonlyArray<LocationSnapshot["gaps"]>,
  keys: ReadonlyArray<LocationSnapshot["keys"]>,
): LocationSnapshot {
  return { source, location, keys: keys.flat(), logging, gaps: gaps.flat() };
}
