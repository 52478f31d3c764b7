/**
 * The annual review without a browser: `keyproof review start|export|import|sign` on real Redis, against a
 * bundle sealed by a real inline run on moto. Only reviewer tokens decide and sign; an import based on a
 * stale export is refused (exit 5) with the current values and saves nothing; a signed review refuses
 * every change; and the CLI path seals the same record as the API path for the same decisions.
 */
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import type { ReviewView } from "../../src/api/review-schemas.ts";
import { EXIT_CODES } from "../../src/cli/exit-codes.ts";
import type { ReviewRecord } from "../../src/model/review.ts";
import { runCli } from "../support/cli.ts";
import { REDIS_URL } from "./queue-harness.ts";
import { startReviewHarness, type ReviewHarness } from "../support/review-harness.ts";

let harness: ReviewHarness;
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

beforeAll(async () => {
  harness = await startReviewHarness("review-cli");
}, 240_000);

afterAll(async () => {
  await harness?.close();
});

function review(...args: string[]) {
  return runCli(
    "review",
    ...args,
    "-c",
    harness.setup.configFile,
    "--redis-url",
    REDIS_URL,
    "--prefix",
    harness.prefix,
    "--data-dir",
    harness.dataDirectory,
  );
}

interface ExportedItem {
  id: string;
  kind: string;
  revision: number;
  decision: string | null;
  note: string;
  ticketUrl: string | null;
}

/** The decision the tests give each item: the first one is sent for remediation with a ticket. */
function decide(
  item: { kind: string },
  index: number,
): { decision: string; note: string; ticketUrl?: string } {
  if (index === 0)
    return {
      decision: item.kind === "grant" ? "revoke" : "to remediate",
      note: "owner confirmed it is unused",
      ticketUrl: "https://tickets.example/SEC-7",
    };
  return {
    decision: item.kind === "grant" ? "keep" : item.kind === "finding" ? "accepted risk" : "confirmed",
    note: `reviewed ${index}`,
  };
}

async function sealedRecord(evidenceRunId: string): Promise<ReviewRecord> {
  const file = path.join(
    harness.dataDirectory,
    "reviews",
    evidenceRunId,
    "review",
    "annual-review-2026.json",
  );
  return JSON.parse(await readFile(file, "utf8")) as ReviewRecord;
}

/** What two reviews of one bundle with the same decisions share: everything but who, when, and the id. */
function comparable(record: ReviewRecord) {
  return {
    year: record.year,
    organization: record.organization,
    sources: record.sources,
    bundle: record.bundle,
    items: record.items.map(({ decision, ...item }) => ({
      ...item,
      decision:
        decision === undefined
          ? undefined
          : { decision: decision.decision, note: decision.note, ticketUrl: decision.ticketUrl },
    })),
    signOff: { name: record.signOff?.name, title: record.signOff?.title },
  };
}

describe("keyproof review (CLI)", () => {
  let id: string;
  let cliRecord: ReviewRecord;

  it("accepts a person's name and title as a reviewer token name", async () => {
    const created = await runCli(
      "token",
      "create",
      "--role",
      "reviewer",
      "--name",
      "Carla (Security Analyst)",
      "--json",
      "--redis-url",
      REDIS_URL,
      "--prefix",
      harness.prefix,
    );
    expect(created.code, created.stderr).toBe(0);
    expect(JSON.parse(created.stdout)).toMatchObject({ name: "Carla (Security Analyst)", role: "reviewer" });
    const bad = await runCli(
      "token",
      "create",
      "--role",
      "reviewer",
      "--name",
      " padded",
      "--redis-url",
      REDIS_URL,
      "--prefix",
      harness.prefix,
    );
    expect(bad.code).toBe(EXIT_CODES.BAD_INPUT);
    expect(bad.stderr).toContain("--name");
  });

  it("refuses to start without a reviewer token", async () => {
    const none = await review("start", "--year", "2026");
    expect(none.code).toBe(EXIT_CODES.BAD_INPUT);
    expect(none.stderr).toContain("--token: deciding and signing need a reviewer token");
    const auditor = await review("start", "--year", "2026", "--token", harness.auditor);
    expect(auditor.code).toBe(EXIT_CODES.BAD_INPUT);
    expect(auditor.stderr).toContain("auditor token may not decide or sign");
    const year = await review("start", "--year", "26", "--token", harness.reviewer);
    expect(year.code).toBe(EXIT_CODES.BAD_INPUT);
    expect(year.stderr).toContain("--year");
  });

  it("prepares, exports, refuses a stale import with the current values, then imports and signs", async () => {
    const started = await review("start", "--year", "2026", "--token", harness.reviewer, "--json");
    expect(started.code, started.stderr).toBe(0);
    const prepared = JSON.parse(started.stdout) as {
      id: string;
      items: unknown[];
      bundle: { runId: string };
    };
    id = prepared.id;
    expect(prepared.bundle.runId).toBe(harness.run.runId);

    const file = path.join(harness.setup.directory, "review.yaml");
    const exported = await review("export", id, "--format", "yaml", "-o", file);
    expect(exported.code, exported.stderr).toBe(0);
    const text = await readFile(file, "utf8");
    expect(text).toContain("# grant: keep | revoke | change");
    const document = parseYaml(text) as { review: string; items: ExportedItem[] };
    expect(document.items).toHaveLength(prepared.items.length);
    document.items.forEach((item, index) => Object.assign(item, decide(item, index)));
    await writeFile(file, stringifyYaml(document));

    // Someone decides item 1 in the browser after the export: the file's revision 0 for it is stale.
    const other = document.items[1];
    const put = await harness.app.inject({
      method: "PUT",
      url: `/v1/reviews/${id}/decisions`,
      headers: bearer(harness.secondReviewer),
      payload: {
        decisions: [
          {
            itemId: other?.id,
            revision: 0,
            decision: other?.kind === "grant" ? "change" : "to remediate",
            note: "narrow it",
          },
        ],
      },
    });
    expect(put.statusCode, put.body).toBe(200);
    const stale = await review("import", id, file, "--token", harness.reviewer);
    expect(stale.code).toBe(EXIT_CODES.REVIEW_CONFLICT);
    expect(stale.stderr).toContain(`${other?.id}: now "`);
    expect(stale.stderr).toContain("Ben (Security Engineer)");
    const afterStale = await harness.app.inject({
      method: "GET",
      url: `/v1/reviews/${id}`,
      headers: bearer(harness.reviewer),
    });
    // Nothing of the refused import was saved.
    expect(afterStale.json<ReviewView>().items.filter((item) => item.decision !== undefined)).toHaveLength(1);

    // Export again, keep the reviewer's own decisions (and take back item 1), import.
    await review("export", id, "-o", file);
    const fresh = parseYaml(await readFile(file, "utf8")) as { items: ExportedItem[] };
    fresh.items.forEach((item, index) => Object.assign(item, decide(item, index)));
    await writeFile(file, stringifyYaml({ review: id, items: fresh.items }));
    const imported = await review("import", id, file, "--token", harness.reviewer);
    expect(imported.code, imported.stderr).toBe(0);
    expect(imported.stdout).toContain(`saved ${fresh.items.length} decision(s)`);

    const operator = await review(
      "sign",
      id,
      "--name",
      "Ana Pereira",
      "--title",
      "Security Analyst",
      "--token",
      harness.operator,
    );
    expect(operator.code).toBe(EXIT_CODES.BAD_INPUT);
    const signed = await review(
      "sign",
      id,
      "--name",
      "Ana Pereira",
      "--title",
      "Security Analyst",
      "--token",
      harness.reviewer,
      "--json",
    );
    expect(signed.code, signed.stderr).toBe(0);
    const output = JSON.parse(signed.stdout) as {
      status: string;
      evidence: { state: string; runId: string };
    };
    expect(output.status).toBe("signed");
    expect(output.evidence.state).toBe("sealed");
    cliRecord = await sealedRecord(output.evidence.runId);
    expect(cliRecord.signOff).toMatchObject({
      name: "Ana Pereira",
      identity: { tokenName: "Ana (Security Analyst)" },
    });
    expect(cliRecord.items.every((item) => item.decision !== undefined)).toBe(true);
  });

  it("refuses every change to the signed review (exit 5), from the CLI and the API", async () => {
    const file = path.join(harness.setup.directory, "late.yaml");
    await review("export", id, "-o", file);
    const document = parseYaml(await readFile(file, "utf8")) as { review: string; items: ExportedItem[] };
    const first = document.items[0];
    if (first === undefined) throw new Error("no items");
    first.note = "changed after signing";
    await writeFile(file, stringifyYaml(document));
    const late = await review("import", id, file, "--token", harness.reviewer);
    expect(late.code).toBe(EXIT_CODES.REVIEW_CONFLICT);
    expect(late.stderr).toContain("signed");
    const again = await review(
      "sign",
      id,
      "--name",
      "Ana Pereira",
      "--title",
      "Security Analyst",
      "--token",
      harness.reviewer,
    );
    expect(again.code).toBe(EXIT_CODES.REVIEW_CONFLICT);
    const put = await harness.app.inject({
      method: "PUT",
      url: `/v1/reviews/${id}/decisions`,
      headers: bearer(harness.reviewer),
      payload: {
        decisions: [
          { itemId: first.id, revision: first.revision, decision: first.decision, note: "changed" },
        ],
      },
    });
    expect(put.statusCode).toBe(409);
  });

  it("seals the same record through the API as through the CLI for the same decisions", async () => {
    const started = await harness.app.inject({
      method: "POST",
      url: "/v1/reviews",
      headers: bearer(harness.reviewer),
      payload: { year: 2026 },
    });
    expect(started.statusCode, started.body).toBe(201);
    const apiReview = started.json<ReviewView>();
    const put = await harness.app.inject({
      method: "PUT",
      url: `/v1/reviews/${apiReview.id}/decisions`,
      headers: bearer(harness.reviewer),
      payload: {
        decisions: apiReview.items.map((item, index) => ({
          itemId: item.id,
          revision: 0,
          ...decide(item, index),
        })),
      },
    });
    expect(put.statusCode, put.body).toBe(200);
    const signed = await harness.app.inject({
      method: "POST",
      url: `/v1/reviews/${apiReview.id}/sign`,
      headers: bearer(harness.reviewer),
      payload: { name: "Ana Pereira", title: "Security Analyst" },
    });
    expect(signed.statusCode, signed.body).toBe(200);
    const evidence = (await harness.waitForEvidence(apiReview.id)).evidence;
    if (evidence?.state !== "sealed") throw new Error(`not sealed: ${JSON.stringify(evidence)}`);
    const apiRecord = await sealedRecord(evidence.runId);
    expect(comparable(apiRecord)).toEqual(comparable(cliRecord));
    expect(Object.keys(apiRecord).sort()).toEqual(Object.keys(cliRecord).sort());
  });
});
