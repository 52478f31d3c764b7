/**
 * The API against hostile and careless input, over real sockets and real Redis (issue 11, one case each):
 * an unparseable cron is a 400 naming `cron`; years outside 1970-2100 and ranges over policy.maxRangeDays
 * are 400s naming the field and the limit; 100 concurrent identical requests make one run, and an identical
 * request after it completed returns it; Fastify's own errors (bad URL encoding, a 5,000-character id,
 * oversized headers, unknown routes) answer in the API's one error shape without reading the request back;
 * the per-token rate limit is shared by two API processes over Redis; a source takes a bounded number of
 * unfinished runs.
 */
import { connect } from "node:net";
import path from "node:path";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiErrorBodySchema } from "../../src/api/api-error.ts";
import { buildApiServer } from "../../src/api/api-server.ts";
import { readPendingAccessEntries } from "../../src/jobs/queue/access-log.ts";
import { ApiTokenStore } from "../../src/auth/api-tokens.ts";
import type { Config } from "../../src/config/config.schema.ts";
import { QueueClient } from "../../src/jobs/queue/queue-client.ts";
import {
  cleanupPrefix,
  prepareEstate,
  REDIS_URL,
  startApiHarness,
  uniquePrefix,
  waitFor,
  type ApiHarness,
  type TestEstate,
} from "./queue-harness.ts";

const request = { requester: "jane.doe@audit.example", reason: "SOC 2 Type II fieldwork" };

/** A running server with workers (runs complete) and its base URL. */
let served: ApiHarness | undefined;
let base: string;
let setup: TestEstate;

/** Two API processes sharing one Redis prefix and no workers (runs stay queued), tight limits. */
const quietPrefix = uniquePrefix("api-limits-quiet");
let quietClient: QueueClient | undefined;
let quiet: FastifyInstance[] = [];
let quietTokens: ApiTokenStore;

const QUIET_REQUESTS_PER_MINUTE = 8;
const QUIET_AUTH_FAILURES_PER_MINUTE = 4;

beforeAll(async () => {
  setup = await prepareEstate();
  served = await startApiHarness(setup, uniquePrefix("api-limits"));
  base = await served.app.listen({ port: 0, host: "127.0.0.1" });

  const config: Config = {
    ...setup.loaded.config,
    queue: {
      ...setup.loaded.config.queue,
      prefix: quietPrefix,
      maxQueuedRunsPerSource: 2,
      apiRequestsPerMinute: QUIET_REQUESTS_PER_MINUTE,
      apiAuthFailuresPerMinute: QUIET_AUTH_FAILURES_PER_MINUTE,
      dedupeWindowSeconds: 0,
    },
  };
  quietClient = QueueClient.connect(REDIS_URL, quietPrefix);
  quietTokens = new ApiTokenStore(quietClient.redis, quietPrefix);
  const service = {
    config,
    configDirectory: setup.loaded.directory,
    dataDirectory: path.join(setup.directory, "quiet-data"),
    render: false,
  };
  // Two servers, each its own Fastify instance and rate-limit plugin, as two API processes would be.
  quiet = [
    await buildApiServer({ client: quietClient, service }),
    await buildApiServer({ client: quietClient, service }),
  ];
}, 180_000);

afterAll(async () => {
  for (const app of quiet) await app.close();
  await quietClient?.close();
  await cleanupPrefix(REDIS_URL, quietPrefix);
  await served?.close();
});

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

async function post(
  url: string,
  token: string,
  body: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${base}${url}`, {
    method: "POST",
    headers: { ...bearer(token), "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

/** The one error shape, nothing more (the schema is strict about the known fields' types). */
function expectErrorShape(body: unknown, status: number): void {
  expect(ApiErrorBodySchema.strict().safeParse(body).success, JSON.stringify(body)).toBe(true);
  expect(body).toMatchObject({ error: expect.any(String), message: expect.any(String) });
  expect(status).toBeGreaterThanOrEqual(400);
}

describe("input the API refuses by name", () => {
  it('answers 400 naming "cron" for PUT /v1/schedules/x with cron 99 99 99 99 99 (was a 500)', async () => {
    const response = await fetch(`${base}/v1/schedules/x`, {
      method: "PUT",
      headers: { ...bearer(served?.operator ?? ""), "content-type": "application/json" },
      body: JSON.stringify({ cron: "99 99 99 99 99", period: "previous-month" }),
    });
    expect(response.status).toBe(400);
    const body = await response.json();
    expectErrorShape(body, response.status);
    expect(body).toMatchObject({ error: "bad_request", field: "cron" });
    // The rule (the minute's range), not the value: cron-parser's own message says "got value 99".
    expect((body as { message: string }).message).toBe(
      "cron: is not a valid cron pattern: a value is outside the range 0-59 of its field",
    );
    // Nothing was scheduled.
    const list = await fetch(`${base}/v1/schedules`, { headers: bearer(served?.operator ?? "") });
    expect(((await list.json()) as { schedules: unknown[] }).schedules).toEqual([]);
  });

  it('answers 400 naming "period" for period 0099 (was read as 1999-01-01..0099-12-31)', async () => {
    const response = await post("/v1/evidence-requests", served?.auditor ?? "", {
      ...request,
      period: "0099",
    });
    expect(response.status).toBe(400);
    expectErrorShape(response.json, response.status);
    expect(response.json).toMatchObject({
      error: "bad_request",
      field: "period",
      message: "period: the year is outside the supported years 1970-2100",
    });
  });

  it('answers 400 naming "to" for to 9999-12-31 (the range used to end at +010000-01-01)', async () => {
    const response = await post("/v1/evidence-requests", served?.auditor ?? "", {
      ...request,
      from: "2026-07-01",
      to: "9999-12-31",
    });
    expect(response.status).toBe(400);
    expect(response.json).toMatchObject({
      error: "bad_request",
      field: "to",
      message: "to: the year is outside the supported years 1970-2100",
    });
  });

  it("answers 400 naming the limit for a range over policy.maxRangeDays (default 400)", async () => {
    const tenYears = await post("/v1/evidence-requests", served?.auditor ?? "", {
      ...request,
      from: "2016-01-01",
      to: "2025-12-31",
    });
    expect(tenYears.status).toBe(400);
    expect(tenYears.json).toMatchObject({
      error: "bad_request",
      field: "to",
      message: "to: the range covers 3653 days, more than the limit of 400 days (policy.maxRangeDays)",
    });
    // 401 days: one over.
    const justOver = await post("/v1/evidence-requests", served?.auditor ?? "", {
      ...request,
      from: "2026-01-01",
      to: "2027-02-05",
    });
    expect(justOver.status).toBe(400);
    expect(justOver.json.message).toMatch(/covers 401 days, more than the limit of 400 days/);
  });
});

describe("errors name the field and the rule, never the submitted value", () => {
  /** Asks, and checks that nothing of `submitted` comes back in the body. */
  async function refused(
    method: string,
    url: string,
    body: unknown,
    submitted: string,
  ): Promise<{ status: number; json: Record<string, unknown> }> {
    const response = await fetch(`${base}${url}`, {
      method,
      headers: {
        ...bearer(served?.operator ?? ""),
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    expect(text, `${method} ${url}`).not.toContain(submitted);
    const json = JSON.parse(text) as Record<string, unknown>;
    expectErrorShape(json, response.status);
    return { status: response.status, json };
  }

  it("answers bad periods and dates with the rule only", async () => {
    const cases: Array<[Record<string, string>, string, string, string]> = [
      [{ period: "0099" }, "0099", "period", "period: the year is outside the supported years 1970-2100"],
      [
        { period: "2031-13" },
        "2031-13",
        "period",
        "period: names a month that does not exist (months are 01-12)",
      ],
      [
        { period: "Q7-zzyzx" },
        "zzyzx",
        "period",
        "period: is not a quarter (2026-Q3), a month (2026-09) or a year (2026)",
      ],
      [
        { from: "2031-02-30", to: "2031-03-01" },
        "2031-02-30",
        "from",
        "from: is not a calendar date (no such day in that month)",
      ],
      [{ from: "2031-03-07", to: "2031-02-03" }, "2031-0", "to", "to: is before from"],
      [
        { from: "2016-01-01", to: "2025-12-31" },
        "2016-01-01",
        "to",
        "to: the range covers 3653 days, more than the limit of 400 days (policy.maxRangeDays)",
      ],
    ];
    for (const [dates, submitted, field, message] of cases) {
      const answer = await refused("POST", "/v1/evidence-requests", { ...request, ...dates }, submitted);
      expect(answer.status, JSON.stringify(dates)).toBe(400);
      expect(answer.json).toEqual({ error: "bad_request", field, message });
    }
  });

  it("answers an unknown run, an unknown schedule and a bad cron without reading them back", async () => {
    const run = await refused("GET", "/v1/runs/kp-zzyzx-no-such-run", undefined, "zzyzx");
    expect(run).toEqual({ status: 404, json: { error: "not_found", message: "no run with that id" } });
    const bundle = await refused("GET", "/v1/runs/kp-zzyzx-no-such-run/bundle", undefined, "zzyzx");
    expect(bundle.status).toBe(404);
    const schedule = await refused("DELETE", "/v1/schedules/zzyzx-quarterly", undefined, "zzyzx");
    expect(schedule).toEqual({
      status: 404,
      json: { error: "not_found", message: "no schedule with that name" },
    });
    const cron = await refused(
      "PUT",
      "/v1/schedules/nightly",
      { cron: "0 6 * JAN-ZZYZX *", period: "previous-month" },
      "ZZYZX",
    );
    expect(cron.status).toBe(400);
    expect(cron.json).toMatchObject({ field: "cron" });
    expect(String(cron.json.message)).toMatch(/^cron: is not a valid cron pattern: /);
  });
});

describe("one run for identical requests", () => {
  let runId: string;

  it("makes exactly one run of 100 concurrent identical requests over the socket", async () => {
    const token = (await served!.tokens.create({ name: "burst", role: "auditor" })).token;
    const before = await served!.client.redis.zcard(`${served!.client.prefix}:kp:runs`);
    const answers = await Promise.all(
      Array.from({ length: 100 }, () =>
        post("/v1/evidence-requests", token, { ...request, from: "2026-07-01", to: "2026-07-06" }),
      ),
    );
    const statuses = answers.map((answer) => answer.status);
    expect(statuses.filter((status) => status === 202)).toHaveLength(1);
    expect(statuses.filter((status) => status === 200)).toHaveLength(99);
    const ids = new Set(answers.map((answer) => answer.json.runId));
    expect(ids.size).toBe(1);
    runId = String([...ids][0]);
    expect(await served!.client.redis.zcard(`${served!.client.prefix}:kp:runs`)).toBe(before + 1);
  }, 120_000);

  it("returns the completed run to an identical request within queue.dedupeWindowSeconds", async () => {
    await waitFor(
      "the run to complete",
      async () => {
        const record = await served!.client.runs.get(runId);
        if (record?.status === "failed") throw new Error(record.error);
        return record?.status === "completed" ? record : undefined;
      },
      90_000,
      250,
    );
    const again = await post("/v1/evidence-requests", served?.auditor ?? "", {
      ...request,
      from: "2026-07-01",
      to: "2026-07-06",
    });
    expect(again.status).toBe(200);
    expect(again.json).toMatchObject({ runId, existing: true, status: "completed" });
  }, 120_000);

  it("answers a file the completed run's bundle does not have without the path asked for", async () => {
    const response = await fetch(`${base}/v1/runs/${runId}/artifacts/sources/zzyzx-not-there.json`, {
      headers: bearer(served?.auditor ?? ""),
    });
    expect(response.status).toBe(404);
    const text = await response.text();
    expect(text).not.toContain("zzyzx");
    expect(JSON.parse(text)).toEqual({ error: "not_found", message: "no such file in the run's bundle" });
  });

  it("starts a new run for the identical request after the run completed when queue.dedupeWindowSeconds is 0", async () => {
    // A second API process over the same Redis, workers and data directory, configured without a window.
    const config: Config = {
      ...setup.loaded.config,
      queue: { ...setup.loaded.config.queue, prefix: served!.client.prefix, dedupeWindowSeconds: 0 },
    };
    const noWindow = await buildApiServer({
      client: served!.client,
      service: {
        config,
        configDirectory: setup.loaded.directory,
        dataDirectory: path.join(setup.directory, "data"),
        render: false,
      },
    });
    try {
      expect((await served!.client.runs.get(runId))?.status).toBe("completed");
      const fresh = await noWindow.inject({
        method: "POST",
        url: "/v1/evidence-requests",
        headers: bearer(served?.auditor ?? ""),
        payload: { ...request, from: "2026-07-01", to: "2026-07-06" },
      });
      expect(fresh.statusCode, fresh.body).toBe(202);
      const started = fresh.json<{ runId: string; existing: boolean }>();
      expect(started.existing).toBe(false);
      expect(started.runId).not.toBe(runId);
      // While the new run is going, the identical request gets it from either process: still one run.
      const meanwhile = await post("/v1/evidence-requests", served?.auditor ?? "", {
        ...request,
        from: "2026-07-01",
        to: "2026-07-06",
      });
      expect(meanwhile.status).toBe(200);
      expect(meanwhile.json).toMatchObject({ runId: started.runId, existing: true });
      // Let it finish, so the harness closes no worker in the middle of a run.
      await waitFor(
        "the new run to complete",
        async () => {
          const record = await served!.client.runs.get(started.runId);
          if (record?.status === "failed") throw new Error(record.error);
          return record?.status === "completed" ? record : undefined;
        },
        90_000,
        250,
      );
    } finally {
      await noWindow.close();
    }
  }, 120_000);
});

describe("Fastify's own errors in the API's shape, never reading the request back", () => {
  it("answers a 5,000-character id with 414 in the error shape, without the URL", async () => {
    const id = "k".repeat(5000);
    const response = await fetch(`${base}/v1/runs/${id}`, { headers: bearer(served?.auditor ?? "") });
    expect(response.status).toBe(414);
    const text = await response.text();
    expect(text).not.toContain("kkkkkkkk");
    expectErrorShape(JSON.parse(text), response.status);
    expect(JSON.parse(text)).toMatchObject({ error: "uri_too_long" });
    // The access log (which lands in the next bundle) keeps a bounded path, not the 5,000 characters.
    const logged = await waitFor("the access log entry", async () => {
      const entries = await readPendingAccessEntries(served!.client.redis, served!.client.prefix);
      return entries.find((entry) => entry.status === 414);
    });
    expect(logged.path.length).toBeLessThanOrEqual(512);
  });

  it("does not read an unknown field's name back unless it looks like a field name", async () => {
    const response = await post("/v1/evidence-requests", served?.auditor ?? "", {
      ...request,
      period: "2026-Q3",
      "<img src=x onerror=alert(1)>": 1,
    });
    expect(response.status).toBe(400);
    expect(response.json).toEqual({
      error: "bad_request",
      field: "(body)",
      message: "(body): unknown field",
    });
  });

  it("answers bad URL encoding with 400 in the error shape, without the URL", async () => {
    const response = await fetch(`${base}/v1/runs/evil%E0%A4%A`, { headers: bearer(served?.auditor ?? "") });
    expect(response.status).toBe(400);
    const text = await response.text();
    expect(text).not.toContain("evil");
    expectErrorShape(JSON.parse(text), response.status);
    expect(JSON.parse(text)).toMatchObject({ error: "bad_request", field: "(url)" });
  });

  it("answers unknown routes and methods with 404 in the error shape, without the URL", async () => {
    for (const [method, url] of [
      ["GET", "/v2/%3Cscript%3Ealert(1)%3C/script%3E"],
      ["PATCH", "/v1/runs"],
      ["GET", "/v1/runs-nothing?q=<script>"],
    ] as const) {
      const response = await fetch(`${base}${url}`, { method, headers: bearer(served?.auditor ?? "") });
      expect(response.status, url).toBe(404);
      const text = await response.text();
      expect(text, url).not.toMatch(/script|v2|runs-nothing/);
      expectErrorShape(JSON.parse(text), response.status);
    }
  });

  it("answers a body that is not JSON and one over 64 KiB in the error shape, without the body", async () => {
    const broken = await fetch(`${base}/v1/evidence-requests`, {
      method: "POST",
      headers: { ...bearer(served?.auditor ?? ""), "content-type": "application/json" },
      body: '{"period": "2026-Q3", "secretish": ',
    });
    expect(broken.status).toBe(400);
    const brokenText = await broken.text();
    expect(brokenText).not.toContain("secretish");
    expectErrorShape(JSON.parse(brokenText), broken.status);
    const large = await fetch(`${base}/v1/evidence-requests`, {
      method: "POST",
      headers: { ...bearer(served?.auditor ?? ""), "content-type": "application/json" },
      body: JSON.stringify({ ...request, reason: "r".repeat(70_000) }),
    });
    expect(large.status).toBe(413);
    expectErrorShape(await large.json(), large.status);
  });

  it("answers headers over Node's 16 KiB limit with 431 in the error shape", async () => {
    const url = new URL(base);
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(url.port), url.hostname);
      let received = "";
      socket.on("data", (chunk) => (received += chunk.toString("utf8")));
      socket.on("end", () => resolve(received));
      socket.on("error", reject);
      socket.write(`GET /v1/runs HTTP/1.1\r\nHost: x\r\nX-Filler: ${"f".repeat(20_000)}\r\n\r\n`);
    });
    expect(raw).toMatch(/^HTTP\/1\.1 431 /);
    const body = JSON.parse(raw.slice(raw.indexOf("\r\n\r\n") + 4)) as unknown;
    expectErrorShape(body, 431);
    expect(raw).not.toContain("ffff");
  });
});

describe("limits shared by every API process", () => {
  it("refuses a token over queue.apiRequestsPerMinute with 429 and Retry-After, across two API processes", async () => {
    const token = (await quietTokens.create({ name: "busy", role: "auditor" })).token;
    const other = (await quietTokens.create({ name: "calm", role: "auditor" })).token;
    for (let index = 0; index < QUIET_REQUESTS_PER_MINUTE; index += 1) {
      // Alternating between the two processes: they count in one Redis budget.
      const app = quiet[index % 2]!;
      const response = await app.inject({ method: "GET", url: "/v1/runs", headers: bearer(token) });
      expect(response.statusCode, `request ${index + 1}`).toBe(200);
    }
    const refused = await quiet[0]!.inject({ method: "GET", url: "/v1/runs", headers: bearer(token) });
    expect(refused.statusCode).toBe(429);
    expect(Number(refused.headers["retry-after"])).toBeGreaterThan(0);
    expectErrorShape(refused.json(), refused.statusCode);
    expect(refused.json()).toMatchObject({ error: "too_many_requests" });
    expect(refused.body).not.toContain(token);
    // Another token has its own budget.
    const calm = await quiet[1]!.inject({ method: "GET", url: "/v1/runs", headers: bearer(other) });
    expect(calm.statusCode).toBe(200);
  });

  it("refuses failed authentications over queue.apiAuthFailuresPerMinute per client address with 429, before the token is looked at, across two API processes", async () => {
    const valid = (await quietTokens.create({ name: "guessed", role: "auditor" })).token;
    const guesser = "203.0.113.7";
    const ask = (app: FastifyInstance, headers: Record<string, string>, remoteAddress = guesser) =>
      app.inject({ method: "GET", url: "/v1/runs", headers, remoteAddress });
    for (let index = 0; index < QUIET_AUTH_FAILURES_PER_MINUTE; index += 1) {
      // Missing and wrong tokens alike, alternating between the two processes: one budget in Redis.
      const headers = index % 2 === 0 ? {} : bearer(`kp_guess-${index}`);
      const refused = await ask(quiet[index % 2]!, headers);
      expect(refused.statusCode, `attempt ${index + 1}`).toBe(401);
    }
    const guess = `kp_guess-${"x".repeat(20)}-distinctive`;
    const limited = await ask(quiet[0]!, bearer(guess));
    expect(limited.statusCode).toBe(429);
    expect(Number(limited.headers["retry-after"])).toBeGreaterThan(0);
    expectErrorShape(limited.json(), limited.statusCode);
    expect(limited.json()).toMatchObject({ error: "too_many_requests" });
    expect(limited.json<{ message: string }>().message).toMatch(
      /more than 4 failed authentications per minute from this client address \(queue\.apiAuthFailuresPerMinute\)/,
    );
    expect(limited.body).not.toContain("distinctive");
    expect(limited.body).not.toContain(guesser);
    // A right guess from that address is refused the same way: the limit cannot be used as an oracle.
    expect((await ask(quiet[1]!, bearer(valid))).statusCode).toBe(429);
    // Other addresses keep their own budget, for valid and failed attempts alike.
    expect((await ask(quiet[1]!, bearer(valid), "198.51.100.2")).statusCode).toBe(200);
    expect((await ask(quiet[0]!, {}, "198.51.100.3")).statusCode).toBe(401);
    // Unauthenticated routes are not affected.
    const health = await quiet[0]!.inject({ method: "GET", url: "/healthz", remoteAddress: guesser });
    expect(health.statusCode).toBe(200);
  });

  it("refuses a run when its source already has queue.maxQueuedRunsPerSource unfinished runs (429)", async () => {
    const token = (await quietTokens.create({ name: "bounded", role: "auditor" })).token;
    const ask = (period: string) =>
      quiet[0]!.inject({
        method: "POST",
        url: "/v1/evidence-requests",
        headers: bearer(token),
        payload: { ...request, period },
      });
    expect((await ask("2026-01")).statusCode).toBe(202);
    // Different keys do not make a different budget: the bound is per source.
    const keyed = await quiet[0]!.inject({
      method: "POST",
      url: "/v1/evidence-requests",
      headers: bearer(token),
      payload: { ...request, period: "2026-01", keys: ["alias/only-this-key"] },
    });
    expect(keyed.statusCode).toBe(202);
    const third = await ask("2026-02");
    expect(third.statusCode).toBe(429);
    expectErrorShape(third.json(), third.statusCode);
    expect(third.json()).toMatchObject({ error: "too_many_requests" });
    expect(third.json<{ message: string }>().message).toMatch(
      /already has 2 runs queued or running \(queue\.maxQueuedRunsPerSource\)/,
    );
    // The identical request is still answered with its run: the bound refuses only new runs.
    const identical = await ask("2026-01");
    expect(identical.statusCode).toBe(200);
    // Once one finishes, the source takes a new run.
    const first = identical.json<{ runId: string }>().runId;
    await quietClient!.runs.fail(first, "cancelled by the test");
    expect((await ask("2026-02")).statusCode).toBe(202);
  });
});
