import { Validator } from "@seriousme/openapi-schema-validator";
import { describe, expect, it } from "vitest";
import { buildOpenApiDocument, OPENAPI_DOCUMENT } from "./openapi.ts";

describe("OpenAPI document", () => {
  it("is a valid OpenAPI 3.1 document, every $ref resolving", async () => {
    const validator = new Validator();
    // The validator takes a copy: it must not add anything to the document the server serves.
    const copy: Record<string, unknown> = { ...structuredClone(OPENAPI_DOCUMENT) };
    const result = await validator.validate(copy);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe("3.1");
    // resolveRefs throws on a $ref to a missing component.
    expect(() => validator.resolveRefs()).not.toThrow();
  });

  it("is generated from the request schemas: the zod constraints appear in it", () => {
    const schemas = OPENAPI_DOCUMENT.components?.schemas ?? {};
    expect(schemas.EvidenceRequest).toMatchObject({
      type: "object",
      additionalProperties: false,
      required: ["requester", "reason"],
      properties: { from: { pattern: "^\\d{4}-\\d{2}-\\d{2}$" }, keys: { maxItems: 1000 } },
    });
    expect(schemas.ScheduleBody).toMatchObject({
      properties: { period: { enum: ["previous-quarter", "previous-month", "previous-year"] } },
    });
    expect(schemas.Error).toMatchObject({
      required: ["error", "message"],
      properties: { error: { enum: expect.arrayContaining(["bad_request", "too_many_requests"]) } },
    });
    // A pure function of the schemas: built twice, the same document.
    expect(buildOpenApiDocument()).toEqual(OPENAPI_DOCUMENT);
  });

  it("requires the bearer token and documents 401, and 429 on every route but the health check", () => {
    for (const [path, item] of Object.entries(OPENAPI_DOCUMENT.paths ?? {})) {
      for (const method of ["get", "post", "put", "delete", "patch"] as const) {
        const operation = item[method];
        if (operation === undefined) continue;
        // Health checks are exempt from the rate limit (a load balancer polls them).
        if (path !== "/healthz") expect(operation.responses?.["429"], `${method} ${path}`).toBeDefined();
        if (path.startsWith("/v1/") || path.startsWith("/admin/")) {
          expect(operation.security, path).toEqual([{ bearerAuth: [] }]);
          expect(operation.responses?.["401"], path).toBeDefined();
        }
      }
    }
  });
});
