import { mkdtemp, rm, writeFile, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, formatConfigProblem, type ConfigProblem } from "../errors/errors.ts";
import {
  inventoryEntryLine,
  inventoryLineOf,
  makeConfigText,
} from "../../test/factories/config-text.factory.ts";
import { MAX_CONFIG_ALIAS_COUNT, MAX_CONFIG_BYTES, loadConfig, parseConfigText } from "./load-config.ts";
import { DEFAULT_MAX_RANGE_DAYS } from "../time/date-range.ts";

function problemsOf(run: () => unknown): ConfigProblem[] {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error("expected a ConfigError");
}

async function problemsOfAsync(run: () => Promise<unknown>): Promise<ConfigProblem[]> {
  const error: unknown = await run().then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(ConfigError);
  expect((error as ConfigError).code).toBe("CONFIG_INVALID");
  return (error as ConfigError).problems;
}

const VALID = makeConfigText({ entries: 2 });

describe("parseConfigText", () => {
  it("accepts a valid config and defaults policy.maxRangeDays to 400", () => {
    const config = parseConfigText(VALID, "keyproof.yaml");
    expect(config.keys).toHaveLength(2);
    expect(config.policy.maxRangeDays).toBe(DEFAULT_MAX_RANGE_DAYS);
  });

  it("reads policy.maxRangeDays and refuses a non-positive one at its line", () => {
    expect(parseConfigText(`${VALID}policy:\n  maxRangeDays: 31\n`, "k.yaml").policy.maxRangeDays).toBe(31);
    const [problem, ...rest] = problemsOf(() =>
      parseConfigText(`${VALID}policy:\n  maxRangeDays: 0\n`, "k.yaml"),
    );
    expect(rest).toEqual([]);
    expect(problem).toMatchObject({ file: "k.yaml", line: 12, field: "policy.maxRangeDays" });
  });

  it("names file, line and column of a YAML syntax error (it used to say line 0)", () => {
    const text = ["organization: acme", "sources:", "  - id: a", "    type: [unclosed", "keys: {}", ""].join(
      "\n",
    );
    const [problem, ...rest] = problemsOf(() => parseConfigText(text, "broken.yaml"));
    expect(rest).toEqual([]);
    expect(problem).toMatchObject({ file: "broken.yaml", line: 5, column: 1, field: "(yaml)" });
    expect(problem?.message).toMatch(/^Flow sequence in block collection must be sufficiently indented/);
    // The sentence only: no repeated position, no code frame.
    expect(problem?.message).not.toMatch(/at line|\n/);
    expect(formatConfigProblem(problem as ConfigProblem)).toMatch(
      /^broken\.yaml:5:1 \(yaml\): Flow sequence/,
    );
  });

  it("names line and column of a duplicate key", () => {
    const [problem] = problemsOf(() => parseConfigText(`${VALID}organization: again\n`, "dup.yaml"));
    expect(problem).toMatchObject({ file: "dup.yaml", line: 11, column: 1, field: "(yaml)" });
    expect(problem?.message).toBe("Map keys must be unique");
  });

  it("refuses an alias bomb as a config error naming the file and the first alias", () => {
    const bomb = [
      "organization: acme",
      'a: &a ["x","x","x","x","x","x","x","x","x"]',
      "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]",
      "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]",
      "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]",
      "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]",
      "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]",
      "",
    ].join("\n");
    const [problem, ...rest] = problemsOf(() => parseConfigText(bomb, "bomb.yaml"));
    expect(rest).toEqual([]);
    expect(problem).toMatchObject({ file: "bomb.yaml", line: 3, column: 8, field: "(yaml)" });
    expect(problem?.message).toContain(`alias expansion exceeds the limit of ${MAX_CONFIG_ALIAS_COUNT}`);
  });

  it("still expands a few ordinary aliases", () => {
    const text = VALID.replace("systems: [billing] }", "systems: &systems [billing] }").replace(
      /systems: \[billing\] }\n$/,
      "systems: *systems }\n",
    );
    expect(text).toContain("*systems");
    expect(parseConfigText(text, "k.yaml").keys[1]?.systems).toEqual(["billing"]);
  });

  it("checks inventory sources against the configured ones, at the entry's line", () => {
    const text = makeConfigText({
      entries: 3,
      override: (index) =>
        index === 2 ? inventoryEntryLine(index).replace("source: aws-prod", "source: aws-dev") : undefined,
    });
    const [problem, ...rest] = problemsOf(() => parseConfigText(text, "k.yaml"));
    expect(rest).toEqual([]);
    expect(problem).toMatchObject({ line: inventoryLineOf(2), field: "keys[2].source" });
    expect(problem?.message).toBe('unknown source "aws-dev"; configured sources: aws-prod');
  });

  it("refuses text over the size limit without parsing it", () => {
    const [problem] = problemsOf(() => parseConfigText(`#${"x".repeat(MAX_CONFIG_BYTES)}\n`, "big.yaml"));
    expect(problem).toMatchObject({ file: "big.yaml", line: 0, field: "(file)" });
    expect(problem?.message).toContain("over the 10 MB limit");
  });

  // Line numbers must stay right far into a large inventory. 10,000 entries show that; the time and memory
  // of 100,000 (the size the 10 MB limit allows) are figures of bench/config-validate.bench.ts, since at
  // that size this one test took 22 s of the unit tier's budget (issue 16).
  it("validates 10,000 inventory entries and reports each planted mistake at its line", () => {
    const entries = 10_000;
    const text = makeConfigText({
      entries,
      override: (index) => {
        if (index === 7_654)
          return inventoryEntryLine(index).replace("usage: data-at-rest", "usage: archive");
        if (index === 9_998) return inventoryEntryLine(index).replace(/owner: team-\d+/, 'owner: ""');
        return undefined;
      },
    });
    const problems = problemsOf(() => parseConfigText(text, "large.yaml"));
    expect(problems.map((problem) => [problem.line, problem.field])).toEqual([
      [inventoryLineOf(7_654), "keys[7654].usage"],
      [inventoryLineOf(9_998), "keys[9998].owner"],
    ]);
    expect(problems[1]?.message).toBe("name the key owner");
    // The 100,000 entries the README promises still fit under the file limit (writing them is cheap).
    expect(Buffer.byteLength(makeConfigText({ entries: 100_000 }))).toBeLessThan(MAX_CONFIG_BYTES);
  });
});

describe("loadConfig", () => {
  let directory: string;
  beforeAll(async () => {
    directory = await mkdtemp(path.join(tmpdir(), "keyproof-load-config-"));
  });
  afterAll(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  it("loads a file and resolves its directory", async () => {
    const file = path.join(directory, "keyproof.yaml");
    await writeFile(file, VALID);
    const loaded = await loadConfig(file);
    expect(loaded).toMatchObject({ file, directory });
    expect(loaded.config.organization).toBe("acme");
  });

  it("refuses a file over 10 MB before reading it, naming the file and the limit", async () => {
    const file = path.join(directory, "huge.yaml");
    await writeFile(file, `${VALID}#${"x".repeat(MAX_CONFIG_BYTES)}\n`);
    const [problem, ...rest] = await problemsOfAsync(() => loadConfig(file));
    expect(rest).toEqual([]);
    expect(problem).toMatchObject({ file, line: 0, field: "(file)" });
    expect(problem?.message).toMatch(/^is 10\.0 MB, over the 10 MB limit for a config file$/);
  });

  it("names a missing file and a directory given as the config", async () => {
    const missing = path.join(directory, "missing.yaml");
    expect(await problemsOfAsync(() => loadConfig(missing))).toEqual([
      { file: missing, line: 0, field: "(file)", message: "file not found" },
    ]);
    const folder = path.join(directory, "folder.yaml");
    await mkdir(folder);
    expect((await problemsOfAsync(() => loadConfig(folder)))[0]?.message).toBe("is not a file");
  });
});
