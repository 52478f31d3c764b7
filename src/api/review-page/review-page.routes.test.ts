import { readFileSync } from "node:fs";
import path from "node:path";
import Fastify, { type FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { registerReviewPageRoutes, REVIEW_PAGE_CSP, REVIEW_PAGE_DIRECTORY } from "./review-page.routes.ts";

/*
 * The page routes on a bare Fastify (no Redis: the shell is static and needs no token). The API server's
 * auth hook letting them through is covered by the browser test, which runs them in buildApiServer.
 */

let app: FastifyInstance;

beforeAll(async () => {
  app = Fastify();
  registerReviewPageRoutes(app);
  await app.ready();
});

afterAll(async () => {
  await app.close();
});

const template = (name: string) => readFileSync(path.join(REVIEW_PAGE_DIRECTORY, name), "utf8");

describe("the review page routes", () => {
  it("serves the HTML shell with a strict CSP, nosniff and no-store", async () => {
    const response = await app.inject({ method: "GET", url: "/reviews/review-2025" });
    expect(response.statusCode).toBe(200);
    expect(response.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(response.headers["content-security-policy"]).toBe(
      "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; " +
        "form-action 'none'; frame-ancestors 'none'; base-uri 'none'",
    );
    expect(response.headers["content-security-policy"]).toBe(REVIEW_PAGE_CSP);
    expect(response.headers["x-content-type-options"]).toBe("nosniff");
    expect(response.headers["cache-control"]).toBe("no-store");
    expect(response.headers["referrer-policy"]).toBe("no-referrer");
    expect(response.body).toBe(template("review.html"));
  });

  it("never reflects the id: every id answers the same bytes", async () => {
    const hostile = '"><script>alert(1)</script>';
    const plain = await app.inject({ method: "GET", url: "/reviews/a" });
    for (const id of [hostile, "review-2025-&amp;", "x".repeat(90)]) {
      const response = await app.inject({ method: "GET", url: `/reviews/${encodeURIComponent(id)}` });
      expect(response.statusCode).toBe(200);
      expect(response.body).toBe(plain.body);
    }
    expect(plain.body).not.toContain("alert(1)");
  });

  it("serves the script and the stylesheet with their content types", async () => {
    const script = await app.inject({ method: "GET", url: "/reviews/assets/review.js" });
    expect(script.statusCode).toBe(200);
    expect(script.headers["content-type"]).toBe("text/javascript; charset=utf-8");
    expect(script.headers["x-content-type-options"]).toBe("nosniff");
    expect(script.body).toBe(template("review.js"));
    const stylesheet = await app.inject({ method: "GET", url: "/reviews/assets/review.css" });
    expect(stylesheet.statusCode).toBe(200);
    expect(stylesheet.headers["content-type"]).toBe("text/css; charset=utf-8");
    expect(stylesheet.body).toBe(template("review.css"));
    expect((await app.inject({ method: "GET", url: "/reviews/assets/other.js" })).statusCode).toBe(404);
  });

  it("holds nothing the CSP would block and nothing from another origin", () => {
    const html = template("review.html");
    // Inline script or style, inline handlers, and absolute URLs (a CDN) would all be refused or leak.
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/i);
    expect(html).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i);
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//i);
    const script = template("review.js");
    expect(script).not.toMatch(
      /\.(innerHTML|outerHTML)\s*=|insertAdjacentHTML\(|document\.write\(|eval\(|new Function/,
    );
    expect(script).not.toMatch(/https?:\/\/(?!tickets\.example)/);
  });

  it("every element the script looks up by id is in the shell", () => {
    const html = template("review.html");
    const script = template("review.js");
    const looked = new Set(
      [
        ...script.matchAll(/byId\("([\w-]+)"\)/g),
        ...script.matchAll(/"((?:filter|bulk|select)-[\w-]+)"/g),
      ].map((match) => match[1] ?? ""),
    );
    expect(looked.size).toBeGreaterThan(20);
    const missing = [...looked].filter((id) => !html.includes(`id="${id}"`));
    expect(missing).toEqual([]);
  });
});
