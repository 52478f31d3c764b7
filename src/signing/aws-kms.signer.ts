import { createPublicKey } from "node:crypto";
import { DescribeKeyCommand, GetPublicKeyCommand, KMSClient, SignCommand } from "@aws-sdk/client-kms";
import type { KMSClientConfig, KeyMetadata } from "@aws-sdk/client-kms";
import { KeyproofError, describeError, isKeyproofError } from "../errors/errors.ts";
import type { AnnouncedSigner, SignatureAlgorithm, Signer } from "./signer.ts";

/**
 * Signs manifests with an AWS KMS asymmetric key: `ECC_NIST_P256` with `ECDSA_SHA_256`, or an RSA key with
 * `RSASSA_PSS_SHA_256`. The key is resolved once, at creation (DescribeKey → ARN, GetPublicKey → PEM), so
 * the manifest can name the signer before it is signed and the signature file carries the public key.
 * What KMS signs is the small signed statement (manifest digest + signature metadata), always `RAW`: moto
 * does not implement `MessageType: DIGEST`, and RAW lets an auditor check the signature with openssl over
 * the statement bytes.
 */

/** KMS Sign takes at most 4096 bytes with `MessageType: RAW`; the signed statement stays far below it. */
export const KMS_RAW_MESSAGE_LIMIT = 4096;

export interface AwsKmsSignerOptions {
  /** Key id, key ARN, alias name (`alias/keyproof-signing`) or alias ARN. */
  kmsKeyId: string;
  /** Defaults to the region in an ARN, then to the SDK's own resolution (AWS_REGION, profile). */
  region?: string;
  /** KMS endpoint (emulators, VPC endpoints). */
  endpoint?: string;
  /** Defaults to the SDK's provider chain (env, SSO, profile, container or instance role). */
  credentials?: KMSClientConfig["credentials"];
  /** Announced by `keyproof signer rotate`: the manifest names it. */
  nextSigner?: AnnouncedSigner;
  /** Clock for signedAt. */
  now?: () => Date;
}

export interface AwsKmsSigner extends Signer {
  /** The key ARN: stable across alias changes, and what the manifest names. */
  readonly keyId: string;
  readonly algorithm: KmsSignatureAlgorithm;
  /** SubjectPublicKeyInfo PEM from GetPublicKey, for publishing and pinning. */
  readonly publicKeyPem: string;
  /** Closes the client's sockets. */
  close(): void;
}

/** The algorithms keyproof asks KMS for: one per supported key type. */
export type KmsSignatureAlgorithm = Extract<SignatureAlgorithm, "ECDSA_SHA_256" | "RSASSA_PSS_SHA_256">;

const RSA_KEY_SPECS = new Set(["RSA_2048", "RSA_3072", "RSA_4096"]);

/** `arn:aws:kms:<region>:<account>:key/<id>` or `…:alias/<name>` → region. */
function regionOfArn(keyId: string): string | undefined {
  const match = /^arn:aws[a-z-]*:kms:([a-z0-9-]+):\d{12}:(key|alias)\//.exec(keyId);
  return match?.[1];
}

function algorithmFor(metadata: KeyMetadata): KmsSignatureAlgorithm | undefined {
  const spec = metadata.KeySpec ?? metadata.CustomerMasterKeySpec;
  if (spec === "ECC_NIST_P256") return "ECDSA_SHA_256";
  if (spec !== undefined && RSA_KEY_SPECS.has(spec)) return "RSASSA_PSS_SHA_256";
  return undefined;
}

const CREATE_KEY_HINT =
  "create a signing key: aws kms create-key --key-spec ECC_NIST_P256 --key-usage SIGN_VERIFY " +
  "--description 'keyproof bundle signing', then aws kms create-alias --alias-name alias/keyproof-signing " +
  "--target-key-id <KeyId>";

const PERMISSION_HINT =
  "allow the identity keyproof runs as kms:DescribeKey, kms:GetPublicKey and kms:Sign on the key (key policy or IAM policy)";

function awsErrorName(error: unknown): string {
  return error instanceof Error ? error.name : "Error";
}

function unavailable(description: string, problem: string, error: unknown): KeyproofError {
  const name = awsErrorName(error);
  const remediation =
    name === "NotFoundException"
      ? CREATE_KEY_HINT
      : name === "AccessDeniedException"
        ? PERMISSION_HINT
        : name === "DisabledException" || name === "KMSInvalidStateException"
          ? "enable the key (aws kms enable-key --key-id <id>) or point signing.kmsKeyId at an enabled key"
          : undefined;
  return new KeyproofError("SIGNING_KEY_UNAVAILABLE", `${description}: ${problem}: ${describeError(error)}`, {
    cause: error,
    ...(remediation === undefined ? {} : { remediation }),
  });
}

function refuse(description: string, problem: string, remediation: string): KeyproofError {
  return new KeyproofError("SIGNING_KEY_UNAVAILABLE", `${description}: ${problem}`, { remediation });
}

/**
 * Resolves the key and checks it can sign as keyproof signs: enabled, SIGN_VERIFY, a supported spec, and
 * the algorithm offered by KMS. Every refusal says how to get a suitable key.
 */
export async function createAwsKmsSigner(options: AwsKmsSignerOptions): Promise<AwsKmsSigner> {
  const region = options.region ?? regionOfArn(options.kmsKeyId);
  const client = new KMSClient({
    ...(region === undefined ? {} : { region }),
    ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
    ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
  });
  const configured = `AWS KMS key ${options.kmsKeyId}`;
  try {
    let metadata: KeyMetadata | undefined;
    try {
      metadata = (await client.send(new DescribeKeyCommand({ KeyId: options.kmsKeyId }))).KeyMetadata;
    } catch (error) {
      throw unavailable(configured, "cannot be described", error);
    }
    const arn = metadata?.Arn;
    if (metadata === undefined || arn === undefined) {
      throw refuse(configured, "DescribeKey returned no key ARN", CREATE_KEY_HINT);
    }
    if (metadata.KeyState !== "Enabled") {
      throw refuse(
        configured,
        `is ${metadata.KeyState ?? "in an unknown state"}, not Enabled`,
        "enable the key (aws kms enable-key) or point signing.kmsKeyId at an enabled key",
      );
    }
    if (metadata.KeyUsage !== "SIGN_VERIFY") {
      throw refuse(
        configured,
        `has key usage ${metadata.KeyUsage ?? "unknown"}, not SIGN_VERIFY`,
        CREATE_KEY_HINT,
      );
    }
    const algorithm = algorithmFor(metadata);
    if (algorithm === undefined) {
      throw refuse(
        configured,
        `has key spec ${metadata.KeySpec ?? metadata.CustomerMasterKeySpec ?? "unknown"}; keyproof signs with ECC_NIST_P256 (ECDSA_SHA_256) or RSA (RSASSA_PSS_SHA_256)`,
        CREATE_KEY_HINT,
      );
    }
    if (metadata.SigningAlgorithms !== undefined && !metadata.SigningAlgorithms.includes(algorithm)) {
      throw refuse(
        configured,
        `does not offer ${algorithm} (offers ${metadata.SigningAlgorithms.join(", ")})`,
        CREATE_KEY_HINT,
      );
    }

    let publicKeyPem: string;
    try {
      const response = await client.send(new GetPublicKeyCommand({ KeyId: arn }));
      if (response.PublicKey === undefined) throw new Error("GetPublicKey returned no public key");
      publicKeyPem = createPublicKey({ key: Buffer.from(response.PublicKey), format: "der", type: "spki" })
        .export({ type: "spki", format: "pem" })
        .toString();
    } catch (error) {
      if (isKeyproofError(error)) throw error;
      throw unavailable(configured, "public key cannot be read", error);
    }

    const description =
      options.kmsKeyId === arn ? `AWS KMS key ${arn}` : `AWS KMS key ${options.kmsKeyId} (${arn})`;

    return {
      description,
      keyId: arn,
      algorithm,
      publicKeyPem,
      ...(options.nextSigner === undefined ? {} : { nextSigner: options.nextSigner }),
      ...(options.now === undefined ? {} : { now: options.now }),
      close: () => client.destroy(),
      async sign(message: Uint8Array): Promise<Uint8Array> {
        if (message.byteLength > KMS_RAW_MESSAGE_LIMIT) {
          throw new KeyproofError(
            "INTERNAL",
            `${description}: the message to sign is ${message.byteLength} bytes; KMS signs at most ${KMS_RAW_MESSAGE_LIMIT} bytes RAW`,
          );
        }
        let signature: Uint8Array | undefined;
        let signedBy: string | undefined;
        try {
          const response = await client.send(
            new SignCommand({
              KeyId: arn,
              Message: message,
              MessageType: "RAW",
              SigningAlgorithm: algorithm,
            }),
          );
          signature = response.Signature;
          signedBy = response.KeyId;
        } catch (error) {
          throw unavailable(description, "could not sign", error);
        }
        if (signature === undefined || signature.byteLength === 0) {
          throw new KeyproofError("INTERNAL", `${description}: Sign returned no signature`);
        }
        if (signedBy !== undefined && signedBy !== arn) {
          throw new KeyproofError(
            "INTERNAL",
            `${description}: KMS reports the signature was made by ${signedBy}`,
          );
        }
        return signature;
      },
    };
  } catch (error) {
    client.destroy();
    throw error;
  }
}
