import type { Socket } from "node:net";
import rateLimit from "@fastify/rate-limit";
import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from "fastify";
import { describeError, isKeyproofError } from "../errors/errors.ts";
import { ApiTokenStore, bearerTokenOf, roleAllows } from "../auth/api-tokens.ts";
import { appendAccessEntry } from "../jobs/queue/access-log.ts";
import { isDateRangeError } from "../time/date-range.ts";
import { API_ERROR_CODES, ApiError, badRequest, type ApiErrorBody } from "./api-error.ts";
import { apiLimitsOf } from "./api-limits.ts";
import type { ApiServerOptions } from "./api-types.ts";
import { OPENAPI_DOCUMENT } from "./openapi.ts";
import { QUEUE_DASHBOARD_PATH, registerQueueDashboard } from "./queue-dashboard.ts";
import { registerEvidenceRequestRoutes } from "./routes/evidence-requests.routes.ts";
import { registerReviewPageRoutes } from "./review-page/review-page.routes.ts";
import { registerReviewRoutes } from "./routes/reviews.routes.ts";
import { registerRunRoutes } from "./routes/runs.routes.ts";
import { registerScheduleRoutes } from "./routes/schedules.routes.ts";
import { registerProcedureRoutes } from "./routes/procedure.routes.ts";

// The options' types and the request fields this server adds live in api-types.ts, which the routes import
// (they are registered from here, so importing this module back would be a cycle); re-exported for callers.
export type { ApiServerOptions, ServiceContext } from "./api-types.ts";

/**
 * The HTTP API. Every route but health and the OpenAPI document needs a bearer token whose role allows the
 * route's permission; every request (refused ones too) is appended to the access log that the next run
 * writes into its bundle. Errors answer with `ApiErrorBody` only.
 */
export async function buildApiServer(options: ApiServerOptions): Promise<FastifyInstance> {
  const limits = apiLimitsOf(options.service.config);
  // Set once the access log exists (below); Fastify takes frameworkErrors before the instance does.
  let frameworkErrorLogger: (request: FastifyRequest, status: number) => void = () => undefined;
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: 64 * 1024,
    // Request ids for error correlation; never derived from client input.
    genReqId: () => `req-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`,
    // Run ids (128) and nested bundle paths need more than Fastify's 100; longer answers 414 in our shape.
    routerOptions: { maxParamLength: 1024 },
    // Errors Fastify raises before any route runs (bad URL encoding, a parameter over maxParamLength):
    // its default answers read the URL back; these answer in the API's one shape.
    frameworkErrors: (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
      const { status, body } = errorBody(error, request.id);
      void reply.status(status).type("application/json").send(body);
      frameworkErrorLogger(request, status);
    },
    // Requests Node's HTTP parser refuses (malformed, headers too large) never reach Fastify's handlers.
    clientErrorHandler: answerClientError,
  });
  // JSON only: a text/plain body would otherwise reach validation as a string and read as a field error.
  app.removeContentTypeParser("text/plain");
  const tokens = options.tokens ?? new ApiTokenStore(options.client.redis, options.client.prefix);
  const { onRoute } = options;
  if (onRoute !== undefined) app.addHook("onRoute", (route) => onRoute(route));

  // Per token (per client address before authentication), counted in Redis so every API process of the
  // deployment shares one budget. preHandler: after the auth hook, so the token is known. Registered before
  // the auth hook, which uses the plugin's createRateLimit for failed authentications (below).
  await app.register(rateLimit, {
    global: true,
    hook: "preHandler",
    max: limits.requestsPerMinute,
    timeWindow: 60_000,
    redis: options.client.redis,
    nameSpace: `${options.client.prefix}:kp:api-rate:`,
    keyGenerator: (request) =>
      request.principal === undefined ? `address:${request.ip}` : `token:${request.principal.tokenId}`,
    errorResponseBuilder: (_request, context) =>
      new ApiError(
        "too_many_requests",
        `more than ${context.max} requests per minute for this token (queue.apiRequestsPerMinute); retry in ${context.after}`,
      ),
  });
  // Failed authentications per client address, in the same Redis store. The limiter above never sees them:
  // a 401 is thrown in onRequest, before its preHandler hook, so token guessing went unlimited. (The
  // plugin's child store for a limiter without a route names its keys `<nameSpace>undefinedundefined-…`:
  // odd, but apart from the per-token keys.)
  const authFailures = app.createRateLimit({
    max: limits.authFailuresPerMinute,
    timeWindow: 60_000,
    keyGenerator: (request) => `auth-failure:${request.ip}`,
  });

  app.addHook("onRequest", async (request, reply) => {
    const permission = request.routeOptions.config.permission;
    if (permission === undefined) return;
    // Read without counting, before the token is looked at: once the address has used up its failures,
    // every request is refused, so a right guess cannot be told apart from the wrong ones.
    const failures = await authFailures(request, { increment: false });
    if (!failures.isAllowed && failures.remaining === 0) {
      const seconds = Math.max(1, failures.ttlInSeconds);
      void reply.header("retry-after", String(seconds));
      throw new ApiError(
        "too_many_requests",
        `more than ${failures.max} failed authentications per minute from this client address (queue.apiAuthFailuresPerMinute); retry in ${seconds} s`,
      );
    }
    const token = bearerTokenOf(request.headers.authorization);
    const record = token === undefined ? undefined : await tokens.verify(token);
    if (record === undefined) {
      await authFailures(request);
      throw token === undefined
        ? new ApiError("unauthorized", "send Authorization: Bearer <token> (keyproof token create)")
        : new ApiError("unauthorized", "the token is unknown or revoked");
    }
    request.principal = { name: record.name, role: record.role, tokenId: record.id };
    if (!roleAllows(record.role, permission)) {
      throw new ApiError("forbidden", `role ${record.role} may not ${permission.replace("-", " ")}`);
    }
  });

  async function logAccess(request: FastifyRequest, status: number): Promise<void> {
    if (request.url === "/healthz") return;
    const entry = {
      at: new Date().toISOString(),
      actor: request.principal?.name ?? "anonymous",
      role: request.principal?.role ?? "none",
      method: request.method,
      // Bounded: a 5,000-character URL (answered 414) must not become a 5,000-character log entry in the bundle.
      path: (request.url.split("?")[0] ?? request.url).slice(0, ACCESS_LOG_PATH_CHARACTERS),
      status,
      ...(request.accessRunId === undefined ? {} : { runId: request.accessRunId }),
      remoteAddress: request.ip,
    };
    try {
      await appendAccessEntry(options.client.redis, options.client.prefix, entry);
    } catch (error) {
      request.log.error({ err: describeError(error) }, "could not append to the API access log");
      options.onAccessLogFailure?.(error);
    }
  }
  app.addHook("onResponse", async (request, reply) => logAccess(request, reply.statusCode));
  // Requests refused by Fastify's router run no hooks: they are logged here, refused accesses being accesses.
  frameworkErrorLogger = (request, status) => void logAccess(request, status);

  app.setErrorHandler(async (error: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const body = errorBody(error, request.id);
    if (body.status >= 500) request.log.error({ err: describeError(error) }, "request failed");
    await reply.status(body.status).type("application/json").send(body.body);
  });
  app.setNotFoundHandler(async (_request, reply) => {
    // The method and path are not read back: a 404 body never carries request input.
    const body: ApiErrorBody = { error: "not_found", message: "no such route; see /openapi.json" };
    await reply.status(404).send(body);
  });

  app.get("/healthz", { config: { rateLimit: false } }, async (_request, reply) => {
    try {
      await options.client.redis.ping();
      return { status: "ok" };
    } catch {
      return reply
        .status(503)
        .send({ error: "unavailable", message: "Redis is not reachable" } satisfies ApiErrorBody);
    }
  });
  app.get("/openapi.json", async () => OPENAPI_DOCUMENT);

  // Before the dashboard plugin registers its routes: every one of them (pages, JSON API, static assets)
  // gets the operators-only permission, so the auth hook above guards them like the API's own routes.
  app.addHook("onRoute", (route) => {
    if (route.url === QUEUE_DASHBOARD_PATH || route.url.startsWith(`${QUEUE_DASHBOARD_PATH}/`)) {
      route.config = { ...route.config, permission: "view-queues" };
    }
  });
  // The dashboard plugin has its own error context; the auth hook's 401/403 and any failure there must
  // answer like the rest of the API. Its errors carry no request, hence no request id.
  await registerQueueDashboard(app, options.client, (error) => {
    const mapped = errorBody(error);
    if (mapped.status >= 500) app.log.error({ err: describeError(error) }, "queue dashboard request failed");
    return mapped;
  });
  registerEvidenceRequestRoutes(app, options, limits);
  registerRunRoutes(app, options);
  registerScheduleRoutes(app, options);
  registerReviewRoutes(app, options);
  registerReviewPageRoutes(app);
  registerProcedureRoutes(app, options);
  await app.ready();
  return app;
}

/** Longest request path the access log keeps; longer ones are cut (the route is still recognisable). */
const ACCESS_LOG_PATH_CHARACTERS = 512;

const NOT_JSON: ApiErrorBody = {
  error: "bad_request",
  field: "(body)",
  message: "the body is not valid JSON",
};

/** Fastify's own errors, by code, as the API's body; none of Fastify's messages (which quote the URL) pass. */
const FRAMEWORK_ERRORS: Record<string, ApiErrorBody> = {
  FST_ERR_CTP_INVALID_JSON_BODY: NOT_JSON,
  FST_ERR_CTP_EMPTY_JSON_BODY: NOT_JSON,
  FST_ERR_CTP_BODY_TOO_LARGE: { error: "payload_too_large", message: "the body is larger than 64 KiB" },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    error: "unsupported_media_type",
    message: "send Content-Type: application/json",
  },
  FST_ERR_BAD_URL: {
    error: "bad_request",
    field: "(url)",
    message: "the URL is not validly percent-encoded",
  },
  FST_ERR_MAX_PARAM_LENGTH: {
    error: "uri_too_long",
    field: "(url)",
    message: "a path segment of the URL is longer than 1024 characters",
  },
  FST_ERR_ASYNC_CONSTRAINT: { error: "internal", message: "internal error; the server log has the details" },
};

/**
 * Node's HTTP parser refused the request (malformed request line, headers over 16 KiB): answered on the
 * socket in the API's shape, since no Fastify reply exists yet.
 */
function answerClientError(error: Error & { code?: string }, socket: Socket): void {
  if (!socket.writable) {
    socket.destroy(error);
    return;
  }
  const tooLarge = error.code === "HPE_HEADER_OVERFLOW";
  const body = JSON.stringify({
    error: "bad_request",
    message: tooLarge ? "the request headers are too large" : "the request is malformed",
  } satisfies ApiErrorBody);
  socket.end(
    `HTTP/1.1 ${tooLarge ? "431 Request Header Fields Too Large" : "400 Bad Request"}\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/** Maps anything thrown to a status and a body that says what is wrong without internals. */
function errorBody(error: unknown, requestId?: string): { status: number; body: ApiErrorBody } {
  if (error instanceof ApiError) return { status: error.status, body: error.toBody() };
  if (isDateRangeError(error)) {
    // A date rule broken below the routes (the run starter's range limit): its rule, never its reason,
    // which quotes the submitted value.
    return { status: 400, body: badRequest(error.field, error.rule).toBody() };
  }
  if (isKeyproofError(error) && (error.code === "ARGUMENT_INVALID" || error.code === "CONFIG_INVALID")) {
    // KeyproofError messages for arguments start with the field: "sources: unknown source(s) x".
    const field = /^([A-Za-z][\w.[\]-]*):/.exec(error.message)?.[1];
    return {
      status: 400,
      body: { error: "bad_request", message: error.message, ...(field === undefined ? {} : { field }) },
    };
  }
  if (isKeyproofError(error) && error.code === "REVIEW_NOT_FOUND") {
    return { status: 404, body: { error: "not_found", message: error.message } };
  }
  if (isKeyproofError(error) && error.code === "RUN_LIMIT_REACHED") {
    return { status: 429, body: { error: "too_many_requests", message: error.message } };
  }
  const code = typeof error === "object" && error !== null && "code" in error ? String(error.code) : "";
  const framework = FRAMEWORK_ERRORS[code];
  if (framework !== undefined) return { status: API_ERROR_CODES[framework.error], body: framework };
  if (error instanceof SyntaxError) return { status: 400, body: NOT_JSON };
  const status =
    typeof error === "object" && error !== null && "statusCode" in error ? Number(error.statusCode) : 500;
  if (code.startsWith("FST_") && status >= 400 && status < 500) {
    // Other request-shape errors Fastify detects itself (bad Content-Length, ...); its message may quote input.
    return { status: 400, body: { error: "bad_request", message: "the request is malformed" } };
  }
  if (isRedisUnavailable(error)) {
    return {
      status: 503,
      body: { error: "unavailable", message: "the queue (Redis) is not reachable; try again shortly" },
    };
  }
  return {
    status: 500,
    body: {
      error: "internal",
      message: "internal error; the server log has the details",
      ...(requestId === undefined ? {} : { requestId }),
    },
  };
}

function isRedisUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  return /ECONNREFUSED|Connection is closed|MaxRetriesPerRequestError|Stream isn't writeable/.test(
    `${error.name} ${error.message}`,
  );
}
