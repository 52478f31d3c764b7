/**
 * The queue-facing commands (`token`, `schedule`, `worker` argument checks) run in-process through
 * commander against real Redis, each under a unique prefix.
 */
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Command } from "commander";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { registerScheduleCommand } from "../../src/cli/commands/schedule.command.ts";
import { registerTokenCommand } from "../../src/cli/commands/token.command.ts";
import { registerWorkerCommand } from "../../src/cli/commands/worker.command.ts";
import { reportError, type CliIo } from "../../src/cli/main.ts";
import { ApiTokenStore } from "../../src/auth/api-tokens.ts";
import { createRedisConnection } from "../../src/jobs/queue/redis-connection.ts";
import { generateSigningKey } from "../../src/signing/keygen.ts";
import { parseQueueList } from "../../workers/bootstrap.ts";
import { REDIS_URL, cleanupPrefix, removeDirectory, uniquePrefix } from "./queue-harness.ts";

const prefix = uniquePrefix("cli");
let directory: string;
let configFile: string;

/** Runs one command line like `keyproof …` would, returning exit code and output. */
async function keyproof(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const io: CliIo = { stdout: (text) => (stdout += text), stderr: (text) => (stderr += text), isTty: false };
  let code = 0;
  const program = new Command()
    .name("keyproof")
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
  const setExitCode = (value: number): void => {
    code = value;
  };
  registerTokenCommand(program, io, setExitCode);
  registerScheduleCommand(program, io, setExitCode);
  registerWorkerCommand(program, io, setExitCode);
  try {
    await program.parseAsync(["node", "keyproof", ...args]);
  } catch (error) {
    code = reportError(error, io);
  }
  return { code, stdout, stderr };
}

const redisOptions = ["--redis-url", REDIS_URL, "--prefix", prefix];

beforeAll(async () => {
  directory = await mkdtemp(path.join(tmpdir(), "keyproof-cli-"));
  await generateSigningKey(path.join(directory, "signing.pem"));
  configFile = path.join(directory, "keyproof.yaml");
  await writeFile(
    configFile,
    stringify({
      organization: "CLI Test",
      sources: [
        { id: "aws-main", type: "aws-kms", regions: ["us-east-1"], endpoint: "http://127.0.0.1:5000" },
      ],
      signing: { localKeyFile: "./signing.pem" },
    }),
  );
});

afterAll(async () => {
  await cleanupPrefix(REDIS_URL, prefix);
  await removeDirectory(directory);
});

describe("keyproof token", () => {
  it("creates a token printed once, lists it without the secret, verifies it, and revokes it", async () => {
    const created = await keyproof("token", "create", "--role", "auditor", "--name", "jane", ...redisOptions);
    expect(created.code).toBe(0);
    const token = created.stdout.trim();
    expect(token).toMatch(/^kpt_[A-Za-z0-9_-]{43}$/);
    expect(created.stderr).toContain("store it now");

    const duplicate = await keyproof(
      "token",
      "create",
      "--role",
      "operator",
      "--name",
      "jane",
      ...redisOptions,
    );
    expect(duplicate.code).toBe(2);
    expect(duplicate.stderr).toContain('a token named "jane" exists');

    const listed = await keyproof("token", "list", "--json", ...redisOptions);
    const records = JSON.parse(listed.stdout) as Array<{ name: string; role: string; id: string }>;
    expect(records).toEqual([expect.objectContaining({ name: "jane", role: "auditor" })]);
    expect(listed.stdout).not.toContain(token);

    const redis = createRedisConnection(REDIS_URL, "client");
    try {
      const tokens = new ApiTokenStore(redis, prefix);
      expect(await tokens.verify(token)).toMatchObject({ name: "jane", role: "auditor" });
      const revoked = await keyproof("token", "revoke", records[0]?.id ?? "", ...redisOptions);
      expect(revoked.stdout).toContain("revoked jane");
      expect(await tokens.verify(token)).toBeUndefined();
    } finally {
      await redis.quit();
    }
    expect((await keyproof("token", "revoke", "jane", ...redisOptions)).code).toBe(2);
  });

  it("refuses an unknown role and a missing Redis URL with exit 2", async () => {
    expect((await keyproof("token", "create", "--role", "admin", "--name", "x", ...redisOptions)).code).toBe(
      2,
    );
    const saved = process.env.REDIS_URL;
    delete process.env.REDIS_URL;
    try {
      const result = await keyproof("token", "list");
      expect(result.code).toBe(2);
      expect(result.stderr).toContain("no Redis configured");
      expect(result.stderr).toContain("fix: set REDIS_URL");
    } finally {
      if (saved !== undefined) process.env.REDIS_URL = saved;
    }
  });
});

describe("keyproof schedule", () => {
  it("syncs the default schedule from a config without schedules and lists it with its next run", async () => {
    const synced = await keyproof("schedule", "sync", "-c", configFile, ...redisOptions);
    expect(synced).toMatchObject({ code: 0, stdout: "synced: quarterly\n" });
    const listed = await keyproof("schedule", "list", ...redisOptions);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(
      /^quarterly\s+0 6 1 1,4,7,10 \*\s+UTC\s+previous-quarter\s+next \d{4}-\d{2}-01T06:00:00\.000Z \(config\)\n$/,
    );
  });
});

describe("keyproof worker arguments", () => {
  it("accepts known queues and refuses unknown ones", () => {
    expect(parseQueueList("collect, render")).toEqual(["collect", "render"]);
    expect(parseQueueList(undefined)).toEqual(["collect", "render", "seal", "deliver", "schedule"]);
    expect(() => parseQueueList("collect,mail")).toThrow(/unknown queue\(s\) mail/);
  });

  it("refuses a concurrency that is not a positive whole number", async () => {
    const result = await keyproof("worker", "--concurrency", "0", ...redisOptions);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("not a positive whole number");
  });
});
