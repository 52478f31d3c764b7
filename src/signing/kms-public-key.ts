import { DescribeKeyCommand, GetPublicKeyCommand, KMSClient } from "@aws-sdk/client-kms";
import type { KMSClientConfig } from "@aws-sdk/client-kms";
import { publicKeyPemOf } from "./fingerprint.ts";

export interface KmsPublicKeyOptions {
  region?: string;
  endpoint?: string;
  credentials?: KMSClientConfig["credentials"];
}

/** `arn:aws:kms:<region>:<account>:key/<id>` or `…:alias/<name>` → region. */
export function regionOfKmsArn(keyId: string): string | undefined {
  return /^arn:aws[a-z-]*:kms:([a-z0-9-]+):\d{12}:(key|alias)\//.exec(keyId)?.[1];
}

/** True for what `--expect-key` names in KMS: a key or alias ARN, an alias name, or a bare key id. */
export function isKmsKeyReference(keyId: string): boolean {
  return !keyId.startsWith("local:");
}

/**
 * Asks KMS which public key a key id, ARN or alias stands for (GetPublicKey). The answer's `KeyId` is the
 * key ARN, so an alias resolves to the key it points at today.
 */
export async function fetchKmsPublicKey(
  keyId: string,
  options: KmsPublicKeyOptions = {},
): Promise<{ arn: string; publicKeyPem: string }> {
  const region = options.region ?? regionOfKmsArn(keyId);
  const client = new KMSClient({
    ...(region === undefined ? {} : { region }),
    ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
    ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
  });
  try {
    const response = await client.send(new GetPublicKeyCommand({ KeyId: keyId }));
    if (response.PublicKey === undefined || response.KeyId === undefined) {
      throw new Error("GetPublicKey returned no public key");
    }
    // AWS answers with the key ARN; moto with the bare key id. DescribeKey gives the ARN either way.
    const arn = response.KeyId.startsWith("arn:")
      ? response.KeyId
      : ((await client.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata?.Arn ?? response.KeyId);
    return {
      arn,
      publicKeyPem: publicKeyPemOf(
        // createPublicKey via publicKeyPemOf needs PEM or a KeyObject: wrap the DER first.
        derToPem(response.PublicKey),
      ),
    };
  } finally {
    client.destroy();
  }
}

function derToPem(der: Uint8Array): string {
  const body = Buffer.from(der)
    .toString("base64")
    .replace(/(.{64})/g, "$1\n")
    .replace(/\n$/, "");
  return `-----BEGIN PUBLIC KEY-----\n${body}\n-----END PUBLIC KEY-----\n`;
}
