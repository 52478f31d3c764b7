import { createBullBoard } from "@bull-board/api";
import { BullMQAdapter } from "@bull-board/api/bullMQAdapter";
import { FastifyAdapter } from "@bull-board/fastify";
import type { FastifyInstance } from "fastify";
import { QUEUE_NAMES } from "../jobs/queue/job-names.ts";
import type { QueueClient } from "../jobs/queue/queue-client.ts";
import type { ApiErrorBody } from "./api-error.ts";

type DashboardStatus = NonNullable<ReturnType<Parameters<FastifyAdapter["setErrorHandler"]>[0]>["status"]>;

/** Where bull-board is mounted; every route under it (pages, its JSON API, static assets) is for operators. */
export const QUEUE_DASHBOARD_PATH = "/admin/queues";

/**
 * Mounts bull-board for every keyproof queue. Auth is the API's own: an `onRoute` hook (registered by the
 * caller before this plugin, so it sees bull-board's routes) gives each dashboard route the `view-queues`
 * permission, which only operators hold; the request then needs `Authorization: Bearer <operator token>`.
 * Bearer only, on purpose: a `?token=` login would put the token into request-URL logs (Fastify's request
 * logging writes the query string), and a cookie would need CSRF protection for the dashboard's mutating routes.
 */
export async function registerQueueDashboard(
  app: FastifyInstance,
  client: QueueClient,
  mapError: (error: unknown) => { status: number; body: ApiErrorBody },
): Promise<void> {
  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(QUEUE_DASHBOARD_PATH);
  createBullBoard({
    queues: QUEUE_NAMES.map((name) => new BullMQAdapter(client.queue(name))),
    serverAdapter,
    options: { uiConfig: { boardTitle: "keyproof queues" } },
  });
  // bull-board's own handler answers with the error's message (and its stack when NODE_ENV=development); the
  // plugin installs it in its own Fastify context, where the API's handler does not reach, so it is replaced
  // here before registration. The auth hook's 401/403 land here too for dashboard routes.
  serverAdapter.setErrorHandler((error: Error) => {
    const { status, body } = mapError(error);
    // bull-board's status type lists only the statuses its own handlers use (no 401, 503); the adapter
    // passes any number through to reply.status().
    return { status: status as DashboardStatus, body };
  });
  await app.register(serverAdapter.registerPlugin(), { prefix: QUEUE_DASHBOARD_PATH });
}
