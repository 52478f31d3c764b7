import type { FastifyServerOptions, RouteOptions } from "fastify";
import type { ApiRole, Permission, ApiTokenStore } from "../auth/api-tokens.ts";
import type { Config } from "../config/config.schema.ts";
import type { QueueClient } from "../jobs/queue/queue-client.ts";

/*
 * What api-server.ts and the routes it registers (routes/*.routes.ts) share: the server's options and the
 * request fields it adds. Here rather than in api-server.ts so a route never imports the server that
 * imports it. Types only.
 */

declare module "fastify" {
  interface FastifyContextConfig {
    /** What the caller's role must allow; routes without it are public (health, OpenAPI). */
    permission?: Permission;
  }
  interface FastifyRequest {
    principal?: { name: string; role: ApiRole; tokenId: string };
    /** The run a request was about, for the access log. */
    accessRunId?: string;
  }
}

/** What the API serves runs from: the config (sources, signing) and the shared data directory. */
export interface ServiceContext {
  config: Config;
  configDirectory: string;
  dataDirectory: string;
  /** Render screenshots and reports for API-requested runs (default true; needs a render worker). */
  render?: boolean;
}

export interface ApiServerOptions {
  client: QueueClient;
  service: ServiceContext;
  tokens?: ApiTokenStore;
  /** Fastify's logger option; default off. `keyproof serve` passes pino settings. */
  logger?: FastifyServerOptions["logger"];
  /** Sees every route as it is registered, the dashboard's included (the OpenAPI test lists them so). */
  onRoute?: (route: RouteOptions) => void;
  /** Called when writing an access log entry failed (Redis down); the request itself still succeeds. */
  onAccessLogFailure?: (error: unknown) => void;
}
