import type { FastifyInstance } from "fastify";
import type { z } from "zod";
import { ProcedureApprovalStore } from "../../procedure/approval-store.ts";
import { procedureIdentityOf, procedureInputOf } from "../../procedure/procedure-text.ts";
import { ApiError } from "../api-error.ts";
import type { ApiServerOptions } from "../api-types.ts";
import { parseRequest, ProcedureApprovalBodySchema } from "../request-schemas.ts";
import type { ProcedureApprovalViewSchema, ProcedureStateSchema } from "../response-schemas.ts";

/**
 * The key-management procedure (step 6): what the service's configuration produces now, its latest
 * approval, and recording an approval. A reviewer approves the CURRENT text: the identity is computed here
 * from the config, never taken from the request, so nobody can approve a text they were not shown.
 */
export function registerProcedureRoutes(app: FastifyInstance, options: ApiServerOptions): void {
  const store = () => new ProcedureApprovalStore(options.client.redis, options.client.prefix);
  const current = () => procedureIdentityOf(procedureInputOf(options.service.config));

  app.get(
    "/v1/procedure",
    { config: { permission: "read-signed-reviews" } },
    async (): Promise<z.infer<typeof ProcedureStateSchema>> => {
      const procedure = current();
      const latest = await store().latestApproval();
      return {
        procedure,
        latestApproval: latest ?? null,
        matchesCurrentText: latest !== undefined && latest.textSha256 === procedure.textSha256,
      };
    },
  );

  app.post(
    "/v1/procedure/approvals",
    { config: { permission: "approve-procedure" } },
    async (request, reply): Promise<z.infer<typeof ProcedureApprovalViewSchema>> => {
      const body = parseRequest(ProcedureApprovalBodySchema, request.body ?? undefined);
      // The auth hook sets the principal on every route with a permission; its absence is a wiring bug.
      if (request.principal === undefined) throw new ApiError("internal", "no authenticated principal");
      const approval = await store().recordApproval({
        procedure: current(),
        name: body.name,
        title: body.title,
        recordedBy: request.principal.name,
        fieldNames: { name: "name", title: "title" },
      });
      return reply.status(201).send(approval);
    },
  );
}
