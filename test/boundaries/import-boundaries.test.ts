/**
 * The import-boundary rule (.dependency-cruiser.cjs) is what `npm run lint` runs. These tests run the same
 * dependency-cruiser CLI with the same config: once on the real src/ (it must pass), once on a small
 * fixture tree with deliberately wrong imports (each must be reported under its rule's name).
 */
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const depcruise = join(root, "node_modules/.bin/depcruise");
const config = join(root, ".dependency-cruiser.cjs");

interface Violation {
  rule: { name: string; severity: string };
  from: string;
  to: string;
}

/** Runs depcruise with JSON output and returns its violations; a non-zero exit means violations, not failure. */
async function cruise(cwd: string, extra: string[] = []): Promise<Violation[]> {
  const args = ["src", "--config", config, "--output-type", "json", ...extra];
  const result = await run(depcruise, args, { cwd, maxBuffer: 64 * 1024 * 1024 }).catch(
    (error: { stdout?: string; stderr?: string; code?: number }) => {
      if (typeof error.stdout === "string" && error.stdout.startsWith("{")) return { stdout: error.stdout };
      throw new Error(`depcruise did not run: ${error.stderr ?? String(error.code)}`);
    },
  );
  const output = JSON.parse(result.stdout) as { summary: { violations: Violation[] } };
  return output.summary.violations;
}

describe("import boundaries", () => {
  it("the real src/ passes the rule, as npm run lint runs it", async () => {
    const violations = await cruise(root, []);
    const errors = violations.filter((violation) => violation.rule.severity !== "ignore");
    expect(errors.map((violation) => `${violation.rule.name}: ${violation.from} → ${violation.to}`)).toEqual(
      [],
    );
  }, 120_000);

  describe("a fixture tree with deliberately wrong imports", () => {
    let fixture: string;

    async function writeSource(path: string, text: string): Promise<void> {
      await mkdir(dirname(join(fixture, path)), { recursive: true });
      await writeFile(join(fixture, path), text);
    }

    beforeAll(async () => {
      fixture = await mkdtemp(join(tmpdir(), "keyproof-boundaries-"));
      await writeFile(
        join(fixture, "tsconfig.json"),
        JSON.stringify({
          compilerOptions: {
            module: "NodeNext",
            moduleResolution: "NodeNext",
            allowImportingTsExtensions: true,
            noEmit: true,
          },
          include: ["src"],
        }),
      );
      await writeSource("src/model/key.ts", "export interface KeyRecord { keyId: string }\n");
      await writeSource(
        "src/providers/probe/probe-helper.ts",
        "export function probe(): string {\n  return 'probe';\n}\n",
      );
      // The wrong arrows under test.
      await writeSource(
        "src/checks/probe/probe.check.ts",
        'import { probe } from "../../providers/probe/probe-helper.ts";\nexport const value = probe();\n',
      );
      await writeSource(
        "src/render/probe.view-model.ts",
        'import type { KeyRecord } from "../model/key.ts";\nimport type { Job } from "../jobs/job.ts";\nexport type View = KeyRecord & Job;\n',
      );
      await writeSource("src/jobs/job.ts", "export interface Job { id: string }\n");
      await writeSource(
        "src/model/usage.ts",
        'import type { Settings } from "../config/settings.ts";\nexport type Usage = Settings;\n',
      );
      await writeSource(
        "src/config/settings.ts",
        'import { probe } from "../providers/probe/probe-helper.ts";\nexport interface Settings { name: string }\nexport const name = probe();\n',
      );
      await writeSource("src/storage/a.ts", 'import { b } from "./b.ts";\nexport const a = () => b();\n');
      await writeSource(
        "src/storage/b.ts",
        'import { a } from "./a.ts";\nexport const b = (): unknown => a;\n',
      );
      // A correct arrow, which must not be reported.
      await writeSource(
        "src/checks/probe/ok.check.ts",
        'import type { KeyRecord } from "../../model/key.ts";\nexport type Ok = KeyRecord;\n',
      );
    });

    afterAll(async () => {
      await rm(fixture, { recursive: true, force: true });
    });

    it("reports each wrong import under its rule and nothing else", async () => {
      const violations = await cruise(fixture);
      const reported = violations.map(
        (violation) => `${violation.rule.name}: ${violation.from} → ${violation.to}`,
      );
      expect(reported).toEqual(
        expect.arrayContaining([
          "judging-imports-collecting: src/checks/probe/probe.check.ts → src/providers/probe/probe-helper.ts",
          "judging-imports-collecting: src/render/probe.view-model.ts → src/jobs/job.ts",
          "model-imports-above: src/model/usage.ts → src/config/settings.ts",
          "config-imports-above: src/config/settings.ts → src/providers/probe/probe-helper.ts",
        ]),
      );
      // A cycle is reported once, at the edge where the cruise closed it.
      expect(reported.filter((line) => line.startsWith("no-circular:"))).toEqual([
        "no-circular: src/storage/a.ts → src/storage/b.ts",
      ]);
      expect(reported.some((line) => line.includes("ok.check.ts"))).toBe(false);
      expect(reported).toHaveLength(5);
    }, 120_000);
  });
});
