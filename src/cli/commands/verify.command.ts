import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { loadConfig } from "../../config/load-config.ts";
import { KeyproofError, describeError } from "../../errors/errors.ts";
import { formatVerifyResult, withChecks } from "../../evidence/verify-bundle.ts";
import { checkChainLink, formatChainResult } from "../../evidence/verify-chain.ts";
import { createSigner } from "../../signing/create-signer.ts";
import { publicKeyFingerprint } from "../../signing/fingerprint.ts";
import { fetchKmsPublicKey } from "../../signing/kms-public-key.ts";
import type { TrustPin, TrustPolicy } from "../../signing/trust.ts";
import { loadTrustFile, trustFilePin } from "../../signing/trust-file.ts";
import type { S3ClientOptions } from "../../storage/s3-client.ts";
import { verifyChainAt, verifyTarget } from "../../storage/verify-stored.ts";
import type { VerifyTargetOptions } from "../../storage/verify-stored.ts";
import type { CliIo } from "../cli-types.ts";
import { EXIT_CODES } from "../exit-codes.ts";

export interface VerifyCliOptions {
  json?: boolean;
  /** Trust this signer key id: `local:<fingerprint>`, or a KMS key ARN / alias (bound to its public key, see below). */
  expectKey?: string;
  /** Trust this public key: a SubjectPublicKeyInfo PEM file, as published by the organization. */
  expectPublicKey?: string;
  /** Trust the signer configured in this keyproof.yaml; also the default S3 region/endpoint. */
  config?: string;
  /** Trust the keys in this trust file (`keyproof signer export`); default `KEYPROOF_TRUST`. */
  trust?: string;
  /** Accept the embedded public key without a pin (the behaviour before pinning), with a warning. */
  trustEmbedded?: boolean;
  /** Also check that the bundle links to this one (path or s3:// URL). */
  previous?: string;
  /** Verify every bundle under this directory or s3:// prefix and the links between them. */
  chain?: string;
  /** For s3:// targets and KMS lookups; default: the config's storage.s3, then AWS_REGION / AWS_ENDPOINT_URL. */
  region?: string;
  endpoint?: string;
  /** KMS endpoint for `--expect-key <ARN>` lookups (emulators, VPC endpoints); default: the SDK's. */
  kmsEndpoint?: string;
}

interface ConfigPins {
  pins: TrustPin[];
  s3: S3ClientOptions;
  kms: { region?: string; endpoint?: string };
}

/**
 * The configured signer as a pin: the local key's public key (offline), or the KMS key's ARN and public
 * key (DescribeKey + GetPublicKey: the KMS key id is bound to the key KMS holds for it).
 */
async function pinsFromConfig(configFile: string): Promise<ConfigPins> {
  const loaded = await loadConfig(configFile);
  const signer = await createSigner(loaded.config.signing, loaded.directory);
  if ("close" in signer && typeof signer.close === "function") (signer.close as () => void)();
  const label = `signer configured in ${resolve(configFile)}`;
  const s3 = loaded.config.storage?.s3;
  const signing = loaded.config.signing;
  return {
    pins: [
      {
        kind: "keys",
        label,
        anchors: [{ label, fingerprint: publicKeyFingerprint(signer.publicKeyPem), keyId: signer.keyId }],
      },
    ],
    s3:
      s3 === undefined
        ? {}
        : { region: s3.region, ...(s3.endpoint === undefined ? {} : { endpoint: s3.endpoint }) },
    kms:
      "kmsKeyId" in signing
        ? {
            ...(signing.region === undefined ? {} : { region: signing.region }),
            ...(signing.endpoint === undefined ? {} : { endpoint: signing.endpoint }),
          }
        : {},
  };
}

async function readPublicKeyPin(file: string): Promise<TrustPin> {
  let pem: string;
  try {
    pem = await readFile(file, "utf8");
  } catch (error) {
    throw new KeyproofError(
      "ARGUMENT_INVALID",
      `cannot read --expect-public-key ${file}: ${describeError(error)}`,
    );
  }
  let fingerprint: string;
  try {
    fingerprint = publicKeyFingerprint(pem);
  } catch (error) {
    throw new KeyproofError(
      "ARGUMENT_INVALID",
      `--expect-public-key ${file} is not a PEM public key: ${describeError(error)}`,
    );
  }
  const label = `--expect-public-key ${file}`;
  return { kind: "keys", label, anchors: [{ label, fingerprint }] };
}

/**
 * `--expect-key`: a local key id pins its key (it is the fingerprint). A KMS key id, ARN or alias is only a
 * name, so it is bound to a key: offline, by the public key pinned next to it (the statement must then also
 * name that ARN); online otherwise, by asking KMS (GetPublicKey) which key it stands for.
 */
async function expectKeyPin(
  keyId: string,
  offlineKeyPinned: boolean,
  kms: { region?: string; endpoint?: string },
): Promise<TrustPin | { kind: "note"; note: string }> {
  const label = `--expect-key ${keyId}`;
  if (keyId.startsWith("local:")) {
    const fingerprint = keyId.slice("local:".length);
    if (!/^[0-9a-f]{64}$/.test(fingerprint)) {
      throw new KeyproofError(
        "ARGUMENT_INVALID",
        `--expect-key ${keyId}: a local key id is local:<64 hex digits>`,
      );
    }
    return { kind: "keys", label, anchors: [{ label, fingerprint, keyId }] };
  }
  if (offlineKeyPinned) {
    // The statement names the key ARN, so only a key ARN can be compared with it offline. An alias (or a
    // bare key id) is not a pin then; it is reported, or the auditor would believe it had been checked.
    return keyId.startsWith("arn:") && keyId.includes(":key/")
      ? { kind: "key-id", label, keyId }
      : {
          kind: "note",
          note: `${label} was not compared: an alias or bare key id cannot be checked offline (the signature names the key ARN), so it is not a pin; the pinned public key alone decides. To check it, give --expect-key alone so keyproof asks KMS (GetPublicKey)`,
        };
  }
  try {
    const resolved = await fetchKmsPublicKey(keyId, kms);
    const resolvedLabel = `${label} (KMS GetPublicKey: ${resolved.arn})`;
    return {
      kind: "keys",
      label: resolvedLabel,
      anchors: [
        {
          label: resolvedLabel,
          fingerprint: publicKeyFingerprint(resolved.publicKeyPem),
          keyId: resolved.arn,
        },
      ],
    };
  } catch (error) {
    return {
      kind: "unresolved",
      label,
      reason: `could not ask KMS for the public key of this key id (${describeError(error)}); a KMS key id alone does not prove which key signed: verify online, or pin the public key offline with --expect-public-key or --trust`,
    };
  }
}

export async function resolveTrust(
  options: VerifyCliOptions,
  environment: NodeJS.ProcessEnv = process.env,
): Promise<{ trust: TrustPolicy; s3: S3ClientOptions }> {
  const fromConfig = options.config === undefined ? undefined : await pinsFromConfig(options.config);
  const pins: TrustPin[] = [...(fromConfig?.pins ?? [])];
  const notes: string[] = [];
  if (options.expectPublicKey !== undefined) pins.push(await readPublicKeyPin(options.expectPublicKey));
  const trustFile =
    options.trust ?? (environment["KEYPROOF_TRUST"] === "" ? undefined : environment["KEYPROOF_TRUST"]);
  if (trustFile !== undefined) pins.push(trustFilePin(resolve(trustFile), await loadTrustFile(trustFile)));
  if (options.expectKey !== undefined) {
    const kms = {
      ...fromConfig?.kms,
      ...(options.region === undefined ? {} : { region: options.region }),
      ...(options.kmsEndpoint === undefined ? {} : { endpoint: options.kmsEndpoint }),
    };
    const offlineKeyPinned = pins.some((pin) => pin.kind === "keys");
    const pin = await expectKeyPin(options.expectKey, offlineKeyPinned, kms);
    if (pin.kind === "note") notes.push(pin.note);
    else pins.push(pin);
  }
  const region = options.region ?? fromConfig?.s3.region;
  const endpoint = options.endpoint ?? fromConfig?.s3.endpoint;
  return {
    trust: {
      pins,
      ...(options.trustEmbedded === true ? { trustEmbedded: true } : {}),
      ...(notes.length === 0 ? {} : { notes }),
    },
    s3: { ...(region === undefined ? {} : { region }), ...(endpoint === undefined ? {} : { endpoint }) },
  };
}

async function resolveOptions(options: VerifyCliOptions): Promise<VerifyTargetOptions> {
  const { trust, s3 } = await resolveTrust(options);
  return { trust, s3 };
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
    // Only the previous bundle's integrity matters for the link; its signer may be an earlier (rotated) key.
    const previous = await verifyTarget(options.previous, {
      ...resolved,
      trust: { pins: [], trustEmbedded: true },
    });
    result = withChecks(result, { chain: checkChainLink(result, previous) });
  }
  io.stdout(options.json === true ? `${JSON.stringify(result, null, 2)}\n` : formatVerifyResult(result));
  return result.ok ? EXIT_CODES.OK : EXIT_CODES.VERIFY_FAILED;
}
