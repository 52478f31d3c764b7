import { describe, expect, it } from "vitest";
import { OPENAPI_DOCUMENT } from "./openapi.ts";

describe("OpenAPI document", () => {
  it("describes every route the server registers, with its error responses", () => {
    const described = Object.entries(OPENAPI_DOCUMENT.paths).flatMap(([path, operations]) =>
      Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(described.sort()).toEqual(
      [
        "POST /v1/evidence-requests",
        "GET /v1/runs",
        "GET /v1/runs/{id}",
        "GET /v1/runs/{id}/bundle",
        "GET /v1/runs/{id}/artifacts/{path}",
        "GET /v1/schedules",
        "PUT /v1/schedules/{name}",
        "DELETE /v1/schedules/{name}",
        "GET /openapi.json",
        "GET /healthz",
        "GET /admin/queues",
      ].sort(),
    );
    for (const [path, operations] of Object.entries(OPENAPI_DOCUMENT.paths)) {
      for (const operation of Object.values(operations)) {
        if (path.startsWith("/v1/") || path.startsWith("/admin/")) {
          expect(operation.security, path).toEqual([{ bearerAuth: [] }]);
          expect(operation.responses["401"], path).toBeDefined();
        }
      }
    }
  });

  it("resolves every $ref to a component", () => {
    const refs = JSON.stringify(OPENAPI_DOCUMENT).match(/"#\/components\/schemas\/[A-Za-z]+"/g) ?? [];
    for (const ref of refs) {
      const name = ref.slice('"#/components/schemas/'.length, -1);
      expect(OPENAPI_DOCUMENT.components.schemas[name], name).toBeDefined();
    }
  });
});
