/**
 * The local services that scripts/services.sh provides answer for real: each test makes a round trip
 * that only a working server can complete. When one of these fails, the other integration suites'
 * failures are about the environment, not the code.
 */
import { execFile } from "node:child_process";
import { connect } from "node:net";
import { promisify } from "node:util";
import {
  CreateKeyCommand,
  DescribeKeyCommand,
  KMSClient,
  ScheduleKeyDeletionCommand,
} from "@aws-sdk/client-kms";
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import {
  awsTestClientConfig,
  lookupLocalhostSubdomains,
  testRedisUrl,
  testVaultAddress,
  testVaultToken,
  uniqueName,
} from "../support/test-env.ts";

const run = promisify(execFile);

describe("moto (AWS emulator)", () => {
  const kms = new KMSClient(awsTestClientConfig("eu-west-3"));
  afterAll(() => kms.destroy());

  it("creates a KMS key and describes it back", async () => {
    const description = uniqueName("services-test");
    const created = await kms.send(
      new CreateKeyCommand({
        Description: description,
        KeyUsage: "ENCRYPT_DECRYPT",
        KeySpec: "SYMMETRIC_DEFAULT",
      }),
    );
    const keyId = created.KeyMetadata?.KeyId;
    expect(keyId).toMatch(/^[0-9a-f-]{36}$/);

    const described = await kms.send(new DescribeKeyCommand({ KeyId: keyId }));
    expect(described.KeyMetadata).toMatchObject({
      KeyId: keyId,
      Description: description,
      KeyState: "Enabled",
    });
    expect(described.KeyMetadata?.Arn).toContain(":eu-west-3:");

    await kms.send(new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: 7 }));
  });
});

describe("Redis", () => {
  const redis = new Redis(testRedisUrl(), { lazyConnect: true, maxRetriesPerRequest: 1 });
  afterAll(() => redis.quit());

  it("stores and returns a value", async () => {
    const key = uniqueName("services-test");
    await redis.set(key, "sealed", "EX", 60);
    expect(await redis.get(key)).toBe("sealed");
    expect(await redis.del(key)).toBe(1);
  });

  it("never evicts keys, as BullMQ requires", async () => {
    expect(await redis.config("GET", "maxmemory-policy")).toEqual(["maxmemory-policy", "noeviction"]);
  });

  it("is reachable as <vault>.localhost through the test lookup that Lowkey Vault's vault names need", async () => {
    const { port } = new URL(testRedisUrl());
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect({
        host: "acme-prod.localhost",
        port: Number(port),
        lookup: lookupLocalhostSubdomains,
      });
      socket.once("error", reject);
      socket.once("connect", () => socket.write("PING\r\n"));
      socket.once("data", (chunk: Buffer) => {
        socket.destroy();
        resolve(chunk.toString("utf8").trim());
      });
    });
    expect(answer).toBe("+PONG");
  });
});

describe("OpenBao (HashiCorp Vault API)", () => {
  const vault = async (method: string, path: string, body?: unknown): Promise<Response> =>
    fetch(`${testVaultAddress()}/v1/${path}`, {
      method,
      headers: { "X-Vault-Token": testVaultToken(), "Content-Type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });

  it("reports an initialized, unsealed server", async () => {
    const response = await fetch(`${testVaultAddress()}/v1/sys/health`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ initialized: true, sealed: false });
  });

  it("creates, rotates and reads a transit key with the root token", async () => {
    const mount = uniqueName("services-test");
    expect((await vault("POST", `sys/mounts/${mount}`, { type: "transit" })).status).toBe(204);
    try {
      expect((await vault("POST", `${mount}/keys/k1`, { type: "aes256-gcm96" })).ok).toBe(true);
      expect((await vault("POST", `${mount}/keys/k1/rotate`, {})).ok).toBe(true);
      const read = await vault("GET", `${mount}/keys/k1`);
      expect(read.status).toBe(200);
      const body = (await read.json()) as { data: { type: string; latest_version: number } };
      expect(body.data).toMatchObject({ type: "aes256-gcm96", latest_version: 2 });
    } finally {
      await vault("DELETE", `sys/mounts/${mount}`);
    }
  });

  it("rejects an unknown token", async () => {
    const response = await fetch(`${testVaultAddress()}/v1/auth/token/lookup-self`, {
      headers: { "X-Vault-Token": "not-a-token" },
    });
    expect(response.status).toBe(403);
  });
});

describe("render and OCR tools from Debian", () => {
  it("has Chromium at KEYPROOF_CHROMIUM", async () => {
    const chromium = process.env["KEYPROOF_CHROMIUM"] ?? "/usr/bin/chromium";
    const { stdout } = await run(chromium, ["--version"]);
    expect(stdout).toMatch(/^Chromium \d+\./);
  });

  it("has pdftoppm (poppler) and tesseract", async () => {
    const poppler = await run("pdftoppm", ["-v"]);
    expect(poppler.stderr).toMatch(/pdftoppm version \d+/);
    const tesseract = await run("tesseract", ["--list-langs"]);
    expect(tesseract.stdout).toMatch(/^eng$/m);
  });
});
