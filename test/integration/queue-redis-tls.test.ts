/**
 * Redis over TLS with a private CA and a password: a redis-server of the test's own (`--tls-port`, Debian's
 * build has TLS; `--requirepass`) with a certificate signed by a CA made here with openssl.
 * `queue.redis: { url: rediss://…, tls: { caFile }, passwordEnv }` reaches it and a queued run completes over
 * it; without the CA file the connection is refused (the certificate is not trusted), without the password
 * every command is.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtemp, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { QueueClient } from "../../src/jobs/queue/queue-client.ts";
import { resolveQueueSettings } from "../../src/jobs/queue/queue-settings.ts";
import { assertRedisReachable, createRedisConnection } from "../../src/jobs/queue/redis-connection.ts";
import { startWorkerRuntime, type WorkerRuntime } from "../../src/jobs/queue/worker-runtime.ts";
import { followRun } from "../../src/jobs/run-queued.ts";
import {
  prepareEstate,
  removeDirectory,
  startEstateRun,
  uniquePrefix,
  waitFor,
  type TestEstate,
} from "./queue-harness.ts";

const run = promisify(execFile);

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** A CA and a server certificate for 127.0.0.1 signed by it, valid for a day. */
async function makeCertificates(directory: string): Promise<{ ca: string; cert: string; key: string }> {
  const file = (name: string) => path.join(directory, name);
  await run("openssl", [
    "req",
    "-x509",
    "-new",
    "-nodes",
    "-newkey",
    "rsa:2048",
    "-keyout",
    file("ca.key"),
    "-out",
    file("ca.pem"),
    "-days",
    "1",
    "-subj",
    "/CN=keyproof test Redis CA",
  ]);
  await run("openssl", [
    "req",
    "-new",
    "-nodes",
    "-newkey",
    "rsa:2048",
    "-keyout",
    file("server.key"),
    "-out",
    file("server.csr"),
    "-subj",
    "/CN=127.0.0.1",
  ]);
  await writeFile(file("server.ext"), "subjectAltName=IP:127.0.0.1\n");
  await run("openssl", [
    "x509",
    "-req",
    "-in",
    file("server.csr"),
    "-CA",
    file("ca.pem"),
    "-CAkey",
    file("ca.key"),
    "-CAcreateserial",
    "-out",
    file("server.pem"),
    "-days",
    "1",
    "-extfile",
    file("server.ext"),
  ]);
  return { ca: file("ca.pem"), cert: file("server.pem"), key: file("server.key") };
}

const prefix = uniquePrefix("tls");
const PASSWORD_ENV = "KEYPROOF_TEST_TLS_REDIS_PASSWORD";
const password = `pw-${randomUUID()}`;
let tlsDirectory: string | undefined;
let redis: { process: ChildProcess; exited: Promise<unknown> } | undefined;
let redisUrl: string;
let port: number;
let setup: TestEstate | undefined;
let client: QueueClient | undefined;
let runtime: WorkerRuntime | undefined;

beforeAll(async () => {
  tlsDirectory = await mkdtemp(path.join(tmpdir(), "keyproof-redis-tls-"));
  const files = await makeCertificates(tlsDirectory);
  port = await freePort();
  const child = spawn(
    "redis-server",
    [
      "--port",
      "0",
      "--tls-port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--tls-cert-file",
      files.cert,
      "--tls-key-file",
      files.key,
      "--tls-ca-cert-file",
      files.ca,
      "--tls-auth-clients",
      "no",
      "--save",
      "",
      "--appendonly",
      "no",
      "--maxmemory-policy",
      "noeviction",
      "--requirepass",
      password,
      "--dir",
      tlsDirectory,
    ],
    { stdio: "ignore" },
  );
  redis = { process: child, exited: new Promise((resolve) => child.once("exit", resolve)) };
  // Every process reads the password from its environment (the in-process workers below included).
  process.env[PASSWORD_ENV] = password;
  // The config form: the CA file travels in the connection string to every process (tlsCaFile=).
  redisUrl =
    resolveQueueSettings({
      config: {
        queue: {
          redis: { url: `rediss://127.0.0.1:${port}`, tls: { caFile: files.ca }, passwordEnv: PASSWORD_ENV },
        },
      },
      env: {},
    }).redisUrl ?? "";
  setup = await prepareEstate();
  client = QueueClient.connect(redisUrl, prefix);
  await waitFor("own TLS Redis", async () => ((await client?.redis.ping()) === "PONG" ? true : undefined));
}, 120_000);

afterAll(async () => {
  await runtime?.close();
  await client?.close();
  redis?.process.kill("SIGKILL");
  await redis?.exited;
  await removeDirectory(tlsDirectory);
  await removeDirectory(setup?.directory);
  delete process.env[PASSWORD_ENV];
}, 60_000);

describe("Redis over TLS with a private CA", () => {
  it("is reached with the CA file and refused without it", async () => {
    // The connection string names the variable, never the password.
    expect(redisUrl).toMatch(
      /^rediss:\/\/127\.0\.0\.1:\d+\/?\?tlsCaFile=.*&passwordEnv=KEYPROOF_TEST_TLS_REDIS_PASSWORD$/,
    );
    expect(redisUrl).not.toContain(password);
    const errors: string[] = [];
    const untrusted = createRedisConnection(`rediss://127.0.0.1:${port}`, "client", "untrusted", (error) =>
      errors.push(error.message),
    );
    try {
      await expect(assertRedisReachable(untrusted, `rediss://127.0.0.1:${port}`, 3000)).rejects.toThrow(
        /is not reachable/,
      );
      // Refused for the certificate (signed by a CA Node does not know), not for anything else.
      expect(
        errors.some((message) => /certificate/i.test(message)),
        errors.join("\n"),
      ).toBe(true);
    } finally {
      untrusted.disconnect();
    }
  });

  it("refuses a client without the password", async () => {
    const tlsOnly = redisUrl.replace(`&passwordEnv=${PASSWORD_ENV}`, "");
    expect(tlsOnly).not.toContain("passwordEnv");
    const anonymous = createRedisConnection(tlsOnly, "client");
    try {
      await expect(anonymous.ping()).rejects.toThrow(/NOAUTH/);
    } finally {
      anonymous.disconnect();
    }
  });

  it("runs a queued run over it", async () => {
    if (setup === undefined || client === undefined) throw new Error("set-up failed");
    runtime = await startWorkerRuntime({ redisUrl, prefix, queues: ["collect", "seal", "deliver"] });
    const started = await startEstateRun(client, setup, path.join(setup.directory, "data"));
    const finished = await followRun(client, started.runId, { pollIntervalMs: 250, timeoutMs: 150_000 });
    expect(finished.status, finished.error ?? "").toBe("completed");
    expect(finished.summary?.sources[0]?.keys).toBe(14);
    // A whole run on a loaded 2-core machine (about 15 s usually).
  }, 240_000);
});
