import type { FastifyInstance } from "fastify";
import type { DateRange } from "../../model/snapshot.ts";
import {
  API_RANGE_FIELDS,
  assertRangeWithinLimit,
  assertYearSupported,
  isDateRangeError,
  parsePeriod,
  parseRange,
} from "../../time/date-range.ts";
import { badRequest } from "../api-error.ts";
import type { ApiLimits } from "../api-limits.ts";
import type { ApiServerOptions } from "../api-types.ts";
import { EvidenceRequestSchema, parseRequest, type EvidenceRequest } from "../request-schemas.ts";
import type { RunAcceptedSchema } from "../response-schemas.ts";
import type { z } from "zod";

/**
 * `POST /v1/evidence-requests`: an auditor's on-demand run. 202 with a new run; 200 with the identical run
 * already going or completed within the dedupe window; 429 when a source has too many runs queued.
 */
export function registerEvidenceRequestRoutes(
  app: FastifyInstance,
  options: ApiServerOptions,
  limits: ApiLimits,
): void {
  app.post(
    "/v1/evidence-requests",
    { config: { permission: "request-evidence" } },
    async (request, reply) => {
      const body = parseRequest(EvidenceRequestSchema, request.body ?? undefined);
      const range = rangeOf(body, limits.maxRangeDays);
      const known = new Set(options.service.config.sources.map((source) => source.id));
      body.sources?.forEach((source, index) => {
        if (!known.has(source))
          throw badRequest(`sources[${index}]`, `unknown source; configured: ${[...known].join(", ")}`);
      });

      const started = await options.client.startRun({
        config: options.service.config,
        configDirectory: options.service.configDirectory,
        outDirectory: options.service.dataDirectory,
        range,
        render: options.service.render ?? true,
        ...(body.sources === undefined ? {} : { sources: body.sources }),
        ...(body.keys === undefined ? {} : { keys: body.keys }),
        request: {
          origin: "api",
          requester: body.requester,
          reason: body.reason,
          ...(request.principal === undefined ? {} : { token: request.principal.name }),
        },
        limits: {
          dedupeWindowSeconds: limits.dedupeWindowSeconds,
          maxUnfinishedRunsPerSource: limits.maxQueuedRunsPerSource,
        },
      });
      request.accessRunId = started.runId;
      const record = await options.client.runs.get(started.runId);
      const plan = record?.plan.range ?? range;
      const accepted: z.infer<typeof RunAcceptedSchema> = {
        runId: started.runId,
        status: record?.status ?? "queued",
        existing: started.existing,
        period: { label: plan.label, from: plan.from.slice(0, 10), to: plan.to },
        links: { self: `/v1/runs/${started.runId}`, bundle: `/v1/runs/${started.runId}/bundle` },
      };
      return reply.status(started.existing ? 200 : 202).send(accepted);
    },
  );
}

/**
 * The year of a `YYYY…` period or date, refused by name outside 1970-2100 before any date arithmetic (a
 * period like `9999-12-31` is not a period at all, but its year is the better reason).
 */
function checkYear(value: string, field: string): void {
  const year = /^(\d{4})/.exec(value)?.[1];
  if (year === undefined) return; // not a date at all: the parser names the format
  assertYearSupported(Number(year), field, value);
}

/**
 * `period` xor `from` + `to`; each problem names its field; at most `maxDays` days. Date errors are
 * answered with their rule, never their reason: the reason quotes the submitted value (for the CLI user).
 */
function rangeOf(body: EvidenceRequest, maxDays: number): DateRange {
  try {
    const range = parsedRangeOf(body);
    assertRangeWithinLimit(range, maxDays, body.period === undefined ? "to" : "period");
    return range;
  } catch (error) {
    if (isDateRangeError(error)) throw badRequest(error.field, error.rule);
    throw error;
  }
}

function parsedRangeOf(body: EvidenceRequest): DateRange {
  if (body.period !== undefined) {
    if (body.from !== undefined || body.to !== undefined)
      throw badRequest("period", "give either period or from + to, not both");
    checkYear(body.period, "period");
    return parsePeriod(body.period, "period");
  }
  if (body.from === undefined) throw badRequest("from", "give period, or from and to (inclusive UTC dates)");
  if (body.to === undefined) throw badRequest("to", "give to together with from (inclusive UTC date)");
  checkYear(body.from, "from");
  checkYear(body.to, "to");
  return parseRange(body.from, body.to, API_RANGE_FIELDS);
}
