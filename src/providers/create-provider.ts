import type { SourceConfig } from "../config/config.schema.ts";
import type { Clock, KeyProvider } from "./key-provider.ts";
import { createAwsKmsProvider } from "./aws-kms/aws-kms.provider.ts";

export interface ProviderOptions {
  clock?: Clock;
}

/**
 * The one place a source config becomes a provider. A `Record` over source types would make the compiler
 * catch a missing provider; with a discriminated union a `switch` with `never` does the same.
 */
export function createProvider(source: SourceConfig, options: ProviderOptions = {}): KeyProvider {
  switch (source.type) {
    case "aws-kms":
      return createAwsKmsProvider(source, options);
    default: {
      const unknownType: never = source.type;
      throw new Error(`no provider for source type ${String(unknownType)}`);
    }
  }
}
