import { KEYPROOF_VERSION } from "../version.ts";

/**
 * The OpenAPI 3.1 document served at `/openapi.json`, written as a typed object (no generator: the
 * routes validate with zod, and this document is kept beside them; api-openapi test checks every route
 * is described). Only the parts of the OpenAPI types this document uses are declared.
 */

type SchemaObject =
  | { $ref: string }
  | {
      type?: "object" | "array" | "string" | "integer" | "number" | "boolean";
      description?: string;
      properties?: Record<string, SchemaObject>;
      required?: string[];
      items?: SchemaObject;
      enum?: string[];
      format?: string;
      pattern?: string;
      example?: unknown;
      additionalProperties?: boolean | SchemaObject;
      oneOf?: SchemaObject[];
      minimum?: number;
      maximum?: number;
    };

interface ParameterObject {
  name: string;
  in: "path" | "query";
  required: boolean;
  description?: string;
  schema: SchemaObject;
}

interface ResponseObject {
  description: string;
  content?: Record<string, { schema: SchemaObject }>;
}

interface OperationObject {
  operationId: string;
  summary: string;
  description?: string;
  tags: string[];
  security?: Array<Record<string, string[]>>;
  parameters?: ParameterObject[];
  requestBody?: { required: boolean; content: Record<string, { schema: SchemaObject }> };
  responses: Record<string, ResponseObject>;
}

export interface OpenApiDocument {
  openapi: "3.1.0";
  info: { title: string; version: string; description: string };
  servers?: Array<{ url: string }>;
  paths: Record<string, Partial<Record<"get" | "post" | "put" | "delete", OperationObject>>>;
  components: {
    schemas: Record<string, SchemaObject>;
    securitySchemes: Record<string, { type: "http"; scheme: "bearer"; description: string }>;
  };
}

const error = (description: string): ResponseObject => ({
  description,
  content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
});

const runIdParameter: ParameterObject = {
  name: "id",
  in: "path",
  required: true,
  description: "Run id, e.g. kp-20261001T060000Z-3f9a1c",
  schema: { type: "string" },
};

const bearer = [{ bearerAuth: [] }];

export const OPENAPI_DOCUMENT: OpenApiDocument = {
  openapi: "3.1.0",
  info: {
    title: "keyproof API",
    version: KEYPROOF_VERSION,
    description:
      "On-demand SOC 2 CC6 encryption-key-management evidence: request a run for a period, follow it, download the sealed bundle. " +
      "Every access is logged and written into the next bundle (api-access-log.json).",
  },
  paths: {
    "/v1/evidence-requests": {
      post: {
        operationId: "requestEvidence",
        summary: "Request an evidence run for a period",
        description:
          "Give `period` (2026-Q3, 2026-09, 2026) or `from` + `to` (inclusive UTC dates). A request for the same scope and period while one is running returns that run (200) instead of starting another (202).",
        tags: ["runs"],
        security: bearer,
        requestBody: {
          required: true,
          content: { "application/json": { schema: { $ref: "#/components/schemas/EvidenceRequest" } } },
        },
        responses: {
          "202": {
            description: "Run started",
            content: { "application/json": { schema: { $ref: "#/components/schemas/RunAccepted" } } },
          },
          "200": {
            description: "The identical run already going",
            content: { "application/json": { schema: { $ref: "#/components/schemas/RunAccepted" } } },
          },
          "400": error("Invalid request; `field` names the field"),
          "401": error("Missing or invalid token"),
          "403": error("The token's role may not do this"),
        },
      },
    },
    "/v1/runs": {
      get: {
        operationId: "listRuns",
        summary: "Runs, newest first",
        tags: ["runs"],
        security: bearer,
        parameters: [
          {
            name: "limit",
            in: "query",
            required: false,
            schema: { type: "integer", minimum: 1, maximum: 100 },
          },
          { name: "offset", in: "query", required: false, schema: { type: "integer", minimum: 0 } },
        ],
        responses: {
          "200": {
            description: "A page of runs",
            content: { "application/json": { schema: { $ref: "#/components/schemas/RunPage" } } },
          },
          "400": error("Invalid paging parameter"),
          "401": error("Missing or invalid token"),
        },
      },
    },
    "/v1/runs/{id}": {
      get: {
        operationId: "getRun",
        summary: "State, progress per step, findings summary and gaps of a run",
        tags: ["runs"],
        security: bearer,
        parameters: [runIdParameter],
        responses: {
          "200": {
            description: "The run",
            content: { "application/json": { schema: { $ref: "#/components/schemas/Run" } } },
          },
          "401": error("Missing or invalid token"),
          "404": error("Unknown run"),
        },
      },
    },
    "/v1/runs/{id}/bundle": {
      get: {
        operationId: "downloadBundle",
        summary: "The sealed bundle archive (.tar.gz), or a presigned S3 URL for it",
        description:
          "When the run's bundle was stored in S3 (`storage.s3`), answers with a presigned GetObject URL for the stored object version, valid 300 seconds: " +
          "a 302 redirect by default, or with `redirect=false` a JSON body `{ url, expiresAt, versionId }`. Otherwise streams the archive from the server's data directory.",
        tags: ["downloads"],
        security: bearer,
        parameters: [
          runIdParameter,
          {
            name: "redirect",
            in: "query",
            required: false,
            description:
              "For bundles stored in S3: `true` (default) redirects to the presigned URL, `false` returns it as JSON",
            schema: { type: "string", enum: ["true", "false"] },
          },
        ],
        responses: {
          "200": {
            description:
              "The archive (not stored in S3), or the presigned URL (stored in S3, `redirect=false`)",
            content: {
              "application/gzip": { schema: { type: "string", format: "binary" } },
              "application/json": { schema: { $ref: "#/components/schemas/PresignedBundle" } },
            },
          },
          "302": {
            description:
              "Stored in S3: `Location` is a presigned GetObject URL for the stored version, valid 300 seconds",
          },
          "400": error("`redirect` is neither true nor false"),
          "401": error("Missing or invalid token"),
          "404": error("Unknown run"),
          "409": error("The run has not sealed its bundle yet"),
        },
      },
    },
    "/v1/runs/{id}/artifacts/{path}": {
      get: {
        operationId: "downloadArtifact",
        summary: "One file of a sealed bundle",
        description:
          "`path` is the file's path inside the bundle as listed in manifest.json, e.g. findings.json.",
        tags: ["downloads"],
        security: bearer,
        parameters: [
          runIdParameter,
          { name: "path", in: "path", required: true, schema: { type: "string" } },
        ],
        responses: {
          "200": { description: "The file" },
          "400": error("The path is not a bundle path (absolute, .., control characters)"),
          "401": error("Missing or invalid token"),
          "404": error("Unknown run or no such file"),
          "409": error("The run has not sealed its bundle yet"),
        },
      },
    },
    "/v1/schedules": {
      get: {
        operationId: "listSchedules",
        summary: "Schedules with their next run time (operators)",
        tags: ["schedules"],
        security: bearer,
        responses: {
          "200": {
            description: "Schedules",
            content: {
              "application/json": {
                schema: {
                  type: "object",
                  properties: {
                    schedules: { type: "array", items: { $ref: "#/components/schemas/Schedule" } },
                  },
                },
              },
            },
          },
          "401": error("Missing or invalid token"),
          "403": error("Operators only"),
        },
      },
    },
    "/v1/schedules/{name}": {
      put: {
        operationId: "upsertSchedule",
        summary: "Create or change a schedule (operators)",
        description:
          "Schedules from keyproof.yaml are managed by `keyproof schedule sync`; schedules made here are kept by sync.",
        tags: ["schedules"],
        security: bearer,
        parameters: [
          {
            name: "name",
            in: "path",
            required: true,
            schema: { type: "string", pattern: "^[a-z0-9][a-z0-9-]{0,62}$" },
          },
        ],
        requestBody: {
          required: true,
          content: { "application/json": { schema: { $ref: "#/components/schemas/ScheduleBody" } } },
        },
        responses: {
          "200": {
            description: "The schedule",
            content: { "application/json": { schema: { $ref: "#/components/schemas/Schedule" } } },
          },
          "400": error("Invalid schedule; `field` names the field"),
          "401": error("Missing or invalid token"),
          "403": error("Operators only"),
        },
      },
      delete: {
        operationId: "removeSchedule",
        summary: "Remove a schedule (operators)",
        tags: ["schedules"],
        security: bearer,
        parameters: [{ name: "name", in: "path", required: true, schema: { type: "string" } }],
        responses: {
          "204": { description: "Removed" },
          "401": error("Missing or invalid token"),
          "403": error("Operators only"),
          "404": error("No such schedule"),
        },
      },
    },
    "/admin/queues": {
      get: {
        operationId: "queueDashboard",
        summary: "The queue dashboard, bull-board (operators)",
        description:
          "An HTML application; its pages, assets and JSON API under /admin/queues/ need the same operator bearer token (send it with a header-injecting proxy or browser extension). Not part of the versioned API.",
        tags: ["admin"],
        security: bearer,
        responses: {
          "200": {
            description: "The dashboard page",
            content: { "text/html": { schema: { type: "string" } } },
          },
          "401": error("Missing or invalid token"),
          "403": error("Operators only"),
        },
      },
    },
    "/openapi.json": {
      get: {
        operationId: "getOpenApi",
        summary: "This document",
        tags: ["meta"],
        responses: { "200": { description: "OpenAPI 3.1 document" } },
      },
    },
    "/healthz": {
      get: {
        operationId: "health",
        summary: "Liveness and Redis reachability",
        tags: ["meta"],
        responses: { "200": { description: "Up" }, "503": error("Redis unreachable") },
      },
    },
  },
  components: {
    securitySchemes: {
      bearerAuth: {
        type: "http",
        scheme: "bearer",
        description: "A token from `keyproof token create --role auditor|operator --name ...`",
      },
    },
    schemas: {
      Error: {
        type: "object",
        required: ["error", "message"],
        properties: {
          error: {
            type: "string",
            enum: [
              "bad_request",
              "unauthorized",
              "forbidden",
              "not_found",
              "conflict",
              "payload_too_large",
              "unsupported_media_type",
              "unavailable",
              "internal",
            ],
          },
          message: { type: "string" },
          field: { type: "string", description: "The request field at fault (400 only)" },
          requestId: { type: "string" },
        },
      },
      EvidenceRequest: {
        type: "object",
        required: ["requester", "reason"],
        additionalProperties: false,
        properties: {
          period: {
            type: "string",
            example: "2026-Q3",
            description: "Quarter, month or year; instead of from/to",
          },
          from: { type: "string", format: "date", example: "2026-07-01" },
          to: { type: "string", format: "date", example: "2026-09-30" },
          sources: {
            type: "array",
            items: { type: "string" },
            description: "Source ids from the config; default all",
          },
          keys: {
            type: "array",
            items: { type: "string" },
            description: "Key ids, ARNs or aliases; default all keys",
          },
          requester: { type: "string", example: "jane.doe@auditfirm.example" },
          reason: { type: "string", example: "SOC 2 Type II fieldwork, CC6.1 sample" },
        },
      },
      RunAccepted: {
        type: "object",
        required: ["runId", "status", "existing", "links"],
        properties: {
          runId: { type: "string" },
          status: { type: "string" },
          existing: { type: "boolean", description: "True when an identical run was already going" },
          links: { type: "object", properties: { self: { type: "string" }, bundle: { type: "string" } } },
        },
      },
      StepProgress: {
        type: "object",
        properties: {
          step: { type: "string", enum: ["collect", "usage", "judge", "render", "seal", "deliver"] },
          total: { type: "integer" },
          completed: { type: "integer" },
          failed: { type: "integer" },
          active: { type: "integer" },
          pending: { type: "integer" },
          unknown: { type: "integer" },
        },
      },
      Run: {
        type: "object",
        required: ["runId", "status", "period", "createdAt"],
        properties: {
          runId: { type: "string" },
          status: { type: "string", enum: ["queued", "running", "sealed", "completed", "failed"] },
          state: {
            type: "string",
            description:
              "the status, except completed-with-gaps for a completed run with incomplete evidence",
            enum: ["queued", "running", "sealed", "completed", "completed-with-gaps", "failed"],
          },
          period: {
            type: "object",
            properties: { label: { type: "string" }, from: { type: "string" }, to: { type: "string" } },
          },
          createdAt: { type: "string", format: "date-time" },
          startedAt: { type: "string", format: "date-time" },
          finishedAt: { type: "string", format: "date-time" },
          request: { type: "object", additionalProperties: true },
          scope: {
            type: "object",
            properties: {
              sources: { type: "array", items: { type: "string" } },
              keys: { type: "array", items: { type: "string" } },
            },
          },
          progress: { type: "array", items: { $ref: "#/components/schemas/StepProgress" } },
          findings: {
            type: "object",
            additionalProperties: true,
            description: "Totals by status and open findings by severity",
          },
          gaps: {
            type: "object",
            properties: {
              count: { type: "integer" },
              items: { type: "array", items: { type: "object", additionalProperties: true } },
            },
          },
          bundle: {
            type: "object",
            properties: { manifestSha256: { type: "string" }, download: { type: "string" } },
          },
          error: { type: "string" },
        },
      },
      PresignedBundle: {
        type: "object",
        required: ["url", "expiresAt"],
        properties: {
          url: { type: "string", description: "Presigned S3 GetObject URL; no Authorization header needed" },
          expiresAt: { type: "string", format: "date-time" },
          versionId: { type: "string", description: "The S3 object version the URL is pinned to" },
        },
      },
      RunPage: {
        type: "object",
        properties: {
          total: { type: "integer" },
          offset: { type: "integer" },
          limit: { type: "integer" },
          runs: { type: "array", items: { $ref: "#/components/schemas/Run" } },
          next: { type: "string", description: "URL of the next page, absent on the last" },
        },
      },
      ScheduleBody: {
        type: "object",
        required: ["cron", "period"],
        properties: {
          cron: { type: "string", example: "0 6 1 1,4,7,10 *" },
          tz: { type: "string", example: "UTC" },
          period: { type: "string", enum: ["previous-quarter", "previous-month", "previous-year"] },
        },
      },
      Schedule: {
        type: "object",
        properties: {
          name: { type: "string" },
          cron: { type: "string" },
          tz: { type: "string" },
          period: { type: "string" },
          origin: { type: "string", enum: ["config", "api", "unknown"] },
          next: { type: "string", format: "date-time" },
        },
      },
    },
  },
};
