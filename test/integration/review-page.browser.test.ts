/**
 * The annual review page (issue #12) in Debian's Chromium against the real API server on real Redis: a
 * reviewer filters and bulk-decides, writes a note and a ticket, a second browser's stale write is refused
 * and shown with the current value, sign-off is refused while items are undecided (listing them), then
 * signs; the signed review is read-only in the page and through the API. Auditors and operators can
 * neither decide nor sign.
 *
 * The review is created directly in the review store (as `POST /v1/reviews` would from a sealed bundle),
 * so the test does not depend on a prior evidence run; everything after that goes through the page.
 */
import { execFile } from "node:child_process";
import { createPublicKey } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import type { FastifyInstance } from "fastify";
import puppeteer, { type Browser, type BrowserContext, type Page } from "puppeteer";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApiServer } from "../../src/api/api-server.ts";
import { REVIEW_PAGE_CSP } from "../../src/api/review-page/review-page.routes.ts";
import { ApiTokenStore } from "../../src/auth/api-tokens.ts";
import type { Config } from "../../src/config/config.schema.ts";
import { QueueClient } from "../../src/jobs/queue/queue-client.ts";
import { startWorkerRuntime, type WorkerRuntime } from "../../src/jobs/queue/worker-runtime.ts";
import type { ReviewDecision, ReviewItem, ReviewRecord } from "../../src/model/review.ts";
import { CHROMIUM_ARGS } from "../../src/render/browser-pool.ts";
import { newReviewId } from "../../src/review/review-service.ts";
import { ReviewStore } from "../../src/review/review-store.ts";
import {
  cleanupPrefix,
  prepareEstate,
  REDIS_URL,
  removeDirectory,
  uniquePrefix,
  type TestEstate,
} from "./queue-harness.ts";
import { runCli } from "../support/cli.ts";

const execFileAsync = promisify(execFile);
const TEST_TIMEOUT_MS = 120_000;
const WAIT_MS = 30_000;

const prefix = uniquePrefix("review-page");
let setup: TestEstate | undefined;
let client: QueueClient | undefined;
let app: FastifyInstance | undefined;
let browser: Browser | undefined;
/** A render worker: it seals signed reviews (their PDF needs its browser). */
let runtime: WorkerRuntime | undefined;
let baseUrl = "";
let store: ReviewStore;
const reviewId = newReviewId(2026);
const token = { ana: "", bo: "", auditor: "", operator: "" };
const ANA = "Ana (Security Analyst)";
const BO = "Bo (Security Engineer)";

/** Three keys over two sources, and a logging item without a key: grants `pass`, the rest `fail`. */
function grant(id: string, source: string, location: string, keyId: string, principal: string): ReviewItem {
  return {
    id,
    kind: "grant",
    source,
    location,
    keyId,
    resource: `arn:aws:kms:${location}:111122223333:key/${keyId}`,
    title: `${principal} may decrypt with ${keyId}`,
    status: "pass",
    grant: {
      principal: `arn:aws:iam::111122223333:role/${principal}`,
      principalType: "role",
      actions: ["kms:Decrypt", "kms:GenerateDataKey"],
      effect: "allow",
      via: "key-policy",
      reference: `Allow ${principal}`,
    },
    evidence: [`exports/${source}/${location}/${keyId}/key-policy.json`],
  };
}

function judged(
  id: string,
  kind: "rotation" | "finding" | "logging",
  source: string,
  location: string,
  keyId: string | undefined,
  title: string,
): ReviewItem {
  return {
    id,
    kind,
    source,
    location,
    ...(keyId === undefined ? {} : { keyId }),
    resource:
      keyId === undefined ? `${source}/${location}` : `arn:aws:kms:${location}:111122223333:key/${keyId}`,
    title,
    status: "fail",
    checkId: kind === "logging" ? "key-usage-logging-enabled" : "key-rotation-enabled",
    evidence: [`findings/${id}.json`],
  };
}

const ITEMS: ReviewItem[] = [
  grant("g1", "aws-prod", "eu-west-1", "key-a", "app-payments"),
  grant("g2", "aws-prod", "eu-west-1", "key-a", "app-billing"),
  judged("r1", "rotation", "aws-prod", "eu-west-1", "key-a", "key-a rotates yearly"),
  grant("g3", "aws-prod", "eu-west-1", "key-b", "app-reports"),
  judged("f1", "finding", "aws-prod", "eu-west-1", "key-b", "key-b is not rotated"),
  judged("l1", "logging", "aws-prod", "eu-west-1", undefined, "CloudTrail logs KMS use in eu-west-1"),
  grant("g4", "vault-main", "transit", "key-c", "ci-deployer"),
  judged("f2", "finding", "vault-main", "transit", "key-c", "key-c has no rotation period"),
  // Markup in provider data must show as text, never run.
  grant("g5", "vault-main", "transit", "key-c", '<img src=x onerror="window.__pwned=1">'),
];

/** For the configured organization: sealing a signed review refuses a review of another one. */
function reviewRecord(organization: string): Omit<ReviewRecord, "signOff"> {
  return {
    format: "keyproof-review/1",
    id: reviewId,
    year: 2026,
    organization,
    sources: ["aws-prod", "vault-main"],
    bundle: {
      runId: "kp-20260706-browser",
      manifestSha256: "a".repeat(64),
      location: "data/bundles/kp-20260706-browser.tar.gz",
      period: { label: "2026-Q3", from: "2026-07-01", to: "2026-07-06" },
      capturedAt: "2026-07-06T12:00:00.000Z",
    },
    createdAt: new Date().toISOString(),
    createdBy: ANA,
    items: ITEMS,
  };
}

beforeAll(async () => {
  setup = await prepareEstate();
  client = QueueClient.connect(REDIS_URL, prefix);
  const tokens = new ApiTokenStore(client.redis, prefix);
  token.ana = (await tokens.create({ name: ANA, role: "reviewer" })).token;
  token.bo = (await tokens.create({ name: BO, role: "reviewer" })).token;
  token.auditor = (await tokens.create({ name: "jane-auditor", role: "auditor" })).token;
  token.operator = (await tokens.create({ name: "ops", role: "operator" })).token;
  store = new ReviewStore(client.redis, prefix);
  await store.create(reviewRecord(setup.loaded.config.organization));
  // The review's two sources must be configured ones (sealing checks): the estate's AWS source under both
  // names, which nothing here collects from.
  const [source] = setup.loaded.config.sources;
  if (source === undefined) throw new Error("the test estate has no source");
  const config: Config = {
    ...setup.loaded.config,
    sources: [
      { ...source, id: "aws-prod" },
      { ...source, id: "vault-main" },
    ],
  };
  runtime = await startWorkerRuntime({ redisUrl: REDIS_URL, prefix, queues: ["render"] });
  app = await buildApiServer({
    client,
    tokens,
    service: {
      config,
      configDirectory: setup.loaded.directory,
      dataDirectory: path.join(setup.directory, "data"),
      render: false,
    },
  });
  baseUrl = await app.listen({ host: "127.0.0.1", port: 0 });
  browser = await puppeteer.launch({
    // Debian's Chromium; puppeteer never downloads a browser for keyproof.
    executablePath: process.env.KEYPROOF_CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    pipe: true,
    // The render pool's flags, except that 127.0.0.1 (our server) resolves and bypasses the dead proxy;
    // every other host still resolves to nothing.
    args: [
      ...CHROMIUM_ARGS.filter(
        (flag) => !flag.startsWith("--proxy-bypass-list") && !flag.startsWith("--host-resolver-rules"),
      ),
      "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    ],
    defaultViewport: { width: 1280, height: 900, deviceScaleFactor: 1 },
    protocolTimeout: TEST_TIMEOUT_MS,
  });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await runtime?.close();
  // Chromium's network process can outlive browser.close() by a moment with a keep-alive connection open,
  // which Fastify's close (idle connections only) then waits on for ever: this server is going away.
  app?.server.closeAllConnections();
  await app?.close();
  await client?.close();
  await cleanupPrefix(REDIS_URL, prefix);
  await removeDirectory(setup?.directory);
}, 60_000);

interface OpenedPage {
  context: BrowserContext;
  page: Page;
  /** Bodies of the PUT requests the page sent, in order. */
  puts: string[];
  /** Page errors and console errors: a CSP violation shows up here. */
  errors: string[];
}

/** A fresh incognito context (its own sessionStorage), signed in with `bearer`, the review loaded. */
async function openReview(bearer: string, expect: "items" | "error" = "items"): Promise<OpenedPage> {
  if (browser === undefined) throw new Error("no browser");
  const context = await browser.createBrowserContext();
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT_MS);
  const puts: string[] = [];
  const errors: string[] = [];
  page.on("request", (request) => {
    if (request.method() === "PUT") puts.push(request.postData() ?? "");
  });
  page.on("pageerror", (error) => errors.push(String(error)));
  page.on("console", (message) => {
    // Chromium logs every non-2xx answer ("Failed to load resource": the 409s and 404s this test provokes,
    // the favicon); anything else logged as an error (a CSP refusal, an exception) fails the test.
    if (message.type() === "error" && !message.text().startsWith("Failed to load resource")) {
      errors.push(message.text());
    }
  });
  await page.goto(`${baseUrl}/reviews/${reviewId}`, { waitUntil: "load" });
  await page.waitForSelector("#token-input", { visible: true });
  await page.type("#token-input", bearer);
  await page.click("#sign-in-button");
  if (expect === "items") await page.waitForSelector("[data-item-id]");
  else await page.waitForSelector("#page-error", { visible: true });
  return { context, page, puts, errors };
}

/*
 * The callbacks below run in the page; the project compiles without the DOM lib (src/ must not see browser
 * globals), so they name the few element properties they read structurally.
 */
type Hideable = { hidden: boolean };
type Field = { value: string; checked: boolean; disabled: boolean; blur(): void };

const item = (id: string) => `[data-item-id="${id}"]`;
const radio = (id: string, decision: string) => `${item(id)} input.item-decision-option[value="${decision}"]`;

async function waitForItemState(page: Page, id: string, state: string): Promise<void> {
  await page.waitForSelector(`${item(id)}[data-state="${state}"]`, { timeout: WAIT_MS });
}

/** Sets the "undecided only" filter; filters apply when changed, not as items get decided. */
async function setUndecidedOnly(page: Page, wanted: boolean): Promise<void> {
  const checked = await page.$eval("#filter-undecided", (element) => (element as unknown as Field).checked);
  if (checked !== wanted) await page.click("#filter-undecided");
}

async function visibleItemIds(page: Page): Promise<string[]> {
  return page.$$eval("#groups .item", (elements) =>
    elements
      .filter((element) => !(element as unknown as Hideable).hidden)
      .map((element) => element.getAttribute("data-item-id") ?? ""),
  );
}

async function decisionsOnServer(): Promise<Map<string, ReviewDecision>> {
  const review = await store.get(reviewId);
  return new Map(
    (review?.record.items ?? []).flatMap((entry) =>
      entry.decision === undefined ? [] : [[entry.id, entry.decision] as const],
    ),
  );
}

async function apiCall(method: string, url: string, bearer: string, body?: unknown): Promise<number> {
  const response = await fetch(`${baseUrl}${url}`, {
    method,
    headers: {
      authorization: `Bearer ${bearer}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  await response.arrayBuffer();
  return response.status;
}

describe("the review page", () => {
  let ana: OpenedPage;
  let bo: OpenedPage;

  it(
    "is served by the API server without a token, with its CSP, holding no review data",
    async () => {
      const response = await fetch(`${baseUrl}/reviews/${reviewId}`);
      expect(response.status).toBe(200);
      expect(response.headers.get("content-security-policy")).toBe(REVIEW_PAGE_CSP);
      expect(response.headers.get("cache-control")).toBe("no-store");
      const html = await response.text();
      expect(html).not.toContain(reviewId);
      expect(html).not.toContain("app-payments");
      const script = await fetch(`${baseUrl}/reviews/assets/review.js`);
      expect(script.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
      expect(await script.text()).toContain("keyproof.token");
    },
    TEST_TIMEOUT_MS,
  );

  it(
    "auditors and operators can neither decide nor sign, nor read the review before it is signed",
    async () => {
      const decisions = { decisions: [{ itemId: "g1", revision: 0, decision: "keep", note: "" }] };
      for (const bearer of [token.auditor, token.operator]) {
        expect(await apiCall("PUT", `/v1/reviews/${reviewId}/decisions`, bearer, decisions)).toBe(403);
        expect(await apiCall("POST", `/v1/reviews/${reviewId}/sign`, bearer, { name: "X", title: "Y" })).toBe(
          403,
        );
      }
      const auditor = await openReview(token.auditor, "error");
      expect(await auditor.page.$eval("#page-error", (element) => element.textContent)).toContain(
        "No review",
      );
      expect(await auditor.page.$$("[data-item-id]")).toHaveLength(0);
      await auditor.context.close();
      expect(await decisionsOnServer()).toEqual(new Map());
    },
    TEST_TIMEOUT_MS,
  );

  it(
    "lists the items grouped by key, escaped, and filters by source, status and undecided",
    async () => {
      ana = await openReview(token.ana);
      const { page } = ana;
      const groups = await page.$$eval("#groups .group-title", (elements) =>
        elements.map((element) => element.textContent),
      );
      expect(groups).toEqual([
        "aws-prod / eu-west-1 / key-a",
        "aws-prod / eu-west-1 / key-b",
        "aws-prod / eu-west-1",
        "vault-main / transit / key-c",
      ]);
      // The hostile principal is shown as text: no element was created from it and nothing ran.
      expect(await page.$eval(`${item("g5")} .item-title`, (element) => element.textContent)).toContain(
        "<img src=x",
      );
      expect(await page.$$(`${item("g5")} img`)).toHaveLength(0);
      expect(await page.evaluate("typeof window.__pwned")).toBe("undefined");
      // Only the kind's own decisions are offered.
      const grantOptions = await page.$$eval(`${item("g1")} input.item-decision-option`, (inputs) =>
        inputs.map((input) => (input as unknown as Field).value),
      );
      expect(grantOptions).toEqual(["keep", "revoke", "change"]);
      expect(await page.$$(radio("f1", "keep"))).toHaveLength(0);

      await page.select("#filter-source", "vault-main");
      expect(await visibleItemIds(page)).toEqual(["g4", "f2", "g5"]);
      await page.select("#filter-source", "aws-prod");
      await page.select("#filter-status", "pass");
      await page.click("#filter-undecided");
      expect(await visibleItemIds(page)).toEqual(["g1", "g2", "g3"]);
      expect(ana.errors).toEqual([]);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    "bulk-decides the visible selection in one PUT, and saves a note and a ticket as they are written",
    async () => {
      const { page } = ana;
      // One decision for items of several kinds is refused in the page, before anything is sent.
      await page.select("#filter-status", "");
      await page.click("#select-visible");
      await page.select("#bulk-decision", "keep");
      await page.click("#bulk-apply");
      expect(await page.$eval("#bulk-result", (element) => element.textContent)).toMatch(
        /^Nothing applied: "keep" is not a decision for (rotation, finding, logging|[a-z, ]+) items/,
      );
      expect(ana.puts).toHaveLength(0);
      await page.click("#select-visible");
      await page.select("#filter-status", "pass");
      await page.click("#select-visible");
      expect(await page.$eval("#selected-count", (element) => element.textContent)).toBe("3 selected");
      await page.select("#bulk-decision", "keep");
      await page.type("#bulk-note", "Needed by the service; reviewed 2026");
      await page.click("#bulk-apply");
      for (const id of ["g1", "g2", "g3"]) await waitForItemState(page, id, "saved");
      expect(ana.puts).toHaveLength(1);
      const sent = JSON.parse(ana.puts[0] ?? "{}") as {
        decisions: Array<{ itemId: string; revision: number }>;
      };
      expect(sent.decisions.map((decision) => [decision.itemId, decision.revision])).toEqual([
        ["g1", 0],
        ["g2", 0],
        ["g3", 0],
      ]);
      let server = await decisionsOnServer();
      for (const id of ["g1", "g2", "g3"]) {
        expect(server.get(id)).toMatchObject({
          decision: "keep",
          note: "Needed by the service; reviewed 2026",
          decidedBy: ANA,
          revision: 1,
        });
      }

      // A decision is saved the moment it is chosen; the note and the ticket when the field is left.
      await page.select("#filter-status", "");
      await page.click(radio("f1", "to remediate"));
      await waitForItemState(page, "f1", "saved");
      await page.type(`${item("f1")} .item-note`, "Enable yearly rotation");
      await page.type(`${item("f1")} .item-ticket`, "https://tickets.example.com/browse/SEC-42");
      await page.$eval(`${item("f1")} .item-ticket`, (element) => (element as unknown as Field).blur());
      await waitForItemState(page, "f1", "saved");
      await expect
        .poll(async () => (await decisionsOnServer()).get("f1"), { timeout: WAIT_MS })
        .toMatchObject({
          decision: "to remediate",
          note: "Enable yearly rotation",
          ticketUrl: "https://tickets.example.com/browse/SEC-42",
        });
      server = await decisionsOnServer();
      expect(server.size).toBe(4);
      expect(ana.errors).toEqual([]);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    "refuses a second browser's stale write and shows who changed the item, adopting the current value",
    async () => {
      bo = await openReview(token.bo);
      // Ana changes g1 after Bo loaded it (g1 is decided: shown once "undecided only" is off).
      await setUndecidedOnly(ana.page, false);
      await ana.page.click(radio("g1", "revoke"));
      await ana.page.$eval(`${item("g1")} .item-note`, (element) => {
        (element as unknown as Field).value = "";
      });
      await ana.page.type(`${item("g1")} .item-note`, "Payments moved off this key");
      await ana.page.$eval(`${item("g1")} .item-note`, (element) => (element as unknown as Field).blur());
      await expect
        .poll(async () => (await decisionsOnServer()).get("g1")?.note, { timeout: WAIT_MS })
        .toBe("Payments moved off this key");
      await waitForItemState(ana.page, "g1", "saved");
      const anasG1 = (await decisionsOnServer()).get("g1");
      expect(anasG1).toMatchObject({ decision: "revoke", decidedBy: ANA });

      // Bo's page still holds revision 1 of g1: his write is refused, nothing of it applied.
      await bo.page.click(radio("g1", "change"));
      await waitForItemState(bo.page, "g1", "conflict");
      const conflict = await bo.page.$eval(`${item("g1")} .item-conflict`, (element) => ({
        text: element.textContent ?? "",
        hidden: (element as unknown as Hideable).hidden,
      }));
      expect(conflict.hidden).toBe(false);
      expect(conflict.text).toContain(
        `Changed by ${ANA} at ${anasG1?.decidedAt ?? "?"}: revoke — Payments moved off this key`,
      );
      expect(conflict.text).toContain("Your change was not saved: change");
      expect(await bo.page.$eval(radio("g1", "revoke"), (input) => (input as unknown as Field).checked)).toBe(
        true,
      );
      expect(
        await bo.page.$eval(`${item("g1")} .item-note`, (input) => (input as unknown as Field).value),
      ).toBe("Payments moved off this key");
      expect((await decisionsOnServer()).get("g1")).toEqual(anasG1);

      // The adopted value carries the current revision: Bo's next save is accepted.
      await bo.page.type(`${item("g1")} .item-ticket`, "https://tickets.example.com/browse/SEC-43");
      await bo.page.$eval(`${item("g1")} .item-ticket`, (element) => (element as unknown as Field).blur());
      await waitForItemState(bo.page, "g1", "saved");
      expect((await decisionsOnServer()).get("g1")).toMatchObject({
        decision: "revoke",
        ticketUrl: "https://tickets.example.com/browse/SEC-43",
        decidedBy: BO,
        revision: (anasG1?.revision ?? 0) + 1,
      });
      expect(
        await bo.page.$eval(
          `${item("g1")} .item-conflict`,
          (element) => (element as unknown as Hideable).hidden,
        ),
      ).toBe(true);
      expect(bo.errors).toEqual([]);
      await bo.context.close();
    },
    TEST_TIMEOUT_MS,
  );

  it(
    "refuses sign-off while items are undecided, listing them; signs once all are decided",
    async () => {
      const { page } = ana;
      await page.type("#sign-name", "Ana Example");
      await page.type("#sign-title", "Security Analyst");
      await page.click("#sign-confirm");
      await page.click("#sign-button");
      await page.waitForSelector("#undecided-list li");
      const left = await page.$$eval("#undecided-list li", (elements) =>
        elements.map((element) => element.textContent),
      );
      const undecided = ITEMS.filter((entry) => !["g1", "g2", "g3", "f1"].includes(entry.id));
      expect(left.sort()).toEqual(undecided.map((entry) => entry.title).sort());
      expect(await page.$eval("#sign-result", (element) => element.textContent)).toContain(
        `${undecided.length} items are still undecided`,
      );

      // Decide the rest from the "undecided only" view.
      await page.select("#filter-source", "");
      await setUndecidedOnly(page, true);
      expect((await visibleItemIds(page)).sort()).toEqual(undecided.map((entry) => entry.id).sort());
      for (const entry of undecided) {
        await page.click(radio(entry.id, entry.kind === "grant" ? "keep" : "accepted risk"));
        await waitForItemState(page, entry.id, "saved");
      }
      expect(await page.$eval("#review-undecided", (element) => element.textContent)).toBe("0");

      await page.click("#sign-button");
      await page.waitForSelector("#signed-info", { visible: true, timeout: 60_000 });
      await assertReadOnly(page);
      expect(await page.$eval("#signed-evidence", (element) => element.textContent)).toMatch(
        /^(pending: a render worker is sealing it|sealed in run)/,
      );
      const review = await store.get(reviewId);
      expect(review?.status).toBe("signed");
      expect(review?.record.signOff).toMatchObject({
        name: "Ana Example",
        title: "Security Analyst",
        identity: { tokenName: ANA, role: "reviewer" },
      });
      expect(await page.$eval("#signed-digest", (element) => element.textContent)).toBe(
        review?.record.signOff?.decisionsSha256,
      );
      // A render worker seals it as evidence (PDF + JSON in a signed bundle); the page follows until sealed.
      await page.waitForFunction(
        'document.getElementById("signed-evidence").textContent.startsWith("sealed in run")',
        { timeout: 100_000, polling: 500 },
      );
      const sealed = await store.get(reviewId);
      const evidence = sealed?.evidence?.state === "sealed" ? sealed.evidence : undefined;
      expect(evidence, JSON.stringify(sealed?.evidence)).toBeDefined();
      expect(await page.$eval("#signed-evidence", (element) => element.textContent)).toBe(
        `sealed in run ${evidence?.runId ?? "?"}, manifest SHA-256 ${evidence?.manifestSha256 ?? "?"} at ${evidence?.location ?? "?"}`,
      );
      expect(ana.errors).toEqual([]);

      // The evidence: the PDF read back has every decision, note and ticket, the reviewer and both digests;
      // the JSON is the signed record; `keyproof verify` accepts the bundle with the signer pinned.
      const bundleDirectory = path.join(setup?.directory ?? "", "data", "reviews", evidence?.runId ?? "");
      const { stdout: pdfText } = await execFileAsync("pdftotext", [
        path.join(bundleDirectory, "review", "annual-review-2026.pdf"),
        "-",
      ]);
      const flat = pdfText.replace(/\s+/g, "");
      const signedRecord = sealed?.record;
      const expectedTexts = [
        "Ana Example",
        "Security Analyst",
        signedRecord?.signOff?.decisionsSha256 ?? "(no digest)",
        "a".repeat(64),
        ...(signedRecord?.items ?? []).flatMap((entry) => [
          entry.decision?.decision ?? "(undecided)",
          entry.decision?.note ?? "",
          entry.decision?.ticketUrl ?? "",
        ]),
      ].filter((text) => text !== "");
      for (const text of expectedTexts) expect(flat, text).toContain(text.replace(/\s+/g, ""));
      const sealedJson = JSON.parse(
        await readFile(path.join(bundleDirectory, "review", "annual-review-2026.json"), "utf8"),
      ) as ReviewRecord;
      expect(sealedJson.signOff).toEqual(signedRecord?.signOff);
      expect(sealedJson.items.map((entry) => entry.decision)).toEqual(
        signedRecord?.items.map((entry) => entry.decision),
      );
      const publicKeyFile = path.join(setup?.directory ?? "", "signer-public.pem");
      const keyFile = setup?.loaded.config.signing;
      const pem = createPublicKey(
        await readFile(
          path.join(
            setup?.loaded.directory ?? "",
            keyFile !== undefined && "localKeyFile" in keyFile ? keyFile.localKeyFile : "",
          ),
          "utf8",
        ),
      )
        .export({ type: "spki", format: "pem" })
        .toString();
      await writeFile(publicKeyFile, pem);
      const verified = await runCli("verify", evidence?.location ?? "", "--expect-public-key", publicKeyFile);
      expect(verified.code, verified.stdout + verified.stderr).toBe(0);
      expect(verified.stdout).toContain("VERIFIED");
    },
    TEST_TIMEOUT_MS,
  );

  it(
    "stays read-only after a reload: the inputs are disabled and a direct PUT is refused with 409",
    async () => {
      const { page } = ana;
      // The token is still in this tab's sessionStorage: the reload goes straight to the review.
      await page.reload({ waitUntil: "load" });
      await page.waitForSelector("#signed-info", { visible: true });
      await assertReadOnly(page);
      const before = ana.puts.length;
      await page.click(radio("g2", "revoke")).catch(() => undefined);
      expect(await page.$eval(radio("g2", "revoke"), (input) => (input as unknown as Field).checked)).toBe(
        false,
      );
      expect(ana.puts.length).toBe(before);

      const bearer = await page.evaluate('sessionStorage.getItem("keyproof.token")');
      expect(bearer).toBe(token.ana);
      const direct = await page.evaluate(
        async (id: string, authorization: string) => {
          const response = await fetch(`/v1/reviews/${encodeURIComponent(id)}/decisions`, {
            method: "PUT",
            headers: { authorization, "content-type": "application/json" },
            body: JSON.stringify({
              decisions: [{ itemId: "g2", revision: 1, decision: "revoke", note: "late" }],
            }),
          });
          return { status: response.status, body: (await response.json()) as { error?: string } };
        },
        reviewId,
        `Bearer ${token.ana}`,
      );
      expect(direct.status).toBe(409);
      expect(direct.body.error).toBe("conflict");
      expect((await decisionsOnServer()).get("g2")?.decision).toBe("keep");

      // An auditor reads the signed review, read-only too.
      const auditor = await openReview(token.auditor);
      await auditor.page.waitForSelector("#signed-info", { visible: true });
      await assertReadOnly(auditor.page);
      await auditor.context.close();
      await ana.context.close();
    },
    TEST_TIMEOUT_MS,
  );

  it(
    "shows the procedure's approval state and records an approval of the current text",
    async () => {
      const reviewer = await openReview(token.bo);
      const { page } = reviewer;
      await page.waitForFunction(
        'document.getElementById("procedure-current").textContent.startsWith("version ")',
      );
      expect(await page.$eval("#procedure-matches", (element) => element.textContent)).toBe(
        "no: the current text needs approval",
      );
      await page.type("#approve-name", "Bo Example");
      await page.type("#approve-title", "Security Engineer");
      await page.click("#approve-button");
      expect(await page.$eval("#approve-result", (element) => element.textContent)).toBe(
        "Tick the confirmation first.",
      );
      await page.click("#approve-confirm");
      await page.click("#approve-button");
      await page.waitForFunction(
        'document.getElementById("approve-result").textContent.startsWith("Approved version")',
      );
      await page.waitForFunction('document.getElementById("procedure-matches").textContent === "yes"');
      expect(await page.$eval("#procedure-latest", (element) => element.textContent)).toContain(
        "approved by Bo Example, Security Engineer",
      );
      expect(reviewer.errors).toEqual([]);
      await reviewer.context.close();
    },
    TEST_TIMEOUT_MS,
  );
});

/** Every decision input disabled, sign-off form gone, the sign-off shown. */
async function assertReadOnly(page: Page): Promise<void> {
  const enabled = await page.$$eval(
    "#groups input, #groups textarea, #bulk input, #bulk select, #bulk button",
    (elements) => elements.filter((element) => !(element as unknown as Field).disabled).length,
  );
  expect(enabled).toBe(0);
  expect(await page.$eval("#sign-off", (element) => (element as unknown as Hideable).hidden)).toBe(true);
  expect(await page.$eval("#review-status", (element) => element.textContent)).toBe("signed");
  expect(await page.$eval("#signed-reviewer", (element) => element.textContent)).toBe(
    "Ana Example, Security Analyst",
  );
  expect(await page.$eval("#signed-digest", (element) => element.textContent)).toMatch(/^[0-9a-f]{64}$/);
}
