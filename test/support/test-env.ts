/**
 * Where the local services for tests are, read from the environment that `scripts/services.sh start`
 * writes to `.keyproof/services.env` (test/global-setup.ts loads that file when the variables are
 * missing). moto and Redis fall back to their default loopback ports; the others have no default
 * because their address or token is only known once the script has started them.
 */
import { randomBytes } from "node:crypto";
import type { LookupAddress, LookupAllOptions, LookupOneOptions } from "node:dns";
import { lookup as dnsLookup } from "node:dns";
import { readFileSync } from "node:fs";
import { Agent as HttpsAgent } from "node:https";
import { checkServerIdentity } from "node:tls";
import type { PeerCertificate } from "node:tls";

const HINT = "start the local services with `bash scripts/services.sh start` (or run `bash scripts/test.sh`)";

function optionalEnv(name: string): string | undefined {
  const value = process.env[name];
  return value === undefined || value === "" ? undefined : value;
}

function requiredEnv(name: string, what: string): string {
  const value = optionalEnv(name);
  if (value === undefined) {
    throw new Error(`${name} is not set, so ${what} is unknown: ${HINT}`);
  }
  return value;
}

/** moto_server, e.g. `http://127.0.0.1:5000`. */
export function testAwsEndpoint(): string {
  return optionalEnv("KEYPROOF_TEST_AWS_ENDPOINT") ?? "http://127.0.0.1:5000";
}

/** Redis for BullMQ, e.g. `redis://127.0.0.1:6379` (maxmemory-policy noeviction). */
export function testRedisUrl(): string {
  return optionalEnv("KEYPROOF_TEST_REDIS_URL") ?? "redis://127.0.0.1:6379";
}

/** The OpenBao dev server (HashiCorp Vault API), e.g. `http://127.0.0.1:8200`. */
export function testVaultAddress(): string {
  return requiredEnv("KEYPROOF_TEST_VAULT_ADDR", "the OpenBao address");
}

/** Root token of the OpenBao dev server. */
export function testVaultToken(): string {
  return requiredEnv("KEYPROOF_TEST_VAULT_TOKEN", "the OpenBao root token");
}

/**
 * Lowkey Vault (Azure Key Vault emulator), e.g. `https://127.0.0.1:8443`. Unset when the script
 * could not start it (its jar is not served by every Maven mirror); see `.keyproof/services.env`.
 */
export function testLowkeyUrl(): string {
  return requiredEnv("KEYPROOF_TEST_LOWKEY_URL", "the Lowkey Vault address");
}

/** Lowkey Vault's plain-HTTP port: `/ping`, `/metadata/identity/oauth2/token`, `/metadata/default-cert/*`. */
export function testLowkeyTokenUrl(): string {
  return requiredEnv("KEYPROOF_TEST_LOWKEY_TOKEN_URL", "the Lowkey Vault token endpoint");
}

/** PEM text of Lowkey Vault's self-signed certificate, to trust through an https.Agent `ca`. */
export function testLowkeyCa(): string {
  return readFileSync(requiredEnv("KEYPROOF_TEST_LOWKEY_CA", "Lowkey Vault's certificate"), "utf8");
}

/**
 * Node's resolver does not map `*.localhost` to loopback on Debian (glibc reads /etc/hosts, which
 * lists only `localhost`), while Lowkey Vault names its extra vaults `https://<name>.localhost:<port>`.
 * This lookup answers 127.0.0.1 for those names and defers to the system for everything else.
 */
export function lookupLocalhostSubdomains(
  hostname: string,
  options: LookupOneOptions | LookupAllOptions,
  callback: (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void,
): void {
  if (hostname.endsWith(".localhost")) {
    if (options.all === true) {
      callback(null, [{ address: "127.0.0.1", family: 4 }]);
    } else {
      callback(null, "127.0.0.1", 4);
    }
    return;
  }
  dnsLookup(hostname, options, callback);
}

/**
 * Node refuses a wildcard over a single label (`*.localhost`, like `*.com`), which is how Lowkey
 * Vault's certificate covers its vault names. The certificate also names `localhost`, and trust is
 * pinned to that one certificate, so `<name>.localhost` is checked as `localhost`.
 */
export function checkLocalhostSubdomainIdentity(
  hostname: string,
  certificate: PeerCertificate,
): Error | undefined {
  return checkServerIdentity(hostname.endsWith(".localhost") ? "localhost" : hostname, certificate);
}

/** An HTTPS agent that trusts Lowkey Vault's certificate and reaches `https://<vault>.localhost:<port>`. */
export function lowkeyHttpsAgent(): HttpsAgent {
  return new HttpsAgent({
    ca: testLowkeyCa(),
    lookup: lookupLocalhostSubdomains,
    checkServerIdentity: checkLocalhostSubdomainIdentity,
  });
}

/**
 * A name no other test (or earlier run against the same long-lived emulators) uses:
 * `<prefix>-<10 lowercase hex>`, valid as an S3 bucket, BullMQ queue, Redis key or KMS alias part.
 */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(5).toString("hex")}`;
}

export interface AwsTestClientConfig {
  endpoint: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
}

/** Options for any AWS SDK v3 client against moto (S3 clients also need `forcePathStyle: true`). */
export function awsTestClientConfig(region = "us-east-1"): AwsTestClientConfig {
  return {
    endpoint: testAwsEndpoint(),
    region,
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
  };
}
