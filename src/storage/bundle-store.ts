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
  /**
   * The latest bundle stored under the scope; with `accept`, the latest whose file name (`<stamp>-<runId>.tar.gz`)
   * it accepts (a review is prepared from the latest evidence bundle, not from a review bundle).
   */
  findPreviousBundle(
    scope: string,
    accept?: (fileName: string) => boolean,
  ): Promise<PreviousBundle | undefined>;
}
