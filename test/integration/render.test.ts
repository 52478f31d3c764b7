import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { keyAccessPolicyPath, keyConfigurationPath } from "../../src/evidence/paths.ts";
import {
  EVIDENCE_INDEX_PATH,
  FINDINGS_REPORT_PATH,
  KEY_INVENTORY_REPORT_PATH,
  KEY_MANAGEMENT_PROCEDURE_PATH,
  USAGE_SUMMARY_REPORT_PATH,
  keyAccessPolicyScreenshotPath,
  keyConfigurationScreenshotPath,
  loggingConfigurationScreenshotPath,
} from "../../src/render/artifact-paths.ts";
import { BrowserPool } from "../../src/render/browser-pool.ts";
import { computeContentDigest } from "../../src/render/content-digest.ts";
import { compareImages, decodePng } from "../../src/render/png-image.ts";
import { screenshotHtml } from "../../src/render/render-html.ts";
import { renderEvidence, renderScreenshots, type RenderResult } from "../../src/render/render-evidence.ts";
import {
  AWS_KEY_ID,
  AWS_LEGACY_KEY_ID,
  AWS_SIGNING_KEY_ID,
  AZURE_KEY_ID,
  AZURE_VAULT,
  FIXTURE_SIGNER_KEY_ID,
  HUMAN_PRINCIPAL,
  VAULT_KEY_ID,
  buildFixtureRenderInput,
  buildSyntheticSnapshot,
} from "../fixtures/render/render-fixture.ts";
import { readKeyedCells, readPdfLines } from "../support/pdf-words.ts";

/**
 * The render step against real Chromium, read back with real tools: pdftotext for the PDFs, tesseract for
 * the PNGs, a pixel comparison for the layout. Goldens live in test/fixtures/render/; regenerate them with
 * KEYPROOF_UPDATE_GOLDEN=1 after an intended layout change, and look at the new images before committing.
 */

const run = promisify(execFile);
const GOLDEN_DIRECTORY = fileURLToPath(new URL("../fixtures/render/", import.meta.url));
const UPDATE_GOLDEN = process.env.KEYPROOF_UPDATE_GOLDEN === "1";
/** Share of pixels allowed to differ beyond antialiasing noise: a moved panel or changed line is far more. */
const GOLDEN_TOLERANCE = 0.005;

/** `layout` keeps table rows on one line; reading order (the default) keeps a wrapped cell's text together. */
async function pdfText(file: string, mode: "layout" | "reading" = "layout"): Promise<string> {
  const { stdout } = await run("pdftotext", [...(mode === "layout" ? ["-layout"] : []), file, "-"], {
    maxBuffer: 64 * 1024 * 1024,
  });
  return stdout;
}

const ocrResults = new Map<string, Promise<string>>();

/** Raw OCR output, once per file: several tests read the same picture and tesseract takes seconds. */
function ocrRaw(file: string): Promise<string> {
  let result = ocrResults.get(file);
  if (result === undefined) {
    result = run("tesseract", [file, "stdout"], { maxBuffer: 16 * 1024 * 1024 }).then(({ stdout }) => stdout);
    ocrResults.set(file, result);
  }
  return result;
}

/** Normalized OCR output: tesseract splits `0000 -4000`, merges words and reads a chip's border as "(". */
async function ocrText(file: string): Promise<string> {
  return normalize(await ocrRaw(file));
}

/** Letters and digits only, lower case: compares text regardless of spacing, wrapping and punctuation noise. */
function normalize(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, "");
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}

/**
 * Asserts `identifier` appears in `text` (pdftotext reading order) and is never broken mid-word: a line
 * break inside it may only follow one of `/ : - .` (or replace a space, where `spaces` allows it).
 */
function expectUnbroken(text: string, identifier: string, options: { spaces?: boolean } = {}): void {
  const characters = [...identifier];
  // A space may have become a line break: found either way, then judged by `allowed`.
  const anywhere = new RegExp(
    characters.map((character) => (character === " " ? "\\s" : escapeRegExp(character))).join("\\s*"),
    "g",
  );
  const allowed = new RegExp(
    characters
      .map((character, index) => {
        if (character === " ") return options.spaces === true ? "\\s+" : " ";
        const last = index === characters.length - 1;
        return escapeRegExp(character) + (!last && "/:-.".includes(character) ? "\\s*" : "");
      })
      .join(""),
    "g",
  );
  const found = text.match(anywhere)?.length ?? 0;
  expect(found, `${identifier} is missing`).toBeGreaterThan(0);
  expect(text.match(allowed)?.length ?? 0, `${identifier} is broken mid-word`).toBe(found);
}

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

async function listFiles(directory: string): Promise<string[]> {
  const entries = await readdir(directory, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => relative(directory, join(entry.parentPath, entry.name)).split(sep).join("/"))
    .sort();
}

describe("renderEvidence", () => {
  let pool: BrowserPool;
  let directory: string;
  let result: RenderResult;
  let exportDigests: Map<string, string>;

  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), "keyproof-render-"));
    pool = new BrowserPool({ size: 2 });
    const input = await buildFixtureRenderInput(directory);
    exportDigests = input.exportDigests;
    result = await renderEvidence(input, directory, pool);
  });

  afterAll(async () => {
    await pool?.close();
    if (directory !== undefined && process.env["KEYPROOF_KEEP_RENDER"] === undefined)
      await rm(directory, { recursive: true, force: true });
  });

  it("writes a configuration and an access screenshot per key, a logging screenshot per location, and five PDFs", async () => {
    const expected = [
      keyConfigurationScreenshotPath("aws-prod", "eu-west-1", AWS_KEY_ID),
      keyAccessPolicyScreenshotPath("aws-prod", "eu-west-1", AWS_KEY_ID),
      keyConfigurationScreenshotPath("aws-prod", "eu-west-1", AWS_LEGACY_KEY_ID),
      keyAccessPolicyScreenshotPath("aws-prod", "eu-west-1", AWS_LEGACY_KEY_ID),
      keyConfigurationScreenshotPath("aws-prod", "eu-west-1", AWS_SIGNING_KEY_ID),
      keyAccessPolicyScreenshotPath("aws-prod", "eu-west-1", AWS_SIGNING_KEY_ID),
      keyConfigurationScreenshotPath("azure-prod", AZURE_VAULT, AZURE_KEY_ID),
      keyAccessPolicyScreenshotPath("azure-prod", AZURE_VAULT, AZURE_KEY_ID),
      keyConfigurationScreenshotPath("vault-prod", "transit", VAULT_KEY_ID),
      keyAccessPolicyScreenshotPath("vault-prod", "transit", VAULT_KEY_ID),
      loggingConfigurationScreenshotPath("aws-prod", "eu-west-1"),
      loggingConfigurationScreenshotPath("azure-prod", AZURE_VAULT),
      loggingConfigurationScreenshotPath("vault-prod", "transit"),
      FINDINGS_REPORT_PATH,
      KEY_INVENTORY_REPORT_PATH,
      KEY_MANAGEMENT_PROCEDURE_PATH,
      USAGE_SUMMARY_REPORT_PATH,
      EVIDENCE_INDEX_PATH,
    ];
    expect(result.files.map((file) => file.path).sort()).toEqual([...expected].sort());
    expect(expected[0]).toBe(
      `screenshots/sources/aws-prod/eu-west-1/keys/${AWS_KEY_ID}/key-configuration.png`,
    );
    expect(expected[6]).toBe(
      "screenshots/sources/azure-prod/kp-prod.vault.azure.net/keys/kp-prod.vault.azure.net_keys_orders-cmk/key-configuration.png",
    );
    for (const file of result.files) {
      const bytes = await readFile(join(directory, file.path));
      expect(sha256(bytes), file.path).toBe(file.sha256);
      expect(bytes.byteLength).toBe(file.bytes);
    }
    const leftovers = (await listFiles(directory)).filter((path) => path.endsWith(".partial"));
    expect(leftovers).toEqual([]);
  });

  describe("PDF reports (read back with pdftotext)", () => {
    it("findings report: key ids, statuses, dates, risk, remediation, SOC 2 mapping and evidence pointers, numbered pages", async () => {
      const text = await pdfText(join(directory, FINDINGS_REPORT_PATH));
      const reading = await pdfText(join(directory, FINDINGS_REPORT_PATH), "reading");
      for (const keyId of [AWS_KEY_ID, AWS_LEGACY_KEY_ID, VAULT_KEY_ID, AZURE_KEY_ID])
        expectUnbroken(reading, keyId);
      expect(text).toContain("FAIL");
      expect(text).toContain("PASS");
      expectUnbroken(reading, "2026-01-15 10:00:00 UTC", { spaces: true });
      expect(normalize(text)).toContain(normalize("automatic key rotation is disabled"));
      expect(normalize(text)).toContain(
        normalize(`1 human user can use or administer the key: ${HUMAN_PRINCIPAL} (kms:Decrypt via grant`),
      );
      expect(text).toContain("CC6.1");
      expectUnbroken(reading, keyAccessPolicyPath("aws-prod", "eu-west-1", AWS_KEY_ID));
      // Open findings lead; passes follow as one compact row each.
      expect(text.indexOf("Open findings (")).toBeLessThan(text.indexOf("Passed and not applicable ("));
      expect(text.indexOf("High (")).toBeLessThan(text.indexOf("Passed and not applicable ("));
      const pages = Number(/Page 1 of (\d+)/.exec(text)?.[1]);
      expect(pages).toBeGreaterThanOrEqual(1);
      for (let page = 1; page <= pages; page++) expect(text).toContain(`Page ${page} of ${pages}`);
      expect(text).toContain("generated 2026-10-01 09:00 UTC");
    });

    it("findings report: changes during the period, per location, before the comparison with the previous bundle", async () => {
      const text = normalize(await pdfText(join(directory, FINDINGS_REPORT_PATH)));
      const section = text.indexOf(normalize("Changes during the period"));
      expect(section).toBeGreaterThan(-1);
      const sincePrevious = text.indexOf(normalize("Since the previous bundle"));
      expect(section).toBeLessThan(sincePrevious);
      // The fixture's three locations logged no administrative event; the lists and verdicts of a location
      // with changes are covered by changes-during-period.view-model.test.ts.
      const changes = text.slice(section, sincePrevious);
      for (const where of ["aws-prod / eu-west-1", `azure-prod / ${AZURE_VAULT}`, "vault-prod / transit"])
        expect(changes).toContain(normalize(where));
      expect(changes.split(normalize("No administrative event was logged in the period.")).length - 1).toBe(
        3,
      );
    });

    it("findings report: no page but the last is less than half full", async () => {
      const pages = (await pdfText(join(directory, FINDINGS_REPORT_PATH)))
        .split("\f")
        .filter((page) => page.trim() !== "");
      // The fixture's open findings fill several pages: a one-page report would prove nothing here.
      expect(pages.length).toBeGreaterThan(1);
      const heights = pages.map((page) => page.split("\n").filter((line) => line.trim() !== "").length);
      const fullest = Math.max(...heights);
      for (const [index, height] of heights.slice(0, -1).entries())
        expect(height, `page ${index + 1} of ${heights.length}`).toBeGreaterThanOrEqual(fullest / 2);
    });

    it("no report shows markdown, a local file path, or an identifier broken mid-word", async () => {
      for (const path of [
        FINDINGS_REPORT_PATH,
        KEY_INVENTORY_REPORT_PATH,
        KEY_MANAGEMENT_PROCEDURE_PATH,
        USAGE_SUMMARY_REPORT_PATH,
        EVIDENCE_INDEX_PATH,
      ]) {
        const reading = await pdfText(join(directory, path), "reading");
        expect(reading, path).not.toContain("`");
        expect(reading, path).not.toContain(".pem");
        expect(reading, path).not.toContain(directory);
      }
      const inventory = await pdfText(join(directory, KEY_INVENTORY_REPORT_PATH), "reading");
      for (const keyId of [AWS_KEY_ID, AWS_LEGACY_KEY_ID, AWS_SIGNING_KEY_ID, VAULT_KEY_ID, AZURE_KEY_ID])
        expectUnbroken(inventory, keyId);
      // Phrases may wrap between their words, never inside one.
      for (const word of ["Enabled", "Not enabled", "NO OWNER DOCUMENTED", "2025-01-15"])
        expectUnbroken(inventory, word, { spaces: true });
      const procedure = await pdfText(join(directory, KEY_MANAGEMENT_PROCEDURE_PATH), "reading");
      for (const tool of [
        "AWS CloudTrail",
        "Azure Monitor diagnostic settings",
        "Vault audit devices",
        "Azure Log Analytics (AuditEvent)",
        "CloudTrail log files in Amazon S3",
      ])
        expectUnbroken(procedure, tool);
      expectUnbroken(procedure, FIXTURE_SIGNER_KEY_ID);
    });

    it("key inventory: every key with owner, usage and systems; missing owners and stray entries shown", async () => {
      const text = await pdfText(join(directory, KEY_INVENTORY_REPORT_PATH));
      const keyLineEnds = new Map([
        [AWS_KEY_ID, "2025-01-15"],
        [AWS_LEGACY_KEY_ID, "2021-03-02"],
        [AWS_SIGNING_KEY_ID, "2025-01-15"],
        [AZURE_KEY_ID, "2025-06-01"],
        [VAULT_KEY_ID, "2025-09-10"],
      ]);
      const cells = readKeyedCells(
        await readPdfLines(join(directory, KEY_INVENTORY_REPORT_PATH)),
        ["State", "Rotation", "Owner", "Usage", "Systems"],
        keyLineEnds,
      );
      const expected: Record<string, string[]> = {
        [AWS_KEY_ID]: [
          "Enabled",
          "Enabled",
          "jane.doe@example.com",
          "Data at rest",
          "payments-db, payments-api",
        ],
        [AWS_LEGACY_KEY_ID]: [
          "Enabled",
          "Not enabled",
          "NO OWNER DOCUMENTED no inventory entry names this key, so it has no documented owner",
          "",
          "",
        ],
        [AWS_SIGNING_KEY_ID]: [
          "Enabled",
          "Not applicable asymmetric key (RSA_2048): AWS KMS cannot rotate asymmetric keys automatically",
          "jane.doe@example.com",
          "Application-level encryption",
          "statement-export",
        ],
        [AZURE_KEY_ID]: ["Enabled", "Enabled", "omar.khan@example.com", "Data at rest", "orders-sql"],
        [VAULT_KEY_ID]: [
          "Enabled",
          "Enabled",
          "li.wei@example.com",
          "Application-level encryption",
          "payments-tokenizer",
        ],
      };
      expect([...cells.keys()].sort()).toEqual([...keyLineEnds.keys()].sort());
      for (const [keyId, row] of cells)
        expect(row.map(normalize), keyId).toEqual(expected[keyId]!.map(normalize));
      expect(text).toContain("alias/retired-key");
      expect(text).toContain("5 keys discovered; 4 have an owner");
    });

    it("procedure: tools in use, lifecycle, roles, and a review date one year after capture", async () => {
      const text = await pdfText(join(directory, KEY_MANAGEMENT_PROCEDURE_PATH));
      expect(text).toContain("Review date: 2027-10-01");
      for (const tool of [
        "AWS KMS",
        "Azure Key Vault",
        "HashiCorp Vault",
        "AWS CloudTrail",
        "Azure Monitor diagnostic settings",
        "Vault audit devices",
      ]) {
        expect(text).toContain(tool);
      }
      for (const heading of ["Creating keys", "Rotating keys", "Revoking access and keys", "Deleting keys"])
        expect(text).toContain(heading);
      expect(text).toContain("ScheduleKeyDeletion");
      expect(text).toContain("Engineering Lead");
      expect(text).toContain("Security Analyst");
      expect(text).toContain("on for 1 of 3 customer-managed keys");
      expect(text).toContain("key-rotation-enabled: 1 pass, 1 fail, 1 not applicable");
    });

    it("usage summary: events by key, by action and by principal, with a daily chart whose labels are text", async () => {
      const text = await pdfText(join(directory, USAGE_SUMMARY_REPORT_PATH));
      expect(text).toContain("4,330 key usage and administration events");
      expect(text).toContain(AWS_KEY_ID);
      expect(text).toContain("Decrypt");
      expect(text).toContain("UnwrapKey");
      expect(text).toContain(HUMAN_PRINCIPAL);
      expect(text).toContain("Key events per day, 2026-Q3");
      expect(text).toContain("2026-08-01");
      expect(text).toContain("3f2a9c1e-payments-identity");
    });

    it("evidence index: cover facts, and every other artifact with the digest of its bytes", async () => {
      const text = await pdfText(join(directory, EVIDENCE_INDEX_PATH));
      const normalized = normalize(await pdfText(join(directory, EVIDENCE_INDEX_PATH), "reading"));
      for (const fact of ["Example Corp", "2026-Q3", "run-2026q3-0001", "2026-10-01 09:00:00 UTC"]) {
        expect(text).toContain(fact);
      }
      // The signer by key id and fingerprint; the key file's path stays on the machine that signed.
      expect(normalized).toContain(normalize(`local Ed25519 key ${FIXTURE_SIGNER_KEY_ID}`));
      expect(normalized).toContain(normalize(`fingerprint ${FIXTURE_SIGNER_KEY_ID.slice("local:".length)}`));
      const files = (await listFiles(directory)).filter((path) => path !== EVIDENCE_INDEX_PATH);
      const digests = await Promise.all(
        files.map(async (path) => ({ path, sha256: sha256(await readFile(join(directory, path))) })),
      );
      for (const file of digests) {
        expect(normalized, file.path).toContain(normalize(file.path));
        expect(normalized, file.path).toContain(file.sha256);
      }
      // Recomputed here from the files, the way an auditor would with sha256sum.
      const lines = digests
        .map((file) => `${file.path} ${file.sha256}\n`)
        .sort()
        .join("");
      const contentDigest = sha256(Buffer.from(lines));
      expect(contentDigest).toBe(computeContentDigest(digests));
      expect(normalized).toContain(contentDigest);
      expect(text).toContain("Why this is not the manifest digest");
      // The JSON exports written before rendering are listed with the digests the banners show.
      for (const [path, digest] of exportDigests) expect(digests).toContainEqual({ path, sha256: digest });
    });

    it("produces the same report bytes when rendered again from the same input", async () => {
      const again = await mkdtemp(join(tmpdir(), "keyproof-render-again-"));
      try {
        const input = await buildFixtureRenderInput(again);
        const second = await renderEvidence(input, again, pool);
        const digestOf = (files: RenderResult["files"], path: string): string | undefined =>
          files.find((file) => file.path === path)?.sha256;
        for (const path of [
          FINDINGS_REPORT_PATH,
          KEY_INVENTORY_REPORT_PATH,
          KEY_MANAGEMENT_PROCEDURE_PATH,
          USAGE_SUMMARY_REPORT_PATH,
          EVIDENCE_INDEX_PATH,
        ]) {
          expect(digestOf(second.files, path), path).toBe(digestOf(result.files, path));
        }
        expect(
          digestOf(second.files, keyConfigurationScreenshotPath("aws-prod", "eu-west-1", AWS_KEY_ID)),
        ).toBe(digestOf(result.files, keyConfigurationScreenshotPath("aws-prod", "eu-west-1", AWS_KEY_ID)));
      } finally {
        await rm(again, { recursive: true, force: true });
      }
    });
  });

  describe("screenshots (read back with tesseract)", () => {
    it.each([
      { source: "aws-prod", location: "eu-west-1", keyId: AWS_KEY_ID, rotation: "Enabled" },
      { source: "aws-prod", location: "eu-west-1", keyId: AWS_LEGACY_KEY_ID, rotation: "Not enabled" },
      { source: "vault-prod", location: "transit", keyId: VAULT_KEY_ID, rotation: "Enabled" },
      { source: "azure-prod", location: AZURE_VAULT, keyId: AZURE_KEY_ID, rotation: "Enabled" },
    ])(
      "$keyId shows its key id, rotation status ($rotation) and the capture time",
      async ({ source, location, keyId, rotation }) => {
        const text = await ocrText(join(directory, keyConfigurationScreenshotPath(source, location, keyId)));
        expect(text).toContain(normalize(keyId));
        expect(text).toContain(normalize(`Automatic rotation: ${rotation}`));
        expect(text).toContain(normalize("Captured 2026-10-01 08:00:00 UTC"));
        // tesseract reads the banner's small monospace "0001" as "0601" on some layouts; the run id is
        // asserted exactly in the PDFs (pdftotext) and the view models, here the banner's line is what counts.
        expect(text).toMatch(new RegExp(`${normalize("run-2026q3-")}[06]{3}1`));
      },
    );

    it("the access-policy screenshot names the flagged human principal and the finding", async () => {
      const text = await ocrText(
        join(directory, keyAccessPolicyScreenshotPath("aws-prod", "eu-west-1", AWS_KEY_ID)),
      );
      expect(text).toContain(normalize(AWS_KEY_ID));
      expect(text).toContain(normalize("Human users cannot use or administer keys directly"));
      expect(text).toContain(normalize("user/alice (kms:Decrypt via grant"));
      expect(text).toContain(normalize("Captured 2026-10-01 08:00:00 UTC"));
    });

    it("the asymmetric AWS key headlines rotation as not applicable, with the reason, never as not enabled", async () => {
      const text = await ocrText(
        join(directory, keyConfigurationScreenshotPath("aws-prod", "eu-west-1", AWS_SIGNING_KEY_ID)),
      );
      // Hex read back by OCR: the usual confusions (O for 0, l or I for 1) are folded before comparing.
      const folded = (value: string): string => value.replace(/o/g, "0").replace(/[li]/g, "1");
      expect(folded(text)).toContain(folded(normalize(AWS_SIGNING_KEY_ID)));
      expect(text).toContain(normalize("Automatic rotation: Not applicable"));
      expect(text).toContain(normalize("AWS KMS cannot rotate asymmetric keys automatically"));
      expect(text).not.toContain(normalize("Not enabled"));
    });

    it("the AWS logging screenshot shows 90-day retention under a failing retention headline, never as passing", async () => {
      const text = await ocrText(
        join(directory, loggingConfigurationScreenshotPath("aws-prod", "eu-west-1")),
      );
      expect(text).toContain(normalize("Log retention: Retention too short"));
      expect(text).toContain(
        normalize("key events are kept for less than the required 365 days (org-trail: 90 days)"),
      );
      expect(text).toContain(normalize("90 days"));
      expect(text).not.toContain(normalize("Retention sufficient"));
      // The colours (red headline, neutral 90-day cell) are held by the golden aws-logging-configuration.png.
    });

    it("no screenshot shows a local file path", async () => {
      const pictures = result.files.filter((file) => file.path.endsWith(".png"));
      expect(pictures).toHaveLength(5 * 2 + 3);
      for (const picture of pictures) {
        const text = await ocrRaw(join(directory, picture.path));
        expect(text.length, picture.path).toBeGreaterThan(200);
        for (const path of [directory, "/tmp/", "/work/", ".pem", process.cwd()])
          expect(text, `${picture.path} shows ${path}`).not.toContain(path);
      }
    }, 180_000);

    it("the logging screenshot shows the audit devices and the banner", async () => {
      const text = await ocrText(
        join(directory, loggingConfigurationScreenshotPath("vault-prod", "transit")),
      );
      expect(text).toContain(normalize("Audit devices"));
      expect(text).toContain(normalize("1 of 2 audit device(s) active and recording key events"));
      expect(text).toContain(normalize("Captured 2026-10-01 08:00:00 UTC"));
    });

    it.each([
      {
        golden: "aws-key-configuration.png",
        path: keyConfigurationScreenshotPath("aws-prod", "eu-west-1", AWS_KEY_ID),
      },
      {
        golden: "aws-access-policy.png",
        path: keyAccessPolicyScreenshotPath("aws-prod", "eu-west-1", AWS_KEY_ID),
      },
      {
        golden: "azure-key-configuration.png",
        path: keyConfigurationScreenshotPath("azure-prod", AZURE_VAULT, AZURE_KEY_ID),
      },
      {
        golden: "vault-key-configuration.png",
        path: keyConfigurationScreenshotPath("vault-prod", "transit", VAULT_KEY_ID),
      },
      {
        golden: "vault-logging-configuration.png",
        path: loggingConfigurationScreenshotPath("vault-prod", "transit"),
      },
      {
        golden: "aws-logging-configuration.png",
        path: loggingConfigurationScreenshotPath("aws-prod", "eu-west-1"),
      },
      {
        golden: "aws-asymmetric-key-configuration.png",
        path: keyConfigurationScreenshotPath("aws-prod", "eu-west-1", AWS_SIGNING_KEY_ID),
      },
    ])("matches the golden image $golden", async ({ golden, path }) => {
      const actualBytes = await readFile(join(directory, path));
      const goldenFile = join(GOLDEN_DIRECTORY, golden);
      if (UPDATE_GOLDEN) await writeFile(goldenFile, actualBytes);
      expect(
        existsSync(goldenFile),
        `${goldenFile} is missing; run with KEYPROOF_UPDATE_GOLDEN=1 to create it`,
      ).toBe(true);
      const actual = decodePng(actualBytes);
      const expected = decodePng(await readFile(goldenFile));
      const difference = compareImages(actual, expected);
      expect(
        difference.sameSize,
        `size ${actual.width}x${actual.height}, golden ${expected.width}x${expected.height}`,
      ).toBe(true);
      expect(difference.ratio).toBeLessThanOrEqual(GOLDEN_TOLERANCE);
    });

    it.each([
      {
        export: keyConfigurationPath("aws-prod", "eu-west-1", AWS_KEY_ID),
        picture: keyConfigurationScreenshotPath("aws-prod", "eu-west-1", AWS_KEY_ID),
      },
      {
        export: keyAccessPolicyPath("aws-prod", "eu-west-1", AWS_KEY_ID),
        picture: keyAccessPolicyScreenshotPath("aws-prod", "eu-west-1", AWS_KEY_ID),
      },
      {
        export: "sources/vault-prod/transit/logging.json",
        picture: loggingConfigurationScreenshotPath("vault-prod", "transit"),
      },
    ])("the banner of $picture carries the digest of $export", async ({ export: exportPath, picture }) => {
      const digest = exportDigests.get(exportPath);
      expect(digest).toMatch(/^[0-9a-f]{64}$/);
      // Hex read back by OCR: the usual confusions (O for 0, l or I for 1) are folded before comparing.
      const text = (await ocrText(join(directory, picture))).replace(/o/g, "0").replace(/[li]/g, "1");
      expect(text).toContain(`sha256${digest}`);
    });
  });
});

describe("BrowserPool", () => {
  let pool: BrowserPool;
  beforeAll(() => {
    pool = new BrowserPool({ size: 2, pageTimeoutMs: 15_000 });
  });
  afterAll(async () => {
    await pool?.close();
  });

  it("finishes the job in flight when the browser process is killed mid-job", async () => {
    await pool.start();
    const before = pool.stats();
    let attempts = 0;
    const png = await pool.run(async (page) => {
      attempts += 1;
      if (attempts === 1) {
        const pid = pool.browserProcessId();
        expect(pid).toBeTypeOf("number");
        process.kill(pid as number, "SIGKILL");
      }
      await page.setContent("<p style='font: 20px DejaVu Sans'>after the crash</p>");
      return page.screenshot({ type: "png" });
    }, "crash test");
    expect(attempts).toBe(2);
    expect(decodePng(png).width).toBe(1280);
    const after = pool.stats();
    expect(after.launches).toBe(before.launches + 1);
    expect(after.retries).toBe(before.retries + 1);
  });

  it("finishes the job in flight when the page's renderer crashes", async () => {
    const before = pool.stats();
    let attempts = 0;
    const title = await pool.run(async (page) => {
      attempts += 1;
      await page.setContent("<title>rendered</title>");
      if (attempts === 1) {
        const session = await page.createCDPSession();
        // Page.crash never answers: the renderer is gone. Not awaited; the pool notices the crash.
        session.send("Page.crash").catch(() => undefined);
        await new Promise((resolve) => setTimeout(resolve, 30_000));
      }
      return page.title();
    }, "renderer crash test");
    expect(title).toBe("rendered");
    expect(attempts).toBe(2);
    expect(pool.stats().retries).toBe(before.retries + 1);
    expect(pool.stats().launches).toBe(before.launches);
  });

  it("loses no screenshot when the browser is killed in the middle of a batch", async () => {
    const directory = await mkdtemp(join(tmpdir(), "keyproof-render-crash-"));
    try {
      const snapshot = buildSyntheticSnapshot(12);
      const input = await buildFixtureRenderInput(directory, snapshot);
      const before = pool.stats();
      const killer = (async () => {
        // Kill once the batch is under way: after the first screenshot lands.
        while (!(await listFiles(directory)).some((path) => path.endsWith(".png")))
          await new Promise((resolve) => setTimeout(resolve, 10));
        const pid = pool.browserProcessId();
        if (pid !== undefined) process.kill(pid, "SIGKILL");
      })();
      const files = await renderScreenshots(input, directory, pool);
      await killer;
      expect(files).toHaveLength(12 * 2 + 3);
      for (const file of files)
        expect(decodePng(await readFile(join(directory, file.path))).width, file.path).toBe(1280);
      expect(pool.stats().launches).toBeGreaterThan(before.launches);
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });

  it("fails a job that outlives the page timeout and stays usable", async () => {
    const quick = new BrowserPool({ size: 1, pageTimeoutMs: 500 });
    try {
      await expect(quick.run(() => new Promise<never>(() => undefined), "hanging job")).rejects.toMatchObject(
        {
          name: "KeyproofError",
          message: expect.stringContaining("hanging job took longer than 500 ms"),
        },
      );
      expect(await quick.run(async (page) => page.evaluate("1 + 1"))).toBe(2);
    } finally {
      await quick.close();
    }
  });

  it("lets no request or connection leave the browser", async () => {
    let connections = 0;
    const requested: string[] = [];
    const server: Server = createServer((request, response) => {
      requested.push(request.url ?? "");
      response.end("x");
    });
    server.on("connection", () => {
      connections += 1;
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const address = server.address();
    const origin = `http://127.0.0.1:${typeof address === "object" && address !== null ? address.port : 0}`;
    try {
      const before = pool.stats().blockedRequests.length;
      // Deliberately hostile markup, without the templates' Content-Security-Policy, to test the pool's own guards.
      const html = `<html><head>
        <link rel="preconnect" href="${origin}"><link rel="dns-prefetch" href="//example.com">
        <link rel="stylesheet" href="${origin}/style.css">
        <style>@import url("${origin}/import.css"); body { background: url("${origin}/background.png"); }
        @font-face { font-family: Remote; src: url("${origin}/font.woff2"); } p { font-family: Remote; }</style>
        </head><body><p>x</p><img src="${origin}/image.png"><img src="https://example.com/remote.png"><iframe src="${origin}/frame"></iframe>
        <script src="${origin}/script.js"></script><script>fetch("${origin}/fetch"); new WebSocket("${origin.replace("http", "ws")}/socket");</script>
        </body></html>`;
      await screenshotHtml(pool, html, "network guard test");
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(requested).toEqual([]);
      expect(connections).toBe(0);
      const blocked = pool.stats().blockedRequests.slice(before);
      expect(blocked).toEqual(
        expect.arrayContaining([
          `${origin}/style.css`,
          `${origin}/image.png`,
          "https://example.com/remote.png",
        ]),
      );
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("renders provider data as text, never as markup", async () => {
    let connections = 0;
    const server: Server = createServer((_, response) => response.end("x"));
    server.on("connection", () => {
      connections += 1;
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const address = server.address();
    const port = typeof address === "object" && address !== null ? address.port : 0;
    const directory = await mkdtemp(join(tmpdir(), "keyproof-render-hostile-"));
    try {
      const snapshot = buildSyntheticSnapshot(1);
      const key = snapshot.sources[0]?.locations[0]?.keys[0];
      if (key === undefined) throw new Error("fixture has no key");
      key.description = `<img src="http://127.0.0.1:${port}/leak.png"><b>bold</b>`;
      const input = await buildFixtureRenderInput(directory, snapshot);
      const before = pool.stats().blockedRequests.length;
      const [configuration] = await renderScreenshots(input, directory, pool);
      expect(pool.stats().blockedRequests.slice(before)).toEqual([]);
      expect(connections).toBe(0);
      const text = await ocrText(join(directory, configuration?.path ?? ""));
      expect(text).toContain(normalize("<b>bold</b>"));
    } finally {
      await new Promise((resolve) => server.close(resolve));
      await rm(directory, { recursive: true, force: true });
    }
  });
});
