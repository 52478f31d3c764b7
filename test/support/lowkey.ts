/**
 * The Azure Key Vault data plane for tests: Lowkey Vault when one is available, else the FAKE in
 * test/fakes/azure-key-vault.fake.ts. Order:
 * 1. `KEYPROOF_TEST_LOWKEY_URL` (+ `KEYPROOF_TEST_LOWKEY_CA`: a PEM file path or PEM text), as started by
 *    scripts/services.sh;
 * 2. a Lowkey jar already in `.keyproof/cache/` (`lowkey-vault-app-*.jar`), started here on random free ports
 *    with Java 25, its self-signed certificate read from `/metadata/default-cert/lowkey-vault.p12`;
 * 3. the fake. Lowkey cannot be fetched on this machine: Maven Central as served here answers 404 for
 *    `com.github.nagyesta.lowkey-vault:lowkey-vault-app` (its client libraries resolve, the app does not).
 * Each path serves two vaults, told apart by authority as Lowkey does: Lowkey's default `https://127.0.0.1:<port>`
 * and `https://localhost:<port>` (Lowkey listens on every interface, so `localhost` reaches it over IPv4 or
 * IPv6), the fake's two ports of 127.0.0.1.
 */
import { execFileSync, spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { startAzureKeyVaultFake } from "../fakes/azure-key-vault.fake.ts";
import type { AzureKeyVaultFake } from "../fakes/azure-key-vault.fake.ts";

export interface KeyVaultDataPlane {
  kind: "lowkey-external" | "lowkey-jar" | "fake";
  /** Two vaults on the data plane. */
  vaultUrls: [string, string];
  /** PEM trust anchor for the data plane's TLS certificate. */
  ca: string;
  /** Present when the data plane is the fake (failure injection, rotation-policy quirk switch). */
  fake?: AzureKeyVaultFake;
  stop(): Promise<void>;
}

const CACHE = resolve(import.meta.dirname, "../../.keyproof/cache");
const JAVA_HOME = process.env["KEYPROOF_JAVA_HOME"] ?? "/usr/lib/jvm/temurin-25-jdk-amd64";

function readCa(value: string): string {
  return value.includes("-----BEGIN") ? value : readFileSync(value, "utf8");
}

function twoVaults(base: string): [string, string] {
  const url = new URL(base);
  return [`https://127.0.0.1:${url.port || "443"}`, `https://localhost:${url.port || "443"}`];
}

async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolvePort(port));
    });
  });
}

async function waitFor(url: string, deadline: number): Promise<void> {
  for (;;) {
    try {
      const response = await fetch(url);
      if (response.ok) return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`Lowkey Vault did not answer ${url} in time`);
    await new Promise((wait) => setTimeout(wait, 500));
  }
}

function findJar(): string | undefined {
  if (!existsSync(CACHE)) return undefined;
  const jars = readdirSync(CACHE)
    .filter((file) => /^lowkey-vault-app-[\d.]+\.jar$/.test(file))
    .sort((left, right) => left.localeCompare(right, undefined, { numeric: true }));
  const newest = jars.at(-1);
  return newest === undefined ? undefined : join(CACHE, newest);
}

async function startLowkeyJar(jar: string): Promise<KeyVaultDataPlane> {
  const [vaultPort, tokenPort] = [await freePort(), await freePort()];
  const child: ChildProcess = spawn(
    join(JAVA_HOME, "bin/java"),
    ["-jar", jar, `--server.port=${vaultPort}`, `--app.token.port=${tokenPort}`, "--LOWKEY_VAULT_NAMES=-"],
    { stdio: "ignore", env: { ...process.env, JAVA_HOME } },
  );
  const stop = async (): Promise<void> => {
    if (child.exitCode === null) {
      child.kill("SIGTERM");
      await new Promise((done) => child.once("exit", done));
    }
  };
  try {
    await waitFor(`http://127.0.0.1:${tokenPort}/ping`, Date.now() + 90_000);
    const p12 = Buffer.from(
      await (
        await fetch(`http://127.0.0.1:${tokenPort}/metadata/default-cert/lowkey-vault.p12`)
      ).arrayBuffer(),
    );
    const password = (
      await (await fetch(`http://127.0.0.1:${tokenPort}/metadata/default-cert/password`)).text()
    ).trim();
    const directory = mkdtempSync(join(tmpdir(), "keyproof-lowkey-"));
    try {
      const p12File = join(directory, "lowkey.p12");
      writeFileSync(p12File, p12);
      const ca = execFileSync(
        "openssl",
        ["pkcs12", "-in", p12File, "-nokeys", "-passin", `pass:${password}`],
        {
          encoding: "utf8",
        },
      );
      return { kind: "lowkey-jar", vaultUrls: twoVaults(`https://127.0.0.1:${vaultPort}`), ca, stop };
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  } catch (error) {
    await stop();
    throw error;
  }
}

export async function startKeyVaultDataPlane(): Promise<KeyVaultDataPlane> {
  const external = process.env["KEYPROOF_TEST_LOWKEY_URL"];
  const externalCa = process.env["KEYPROOF_TEST_LOWKEY_CA"];
  if (external !== undefined && external.length > 0 && externalCa !== undefined && externalCa.length > 0) {
    return {
      kind: "lowkey-external",
      vaultUrls: twoVaults(external),
      ca: readCa(externalCa),
      stop: async () => {},
    };
  }
  const jar = findJar();
  if (jar !== undefined) return startLowkeyJar(jar);
  const fake = await startAzureKeyVaultFake();
  return { kind: "fake", vaultUrls: fake.vaultUrls, ca: fake.ca, fake, stop: () => fake.close() };
}
