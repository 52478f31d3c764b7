import type { SourceConfig } from "../config/config.schema.ts";
import type { Clock, KeyProvider } from "./key-provider.ts";
import { createAwsKmsProvider } from "./aws-kms/aws-kms.provider.ts";
import type { TokenBucketFactory } from "./aws-kms/kms-rate-limit.ts";
import { createAzureKeyVaultProvider } from "./azure-key-vault/azure-key-vault.provider.ts";
import { createHashicorpVaultProvider } from "./hashicorp-vault/hashicorp-vault.provider.ts";

export interface ProviderOptions {
  clock?: Clock;
  /** Directory of the config file: relative paths in a source (token file, audit log) resolve beside it. */
  baseDirectory?: string;
  /** Request buckets shared by the process or, in queued workers, through Redis (kms-rate-limit.ts). */
  tokenBuckets?: TokenBucketFactory;
}

/**
 * The one place a source config becomes a provider. The `never` in the default branch makes the compiler
 * refuse a source type without a provider.
 */
export function createProvider(source: SourceConfig, options: ProviderOptions = {}): KeyProvider {
  switch (source.type) {
    case "aws-kms":
      return createAwsKmsProvider(source, {
        ...(options.clock === undefined ? {} : { clock: options.clock }),
        ...(options.tokenBuckets === undefined ? {} : { tokenBuckets: options.tokenBuckets }),
      });
    case "hashicorp-vault":
      return createHashicorpVaultProvider(source, options);
    case "azure-key-vault":
      return createAzureKeyVaultProvider(source, options);
    default: {
      const unknownType: never = source;
      throw new Error(`no provider for source ${JSON.stringify(unknownType)}`);
    }
  }
}
