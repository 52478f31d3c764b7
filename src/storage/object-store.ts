/**
 * Where sealed bundles are kept beyond the local run directory. Implementations: a local directory and
 * S3 with Object Lock (COMPLIANCE). Only what the core uses; no SDK types.
 */

export interface StoredObject {
  /** `s3://bucket/key` or an absolute file path. */
  location: string;
  versionId?: string;
  /** Read back from the store after upload, never assumed. */
  retention?: { mode: string; retainUntil: string };
  checksumSha256?: string;
  bytes: number;
}

export interface ObjectStore {
  readonly description: string;
  /** Refuses (KeyproofError STORAGE_REFUSED) when the store cannot keep the bundle immutable. */
  checkReady(): Promise<void>;
  putBundle(archivePath: string, objectName: string): Promise<StoredObject>;
  /** The latest bundle stored for a scope, used to chain the next one. Undefined when none yet. */
  findPreviousBundle(scope: string): Promise<{ objectName: string; manifestSha256: string } | undefined>;
}
