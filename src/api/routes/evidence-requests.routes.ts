import type { FastifyInstance } from "fastify";
import { describeError } from "../../errors/errors.ts";
import type { DateRange } from "../../model/snapshot.ts";
import { parsePeriod, parseRange } from "../../time/date-range.ts";
import { badRequest } from "../api-error.ts";
import type { ApiServerOptions } from "../api-server.ts";
import { EvidenceRequestSchema, firstIssue, type EvidenceRequest } from "../request-schemas.ts";

/** `POST /v1/evidence-requests`: an auditor's on-demand run. 202 with a new run, 200 with the identical run already going. */
export function registerEvidenceRequestRoutes(app: FastifyInstance, options: ApiServerOptions): void {
  app.post(
    "/v1/evidence-requests",
    { config: { permission: "request-evidence" } },
    async (request, reply) => {
      const parsed = EvidenceRequestSchema.safeParse(request.body ?? undefined);
      if (!parsed.success) {
        const issue = firstIssue(parsed.error);
        throw badRequest(issue.field, issue.message);
      }
      const body = parsed.data;
      const range = rangeOf(body);
      const known = new Set(options.service.config.sources.map((source) => source.id));
      body.sources?.forEach((source, index) => {
        if (!known.has(source))
          throw badRequest(
            `sources[${index}]`,
            `unknown source "${source}"; configured: ${[...known].join(", ")}`,
          );
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
      });
      request.accessRunId = started.runId;
      const record = await options.client.runs.get(started.runId);
      return reply.status(started.existing ? 200 : 202).send({
        runId: started.runId,
        status: record?.status ?? "queued",
        existing: started.existing,
        period: { label: range.label, from: range.from.slice(0, 10), to: range.to },
        links: { self: `/v1/runs/${started.runId}`, bundle: `/v1/runs/${started.runId}/bundle` },
      });
    },
  );
}

/** `period` xor `from` + `to`; each problem names its field. */
function rangeOf(body: EvidenceRequest): DateRange {
  if (body.period !== undefined) {
    if (body.from !== undefined || body.to !== undefined)
      throw badRequest("period", "give either period or from + to, not both");
    try {
      return parsePeriod(body.period);
    } catch (error) {
      throw badRequest("period", describeError(error).replace(/^--period: /, ""));
    }
  }
  if (body.from === undefined) throw badRequest("from", "give period, or from and to (inclusive UTC dates)");
  if (body.to === undefined) throw badRequest("to", "give to together with from (inclusive UTC date)");
  try {
    return parseRange(body.from, body.to);
  } catch (error) {
    const message = describeError(error);
    const field = message.startsWith("--to") ? "to" : "from";
    throw badRequest(field, message.replace(/^--(from|to)[^:]*: /, "").replace(/--(from|to)/g, "$1"));
  }
}
