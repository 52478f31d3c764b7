import type { InventoryEntry } from "../config/config.schema.ts";
import type { KeyRecord } from "../model/key.ts";

export interface InventoryMatch {
  /** Inventory entry per key (by `source` + `keyId`), for keys that the inventory names. */
  entryByKey: Map<string, InventoryEntry>;
  /** Keys named by more than one entry: an ambiguity the owner check reports. */
  duplicateEntries: Map<string, InventoryEntry[]>;
  /** Entries that name no key found in their source. */
  unmatchedEntries: InventoryEntry[];
}

export function keyReference(key: Pick<KeyRecord, "source" | "keyId">): string {
  return `${key.source}\u0000${key.keyId}`;
}

/**
 * The names a user may write in `match`: key id, ARN/URI, each alias, and each alias ARN. AWS keys also
 * answer to `<account>:alias/<name>` and `<account>:<key-id>` (issue 15): in an organization source the
 * same alias may exist in several accounts, and the account-qualified form names one account's key only.
 * A plain alias still matches in every account (two accounts' keys are then both documented by the entry).
 */
export function namesOf(key: KeyRecord): Set<string> {
  const names = new Set<string>([key.keyId, key.arn, ...key.aliases]);
  if (key.sourceType === "aws-kms") {
    // arn:aws:kms:<region>:<account>:key/<id> → the alias ARN is the same prefix with alias/<name>.
    const prefix = key.arn.replace(/key\/[^/]+$/, "");
    for (const alias of key.aliases) names.add(`${prefix}${alias}`);
    const arn = /^arn:[^:]+:kms:[^:]*:(\d{12}):key\/([^/]+)$/.exec(key.arn);
    if (arn?.[1] !== undefined && arn[2] !== undefined) {
      const account = arn[1];
      names.add(`${account}:${arn[2]}`);
      for (const alias of key.aliases) names.add(`${account}:${alias}`);
    }
  }
  return names;
}

/**
 * Pure: which inventory entry documents which key. Matching is exact; case matters as in the sources.
 * Entries are indexed by (source, match) once, so an estate of tens of thousands of keys and entries is
 * matched in time proportional to keys × names, not keys × entries.
 */
export function matchInventory(
  entries: readonly InventoryEntry[],
  keys: readonly KeyRecord[],
): InventoryMatch {
  const index = new Map<string, number[]>();
  entries.forEach((entry, position) => {
    const name = `${entry.source}\u0000${entry.match}`;
    const positions = index.get(name);
    if (positions === undefined) index.set(name, [position]);
    else positions.push(position);
  });
  const entryByKey = new Map<string, InventoryEntry>();
  const duplicateEntries = new Map<string, InventoryEntry[]>();
  const matchedEntries = new Set<InventoryEntry>();
  for (const key of keys) {
    const positions = new Set<number>();
    for (const name of namesOf(key)) {
      for (const position of index.get(`${key.source}\u0000${name}`) ?? []) positions.add(position);
    }
    // In config order, as the user wrote them: the first entry is the one that documents the key.
    const hits = [...positions]
      .sort((left, right) => left - right)
      .map((position) => entries[position] as InventoryEntry);
    const first = hits[0];
    if (first === undefined) continue;
    const reference = keyReference(key);
    entryByKey.set(reference, first);
    if (hits.length > 1) duplicateEntries.set(reference, hits);
    for (const hit of hits) matchedEntries.add(hit);
  }
  return {
    entryByKey,
    duplicateEntries,
    unmatchedEntries: entries.filter((entry) => !matchedEntries.has(entry)),
  };
}
