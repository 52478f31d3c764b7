/**
 * `keyproof procedure show|approve` through main() against real Redis, under a unique prefix; and the
 * approval store and governance-facts reader those commands and the runs share.
 */
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { main, type CliIo } from "../../src/cli/main.ts";
import { NO_REDIS_REASON, readGovernanceFacts } from "../../src/jobs/governance-facts.ts";
import { createRedisConnection } from "../../src/jobs/queue/redis-connection.ts";
import { redisKeys } from "../../src/jobs/queue/redis-keys.ts";
import type { ProcedureApproval, ProcedureIdentity } from "../../src/model/review.ts";
import { ProcedureApprovalStore } from "../../src/procedure/approval-store.ts";
import { generateSigningKey } from "../../src/signing/keygen.ts";
import { makeSignedReviewFact } from "../factories/index.ts";
import { REDIS_URL, cleanupPrefix, removeDirectory, uniquePrefix } from "./queue-harness.ts";

const prefix = uniquePrefix("procedure");
let directory: string;
let configFile: string;

async function keyproof(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const io: CliIo = { stdout: (text) => (stdout += text), stderr: (text) => (stderr += text), isTty: false };
  const code = await main(["node", "keyproof", ...args], io);
  return { code, stdout, stderr };
}

async function writeConfig(maxRotationDays: number): Promise<void> {
  await writeFile(
    configFile,
    stringify({
      organization: "Procedure Test",
      sources: [{ id: "aws-main", type: "aws-kms", regions: ["us-east-1"] }],
      policy: { maxRotationDays },
      signing: { localKeyFile: "./signing.pem" },
    }),
  );
}

const redisOptions = () => ["-c", configFile, "--redis-url", REDIS_URL, "--prefix", prefix];

beforeAll(async () => {
  directory = await mkdtemp(path.join(tmpdir(), "keyproof-procedure-"));
  await generateSigningKey(path.join(directory, "signing.pem"));
  configFile = path.join(directory, "keyproof.yaml");
  await writeConfig(365);
});

afterAll(async () => {
  await cleanupPrefix(REDIS_URL, prefix);
  await removeDirectory(directory);
});

describe("keyproof procedure", () => {
  it("approves the current text, shows it as matching, and as not matching once the policy changes", async () => {
    const before = await keyproof("procedure", "show", ...redisOptions(), "--json");
    expect(before.code).toBe(0);
    const shown = JSON.parse(before.stdout) as { procedure: ProcedureIdentity; latestApproval: null };
    expect(shown.latestApproval).toBeNull();
    expect(shown.procedure.version).toMatch(/^1\.0\+[0-9a-f]{12}$/);

    const approved = await keyproof(
      "procedure",
      "approve",
      ...redisOptions(),
      "--name",
      "Erin Lead",
      "--title",
      "Engineering Lead",
      "--json",
    );
    expect(approved.code).toBe(0);
    const approval = JSON.parse(approved.stdout) as ProcedureApproval;
    expect(approval).toMatchObject({
      name: "Erin Lead",
      title: "Engineering Lead",
      version: shown.procedure.version,
      textSha256: shown.procedure.textSha256,
    });
    expect(approval.recordedBy).toMatch(/^cli:.+/);

    const matching = await keyproof("procedure", "show", ...redisOptions());
    expect(matching.stdout).toContain(`procedure version ${shown.procedure.version}`);
    expect(matching.stdout).toContain("latest approval: Erin Lead (Engineering Lead)");
    expect(matching.stdout).toContain("matches the current text");

    await writeConfig(90);
    const changed = await keyproof("procedure", "show", ...redisOptions());
    expect(changed.stdout).toContain("does NOT match the current text");
    await writeConfig(365);
  });

  it("refuses an empty or control-character name with exit 2, recording nothing", async () => {
    const store = new ProcedureApprovalStore(createRedisConnection(REDIS_URL, "client"), prefix);
    try {
      const count = (await store.listApprovals()).length;
      const empty = await keyproof(
        "procedure",
        "approve",
        ...redisOptions(),
        "--name",
        " ",
        "--title",
        "Lead",
      );
      expect(empty.code).toBe(2);
      expect(empty.stderr).toContain("--name: must not be empty");
      const control = await keyproof(
        "procedure",
        "approve",
        ...redisOptions(),
        "--name",
        "Eve",
        "--title",
        "a\u0007b",
      );
      expect(control.code).toBe(2);
      expect(control.stderr).toContain("--title: printable characters only");
      const long = await keyproof(
        "procedure",
        "approve",
        ...redisOptions(),
        "--name",
        "x".repeat(201),
        "--title",
        "t",
      );
      expect(long.stderr).toContain("--name: at most 200 characters");
      expect((await store.listApprovals()).length).toBe(count);
    } finally {
      await store.redis.quit();
    }
  });

  it("needs the config", async () => {
    const result = await keyproof("procedure", "show", "--redis-url", REDIS_URL);
    expect(result.code).toBe(2);
  });
});

describe("approval store and governance facts", () => {
  it("keeps approvals newest first and reads them with the signed reviews", async () => {
    const ownPrefix = uniquePrefix("governance");
    const redis = createRedisConnection(REDIS_URL, "client");
    try {
      const store = new ProcedureApprovalStore(redis, ownPrefix);
      expect(await store.latestApproval()).toBeUndefined();
      const identity = { version: "1.0+abcdefabcdef", textSha256: "c".repeat(64) };
      await store.recordApproval({
        procedure: identity,
        name: "A",
        title: "T",
        recordedBy: "cli:a",
        now: new Date("2026-01-01T00:00:00Z"),
      });
      const second = await store.recordApproval({
        procedure: identity,
        name: "B",
        title: "T",
        recordedBy: "tok",
      });
      expect(await store.latestApproval()).toEqual(second);
      expect((await store.listApprovals()).map((approval) => approval.name)).toEqual(["B", "A"]);

      const older = makeSignedReviewFact({ id: "rv-old", signedAt: "2025-09-01T00:00:00.000Z" });
      const newer = makeSignedReviewFact({ id: "rv-new" });
      await redis.hset(redisKeys(ownPrefix).signedReviewFacts, {
        [older.id]: JSON.stringify(older),
        [newer.id]: JSON.stringify(newer),
      });
      expect(await readGovernanceFacts(redis, ownPrefix)).toEqual({
        state: "read",
        signedReviews: [newer, older],
        latestApproval: second,
      });

      await redis.hset(redisKeys(ownPrefix).signedReviewFacts, "rv-broken", "{not json");
      expect(await readGovernanceFacts(redis, ownPrefix)).toMatchObject({
        state: "unavailable",
        severity: "error",
      });
    } finally {
      await cleanupPrefix(REDIS_URL, ownPrefix);
      await redis.quit();
    }
  });

  it("says a run without Redis cannot know (warn)", async () => {
    expect(await readGovernanceFacts(undefined, "keyproof")).toEqual({
      state: "unavailable",
      severity: "warn",
      reason: NO_REDIS_REASON,
    });
  });
});
