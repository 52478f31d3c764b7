import path from "node:path";
import type { KMSClientConfig } from "@aws-sdk/client-kms";
import type { Config } from "../config/config.schema.ts";
import { createAwsKmsSigner } from "./aws-kms.signer.ts";
import { createLocalEd25519Signer } from "./local-ed25519.signer.ts";
import { readNextSigner } from "./next-signer.ts";
import type { Signer } from "./signer.ts";

export interface CreateSignerOptions {
  /** AWS credentials for a KMS signer; the SDK's provider chain when absent (tests pass emulator keys). */
  awsCredentials?: KMSClientConfig["credentials"];
}

/**
 * The one place the `signing:` config becomes a Signer. Relative key paths resolve beside the config file.
 * A KMS signer contacts KMS here (DescribeKey, GetPublicKey), so a missing or unusable key fails the run
 * before any collection. A rotation announcement beside the config (`keyproof signer rotate`) is attached as
 * `nextSigner`, so the manifests this signer seals name the next signer.
 */
export async function createSigner(
  signing: Config["signing"],
  configDirectory: string,
  options: CreateSignerOptions = {},
): Promise<Signer> {
  const nextSigner = await readNextSigner(configDirectory);
  const announced = nextSigner === undefined ? {} : { nextSigner };
  if ("kmsKeyId" in signing) {
    return createAwsKmsSigner({
      ...announced,
      kmsKeyId: signing.kmsKeyId,
      ...(signing.region === undefined ? {} : { region: signing.region }),
      ...(signing.endpoint === undefined ? {} : { endpoint: signing.endpoint }),
      ...(options.awsCredentials === undefined ? {} : { credentials: options.awsCredentials }),
    });
  }
  return createLocalEd25519Signer(path.resolve(configDirectory, signing.localKeyFile), announced);
}
