import type { Check } from "../check.ts";
import { makeFinding } from "../check.ts";
import { parseCheckMetadata } from "../check-metadata.schema.ts";
import type { InventoryEntry } from "../../model/inventory.ts";
import {
  allKeys,
  describeCollectionError,
  gapsOf,
  inventoryEntryResource,
  nameCollectionErrors,
  summarizeList,
} from "../eligibility.ts";
import { GAPS_FILE, INVENTORY_FILE } from "../../evidence/paths.ts";
import { keyReference, matchInventory } from "../../inventory/match-inventory.ts";
import type { KeyRecord } from "../../model/key.ts";
import rawMetadata from "./inventory-entry-matched.metadata.json" with { type: "json" };

const metadata = parseCheckMetadata(rawMetadata);

/** Every declared entry must name a key that exists; an entry is "unmatched" only if its source was fully seen. */
export const check: Check = {
  metadata,
  run(snapshot) {
    const keys = allKeys(snapshot);
    const match = matchInventory(snapshot.inventory, keys);
    // An entry may name several keys (the same alias in two regions); the message lists them all.
    const keysByEntry = new Map<InventoryEntry, KeyRecord[]>();
    for (const key of keys) {
      const reference = keyReference(key);
      const entries = match.duplicateEntries.get(reference) ?? [match.entryByKey.get(reference)];
      for (const entry of entries) {
        if (entry !== undefined) keysByEntry.set(entry, [...(keysByEntry.get(entry) ?? []), key]);
      }
    }
    const unmatched = new Set(match.unmatchedEntries);

    return snapshot.inventory.map((entry, index) => {
      const base = {
        source: entry.source,
        resource: inventoryEntryResource(index),
        evidence: [INVENTORY_FILE],
      };
      const label = `entry "${entry.match}" (owner ${entry.owner})`;
      const source = snapshot.sources.find((candidate) => candidate.source === entry.source);
      if (source === undefined) {
        return makeFinding(metadata, {
          ...base,
          status: "error",
          evidence: [INVENTORY_FILE, GAPS_FILE],
          message: `${label}: source ${entry.source} is not in the snapshot, so the entry cannot be matched`,
        });
      }
      if (!metadata.sourceTypes.includes(source.type)) {
        return makeFinding(metadata, {
          ...base,
          status: "not-applicable",
          message: `${label}: source type ${source.type} is not judged by this check yet`,
        });
      }
      if (!unmatched.has(entry)) {
        const arns = (keysByEntry.get(entry) ?? []).map((key) => key.arn);
        return makeFinding(metadata, {
          ...base,
          status: "pass",
          message: `${label} matches ${summarizeList(arns)}`,
        });
      }
      // Keys of a location that failed to collect, or aliases that could not be read, may be what the entry
      // names: the entry is then unverified, not stale.
      const gaps = gapsOf(source).map((gap) => describeCollectionError(gap.error));
      const hidden = source.locations
        .flatMap((location) => location.keys)
        .flatMap((candidate) => nameCollectionErrors(candidate).map(describeCollectionError));
      const causes = [...new Set([...gaps, ...hidden])];
      if (causes.length > 0) {
        return makeFinding(metadata, {
          ...base,
          status: "error",
          evidence: [INVENTORY_FILE, GAPS_FILE],
          message: `${label} matches no collected key, but ${entry.source} was not fully collected: ${summarizeList(causes, 3)}`,
        });
      }
      return makeFinding(metadata, {
        ...base,
        status: "fail",
        message: `${label} matches no key in ${entry.source}`,
      });
    });
  },
};
