import { readFileSync } from "node:fs";
import path from "node:path";
import type { FastifyInstance, FastifyReply } from "fastify";
import { PACKAGE_ROOT } from "../../package-root.ts";

/**
 * The annual review page (issue #12): a static HTML shell, one script and one stylesheet from
 * templates/review/, served by keyproof itself (no CDN). The shell holds no data and needs no token: the
 * script asks for the token, keeps it in sessionStorage and calls the JSON API (`/v1/reviews/...`) with it,
 * so every piece of review data passes the API's own authentication and role checks.
 *
 * The review id is never written into the response: the script reads it from `location.pathname`, so no
 * escaping mistake here can turn an id into markup.
 */

export const REVIEW_PAGE_DIRECTORY = path.join(PACKAGE_ROOT, "templates", "review");

export const REVIEW_PAGE_PATH = "/reviews/:id";
export const REVIEW_SCRIPT_PATH = "/reviews/assets/review.js";
export const REVIEW_STYLESHEET_PATH = "/reviews/assets/review.css";

/**
 * Everything from our own origin, nothing inline, nothing framed, no forms posted natively (the script sends
 * JSON with fetch). `connect-src 'self'` keeps the token from being sent anywhere but this API.
 */
export const REVIEW_PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join("; ");

interface PageFile {
  body: Buffer;
  contentType: string;
}

/** Read once at registration: a missing template fails the server at boot, not the first reviewer. */
function readPageFile(name: string, contentType: string): PageFile {
  return { body: readFileSync(path.join(REVIEW_PAGE_DIRECTORY, name)), contentType };
}

function sendPageFile(reply: FastifyReply, file: PageFile, cacheControl: string): FastifyReply {
  return (
    reply
      .header("content-type", file.contentType)
      .header("content-security-policy", REVIEW_PAGE_CSP)
      .header("x-content-type-options", "nosniff")
      // The page URL names a review; it must not leak to ticket links a reviewer follows.
      .header("referrer-policy", "no-referrer")
      .header("cache-control", cacheControl)
      .send(file.body)
  );
}

/**
 * Registers the page and its two assets. No `permission` in the route config: the auth hook lets them
 * through, and the per-address rate limit still applies.
 */
export function registerReviewPageRoutes(app: FastifyInstance): void {
  const html = readPageFile("review.html", "text/html; charset=utf-8");
  const script = readPageFile("review.js", "text/javascript; charset=utf-8");
  const stylesheet = readPageFile("review.css", "text/css; charset=utf-8");

  // no-store: the shell is tiny, and a cached copy would outlive an upgrade that changed the script's API use.
  app.get(REVIEW_PAGE_PATH, async (_request, reply) => sendPageFile(reply, html, "no-store"));
  // no-cache (revalidate every time) rather than a long max-age: the asset names carry no version.
  app.get(REVIEW_SCRIPT_PATH, async (_request, reply) => sendPageFile(reply, script, "no-cache"));
  app.get(REVIEW_STYLESHEET_PATH, async (_request, reply) => sendPageFile(reply, stylesheet, "no-cache"));
}
