/**
 * A real HTTP receiver for delivery tests: verifies keyproof's webhook signature exactly as the README
 * tells receivers to (HMAC-SHA256 over "<timestamp>.<raw body>", constant-time compare, timestamps older
 * than 5 minutes refused, a (timestamp, signature) pair seen before refused as a replay), counts requests
 * per path, and answers from a script (503 first, 429 with Retry-After, 400, or hang).
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingMessage["headers"];
  body: string;
  at: number;
  verdict: number;
}

/** What the next request to a path gets; `undefined` (script exhausted): the receiver's normal answer. */
export type ScriptedAnswer =
  { status: number; headers?: Record<string, string>; body?: string } | { hang: true };

export interface TestReceiver {
  url: string;
  requests: ReceivedRequest[];
  countFor(path: string): number;
  /** Answers queued per path, taken in order. */
  script(path: string, ...answers: ScriptedAnswer[]): void;
  /** Uploads the receiver holds, by `x-upload-key` header (the fake GRC target's lookup). */
  uploads: Map<string, string>;
  close(): Promise<void>;
}

const MAX_AGE_SECONDS = 300;

/** The README's verification, verbatim in substance. */
export function verifyWebhook(
  secret: string,
  headers: IncomingMessage["headers"],
  rawBody: string,
  seen: Set<string>,
  nowSeconds = Math.floor(Date.now() / 1000),
): { ok: true } | { ok: false; reason: string } {
  const timestamp = String(headers["x-keyproof-timestamp"] ?? "");
  const signature = String(headers["x-keyproof-signature"] ?? "");
  const expected = `sha256=${createHmac("sha256", secret).update(`${timestamp}.${rawBody}`).digest("hex")}`;
  const given = Buffer.from(signature);
  if (given.length !== expected.length || !timingSafeEqual(given, Buffer.from(expected)))
    return { ok: false, reason: "bad signature" };
  if (!/^\d+$/.test(timestamp) || Math.abs(nowSeconds - Number(timestamp)) > MAX_AGE_SECONDS)
    return { ok: false, reason: "stale timestamp" };
  if (seen.has(signature)) return { ok: false, reason: "replayed" };
  seen.add(signature);
  return { ok: true };
}

export async function startTestReceiver(options: { secret?: string } = {}): Promise<TestReceiver> {
  const requests: ReceivedRequest[] = [];
  const scripts = new Map<string, ScriptedAnswer[]>();
  const uploads = new Map<string, string>();
  const seen = new Set<string>();
  const hanging: ServerResponse[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const path = new URL(request.url ?? "/", "http://x").pathname;
      const entry: ReceivedRequest = {
        method: request.method ?? "",
        path,
        headers: request.headers,
        body,
        at: Date.now(),
        verdict: 0,
      };
      requests.push(entry);
      const answer = request.method === "GET" ? undefined : scripts.get(path)?.shift();
      if (answer !== undefined && "hang" in answer) {
        entry.verdict = -1;
        hanging.push(response);
        return;
      }
      if (answer !== undefined) {
        entry.verdict = answer.status;
        response.writeHead(answer.status, answer.headers ?? {}).end(answer.body ?? "");
        return;
      }
      if (request.method === "GET") {
        // The fake GRC platform's lookup: is an upload with this key there?
        const key = String(request.headers["x-upload-key"] ?? "");
        const found = uploads.get(key);
        entry.verdict = found === undefined ? 404 : 200;
        response.writeHead(entry.verdict, { "content-type": "application/json" });
        response.end(found === undefined ? "{}" : JSON.stringify({ id: found }));
        return;
      }
      if (request.headers["x-keyproof-signature"] !== undefined && options.secret !== undefined) {
        const verdict = verifyWebhook(options.secret, request.headers, body, seen);
        entry.verdict = verdict.ok ? 200 : 401;
        response.writeHead(entry.verdict).end(verdict.ok ? "ok" : verdict.reason);
        return;
      }
      const key = String(request.headers["x-upload-key"] ?? "");
      const id = `up-${uploads.size + 1}`;
      if (key !== "") uploads.set(key, id);
      entry.verdict = 201;
      response.writeHead(201, { "content-type": "application/json" }).end(JSON.stringify({ id }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    uploads,
    countFor: (path) =>
      requests.filter((request) => request.path === path && request.method !== "GET").length,
    script: (path, ...answers) => scripts.set(path, [...(scripts.get(path) ?? []), ...answers]),
    close: async () => {
      for (const response of hanging) response.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
