import type { FastifyInstance } from "fastify";
import { listSchedules, removeSchedule, upsertSchedule } from "../../jobs/schedules/schedule-sync.ts";
import { isTimeZone } from "../../jobs/queue/queue-settings.ts";
import { ApiError, badRequest } from "../api-error.ts";
import type { ApiServerOptions } from "../api-server.ts";
import { firstIssue, ScheduleBodySchema } from "../request-schemas.ts";

const SCHEDULE_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;

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
      const name = request.params.name;
      if (!SCHEDULE_NAME.test(name)) throw badRequest("name", "must be lowercase letters, digits and dashes");
      const parsed = ScheduleBodySchema.safeParse(request.body ?? undefined);
      if (!parsed.success) {
        const issue = firstIssue(parsed.error);
        throw badRequest(issue.field, issue.message);
      }
      if (!isTimeZone(parsed.data.tz)) throw badRequest("tz", `"${parsed.data.tz}" is not an IANA time zone`);
      try {
        await upsertSchedule(queue(), { name, ...parsed.data }, "api");
      } catch (error) {
        // BullMQ rejects a cron pattern it cannot parse; that is the caller's input.
        if (error instanceof Error && /cron|pattern|Invalid/i.test(error.message))
          throw badRequest("cron", "is not a valid cron pattern");
        throw error;
      }
      const listed = (await listSchedules(queue())).find((schedule) => schedule.name === name);
      if (listed === undefined) throw new ApiError("internal", "the schedule was not stored");
      return listed;
    },
  );

  app.delete<{ Params: { name: string } }>(
    "/v1/schedules/:name",
    { config: { permission: "manage-schedules" } },
    async (request, reply) => {
      const removed = await removeSchedule(queue(), request.params.name);
      if (!removed) throw new ApiError("not_found", `no schedule ${request.params.name}`);
      return reply.status(204).send();
    },
  );
}
