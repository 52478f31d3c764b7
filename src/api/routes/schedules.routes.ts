import type { FastifyInstance } from "fastify";
import { listSchedules, removeSchedule, upsertSchedule } from "../../jobs/schedules/schedule-sync.ts";
import { isTimeZone } from "../../jobs/queue/queue-settings.ts";
import { ApiError, badRequest } from "../api-error.ts";
import type { ApiServerOptions } from "../api-types.ts";
import { parseRequest, ScheduleBodySchema, ScheduleNameParamsSchema } from "../request-schemas.ts";

/** Operators manage schedules. Those from keyproof.yaml are re-synced from it; API-made ones are kept by sync. */
export function registerScheduleRoutes(app: FastifyInstance, options: ApiServerOptions): void {
  const queue = () => options.client.queue("schedule");

  app.get("/v1/schedules", { config: { permission: "manage-schedules" } }, async () => ({
    schedules: await listSchedules(queue()),
  }));

  app.put<{ Params: { name: string } }>(
    "/v1/schedules/:name",
    { config: { permission: "manage-schedules" } },
    async (request) => {
      const { name } = parseRequest(ScheduleNameParamsSchema, request.params);
      // The cron pattern is checked by the schema with BullMQ's own parser: a pattern BullMQ would refuse
      // is a 400 naming `cron` here, not a 500 from inside the scheduler.
      const body = parseRequest(ScheduleBodySchema, request.body ?? undefined);
      if (!isTimeZone(body.tz)) throw badRequest("tz", "is not an IANA time zone (e.g. UTC, Europe/Berlin)");
      await upsertSchedule(queue(), { name, ...body }, "api");
      const listed = (await listSchedules(queue())).find((schedule) => schedule.name === name);
      if (listed === undefined) throw new ApiError("internal", "the schedule was not stored");
      return listed;
    },
  );

  app.delete<{ Params: { name: string } }>(
    "/v1/schedules/:name",
    { config: { permission: "manage-schedules" } },
    async (request, reply) => {
      const { name } = parseRequest(ScheduleNameParamsSchema, request.params);
      const removed = await removeSchedule(queue(), name);
      // The name is not read back: errors never echo the request.
      if (!removed) throw new ApiError("not_found", "no schedule with that name");
      return reply.status(204).send();
    },
  );
}
