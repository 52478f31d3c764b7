/**
 * The work of `keyproof signer export|rotate`, loaded only when one of them runs (signer.command.ts registers
 * the options with light imports, so `keyproof --help` loads no SDK).
 */
import { createPublicKey } from "node:crypto";
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { loadConfig } from "../../config/load-config.ts";
import { KeyproofError, describeError } from "../../errors/errors.ts";
import { createSigner } from "../../signing/create-signer.ts";
import { publicKeyFingerprint } from "../../signing/fingerprint.ts";
import { fetchKmsPublicKey } from "../../signing/kms-public-key.ts";
import { writeNextSigner } from "../../signing/next-signer.ts";
import type { Signer } from "../../signing/signer.ts";
import { trustedKeyFor, writeTrustFile } from "../../signing/trust-file.ts";
import { EXIT_CODES } from "../exit-codes.ts";
import type { CliIo } from "../cli-types.ts";

export interface ExportOptions {
  config: string;
  out: string;
  name?: string;
  notBefore?: string;
  notAfter?: string;
  json?: boolean;
}

export interface RotateOptions {
  config: string;
  nextPublicKey?: string;
  nextKmsKey?: string;
}

async function configuredSigner(
  configFile: string,
): Promise<{ signer: Signer; organization: string; directory: string }> {
  const loaded = await loadConfig(configFile);
  const signer = await createSigner(loaded.config.signing, loaded.directory);
  if ("close" in signer && typeof signer.close === "function") (signer.close as () => void)();
  return { signer, organization: loaded.config.organization, directory: loaded.directory };
}

function isoOption(name: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const time = Date.parse(value);
  if (Number.isNaN(time))
    throw new KeyproofError("ARGUMENT_INVALID", `${name} ${value} is not a date (use 2026-01-01T00:00:00Z)`);
  return new Date(time).toISOString();
}

/** `keyproof signer export`: what an organization publishes so its auditors can pin the signer. */
export async function runSignerExportCommand(options: ExportOptions, io: CliIo): Promise<number> {
  const { signer, organization } = await configuredSigner(options.config);
  const notBefore = isoOption("--not-before", options.notBefore);
  const notAfter = isoOption("--not-after", options.notAfter);
  const key = trustedKeyFor({
    name: options.name ?? `${organization} evidence signing key`,
    publicKeyPem: signer.publicKeyPem,
    keyId: signer.keyId,
    ...(notBefore === undefined ? {} : { notBefore }),
    ...(notAfter === undefined ? {} : { notAfter }),
  });
  const out = resolve(options.out);
  const trust = await writeTrustFile(out, key);
  if (options.json === true) {
    io.stdout(`${JSON.stringify({ ...key, algorithm: signer.algorithm, trustFile: out }, null, 2)}\n`);
  } else {
    io.stdout(
      `Signer: ${signer.description}\nAlgorithm: ${signer.algorithm}\nKey id: ${key.keyId ?? signer.keyId}\n` +
        `Fingerprint (SHA-256 of SPKI DER): ${key.fingerprint}\n${key.publicKey}` +
        `Wrote trust file ${out} (${trust.keys.length} key${trust.keys.length === 1 ? "" : "s"}).\n` +
        `Publish it to your auditors; they verify with: keyproof verify <bundle> --trust ${options.out}\n`,
    );
  }
  return EXIT_CODES.OK;
}

/** `keyproof signer rotate`: announce the next signer in the manifests the current one still seals. */
export async function runSignerRotateCommand(options: RotateOptions, io: CliIo): Promise<number> {
  if ((options.nextPublicKey === undefined) === (options.nextKmsKey === undefined)) {
    throw new KeyproofError(
      "ARGUMENT_INVALID",
      "give exactly one of --next-public-key <file> or --next-kms-key <key id>",
    );
  }
  const loaded = await loadConfig(options.config);
  const { signer } = await configuredSigner(options.config);
  let fingerprint: string;
  let keyId: string | undefined;
  if (options.nextPublicKey !== undefined) {
    try {
      // A private key file (a new `keyproof keygen` key) works too: its public half is announced.
      const key = createPublicKey(await readFile(options.nextPublicKey, "utf8"));
      fingerprint = publicKeyFingerprint(key);
      keyId = key.asymmetricKeyType === "ed25519" ? `local:${fingerprint}` : undefined;
    } catch (error) {
      throw new KeyproofError(
        "ARGUMENT_INVALID",
        `--next-public-key ${options.nextPublicKey}: not a readable PEM key: ${describeError(error)}`,
      );
    }
  } else {
    const signing = loaded.config.signing;
    const kms =
      "kmsKeyId" in signing
        ? {
            ...(signing.region === undefined ? {} : { region: signing.region }),
            ...(signing.endpoint === undefined ? {} : { endpoint: signing.endpoint }),
          }
        : {};
    const resolved = await fetchKmsPublicKey(options.nextKmsKey ?? "", kms).catch((error: unknown) => {
      throw new KeyproofError(
        "SIGNING_KEY_UNAVAILABLE",
        `cannot read the public key of ${options.nextKmsKey ?? ""} from KMS: ${describeError(error)}`,
        { cause: error },
      );
    });
    fingerprint = publicKeyFingerprint(resolved.publicKeyPem);
    keyId = resolved.arn;
  }
  if (fingerprint === publicKeyFingerprint(signer.publicKeyPem)) {
    throw new KeyproofError(
      "ARGUMENT_INVALID",
      "the next signer is the configured signer: nothing to announce",
    );
  }
  const file = await writeNextSigner(loaded.directory, {
    fingerprint,
    ...(keyId === undefined ? {} : { keyId }),
  });
  io.stdout(
    `Wrote ${file}: the next runs signed by ${signer.description} announce the next signer ${fingerprint}.\n` +
      "After at least one such run is stored, switch signing: in the config to the new key, and add it to the\n" +
      "trust file you publish (keyproof signer export --config <config> after the switch).\n",
  );
  return EXIT_CODES.OK;
}
