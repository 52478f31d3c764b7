/**
 * The KMS signer against moto (real KMS API calls, real signatures). Keys are created fresh per run under
 * unique aliases, so the shared emulator needs no reset.
 */
import { createPublicKey } from "node:crypto";
import {
  CreateAliasCommand,
  CreateKeyCommand,
  DisableKeyCommand,
  GetPublicKeyCommand,
  KMSClient,
} from "@aws-sdk/client-kms";
import type { KeySpec, KeyUsageType } from "@aws-sdk/client-kms";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { awsTestClientConfig, uniqueName } from "../../test/support/test-env.ts";
import { KMS_RAW_MESSAGE_LIMIT, createAwsKmsSigner } from "./aws-kms.signer.ts";
import { verifyWithAlgorithm } from "./verify-signature.ts";

const REGION = "eu-west-3";
const client = new KMSClient(awsTestClientConfig(REGION));
const signerOptions = {
  region: REGION,
  endpoint: awsTestClientConfig(REGION).endpoint,
  credentials: awsTestClientConfig(REGION).credentials,
};

async function createKey(
  spec: KeySpec,
  usage: KeyUsageType,
): Promise<{ arn: string; keyId: string; alias: string }> {
  const created = await client.send(
    new CreateKeyCommand({ KeySpec: spec, KeyUsage: usage, Description: "keyproof signer test" }),
  );
  const arn = created.KeyMetadata?.Arn;
  const keyId = created.KeyMetadata?.KeyId;
  if (arn === undefined || keyId === undefined) throw new Error("CreateKey returned no key");
  const alias = `alias/${uniqueName("kp-signer")}`;
  await client.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: keyId }));
  return { arn, keyId, alias };
}

let ecKey: { arn: string; keyId: string; alias: string };
let rsaKey: { arn: string; keyId: string; alias: string };

beforeAll(async () => {
  ecKey = await createKey("ECC_NIST_P256", "SIGN_VERIFY");
  rsaKey = await createKey("RSA_2048", "SIGN_VERIFY");
});

afterAll(() => client.destroy());

const message = new TextEncoder().encode('{"format":"keyproof-signed-statement/1","keyId":"kp-test"}');

describe("createAwsKmsSigner", () => {
  it("resolves an alias to the key ARN and records the public key from GetPublicKey", async () => {
    const signer = await createAwsKmsSigner({ kmsKeyId: ecKey.alias, ...signerOptions });
    try {
      expect(signer.keyId).toBe(ecKey.arn);
      expect(signer.algorithm).toBe("ECDSA_SHA_256");
      expect(signer.description).toBe(`AWS KMS key ${ecKey.alias} (${ecKey.arn})`);
      const published = await client.send(new GetPublicKeyCommand({ KeyId: ecKey.keyId }));
      const der = createPublicKey(signer.publicKeyPem).export({ type: "spki", format: "der" });
      expect(Buffer.compare(der, Buffer.from(published.PublicKey ?? new Uint8Array()))).toBe(0);
    } finally {
      signer.close();
    }
  });

  it("signs RAW with ECDSA_SHA_256 (DER), verifiable with the public key from GetPublicKey", async () => {
    const signer = await createAwsKmsSigner({ kmsKeyId: ecKey.arn, ...signerOptions });
    const signature = await signer.sign(message);
    signer.close();
    // DER: SEQUENCE tag first.
    expect(signature[0]).toBe(0x30);
    const key = createPublicKey(signer.publicKeyPem);
    expect(verifyWithAlgorithm("ECDSA_SHA_256", key, message, signature)).toBe(true);
    const tampered = Uint8Array.from(message);
    tampered[5] = (tampered[5] ?? 0) ^ 1;
    expect(verifyWithAlgorithm("ECDSA_SHA_256", key, tampered, signature)).toBe(false);
  });

  it("signs with RSASSA_PSS_SHA_256 for an RSA key", async () => {
    const signer = await createAwsKmsSigner({ kmsKeyId: rsaKey.alias, ...signerOptions });
    const signature = await signer.sign(message);
    signer.close();
    expect(signer.algorithm).toBe("RSASSA_PSS_SHA_256");
    expect(signer.keyId).toBe(rsaKey.arn);
    expect(
      verifyWithAlgorithm("RSASSA_PSS_SHA_256", createPublicKey(signer.publicKeyPem), message, signature),
    ).toBe(true);
  });

  it("refuses to sign more than KMS signs RAW (the signed statement never gets near it)", async () => {
    const signer = await createAwsKmsSigner({ kmsKeyId: ecKey.arn, ...signerOptions });
    try {
      await expect(signer.sign(new Uint8Array(KMS_RAW_MESSAGE_LIMIT + 1))).rejects.toMatchObject({
        code: "INTERNAL",
        message: expect.stringContaining(`at most ${KMS_RAW_MESSAGE_LIMIT} bytes`),
      });
    } finally {
      signer.close();
    }
  });

  it("takes the region from a key ARN when none is configured", async () => {
    const signer = await createAwsKmsSigner({
      kmsKeyId: ecKey.arn,
      endpoint: signerOptions.endpoint,
      credentials: signerOptions.credentials,
    });
    signer.close();
    expect(signer.keyId).toBe(ecKey.arn);
  });

  it("refuses keys it cannot sign with, each time saying how to get one", async () => {
    const symmetric = await createKey("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT");
    await expect(createAwsKmsSigner({ kmsKeyId: symmetric.alias, ...signerOptions })).rejects.toMatchObject({
      code: "SIGNING_KEY_UNAVAILABLE",
      message: expect.stringContaining("not SIGN_VERIFY"),
      remediation: expect.stringContaining("--key-spec ECC_NIST_P256 --key-usage SIGN_VERIFY"),
    });
    const p384 = await createKey("ECC_NIST_P384", "SIGN_VERIFY");
    await expect(createAwsKmsSigner({ kmsKeyId: p384.alias, ...signerOptions })).rejects.toMatchObject({
      code: "SIGNING_KEY_UNAVAILABLE",
      message: expect.stringContaining("key spec ECC_NIST_P384"),
    });
    const disabled = await createKey("ECC_NIST_P256", "SIGN_VERIFY");
    await client.send(new DisableKeyCommand({ KeyId: disabled.keyId }));
    await expect(createAwsKmsSigner({ kmsKeyId: disabled.alias, ...signerOptions })).rejects.toMatchObject({
      code: "SIGNING_KEY_UNAVAILABLE",
      message: expect.stringContaining("is Disabled, not Enabled"),
    });
    await expect(
      createAwsKmsSigner({ kmsKeyId: `alias/${uniqueName("kp-missing")}`, ...signerOptions }),
    ).rejects.toMatchObject({
      code: "SIGNING_KEY_UNAVAILABLE",
      message: expect.stringContaining("cannot be described"),
      remediation: expect.stringContaining("aws kms create-key"),
    });
  });
});
