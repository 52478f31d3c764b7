import type { Config } from "../config/config.schema.ts";
import type { VerifyOptions } from "../evidence/verify-bundle.ts";
import { configuredSignersPin } from "../signing/configured-trust.ts";
import { createSigner } from "../signing/create-signer.ts";
import { loadTrustFile, trustFilePin } from "../signing/trust-file.ts";
import type { S3ClientOptions } from "../storage/s3-client.ts";

/**
 * Whose signature a reviewed bundle must carry. Trust is pinned, never taken from the bundle: by default the
 * configured signer's own public key (the service reviews what it sealed), or the keys of a trust file
 * (`keyproof signer export`) when the signer was rotated since the bundle was sealed: `--trust <file>`, or
 * `signing.trustFile` in the config, whose keys count besides the configured signer.
 */
export async function reviewTrustOf(
  config: Config,
  configDirectory: string,
  trustFile?: string,
): Promise<{ trust: VerifyOptions; s3?: S3ClientOptions }> {
  const s3Config = config.storage?.s3;
  const s3: S3ClientOptions | undefined =
    s3Config === undefined
      ? undefined
      : {
          region: s3Config.region,
          ...(s3Config.endpoint === undefined ? {} : { endpoint: s3Config.endpoint }),
        };
  let trust: VerifyOptions;
  if (trustFile !== undefined) {
    trust = { trust: { pins: [trustFilePin(trustFile, await loadTrustFile(trustFile))] } };
  } else {
    const signer = await createSigner(config.signing, configDirectory);
    trust = {
      trust: { pins: [await configuredSignersPin(config.signing, configDirectory, signer.publicKeyPem)] },
    };
  }
  return { trust, ...(s3 === undefined ? {} : { s3 }) };
}
