/**
 * The procedure routes of the API on real Redis: reviewers approve the current procedure text (201), the
 * other roles may read it but get 403 on approving, bad names answer 400 naming the field.
 */
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApiServer } from "../../src/api/api-server.ts";
import { ApiTokenStore } from "../../src/auth/api-tokens.ts";
import { ConfigSchema } from "../../src/config/config.schema.ts";
import { QueueClient } from "../../src/jobs/queue/queue-client.ts";
import type { ProcedureApproval } from "../../src/model/review.ts";
import { procedureIdentityOf, procedureInputOf } from "../../src/procedure/procedure-text.ts";
import { REDIS_URL, cleanupPrefix, removeDirectory, uniquePrefix } from "./queue-harness.ts";

const prefix = uniquePrefix("api-procedure");
const config = ConfigSchema.parse({
  organization: "API Procedure Corp",
  sources: [{ id: "aws-main", type: "aws-kms", regions: ["us-east-1"] }],
  signing: { localKeyFile: "./signing.pem" },
});
const current = procedureIdentityOf(procedureInputOf(config));
let directory: string;
let client: QueueClient;
let app: FastifyInstance;
const tokens: Record<"auditor" | "operator" | "reviewer", string> = {
  auditor: "",
  operator: "",
  reviewer: "",
};

beforeAll(async () => {
  directory = await mkdtemp(path.join(tmpdir(), "keyproof-api-procedure-"));
  client = QueueClient.connect(REDIS_URL, prefix);
  const store = new ApiTokenStore(client.redis, prefix);
  tokens.auditor = (await store.create({ name: "jane-auditor", role: "auditor" })).token;
  tokens.operator = (await store.create({ name: "ops", role: "operator" })).token;
  tokens.reviewer = (await store.create({ name: "Erin Lead (Engineering Lead)", role: "reviewer" })).token;
  app = await buildApiServer({
    client,
    service: {
      config,
      configDirectory: directory,
      dataDirectory: path.join(directory, "data"),
      render: false,
    },
  });
});

afterAll(async () => {
  await app?.close();
  await client?.close();
  await cleanupPrefix(REDIS_URL, prefix);
  await removeDirectory(directory);
});

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const approve = (token: string, payload: unknown) =>
  app.inject({
    method: "POST",
    url: "/v1/procedure/approvals",
    headers: bearer(token),
    payload: payload as object,
  });

describe("procedure API", () => {
  it("shows the current procedure without an approval", async () => {
    const response = await app.inject({
      method: "GET",
      url: "/v1/procedure",
      headers: bearer(tokens.auditor),
    });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ procedure: current, latestApproval: null, matchesCurrentText: false });
  });

  it("refuses approvals from auditors and operators (403), and without a token (401)", async () => {
    for (const role of ["auditor", "operator"] as const) {
      const response = await approve(tokens[role], { name: "Eve", title: "Intern" });
      expect(response.statusCode).toBe(403);
      expect(response.json()).toMatchObject({ error: "forbidden" });
    }
    const anonymous = await app.inject({
      method: "POST",
      url: "/v1/procedure/approvals",
      payload: { name: "Eve", title: "Intern" },
    });
    expect(anonymous.statusCode).toBe(401);
  });

  it("answers 400 naming the field for an empty name, a control character or an unknown field", async () => {
    const empty = await approve(tokens.reviewer, { name: " ", title: "Lead" });
    expect(empty.statusCode).toBe(400);
    expect(empty.json()).toMatchObject({ field: "name" });
    const control = await approve(tokens.reviewer, { name: "Erin", title: "Lead\u0000" });
    expect(control.json()).toMatchObject({ field: "title" });
    expect((await approve(tokens.reviewer, { name: "Erin", title: "Lead", extra: 1 })).statusCode).toBe(400);
  });

  it("records a reviewer's approval of the current text (201), then shows it as matching", async () => {
    const response = await approve(tokens.reviewer, { name: "Erin Lead", title: "Engineering Lead" });
    expect(response.statusCode).toBe(201);
    const approval = response.json<ProcedureApproval>();
    expect(approval).toMatchObject({
      ...current,
      name: "Erin Lead",
      title: "Engineering Lead",
      recordedBy: "Erin Lead (Engineering Lead)",
    });
    const shown = await app.inject({ method: "GET", url: "/v1/procedure", headers: bearer(tokens.operator) });
    expect(shown.json()).toEqual({ procedure: current, latestApproval: approval, matchesCurrentText: true });
  });
});
