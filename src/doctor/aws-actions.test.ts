import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { AWS_SOURCE_ACTIONS } from "../providers/aws-kms/aws-kms.doctor.ts";
import { AWS_COMMAND_ACTIONS } from "./aws-actions.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");
const SOURCE_FOLDER = "src/providers/aws-kms";

function sourceFiles(folder: string): string[] {
  return readdirSync(path.join(ROOT, folder), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith(".ts") && !entry.name.endsWith(".test.ts"))
    .map((entry) => path.relative(ROOT, path.join(entry.parentPath, entry.name)));
}

/**
 * Every AWS call site, from the value imports of `@aws-sdk/client-*` (commands and paginators) and
 * `@aws-sdk/lib-storage`, as `<service>:<Operation>` with the file it is in.
 */
function awsCalls(): Array<{ call: string; file: string }> {
  const calls: Array<{ call: string; file: string }> = [];
  const importPattern = /import\s+\{([^}]*)\}\s+from\s+"@aws-sdk\/(client-[a-z0-9-]+|lib-storage)"/g;
  for (const file of sourceFiles("src")) {
    const text = readFileSync(path.join(ROOT, file), "utf8");
    for (const match of text.matchAll(importPattern)) {
      const module = match[2] as string;
      const service = module.replace(/^client-/, "");
      const names = (match[1] as string)
        .split(",")
        .map((name) => name.trim())
        .filter((name) => name.length > 0 && !name.startsWith("type "));
      for (const name of names) {
        if (module === "lib-storage") calls.push({ call: `lib-storage:${name}`, file });
        else if (name.endsWith("Command"))
          calls.push({ call: `${service}:${name.slice(0, -"Command".length)}`, file });
        else if (name.startsWith("paginate"))
          calls.push({ call: `${service}:${name.slice("paginate".length)}`, file });
      }
    }
  }
  return calls;
}

function policyActions(file: string): Set<string> {
  const policy = JSON.parse(readFileSync(path.join(ROOT, file), "utf8")) as {
    Statement: Array<{ Effect: string; Action: string | string[] }>;
  };
  return new Set(
    policy.Statement.filter((statement) => statement.Effect === "Allow").flatMap((statement) =>
      Array.isArray(statement.Action) ? statement.Action : [statement.Action],
    ),
  );
}

describe("the documented IAM policies contain every action keyproof calls", () => {
  const calls = awsCalls();
  const reader = policyActions("docs/permissions/aws-iam-policy.json");
  const sealing = policyActions("docs/permissions/aws-iam-policy-sealing.json");

  it("finds the call sites (the derivation itself works)", () => {
    const names = new Set(calls.map((entry) => entry.call));
    for (const expected of [
      "kms:ListKeys",
      "kms:GetKeyPolicy",
      "s3:ListObjectsV2",
      "kms:Sign",
      "lib-storage:Upload",
    ])
      expect(names).toContain(expected);
  });

  it("every AWS call in src/ has its IAM actions in AWS_COMMAND_ACTIONS", () => {
    const unmapped = calls.filter((entry) => AWS_COMMAND_ACTIONS[entry.call] === undefined);
    expect(unmapped.map((entry) => `${entry.call} (${entry.file})`)).toEqual([]);
  });

  it("the reader policy holds every action an aws-kms source calls; the sealing policy every other", () => {
    const missing: string[] = [];
    for (const { call, file } of calls) {
      const isSource = file.startsWith(SOURCE_FOLDER);
      for (const action of AWS_COMMAND_ACTIONS[call] ?? []) {
        const documented = isSource ? reader : sealing;
        if (!documented.has(action)) missing.push(`${action} (${call} in ${file})`);
      }
    }
    expect(missing).toEqual([]);
  });

  it("doctor probes every action of the reader policy, and the reader policy nothing more", () => {
    expect([...reader].sort()).toEqual([...AWS_SOURCE_ACTIONS].sort());
  });
});
