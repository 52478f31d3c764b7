/**
 * The declared key inventory as checks and views see it. The config (src/config) parses keyproof.yaml
 * into exactly this shape; the type lives here so the model imports nothing above it.
 */

/** What a declared key protects, in the procedure's words. */
export const KEY_USAGES = ["data-at-rest", "data-in-transit", "application"] as const;
export type KeyUsage = (typeof KEY_USAGES)[number];

/** One key the organization declares it owns (`keys[]` in keyproof.yaml). */
export interface InventoryEntry {
  /** Source id from the config. */
  source: string;
  /** Alias, key id or ARN (AWS). */
  match: string;
  owner: string;
  usage: KeyUsage;
  /** Systems the key protects; at least one. */
  systems: string[];
  notes?: string | undefined;
}
