/**
 * The served OpenAPI document against the server that serves it (real Redis): valid per the OpenAPI 3.1
 * schema (@seriousme/openapi-schema-validator), the same document the schemas generate, and every route
 * Fastify registers (listed by an onRoute hook, the queue dashboard's included) documented with its method.
 */
import path from "node:path";
import { Validator } from "@seriousme/openapi-schema-validator";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApiServer } from "../../src/api/api-server.ts";
import { buildOpenApiDocument } from "../../src/api/openapi.ts";
import { QUEUE_DASHBOARD_PATH } from "../../src/api/queue-dashboard.ts";
import { QueueClient } from "../../src/jobs/queue/queue-client.ts";
import {
  cleanupPrefix,
  prepareEstate,
  REDIS_URL,
  removeDirectory,
  uniquePrefix,
  type TestEstate,
} from "./queue-harness.ts";

const prefix = uniquePrefix("api-openapi");
let setup: TestEstate | undefined;
let client: QueueClient | undefined;
let app: FastifyInstance;
const registered: Array<{ method: string; url: string }> = [];

beforeAll(async () => {
  setup = await prepareEstate();
  client = QueueClient.connect(REDIS_URL, prefix);
  app = await buildApiServer({
    client,
    service: {
      config: setup.loaded.config,
      configDirectory: setup.loaded.directory,
      dataDirectory: path.join(setup.directory, "data"),
      render: false,
    },
    onRoute: (route) => {
      for (const method of [route.method].flat()) registered.push({ method, url: route.url });
    },
  });
}, 120_000);

afterAll(async () => {
  await app?.close();
  await client?.close();
  await cleanupPrefix(REDIS_URL, prefix);
  await removeDirectory(setup?.directory);
});

/** Fastify's `/v1/runs/:id/artifacts/*` as the document writes it; dashboard routes under one wildcard. */
function documentedPathOf(url: string): string {
  if (url.startsWith(`${QUEUE_DASHBOARD_PATH}/`)) return `${QUEUE_DASHBOARD_PATH}/{path}`;
  return url.replace(/:([A-Za-z]+)/g, "{$1}").replace(/\/\*$/, "/{path}");
}

describe("the served OpenAPI document", () => {
  it("is valid OpenAPI 3.1 and is the document the schemas generate", async () => {
    const response = await app.inject({ method: "GET", url: "/openapi.json" });
    expect(response.statusCode).toBe(200);
    const served = response.json<Record<string, unknown>>();
    expect(served).toEqual(JSON.parse(JSON.stringify(buildOpenApiDocument())));
    const result = await new Validator().validate(served);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it("documents every route the server registers, with its method", async () => {
    const document = (await app.inject({ method: "GET", url: "/openapi.json" })).json<{
      paths: Record<string, Record<string, unknown>>;
    }>();
    // Fastify adds a HEAD route beside every GET on its own; HEAD answers what GET does, without a body.
    const routes = registered.filter((route) => route.method !== "HEAD");
    expect(routes.length).toBeGreaterThan(20); // the API's own routes and bull-board's
    const missing = routes.filter(
      (route) => document.paths[documentedPathOf(route.url)]?.[route.method.toLowerCase()] === undefined,
    );
    expect(missing).toEqual([]);
    // And the other way round: nothing documented that the server does not answer.
    const served = new Set(
      routes.map((route) => `${route.method.toLowerCase()} ${documentedPathOf(route.url)}`),
    );
    const documented = Object.entries(document.paths).flatMap(([documentedPath, item]) =>
      Object.keys(item).map((method) => `${method} ${documentedPath}`),
    );
    expect(documented.filter((operation) => !served.has(operation))).toEqual([]);
  });
});
