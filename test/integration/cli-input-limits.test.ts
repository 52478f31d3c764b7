/**
 * Hostile input through the real CLI (issue 11): every case exits 2 with a message naming the file, field
 * or argument, and nothing is contacted (each fails before a source, Redis or the output directory is used).
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeConfigText } from "../factories/config-text.factory.ts";
import { runCli } from "../support/cli.ts";

let directory: string;
let valid: string;

async function configFile(name: string, text: string): Promise<string> {
  const file = path.join(directory, name);
  await writeFile(file, text);
  return file;
}

beforeAll(async () => {
  directory = await mkdtemp(path.join(tmpdir(), "keyproof-cli-limits-"));
  valid = await configFile("keyproof.yaml", makeConfigText({ entries: 2 }));
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

describe("keyproof validate refuses hostile configs with exit 2", () => {
  it("names file, line and column of a YAML syntax error", async () => {
    const file = await configFile(
      "syntax.yaml",
      "organization: acme\nsources:\n  - id: a\n    type: [unclosed\nkeys: {}\n",
    );
    const result = await runCli("validate", "-c", file);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      new RegExp(`^${file.replaceAll(".", "\\.")}:5:1 \\(yaml\\): Flow sequence in block collection`),
    );
  });

  it("names the file of an alias bomb", async () => {
    const levels = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
    for (const [previous, name] of [
      ["a", "b"],
      ["b", "c"],
      ["c", "d"],
      ["d", "e"],
      ["e", "f"],
    ]) {
      levels.push(`${name}: &${name} [${Array.from({ length: 9 }, () => `*${previous}`).join(",")}]`);
    }
    const file = await configFile("bomb.yaml", `organization: acme\n${levels.join("\n")}\n`);
    const result = await runCli("validate", "-c", file);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`${file}:3:8 (yaml): alias expansion exceeds the limit of 100`);
    expect(result.stderr).not.toContain("fatal");
  });

  it("refuses a config over 10 MB naming the file and the limit", async () => {
    const file = await configFile("huge.yaml", `organization: acme\n#${"x".repeat(10 * 1024 * 1024)}\n`);
    const result = await runCli("validate", "-c", file);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(`${file}:0 (file): is 10.0 MB, over the 10 MB limit for a config file\n`);
  });

  it("accepts the valid config it is compared with", async () => {
    const result = await runCli("validate", "-c", valid);
    expect(result).toMatchObject({ code: 0, stderr: "" });
  });
});

describe("keyproof run refuses hostile ranges with exit 2", () => {
  const out = (): string => path.join(directory, "out-never-written");

  it("refuses year 0099 by name instead of reading it as 1999", async () => {
    const result = await runCli("run", "-c", valid, "--period", "0099", "--inline", "-o", out());
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--period: "0099": year 0099 is outside the supported years 1970-2100');
  });

  it("refuses --to 9999-12-31 by name instead of dropping every event", async () => {
    const result = await runCli("run", "-c", valid, "--from", "2026-01-01", "--to", "9999-12-31", "--inline");
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--to: "9999-12-31": year 9999 is outside the supported years 1970-2100');
  });

  it("refuses ten years under the default policy.maxRangeDays, naming the limit", async () => {
    const result = await runCli("run", "-c", valid, "--from", "2016-01-01", "--to", "2025-12-31", "--inline");
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      "--from/--to: 2016-01-01..2025-12-31 covers 3653 days, more than the limit of 400 days (policy.maxRangeDays)",
    );
    expect(result.stderr).toContain("fix: split it into shorter runs, or raise policy.maxRangeDays");
  });

  it("applies a configured policy.maxRangeDays to a --period", async () => {
    const file = await configFile(
      "short.yaml",
      `${makeConfigText({ entries: 1 })}policy:\n  maxRangeDays: 31\n`,
    );
    const result = await runCli("run", "-c", file, "--period", "2026-Q3", "--inline");
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("--period: 2026-Q3 covers 92 days, more than the limit of 31 days");
  });
});
