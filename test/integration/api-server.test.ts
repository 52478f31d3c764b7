/**
 * The HTTP API against real Redis, real workers and a real (small) AWS estate in moto: bearer-token auth
 * and roles, validation answering 400 with the field, 404 for unknown runs, the on-demand request through
 * to the sealed bundle, downloads (no path traversal), schedules for operators, and the access log that
 * lands in the next bundle. Requests go through Fastify's inject (the full request pipeline, no socket).
 */
import { createHash } from "node:crypto";
import { readFile, symlink } from "node:fs/promises";
import path from "node:path";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ApiTokenStore } from "../../src/auth/api-tokens.ts";
import { API_ACCESS_LOG_FILE, readPendingAccessEntries } from "../../src/jobs/queue/access-log.ts";
import type { QueueClient } from "../../src/jobs/queue/queue-client.ts";
import {
  prepareEstate,
  removeDirectory,
  startApiHarness,
  type ApiHarness,
  uniquePrefix,
  waitFor,
  type TestEstate,
} from "./queue-harness.ts";

const prefix = uniquePrefix("api");
let setup: TestEstate;
let client: QueueClient;
let api: ApiHarness | undefined;
let app: FastifyInstance;
let auditor: string;
let operator: string;
let tokens: ApiTokenStore;

beforeAll(async () => {
  setup = await prepareEstate();
  api = await startApiHarness(setup, prefix);
  ({ client, app, tokens, auditor, operator } = api);
});

afterAll(async () => {
  if (api !== undefined) await api.close();
  else await removeDirectory(setup?.directory);
});

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const validRequest = {
  period: "2026-Q3",
  requester: "jane.doe@audit.example",
  reason: "SOC 2 Type II fieldwork",
};

function expectNoInternals(body: string): void {
  expect(body).not.toMatch(/\n\s+at |\.ts:\d+|node_modules|Error: /);
  expect(body).not.toContain(auditor);
  expect(body).not.toContain(operator);
}

describe("API auth", () => {
  it("refuses requests without a token, with an unknown token, and with a revoked one (401)", async () => {
    const none = await app.inject({ method: "GET", url: "/v1/runs" });
    expect(none.statusCode).toBe(401);
    expect(none.json()).toMatchObject({ error: "unauthorized" });
    const unknown = await app.inject({
      method: "GET",
      url: "/v1/runs",
      headers: bearer(`kpt_${"A".repeat(43)}`),
    });
    expect(unknown.statusCode).toBe(401);

    const temporary = await tokens.create({ name: "temp", role: "auditor" });
    expect(
      (await app.inject({ method: "GET", url: "/v1/runs", headers: bearer(temporary.token) })).statusCode,
    ).toBe(200);
    expect(await tokens.revoke("temp")).toMatchObject({ name: "temp" });
    expect(
      (await app.inject({ method: "GET", url: "/v1/runs", headers: bearer(temporary.token) })).statusCode,
    ).toBe(401);
  });

  it("stores only the SHA-256 of a token", async () => {
    const stored = JSON.stringify(await client.redis.hgetall(`${prefix}:kp:tokens`));
    expect(stored).not.toContain(auditor);
    expect(stored).toContain(createHash("sha256").update(auditor).digest("hex"));
  });

  it("lets only operators manage schedules (403 for auditors)", async () => {
    const response = await app.inject({ method: "GET", url: "/v1/schedules", headers: bearer(auditor) });
    expect(response.statusCode).toBe(403);
    expect(response.json()).toMatchObject({ error: "forbidden" });
  });

  it("serves health and the OpenAPI document without a token", async () => {
    expect((await app.inject({ method: "GET", url: "/healthz" })).json()).toEqual({ status: "ok" });
    const openapi = (await app.inject({ method: "GET", url: "/openapi.json" })).json<{
      openapi: string;
      paths: Record<string, unknown>;
    }>();
    expect(openapi.openapi).toBe("3.1.0");
    expect(Object.keys(openapi.paths)).toEqual(
      expect.arrayContaining([
        "/v1/evidence-requests",
        "/v1/runs",
        "/v1/runs/{id}",
        "/v1/runs/{id}/bundle",
        "/v1/runs/{id}/artifacts/{path}",
        "/v1/schedules",
      ]),
    );
  });
});

describe("API validation", () => {
  const cases: Array<[string, unknown, string]> = [
    ["no requester", { period: "2026-Q3", reason: "x" }, "requester"],
    ["an empty reason", { period: "2026-Q3", requester: "a", reason: "  " }, "reason"],
    ["a period that is not one", { ...validRequest, period: "2026-Q5" }, "period"],
    ["period and from together", { ...validRequest, from: "2026-07-01", to: "2026-09-30" }, "period"],
    ["no range at all", { requester: "a", reason: "b" }, "from"],
    ["from without to", { requester: "a", reason: "b", from: "2026-07-01" }, "to"],
    ["to before from", { requester: "a", reason: "b", from: "2026-09-30", to: "2026-07-01" }, "to"],
    ["an impossible date", { requester: "a", reason: "b", from: "2026-02-30", to: "2026-03-01" }, "from"],
    ["an unknown source", { ...validRequest, sources: ["aws-demo", "gcp-nope"] }, "sources[1]"],
    ["a source list that is not a list", { ...validRequest, sources: "aws-demo" }, "sources"],
    ["an unknown field", { ...validRequest, priority: "high" }, "priority"],
  ];
  for (const [what, body, field] of cases) {
    it(`answers 400 naming "${field}" for ${what}`, async () => {
      const response = await app.inject({
        method: "POST",
        url: "/v1/evidence-requests",
        headers: bearer(auditor),
        payload: body as Record<string, unknown>,
      });
      expect(response.statusCode).toBe(400);
      expect(response.json()).toMatchObject({ error: "bad_request", field });
      expectNoInternals(response.body);
    });
  }

  it("answers 400 for a body that is not JSON, 415 for another media type", async () => {
    const broken = await app.inject({
      method: "POST",
      url: "/v1/evidence-requests",
      headers: { ...bearer(auditor), "content-type": "application/json" },
      payload: '{"period": "2026-Q3",',
    });
    expect(broken.statusCode).toBe(400);
    expect(broken.json()).toMatchObject({ error: "bad_request", field: "(body)" });
    expectNoInternals(broken.body);
    const text = await app.inject({
      method: "POST",
      url: "/v1/evidence-requests",
      headers: { ...bearer(auditor), "content-type": "text/plain" },
      payload: "hi",
    });
    expect(text.statusCode).toBe(415);
  });

  it("answers 404 for unknown runs and routes, and 400 for bad paging", async () => {
    for (const url of [
      "/v1/runs/kp-20260101T000000Z-000000",
      "/v1/runs/kp-nope/bundle",
      "/v1/runs/kp-nope/artifacts/findings.json",
      "/v1/runs/..%2F..%2Fetc",
    ]) {
      const response = await app.inject({ method: "GET", url, headers: bearer(auditor) });
      expect(response.statusCode, url).toBe(404);
      expect(response.json()).toMatchObject({ error: "not_found" });
    }
    expect(
      (await app.inject({ method: "GET", url: "/v2/nothing", headers: bearer(auditor) })).statusCode,
    ).toBe(404);
    const paging = await app.inject({ method: "GET", url: "/v1/runs?limit=1000", headers: bearer(auditor) });
    expect(paging.statusCode).toBe(400);
    expect(paging.json()).toMatchObject({ field: "limit" });
  });
});

describe("an auditor's on-demand request", () => {
  let runId: string;

  it("answers 202 with the run id, and 200 with the same run for an identical request", async () => {
    const first = await app.inject({
      method: "POST",
      url: "/v1/evidence-requests",
      headers: bearer(auditor),
      payload: validRequest,
    });
    expect(first.statusCode).toBe(202);
    const accepted = first.json<{ runId: string; existing: boolean; links: { self: string } }>();
    runId = accepted.runId;
    expect(accepted).toMatchObject({ existing: false, links: { self: `/v1/runs/${runId}` } });
    const again = await app.inject({
      method: "POST",
      url: "/v1/evidence-requests",
      headers: bearer(operator),
      payload: { ...validRequest, reason: "another reason" },
    });
    expect(again.statusCode).toBe(200);
    expect(again.json()).toMatchObject({ runId, existing: true });
  });

  it("reports state, progress per step, findings and gaps until the run completes", async () => {
    const done = await waitFor(
      "the run to complete",
      async () => {
        const response = await app.inject({
          method: "GET",
          url: `/v1/runs/${runId}`,
          headers: bearer(auditor),
        });
        const body = response.json<{ status: string }>();
        if (body.status === "failed") throw new Error(response.body);
        return body.status === "completed" ? response.json<Record<string, unknown>>() : undefined;
      },
      60_000,
      200,
    );
    expect(done).toMatchObject({
      runId,
      status: "completed",
      period: { label: "2026-Q3", from: "2026-07-01", to: "2026-09-30" },
      request: {
        origin: "api",
        requester: "jane.doe@audit.example",
        reason: "SOC 2 Type II fieldwork",
        token: "jane-auditor",
      },
      scope: { sources: ["aws-demo"] },
      findings: { total: expect.any(Number) },
      gaps: { count: expect.any(Number), items: expect.any(Array) },
      bundle: {
        manifestSha256: expect.stringMatching(/^[0-9a-f]{64}$/),
        download: `/v1/runs/${runId}/bundle`,
      },
    });
    expect(done.progress).toEqual([
      { step: "collect", total: 2, completed: 2, failed: 0, active: 0, pending: 0, unknown: 0 },
      { step: "usage", total: 2, completed: 2, failed: 0, active: 0, pending: 0, unknown: 0 },
      { step: "judge", total: 1, completed: 1, failed: 0, active: 0, pending: 0, unknown: 0 },
      // API runs of this service do not render (render: false above): the step is empty.
      { step: "render", total: 0, completed: 0, failed: 0, active: 0, pending: 0, unknown: 0 },
      { step: "seal", total: 1, completed: 1, failed: 0, active: 0, pending: 0, unknown: 0 },
      { step: "deliver", total: 1, completed: 1, failed: 0, active: 0, pending: 0, unknown: 0 },
    ]);
    expect(JSON.stringify(done)).not.toContain(setup.directory);

    const list = await app.inject({
      method: "GET",
      url: "/v1/runs?limit=1&offset=0",
      headers: bearer(auditor),
    });
    expect(list.json()).toMatchObject({
      total: 1,
      offset: 0,
      limit: 1,
      runs: [{ runId, status: "completed" }],
    });
  });

  it("downloads the sealed archive byte for byte", async () => {
    const response = await app.inject({
      method: "GET",
      url: `/v1/runs/${runId}/bundle`,
      headers: bearer(auditor),
    });
    expect(response.statusCode).toBe(200);
    expect(response.headers["content-type"]).toBe("application/gzip");
    expect(response.headers["content-disposition"]).toBe(`attachment; filename="${runId}.tar.gz"`);
    const archive = await readFile(path.join(setup.directory, "data", `${runId}.tar.gz`));
    expect(response.rawPayload.equals(archive)).toBe(true);
  });

  it("serves one artifact by its bundle path and refuses anything outside the bundle", async () => {
    const findings = await app.inject({
      method: "GET",
      url: `/v1/runs/${runId}/artifacts/findings.json`,
      headers: bearer(auditor),
    });
    expect(findings.statusCode).toBe(200);
    expect(findings.headers["content-type"]).toBe("application/json");
    expect(findings.headers["x-content-type-options"]).toBe("nosniff");
    expect(Array.isArray(findings.json())).toBe(true);

    const nested = await app.inject({
      method: "GET",
      url: `/v1/runs/${runId}/artifacts/sources/aws-demo/us-east-1/usage-events.csv`,
      headers: bearer(auditor),
    });
    expect(nested.statusCode).toBe(200);
    expect(nested.headers["content-type"]).toBe("text/csv; charset=utf-8");

    for (const traversal of [
      "../../../../etc/passwd",
      "%2e%2e/%2e%2e/etc/passwd",
      "..%2F..%2Fkeyproof.yaml",
      "sources//x",
      "%2Fetc%2Fpasswd",
    ]) {
      const response = await app.inject({
        method: "GET",
        url: `/v1/runs/${runId}/artifacts/${traversal}`,
        headers: bearer(auditor),
      });
      expect([400, 404], traversal).toContain(response.statusCode);
      expect(response.body).not.toContain("root:");
      expectNoInternals(response.body);
    }
    const dotdot = await app.inject({
      method: "GET",
      url: `/v1/runs/${runId}/artifacts/sources/..%2F..%2Fkeyproof.yaml`,
      headers: bearer(auditor),
    });
    expect(dotdot.statusCode).toBe(400);
    expect(dotdot.json()).toMatchObject({ field: "path" });

    // A symlink planted in the bundle directory must not lead out of it.
    await symlink(setup.configFile, path.join(setup.directory, "data", runId, "planted.yaml"));
    const planted = await app.inject({
      method: "GET",
      url: `/v1/runs/${runId}/artifacts/planted.yaml`,
      headers: bearer(auditor),
    });
    expect(planted.statusCode).toBe(404);
    expect(planted.body).not.toContain("organization");

    const missing = await app.inject({
      method: "GET",
      url: `/v1/runs/${runId}/artifacts/nothing.json`,
      headers: bearer(auditor),
    });
    expect(missing.statusCode).toBe(404);
  });

  it("wrote the API accesses made before sealing into the bundle, and logs the later ones for the next run", async () => {
    const log = JSON.parse(
      await readFile(path.join(setup.directory, "data", runId, API_ACCESS_LOG_FILE), "utf8"),
    ) as {
      entries: Array<{ actor: string; role: string; method: string; path: string; status: number }>;
    };
    expect(log.entries).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          actor: "jane-auditor",
          role: "auditor",
          method: "POST",
          path: "/v1/evidence-requests",
          status: 202,
        }),
        expect.objectContaining({ actor: "anonymous", method: "GET", path: "/v1/runs", status: 401 }),
        expect.objectContaining({
          actor: "jane-auditor",
          method: "POST",
          path: "/v1/evidence-requests",
          status: 400,
        }),
      ]),
    );
    const pending = await readPendingAccessEntries(client.redis, prefix);
    expect(pending).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ method: "GET", path: `/v1/runs/${runId}/bundle`, status: 200, runId }),
      ]),
    );
    expect(JSON.stringify(pending)).not.toContain(auditor);
  });
});

describe("schedules over the API (operators)", () => {
  it("creates, lists with the next run time, and removes a schedule", async () => {
    const put = await app.inject({
      method: "PUT",
      url: "/v1/schedules/monthly-audit",
      headers: bearer(operator),
      payload: { cron: "0 7 1 * *", tz: "Europe/Berlin", period: "previous-month" },
    });
    expect(put.statusCode).toBe(200);
    expect(put.json()).toMatchObject({
      name: "monthly-audit",
      cron: "0 7 1 * *",
      tz: "Europe/Berlin",
      period: "previous-month",
      origin: "api",
    });
    const next = new Date(put.json<{ next: string }>().next);
    expect(next.getTime()).toBeGreaterThan(Date.now());

    const bad = await app.inject({
      method: "PUT",
      url: "/v1/schedules/x",
      headers: bearer(operator),
      payload: { cron: "0 7 1 * *", tz: "Mars/Olympus", period: "previous-month" },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ field: "tz" });

    const list = await app.inject({ method: "GET", url: "/v1/schedules", headers: bearer(operator) });
    expect(list.json<{ schedules: Array<{ name: string }> }>().schedules.map((item) => item.name)).toEqual([
      "monthly-audit",
    ]);
    expect(
      (await app.inject({ method: "DELETE", url: "/v1/schedules/monthly-audit", headers: bearer(operator) }))
        .statusCode,
    ).toBe(204);
    expect(
      (await app.inject({ method: "DELETE", url: "/v1/schedules/monthly-audit", headers: bearer(operator) }))
        .statusCode,
    ).toBe(404);
  });
});
