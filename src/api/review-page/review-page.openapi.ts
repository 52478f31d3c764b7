import type { ResponseConfig, RouteConfig } from "@asteasolutions/zod-to-openapi";
import { z } from "zod";

/**
 * The review page's three routes as OpenAPI operations. They are not JSON API routes, but the API's
 * rule is that every route the server registers is documented (test/integration/api-openapi.test.ts),
 * the queue dashboard's HTML included; documenting them says too that they need no token and carry no
 * data. Kept beside the routes so openapi.ts only spreads them in.
 */

const text = (contentType: string, description: string): ResponseConfig => ({
  description,
  content: { [contentType]: { schema: z.string() } },
});

const PAGE_DESCRIPTION =
  "Static, the same for every review and every caller: no token needed, no review data and no review id " +
  "in the answer. The page's script reads the id from the URL and calls /v1/reviews/{id} with the " +
  "reviewer's bearer token. Not part of the versioned API.";

export function reviewPageOperations(commonErrors: Record<string, ResponseConfig>): RouteConfig[] {
  return [
    {
      method: "get",
      path: "/reviews/{id}",
      operationId: "reviewPage",
      summary: "The annual review page (HTML shell)",
      description: PAGE_DESCRIPTION,
      tags: ["review page"],
      request: { params: z.object({ id: z.string() }) },
      responses: { "200": text("text/html", "The page"), ...commonErrors },
    },
    {
      method: "get",
      path: "/reviews/assets/review.js",
      operationId: "reviewPageScript",
      summary: "The review page's script",
      description: PAGE_DESCRIPTION,
      tags: ["review page"],
      responses: { "200": text("text/javascript", "The script"), ...commonErrors },
    },
    {
      method: "get",
      path: "/reviews/assets/review.css",
      operationId: "reviewPageStylesheet",
      summary: "The review page's stylesheet",
      description: PAGE_DESCRIPTION,
      tags: ["review page"],
      responses: { "200": text("text/css", "The stylesheet"), ...commonErrors },
    },
  ];
}
