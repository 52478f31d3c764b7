import type { ObjectStore } from "./object-store.ts";

/**
 * The object-store port as the two stores in this folder implement it: the previous bundle also carries
 * its `location`, which the next manifest records (`s3://bucket/key?versionId=…` pins the exact version).
 * Structurally an ObjectStore, so the port itself is unchanged.
 */

export interface PreviousBundle {
  objectName: string;
  /** SHA-256 hex of the previous bundle's manifest.json. */
  manifestSha256: string;
  location: string;
}

export interface BundleStore extends ObjectStore {
  readonly kind: "s3" | "local";
  findPreviousBundle(scope: string): Promise<PreviousBundle | undefined>;
}
