import path from "node:path";
import type { S3ClientConfig } from "@aws-sdk/client-s3";
import type { StorageConfig } from "../config/config.schema.ts";
import type { BundleStore } from "./bundle-store.ts";
import { LocalDirectoryStore } from "./local-directory.store.ts";
import { createS3Client } from "./s3-client.ts";
import { S3ObjectLockStore } from "./s3-object-lock.store.ts";

export interface CreateStoresOptions {
  /** AWS credentials for the S3 store; the SDK's provider chain when absent. */
  awsCredentials?: S3ClientConfig["credentials"];
  now?: () => Date;
}

/**
 * The one place the `storage:` config becomes stores. S3 comes first: the chain follows the first store,
 * and the immutable one is the store whose history can be trusted. No network access happens here.
 */
export function createBundleStores(
  storage: StorageConfig | undefined,
  configDirectory: string,
  options: CreateStoresOptions = {},
): BundleStore[] {
  if (storage === undefined) return [];
  const stores: BundleStore[] = [];
  if (storage.s3 !== undefined) {
    const s3 = storage.s3;
    stores.push(
      new S3ObjectLockStore({
        config: s3,
        client: createS3Client({
          region: s3.region,
          ...(s3.endpoint === undefined ? {} : { endpoint: s3.endpoint }),
          ...(options.awsCredentials === undefined ? {} : { credentials: options.awsCredentials }),
        }),
        ...(options.now === undefined ? {} : { now: options.now }),
      }),
    );
  }
  if (storage.local !== undefined)
    stores.push(new LocalDirectoryStore(path.resolve(configDirectory, storage.local)));
  return stores;
}
