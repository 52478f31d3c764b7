/**
 * What users install (issue 16): `npm run build`, `npm pack`, then `npm install -g` of the tarball into a
 * temporary prefix, and the installed `keyproof` runs the compiled JavaScript: `--help`, `--version` and
 * `validate` work, templates and check metadata are found from dist/, and `--help` loads no SDK.
 *
 * The build runs in a copy of the package's files (node_modules linked), so this test never leaves a dist/
 * in the checkout (the bin would run it instead of the sources). Dependencies come from the npm cache or
 * the registry (`--prefer-offline`); puppeteer's browser download is skipped as everywhere else.
 */
import { execFile } from "node:child_process";
import { cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeConfigText } from "../factories/config-text.factory.ts";

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const PACKAGE_FILES = [
  "package.json",
  "package-lock.json",
  "tsconfig.json",
  "tsconfig.build.json",
  "README.md",
  "bin",
  "src",
  "workers",
  "templates",
  "schemas",
];
/** Modules `--help` must not load: each costs hundreds of milliseconds at every start. */
const HEAVY_PACKAGES =
  /\/node_modules\/(puppeteer|puppeteer-core|@aws-sdk|@azure|bullmq|ioredis|fastify|pdf-lib)\//;

/** The environment without npm's own variables (`npm test` exports npm_config_prefix and the like). */
function cleanEnvironment(): NodeJS.ProcessEnv {
  const environment: NodeJS.ProcessEnv = { PUPPETEER_SKIP_DOWNLOAD: "true" };
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.toLowerCase().startsWith("npm_")) environment[name] = value;
  }
  return environment;
}

let work: string;
let tarball: string;
let installed: string;
let keyproofBin: string;

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), "keyproof-package-"));
  const checkout = path.join(work, "checkout");
  await mkdir(checkout);
  for (const entry of PACKAGE_FILES) {
    await cp(path.join(ROOT, entry), path.join(checkout, entry), {
      recursive: true,
      filter: (source) => !source.endsWith(".test.ts"),
    });
  }
  await symlink(path.join(ROOT, "node_modules"), path.join(checkout, "node_modules"), "dir");
  const environment = cleanEnvironment();
  await run("npm", ["run", "build"], { cwd: checkout, env: environment, timeout: 600_000 });
  // --ignore-scripts: prepack would build a second time; the build above is the one under test.
  const packed = await run("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", work], {
    cwd: checkout,
    env: environment,
    timeout: 120_000,
  });
  const [info] = JSON.parse(packed.stdout) as Array<{ filename: string }>;
  if (info === undefined) throw new Error(`npm pack printed no file: ${packed.stdout}`);
  tarball = path.join(work, info.filename);
  const prefix = path.join(work, "prefix");
  await run(
    "npm",
    ["install", "-g", "--prefix", prefix, "--prefer-offline", "--no-audit", "--no-fund", tarball],
    { cwd: work, env: environment, timeout: 900_000 },
  );
  installed = path.join(prefix, "lib", "node_modules", "keyproof");
  keyproofBin = path.join(prefix, "bin", "keyproof");
}, 1_500_000);

afterAll(async () => {
  if (work !== undefined) await rm(work, { recursive: true, force: true });
});

describe("the packed and installed package", () => {
  it("contains the compiled JavaScript, the bin, the templates and the README, and no TypeScript or tests", async () => {
    const listing = await run("tar", ["-tzf", tarball]);
    const files = listing.stdout.split("\n").filter((line) => line !== "");
    expect(files).toContain("package/dist/src/cli/main.js");
    expect(files).toContain("package/dist/workers/bootstrap.js");
    expect(files).toContain("package/dist/src/checks/key-state-active/key-state-active.metadata.json");
    expect(files).toContain("package/bin/keyproof.js");
    expect(files).toContain("package/README.md");
    expect(files.some((file) => file.startsWith("package/templates/reports/"))).toBe(true);
    // The OSCAL schema every bundle's assessment results are validated against when written.
    expect(files).toContain("package/schemas/oscal/oscal_assessment-results_schema-1.0.6.json");
    expect(files.filter((file) => /\.ts$|\.test\.js$|\/test\//.test(file))).toEqual([]);
  });

  it("runs `keyproof --help` and `--version` from dist/", async () => {
    const help = await run(keyproofBin, ["--help"], { env: cleanEnvironment() });
    expect(help.stdout).toMatch(/^Usage: keyproof \[options\] \[command\]/);
    expect(help.stdout).toContain("validate [options]");
    const version = await run(keyproofBin, ["--version"], { env: cleanEnvironment() });
    const packageJson = JSON.parse(await readFile(path.join(ROOT, "package.json"), "utf8")) as {
      version: string;
    };
    expect(version.stdout.trim()).toBe(packageJson.version);
  });

  it("validates a sample config, and refuses a broken one with exit 2", async () => {
    const good = path.join(work, "keyproof.yaml");
    await writeFile(good, makeConfigText({ entries: 3 }));
    const valid = await run(keyproofBin, ["validate", "-c", good], { env: cleanEnvironment() });
    expect(valid.stdout).toBe(`${good}: valid (1 source(s), 3 inventory entries)\n`);

    const bad = path.join(work, "broken.yaml");
    await writeFile(bad, "organization: acme\nsources: [\n");
    const refused = await run(keyproofBin, ["validate", "-c", bad], { env: cleanEnvironment() }).then(
      () => undefined,
      (error: unknown) => error as { code: number; stderr: string },
    );
    expect(refused?.code).toBe(2);
    expect(refused?.stderr).toMatch(new RegExp(`^${bad.replaceAll(".", "\\.")}:3:1 \\(yaml\\): `));
  });

  it("finds templates and check metadata from the installed dist/", async () => {
    const script = [
      `const { TEMPLATES_DIRECTORY, TemplateLibrary } = await import(${JSON.stringify(path.join(installed, "dist/src/render/template.js"))});`,
      `const { registry } = await import(${JSON.stringify(path.join(installed, "dist/src/checks/registry.js"))});`,
      "console.log(JSON.stringify({ directory: TEMPLATES_DIRECTORY, checks: registry.map((check) => check.metadata.id) }));",
    ].join("\n");
    const result = await run(process.execPath, ["--input-type=module", "-e", script], { cwd: work });
    const found = JSON.parse(result.stdout) as { directory: string; checks: string[] };
    expect(found.directory).toBe(path.join(installed, "templates/"));
    expect(found.checks).toContain("key-state-active");
    expect(found.checks.length).toBeGreaterThan(10);
  });

  it("loads no SDK, browser or queue module for `--help`", async () => {
    const log = path.join(work, "imports.log");
    const hooks = [
      'import { appendFileSync } from "node:fs";',
      "export async function resolve(specifier, context, next) {",
      "  const result = await next(specifier, context);",
      `  appendFileSync(${JSON.stringify(log)}, result.url + "\\n");`,
      "  return result;",
      "}",
    ].join("\n");
    const register = `import { register } from "node:module"; register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(hooks)}`)});`;
    await run(
      process.execPath,
      [
        "--import",
        `data:text/javascript,${encodeURIComponent(register)}`,
        path.join(installed, "bin/keyproof.js"),
        "--help",
      ],
      { env: cleanEnvironment() },
    );
    const loaded = (await readFile(log, "utf8")).split("\n").filter((url) => url !== "");
    expect(loaded).toContain(`file://${path.join(installed, "dist/src/cli/main.js")}`);
    expect(loaded.filter((url) => HEAVY_PACKAGES.test(url))).toEqual([]);
  });
});
