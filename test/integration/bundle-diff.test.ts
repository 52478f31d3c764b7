/**
 * Two chained bundles from real inline runs on moto, with changes made on moto between them (rotation
 * switched off on one key, a grant added on it): the second bundle's changes-since-previous.json names them,
 * its findings report shows them, and `keyproof diff` of the two archives prints the same.
 */
import { copyFile, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { CreateGrantCommand, DisableKeyRotationCommand, KMSClient } from "@aws-sdk/client-kms";
import { fromTemporaryCredentials } from "@aws-sdk/credential-providers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_EXTERNAL_ID } from "../../scripts/demo/seed-aws-estate.ts";
import type { BundleDiff, ChangesSincePrevious } from "../../src/evidence/bundle-diff.ts";
import { CHANGES_FILE } from "../../src/evidence/paths.ts";
import { runInline, type RunResult } from "../../src/jobs/run-inline.ts";
import { generateSigningKey } from "../../src/signing/keygen.ts";
import { bundleObjectName } from "../../src/storage/chain-scope.ts";
import { runCli } from "../support/cli.ts";
import { readPdfLines } from "../support/pdf-words.ts";
import {
  AWS_ENDPOINT,
  TEST_RANGE,
  prepareEstate,
  removeDirectory,
  type TestEstate,
} from "./queue-harness.ts";

let setup: TestEstate;
let first: RunResult;
let second: RunResult;
let paymentsKeyId: string;
let granteeRole: string;

async function readChanges(run: RunResult): Promise<ChangesSincePrevious> {
  return JSON.parse(
    await readFile(path.join(run.bundle.directory, CHANGES_FILE), "utf8"),
  ) as ChangesSincePrevious;
}

beforeAll(async () => {
  delete process.env["KEYPROOF_TRUST"];
  setup = await prepareEstate({ configExtra: { storage: { local: "./store" } } });
  first = await runInline({
    loaded: setup.loaded,
    range: TEST_RANGE,
    outDirectory: path.join(setup.directory, "evidence"),
    render: false,
  });

  paymentsKeyId = setup.estate.keyIdsByName["payments-db"] ?? "";
  const roleArn = setup.estate.source.roleArn;
  const account = roleArn?.split(":")[4] ?? "123456789012";
  granteeRole = `arn:aws:iam::${account}:role/diff-test-grantee`;
  const kms = new KMSClient({
    endpoint: AWS_ENDPOINT,
    region: "us-east-1",
    credentials:
      roleArn === undefined
        ? { accessKeyId: "test", secretAccessKey: "test" }
        : fromTemporaryCredentials({
            masterCredentials: { accessKeyId: "test", secretAccessKey: "test" },
            params: { RoleArn: roleArn, ExternalId: DEMO_EXTERNAL_ID, RoleSessionName: "keyproof-diff-test" },
            clientConfig: { endpoint: AWS_ENDPOINT, region: "us-east-1" },
          }),
  });
  try {
    await kms.send(new DisableKeyRotationCommand({ KeyId: paymentsKeyId }));
    await kms.send(
      new CreateGrantCommand({
        KeyId: paymentsKeyId,
        GranteePrincipal: granteeRole,
        Operations: ["Decrypt"],
        Name: "diff-test-grant",
      }),
    );
  } finally {
    kms.destroy();
  }

  // A sealed review stored after the first bundle: the second run's manifest links to it (the immediate
  // previous object of the scope), but its changes compare with the latest evidence bundle, chosen by name
  // (`-kp-review-`), so a copy of the first archive under a review's name stands in for a real review.
  const scope = first.storage?.scope ?? "";
  await copyFile(
    first.bundle.archive,
    path.join(setup.directory, "store", bundleObjectName(scope, "kp-review-2026-difftest", new Date())),
  );

  second = await runInline({
    loaded: setup.loaded,
    range: TEST_RANGE,
    outDirectory: path.join(setup.directory, "evidence"),
  });
}, 600_000);

afterAll(async () => {
  await removeDirectory(setup?.directory);
});

describe("changes-since-previous.json", () => {
  it("says the first bundle of a chain has nothing to compare with", async () => {
    const changes = await readChanges(first);
    expect(changes).toMatchObject({
      previous: null,
      reason: "first bundle of its chain",
      current: { runId: first.runId },
    });
    expect(first.bundle.manifest.files.map((file) => file.path)).toContain(CHANGES_FILE);
  });

  it("names the rotation switched off and the grant added on moto between the runs", async () => {
    const changes = await readChanges(second);
    expect(changes.previous).not.toBeNull();
    const diff = changes as BundleDiff;
    expect(diff.previous).toMatchObject({ runId: first.runId, manifestSha256: first.bundle.manifestSha256 });
    expect(diff.current.runId).toBe(second.runId);
    expect(diff.current.manifestSha256).toBeUndefined();
    expect(diff.rotation).toEqual([
      expect.objectContaining({
        key: expect.objectContaining({ keyId: paymentsKeyId, location: "us-east-1" }),
        change: "disabled",
        before: expect.objectContaining({ enabled: true }),
        after: expect.objectContaining({ enabled: false }),
      }),
    ]);
    const access = diff.access.find((change) => change.key.keyId === paymentsKeyId);
    expect(access?.grantsAdded).toEqual([
      expect.objectContaining({ principal: granteeRole, via: "grant", actions: ["kms:Decrypt"] }),
    ]);
    expect(diff.keys).toEqual({ added: [], removed: [] });
    // Rotation off is a new open finding on that key.
    expect(diff.findings.opened).toContainEqual(
      expect.objectContaining({
        checkId: "key-rotation-enabled",
        keyId: paymentsKeyId,
        before: "pass",
        after: "fail",
      }),
    );
    // The manifest's chain link stays the immediate previous object (the review); the diff skipped it.
    expect(second.bundle.manifest.previousBundle?.location).toContain("-kp-review-2026-difftest.tar.gz");
  });

  it("is shown in the findings report under 'Since the previous bundle'", async () => {
    const lines = await readPdfLines(path.join(second.bundle.directory, "reports/findings-report.pdf"));
    const text = lines.map((line) => line.words.map((word) => word.text).join(" ")).join("\n");
    expect(text).toContain("Since the previous bundle");
    expect(text).toContain(`Compared with run ${first.runId}`);
    expect(text).toMatch(/Rotation \(1\)/);
    expect(text).toContain("disabled");
    expect(text).toContain("diff-test-grantee");
  });
});

describe("keyproof diff", () => {
  it("prints the same changes as JSON, with the later bundle's manifest digest", async () => {
    const result = await runCli(
      "diff",
      first.bundle.archive,
      second.bundle.archive,
      "--config",
      setup.configFile,
      "--json",
    );
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const printed = JSON.parse(result.stdout) as BundleDiff;
    const written = (await readChanges(second)) as BundleDiff;
    // The file cannot hold its own bundle's manifest digest (the manifest lists the file); all else is equal.
    expect(printed).toEqual({
      ...written,
      current: { ...written.current, manifestSha256: second.bundle.manifestSha256 },
    });
  });

  it("prints a readable summary by section", async () => {
    const result = await runCli(
      "diff",
      first.bundle.directory,
      second.bundle.archive,
      "--config",
      setup.configFile,
    );
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`from: run ${first.runId}`);
    expect(result.stdout).toMatch(
      new RegExp(`Rotation \\(1\\)\\n  .*${paymentsKeyId}: disabled: enabled( every \\d+ days)? → disabled`),
    );
    expect(result.stdout).toContain(`grant added: allow ${granteeRole} via grant`);
    expect(result.stdout).toContain("Keys (0)");
    expect(result.stdout).toContain("Findings opened");
  });

  it("refuses a bundle whose signer is not the pinned one (exit 1)", async () => {
    const otherKey = path.join(setup.directory, "other-signing.pem");
    await generateSigningKey(otherKey);
    const { createPublicKey } = await import("node:crypto");
    const otherPublic = path.join(setup.directory, "other-public.pem");
    await writeFile(
      otherPublic,
      createPublicKey(await readFile(otherKey, "utf8"))
        .export({ type: "spki", format: "pem" })
        .toString(),
    );
    const result = await runCli(
      "diff",
      first.bundle.archive,
      second.bundle.archive,
      "--expect-public-key",
      otherPublic,
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`the bundle at ${first.bundle.archive} does not verify`);
    expect(result.stdout).toBe("");
  });

  it("refuses to diff without a pinned signer, and a missing bundle, as bad arguments (exit 2)", async () => {
    const unpinned = await runCli("diff", first.bundle.archive, second.bundle.archive);
    expect(unpinned.code).toBe(2);
    expect(unpinned.stderr).toContain("needs a pinned signer");
    const missing = await runCli(
      "diff",
      path.join(setup.directory, "nope.tar.gz"),
      second.bundle.archive,
      "--config",
      setup.configFile,
    );
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("no bundle at");
  });
});
