/**
 * The annual review through the HTTP API, on real Redis and a bundle sealed by a real inline run against
 * the moto estate: prepared from the scope's latest sealed bundle (verified with the pinned signer), decided
 * in bulk, stale writes refused with the current value and nothing applied, sign-off blocked while items are
 * undecided, then signed, read-only, sealed as a chained evidence bundle that `verify` accepts, and readable
 * by auditors. Auditor and operator tokens can neither decide nor sign.
 */
import { createPublicKey } from "node:crypto";
import { execFile } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { promisify } from "node:util";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyBundle } from "../../src/evidence/verify-bundle.ts";
import { redisKeys } from "../../src/jobs/queue/redis-keys.ts";
import type { ReviewRecord } from "../../src/model/review.ts";
import { decisionsSha256 } from "../../src/review/canonical-decisions.ts";
import type { ReviewView } from "../../src/api/review-schemas.ts";
import { runCli } from "../support/cli.ts";
import { runInline } from "../../src/jobs/run-inline.ts";
import { REDIS_URL, TEST_RANGE } from "./queue-harness.ts";
import { startReviewHarness, type ReviewHarness } from "../support/review-harness.ts";

const execFileAsync = promisify(execFile);
let harness: ReviewHarness;
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

beforeAll(async () => {
  harness = await startReviewHarness("review-api");
}, 240_000);

afterAll(async () => {
  await harness?.close();
});

async function start(token: string, body: Record<string, unknown> = { year: 2026 }) {
  return harness.app.inject({ method: "POST", url: "/v1/reviews", headers: bearer(token), payload: body });
}

async function get(token: string, id: string): Promise<ReviewView> {
  const response = await harness.app.inject({
    method: "GET",
    url: `/v1/reviews/${id}`,
    headers: bearer(token),
  });
  expect(response.statusCode, response.body).toBe(200);
  return response.json<ReviewView>();
}

function firstDecision(kind: string): string {
  return kind === "grant" ? "keep" : kind === "finding" ? "accepted risk" : "confirmed";
}

describe("annual review API", () => {
  let review: ReviewView;

  it("prepares a review from the scope's latest sealed bundle: grants, rotation, logging and open findings", async () => {
    const response = await start(harness.reviewer);
    expect(response.statusCode, response.body).toBe(201);
    review = response.json<ReviewView>();
    expect(review.status).toBe("open");
    expect(review.bundle.runId).toBe(harness.run.runId);
    expect(review.bundle.manifestSha256).toBe(harness.run.bundle.manifestSha256);
    expect(review.createdBy).toBe("Ana (Security Analyst)");
    const kinds = new Set(review.items.map((item) => item.kind));
    expect([...kinds].sort()).toEqual(["finding", "grant", "logging", "rotation"]);
    const findings = JSON.parse(
      await readFile(path.join(harness.run.bundle.directory, "findings.json"), "utf8"),
    ) as Array<{ checkId: string; keyId?: string }>;
    const rotated = findings.filter((finding) => finding.checkId === "key-rotation-enabled");
    expect(review.items.filter((item) => item.kind === "rotation")).toHaveLength(rotated.length);
    const grant = review.items.find((item) => item.kind === "grant");
    expect(grant?.grant?.via).toMatch(/key-policy|grant|identity-policy/);
    expect(grant?.evidence[0]).toMatch(/access-policy\.json$/);
    expect(review.undecided).toBe(review.items.length);
  });

  it("refuses auditors and operators: they cannot prepare, decide, sign, or read an unsigned review", async () => {
    expect((await start(harness.auditor)).statusCode).toBe(403);
    expect((await start(harness.operator)).statusCode).toBe(403);
    const item = review.items[0];
    for (const token of [harness.auditor, harness.operator]) {
      const put = await harness.app.inject({
        method: "PUT",
        url: `/v1/reviews/${review.id}/decisions`,
        headers: bearer(token),
        payload: {
          decisions: [{ itemId: item?.id, revision: 0, decision: firstDecision(item?.kind ?? "") }],
        },
      });
      expect(put.statusCode).toBe(403);
      const sign = await harness.app.inject({
        method: "POST",
        url: `/v1/reviews/${review.id}/sign`,
        headers: bearer(token),
        payload: { name: "Mallory", title: "Intruder" },
      });
      expect(sign.statusCode).toBe(403);
      const read = await harness.app.inject({
        method: "GET",
        url: `/v1/reviews/${review.id}`,
        headers: bearer(token),
      });
      expect(read.statusCode).toBe(404);
    }
  });

  it("validates decisions against the item: a keep on a finding names the field", async () => {
    const finding = review.items.find((item) => item.kind === "finding");
    const response = await harness.app.inject({
      method: "PUT",
      url: `/v1/reviews/${review.id}/decisions`,
      headers: bearer(harness.reviewer),
      payload: { decisions: [{ itemId: finding?.id, revision: 0, decision: "keep" }] },
    });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ error: "bad_request", field: "decisions[0].decision" });
  });

  it("saves a bulk decision, then refuses a stale write with the current value and applies nothing of it", async () => {
    const [first, second, third] = review.items;
    if (first === undefined || second === undefined || third === undefined) throw new Error("too few items");
    const saved = await harness.app.inject({
      method: "PUT",
      url: `/v1/reviews/${review.id}/decisions`,
      headers: bearer(harness.reviewer),
      payload: {
        decisions: [first, second].map((item) => ({
          itemId: item.id,
          revision: 0,
          decision: firstDecision(item.kind),
          note: "reviewed with the key owner",
        })),
      },
    });
    expect(saved.statusCode, saved.body).toBe(200);
    expect(saved.json()).toMatchObject({
      version: 1,
      decisions: { [first.id]: { revision: 1, decidedBy: "Ana (Security Analyst)" } },
    });

    // A second browser that read the review before the save: its write to `first` is stale.
    const stale = await harness.app.inject({
      method: "PUT",
      url: `/v1/reviews/${review.id}/decisions`,
      headers: bearer(harness.secondReviewer),
      payload: {
        decisions: [
          { itemId: third.id, revision: 0, decision: firstDecision(third.kind), note: "fine" },
          {
            itemId: first.id,
            revision: 0,
            decision: first.kind === "grant" ? "revoke" : "to remediate",
            note: "no longer needed",
          },
        ],
      },
    });
    expect(stale.statusCode).toBe(409);
    const conflict = stale.json<{
      error: string;
      conflicts: Array<{ itemId: string; current: { note: string; revision: number } }>;
    }>();
    expect(conflict.error).toBe("conflict");
    expect(conflict.conflicts).toEqual([
      {
        itemId: first.id,
        current: expect.objectContaining({
          note: "reviewed with the key owner",
          revision: 1,
          decidedBy: "Ana (Security Analyst)",
        }),
      },
    ]);
    const after = await get(harness.reviewer, review.id);
    expect(after.items.find((item) => item.id === third.id)?.decision).toBeUndefined();
    expect(after.items.find((item) => item.id === first.id)?.decision?.decision).toBe(
      firstDecision(first.kind),
    );
    expect(after.version).toBe(1);
  });

  it("blocks sign-off while items are undecided, listing them", async () => {
    const response = await harness.app.inject({
      method: "POST",
      url: `/v1/reviews/${review.id}/sign`,
      headers: bearer(harness.reviewer),
      payload: { name: "Ana Pereira", title: "Security Analyst" },
    });
    expect(response.statusCode).toBe(409);
    const body = response.json<{ undecided: string[] }>();
    expect(body.undecided).toHaveLength(review.items.length - 2);
  });

  it("signs a fully decided review, seals it as chained evidence, and refuses every later change", async () => {
    const current = await get(harness.reviewer, review.id);
    const undecided = current.items.filter((item) => item.decision === undefined);
    const decide = await harness.app.inject({
      method: "PUT",
      url: `/v1/reviews/${review.id}/decisions`,
      headers: bearer(harness.reviewer),
      payload: {
        decisions: undecided.map((item, index) => ({
          itemId: item.id,
          revision: 0,
          decision:
            index === 0 && item.kind === "grant"
              ? "revoke"
              : index === 0
                ? "to remediate"
                : firstDecision(item.kind),
          note: index === 0 ? "ticket opened" : "",
          ...(index === 0 ? { ticketUrl: "https://tickets.example/SEC-101" } : {}),
        })),
      },
    });
    expect(decide.statusCode, decide.body).toBe(200);

    const signed = await harness.app.inject({
      method: "POST",
      url: `/v1/reviews/${review.id}/sign`,
      headers: bearer(harness.reviewer),
      payload: { name: "Ana Pereira", title: "Security Analyst" },
    });
    expect(signed.statusCode, signed.body).toBe(200);
    const view = signed.json<ReviewView>();
    expect(view.status).toBe("signed");
    expect(view.signOff).toMatchObject({
      name: "Ana Pereira",
      title: "Security Analyst",
      identity: { tokenName: "Ana (Security Analyst)", role: "reviewer" },
    });
    expect(Math.abs(Date.parse(view.signOff?.signedAt ?? "") - Date.now())).toBeLessThan(300_000);
    const record: ReviewRecord = {
      format: "keyproof-review/1",
      ...view,
      items: view.items,
    } as unknown as ReviewRecord;
    expect(view.signOff?.decisionsSha256).toBe(decisionsSha256(record));
    // A render worker seals it (the PDF needs its browser): pending now, sealed soon after.
    expect(view.evidence?.state).toMatch(/pending|sealed/);
    const sealedView = await harness.waitForEvidence(review.id);
    expect(sealedView.evidence, JSON.stringify(sealedView.evidence)).toMatchObject({ state: "sealed" });

    // Read-only from now on: decisions and a second sign-off answer 409.
    const item = view.items[0];
    const late = await harness.app.inject({
      method: "PUT",
      url: `/v1/reviews/${review.id}/decisions`,
      headers: bearer(harness.reviewer),
      payload: {
        decisions: [
          {
            itemId: item?.id,
            revision: item?.decision?.revision ?? 0,
            decision: firstDecision(item?.kind ?? ""),
          },
        ],
      },
    });
    expect(late.statusCode).toBe(409);
    expect(late.json()).toMatchObject({ error: "conflict", signed: true });
    const again = await harness.app.inject({
      method: "POST",
      url: `/v1/reviews/${review.id}/sign`,
      headers: bearer(harness.reviewer),
      payload: { name: "Ana Pereira", title: "Security Analyst" },
    });
    expect(again.statusCode).toBe(409);

    // Auditors read the signed review.
    expect((await get(harness.auditor, review.id)).signOff?.name).toBe("Ana Pereira");

    // The fact later runs judge coverage by.
    const fact = JSON.parse(
      (await harness.client.redis.hget(redisKeys(harness.prefix).signedReviewFacts, review.id)) ?? "{}",
    ) as { sources: string[]; open: Array<{ note: string; ticketUrl?: string }> };
    expect(fact.sources).toEqual(view.sources);
    expect(fact.open).toEqual([
      expect.objectContaining({ note: "ticket opened", ticketUrl: "https://tickets.example/SEC-101" }),
    ]);

    // The evidence bundle: both files, chained to the reviewed bundle, verified with the pinned signer.
    const location = sealedView.evidence?.state === "sealed" ? (sealedView.evidence.location ?? "") : "";
    // Pinned to the configured signer's public key, derived from the key file, never from the bundle.
    const publicKey = createPublicKey(
      await readFile(path.join(harness.setup.directory, "signing.pem"), "utf8"),
    )
      .export({ type: "spki", format: "pem" })
      .toString();
    const verified = await verifyBundle(location, { expectedPublicKey: publicKey });
    expect(verified.ok, JSON.stringify(verified)).toBe(true);
    expect(verified.previousBundle?.manifestSha256).toBe(harness.run.bundle.manifestSha256);
    const pemFile = path.join(harness.setup.directory, "signer-public.pem");
    await writeFile(pemFile, publicKey);
    const cli = await runCli("verify", location, "--expect-public-key", pemFile);
    expect(cli.code, cli.stdout + cli.stderr).toBe(0);
    expect(cli.stdout).toContain("VERIFIED");

    // The PDF in the sealed bundle, read back as text: reviewer, title, the ticket, both digests.
    const runId = sealedView.evidence?.state === "sealed" ? sealedView.evidence.runId : "";
    const bundleDirectory = path.join(harness.dataDirectory, "reviews", runId);
    const { stdout: text } = await execFileAsync("pdftotext", [
      path.join(bundleDirectory, "review", "annual-review-2026.pdf"),
      "-",
    ]);
    const flat = text.replace(/\s+/g, "");
    for (const expected of [
      "Ana Pereira",
      "Security Analyst",
      "https://tickets.example/SEC-101",
      "ticket opened",
      view.signOff?.decisionsSha256 ?? "?",
      harness.run.bundle.manifestSha256,
    ]) {
      expect(flat, expected).toContain(expected.replace(/\s+/g, ""));
    }
    const sealedJson = JSON.parse(
      await readFile(path.join(bundleDirectory, "review", "annual-review-2026.json"), "utf8"),
    ) as ReviewRecord;
    expect(sealedJson.items.map((item) => item.decision?.decision)).toEqual(
      view.items.map((item) => item.decision?.decision),
    );
    expect(sealedJson.signOff).toEqual(view.signOff);
  });

  it("makes the next run's governance checks pass: access-review-current, and procedure-approved-current after an approval", async () => {
    const runNext = async () => {
      const result = await runInline({
        loaded: harness.setup.loaded,
        range: TEST_RANGE,
        outDirectory: path.join(harness.setup.directory, "evidence"),
        render: false,
        queueOverrides: { redisUrl: REDIS_URL, prefix: harness.prefix },
      });
      return JSON.parse(
        await readFile(path.join(result.bundle.directory, "findings.json"), "utf8"),
      ) as Array<{
        checkId: string;
        status: string;
        source: string;
        message: string;
      }>;
    };
    const sources = harness.setup.loaded.config.sources.map((source) => source.id);
    const before = await runNext();
    const coverage = before.filter((finding) => finding.checkId === "access-review-current");
    expect(coverage.map((finding) => finding.source).sort()).toEqual([...sources].sort());
    // Covered by the review signed above; it left one grant or finding to remediate that is still present.
    for (const finding of coverage) {
      expect(finding.status, finding.message).toMatch(/pass|warn/);
      expect(finding.message).toContain("Ana Pereira");
    }
    const procedureBefore = before.find((finding) => finding.checkId === "procedure-approved-current");
    expect(procedureBefore?.status).toBe("fail");

    const approval = await harness.app.inject({
      method: "POST",
      url: "/v1/procedure/approvals",
      headers: bearer(harness.reviewer),
      payload: { name: "Erin Lead", title: "Engineering Lead" },
    });
    expect(approval.statusCode, approval.body).toBe(201);
    const after = await runNext();
    expect(after.find((finding) => finding.checkId === "procedure-approved-current")?.status).toBe("pass");
  });
});
