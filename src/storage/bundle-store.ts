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
  /**
   * Writes a receipt about a stored bundle beside it (`<bundle without .tar.gz><suffix>`, e.g.
   * `.delivery.json`). Not part of the sealed evidence; written again as it changes (S3: a new version).
   */
  putReceipt(
    bundleObjectName: string,
    suffix: string,
    body: string,
  ): Promise<{ location: string; versionId?: string }>;
}

/** `<scope>/<stamp>-<run>.tar.gz` → `<scope>/<stamp>-<run><suffix>`. */
export function receiptObjectName(bundleObjectName: string, suffix: string): string {
  return `${bundleObjectName.replace(/\.tar\.gz$/, "")}${suffix}`;
}
