import { readFile } from "node:fs/promises";
import { loadConfig } from "../../config/load-config.ts";
import { KeyproofError, describeError } from "../../errors/errors.ts";
import { formatVerifyResult, withChecks } from "../../evidence/verify-bundle.ts";
import type { VerifyOptions } from "../../evidence/verify-bundle.ts";
import { checkChainLink, formatChainResult } from "../../evidence/verify-chain.ts";
import { createSigner } from "../../signing/create-signer.ts";
import type { S3ClientOptions } from "../../storage/s3-client.ts";
import { verifyChainAt, verifyTarget } from "../../storage/verify-stored.ts";
import type { VerifyTargetOptions } from "../../storage/verify-stored.ts";
import type { CliIo } from "../cli-types.ts";
import { EXIT_CODES } from "../exit-codes.ts";

export interface VerifyCliOptions {
  json?: boolean;
  /** Require this signer key id (`local:<sha256>` or a KMS key ARN). */
  expectKey?: string;
  /** Require this public key: a SubjectPublicKeyInfo PEM file, as published by the organization. */
  expectPublicKey?: string;
  /** Require the signer configured in this keyproof.yaml; also the default S3 region/endpoint. */
  config?: string;
  /** Also check that the bundle links to this one (path or s3:// URL). */
  previous?: string;
  /** Verify every bundle under this directory or s3:// prefix and the links between them. */
  chain?: string;
  /** For s3:// targets; default: the config's storage.s3, then AWS_REGION / AWS_ENDPOINT_URL. */
  region?: string;
  endpoint?: string;
}

/**
 * Expected signer from a config: the local key's public key (offline), or the KMS key's ARN and public
 * key (DescribeKey + GetPublicKey: the only step of verify that contacts AWS, and only when asked).
 */
async function pinsFromConfig(configFile: string): Promise<{ pins: VerifyOptions; s3: S3ClientOptions }> {
  const loaded = await loadConfig(configFile);
  const signer = await createSigner(loaded.config.signing, loaded.directory);
  const publicKeyPem =
    "publicKeyPem" in signer && typeof signer.publicKeyPem === "string" ? signer.publicKeyPem : undefined;
  const s3 = loaded.config.storage?.s3;
  return {
    pins: {
      expectedKeyId: signer.keyId,
      ...(publicKeyPem === undefined ? {} : { expectedPublicKey: publicKeyPem }),
    },
    s3:
      s3 === undefined
        ? {}
        : { region: s3.region, ...(s3.endpoint === undefined ? {} : { endpoint: s3.endpoint }) },
  };
}

async function resolveOptions(options: VerifyCliOptions): Promise<VerifyTargetOptions> {
  const fromConfig = options.config === undefined ? undefined : await pinsFromConfig(options.config);
  const pins: VerifyOptions = { ...fromConfig?.pins };
  if (options.expectKey !== undefined) {
    if (pins.expectedKeyId !== undefined && pins.expectedKeyId !== options.expectKey) {
      throw new KeyproofError(
        "ARGUMENT_INVALID",
        `--expect-key ${options.expectKey} contradicts the signer configured in ${options.config ?? "the config"} (${pins.expectedKeyId})`,
      );
    }
    pins.expectedKeyId = options.expectKey;
  }
  if (options.expectPublicKey !== undefined) {
    try {
      pins.expectedPublicKey = await readFile(options.expectPublicKey, "utf8");
    } catch (error) {
      throw new KeyproofError(
        "ARGUMENT_INVALID",
        `cannot read --expect-public-key ${options.expectPublicKey}: ${describeError(error)}`,
      );
    }
  }
  const region = options.region ?? fromConfig?.s3.region;
  const endpoint = options.endpoint ?? fromConfig?.s3.endpoint;
  return {
    ...pins,
    s3: { ...(region === undefined ? {} : { region }), ...(endpoint === undefined ? {} : { endpoint }) },
  };
}

export async function runVerifyCommand(
  bundle: string | undefined,
  options: VerifyCliOptions,
  io: CliIo,
): Promise<number> {
  if (options.chain !== undefined) {
    if (bundle !== undefined || options.previous !== undefined) {
      throw new KeyproofError(
        "ARGUMENT_INVALID",
        "--chain verifies every bundle at a location: give no bundle and no --previous with it",
      );
    }
    const result = await verifyChainAt(options.chain, await resolveOptions(options));
    io.stdout(
      options.json === true
        ? `${JSON.stringify(result, null, 2)}\n`
        : formatChainResult(result, { verbose: true }),
    );
    return result.ok ? EXIT_CODES.OK : EXIT_CODES.VERIFY_FAILED;
  }
  if (bundle === undefined) {
    throw new KeyproofError(
      "ARGUMENT_INVALID",
      "give a bundle (directory, .tar.gz or s3:// URL) or --chain <location>",
    );
  }
  const resolved = await resolveOptions(options);
  let result = await verifyTarget(bundle, resolved);
  if (options.previous !== undefined) {
    // The previous bundle may be signed by an earlier (rotated) key: only its integrity is required here.
    const { expectedKeyId: _key, expectedPublicKey: _publicKey, ...withoutPins } = resolved;
    const previous = await verifyTarget(options.previous, withoutPins);
    result = withChecks(result, { chain: checkChainLink(result, previous) });
  }
  io.stdout(options.json === true ? `${JSON.stringify(result, null, 2)}\n` : formatVerifyResult(result));
  return result.ok ? EXIT_CODES.OK : EXIT_CODES.VERIFY_FAILED;
}
