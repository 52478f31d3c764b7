/**
 * TEST SUPPORT shared by the GRC platform FAKES (Vanta, Drata, Secureframe; research/apis.md §3): a plain
 * http server on 127.0.0.1 with a random port, the raw body read with a size cap (413 above it, as the
 * platforms' gateways do), multipart parsed by Node's own `Request.formData()` (undici, the same parser
 * `fetch` pairs with), a record of every request, and injected failures ("answer 429 with Retry-After / 503
 * to the next N requests matching …"), and hooks between handling a request and answering it (a token minted
 * by someone else between two uploads; an upload stored while its answer is held back and the caller killed).
 */
import { createHash } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface FakeFilePart {
  name: string;
  type: string;
  size: number;
  sha256: string;
}

export interface GrcRequest {
  method: string;
  url: URL;
  headers: IncomingHttpHeaders;
  contentType: string;
  /** Text fields of a multipart body, each name with all its values in order. */
  fields: Record<string, string[]>;
  files: Record<string, FakeFilePart>;
  /** Raw body bytes (small JSON bodies, direct-upload PUTs). */
  raw: Buffer;
  /** Set when the body was sent as multipart/form-data and parsed. */
  multipart: boolean;
}

export interface GrcAnswer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface RecordedGrcRequest extends Omit<GrcRequest, "raw" | "url"> {
  path: string;
  query: Record<string, string[]>;
  status: number;
  /** When the request arrived (ms since the epoch): shows a retry waited for Retry-After. */
  at: number;
}

export interface GrcFakeServer {
  url: string;
  /** Every request, with the status it got. */
  received: RecordedGrcRequest[];
  /** The requests answered 2xx. */
  accepted(): RecordedGrcRequest[];
  /** The next `count` requests whose `METHOD path` matches `pattern` get `answer` instead of being handled. */
  failNext(count: number, answer: GrcAnswer, pattern?: RegExp): void;
  /** Drops every injected failure not used yet. */
  clearFailures(): void;
  /**
   * Runs `action` once, after the next request whose `METHOD path` matches `pattern` was handled with a 2xx
   * (the upload is stored) and before its answer is written; the answer waits for the action's promise.
   */
  beforeAnswer(pattern: RegExp, action: () => void | Promise<void>): void;
  /**
   * Holds the answer to the next matching request the handler accepted (it is stored, as a platform that
   * committed the upload before the connection dropped): `arrived` resolves when it is held; `release`
   * writes the answer (to a closed socket, if the caller died meanwhile).
   */
  holdNext(pattern: RegExp): { arrived: Promise<void>; release: () => void };
  close(): Promise<void>;
}

interface Hook {
  pattern: RegExp;
  action: () => void | Promise<void>;
}

interface Injected {
  remaining: number;
  answer: GrcAnswer;
  pattern: RegExp | undefined;
}

function toHeaders(headers: IncomingHttpHeaders): Headers {
  const result = new Headers();
  for (const [name, value] of Object.entries(headers)) {
    if (Array.isArray(value)) for (const item of value) result.append(name, item);
    else if (value !== undefined) result.set(name, value);
  }
  return result;
}

async function readCapped(request: IncomingMessage, maxBytes: number): Promise<Buffer | "too-large"> {
  const chunks: Buffer[] = [];
  let size = 0;
  let tooLarge = false;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) tooLarge = true;
    // Keep draining so the client sees the answer instead of a reset socket, but stop storing.
    if (!tooLarge) chunks.push(chunk as Buffer);
  }
  return tooLarge ? "too-large" : Buffer.concat(chunks);
}

async function parseMultipart(
  url: URL,
  headers: IncomingHttpHeaders,
  raw: Buffer,
): Promise<Pick<GrcRequest, "fields" | "files">> {
  const form = await new Request(url, { method: "POST", headers: toHeaders(headers), body: raw }).formData();
  const fields: Record<string, string[]> = {};
  const files: Record<string, FakeFilePart> = {};
  for (const [name, value] of form.entries()) {
    if (typeof value === "string") (fields[name] ??= []).push(value);
    else {
      const bytes = Buffer.from(await value.arrayBuffer());
      files[name] = {
        name: value.name,
        type: value.type,
        size: bytes.length,
        sha256: createHash("sha256").update(bytes).digest("hex"),
      };
    }
  }
  return { fields, files };
}

function queryOf(url: URL): Record<string, string[]> {
  const query: Record<string, string[]> = {};
  for (const [name, value] of url.searchParams) (query[name] ??= []).push(value);
  return query;
}

/**
 * Starts a fake answering through `handler`. `maxBodyBytes` is the gateway's cap: above it the fake answers
 * `tooLarge` (each platform has its own error body) without calling the handler.
 */
export async function startGrcFake(options: {
  handler: (request: GrcRequest) => GrcAnswer | Promise<GrcAnswer>;
  maxBodyBytes: number;
  tooLarge: GrcAnswer;
}): Promise<GrcFakeServer> {
  const received: RecordedGrcRequest[] = [];
  const injected: Injected[] = [];
  const hooks: Hook[] = [];

  const server: Server = createServer((request, response) => {
    void (async () => {
      const url = new URL(request.url ?? "/", `http://${request.headers.host ?? "127.0.0.1"}`);
      const method = request.method ?? "GET";
      const contentType = request.headers["content-type"] ?? "";
      const record: RecordedGrcRequest = {
        method,
        path: url.pathname,
        query: queryOf(url),
        headers: request.headers,
        contentType,
        fields: {},
        files: {},
        multipart: false,
        status: 0,
        at: Date.now(),
      };
      let answer: GrcAnswer;
      try {
        const raw = await readCapped(request, options.maxBodyBytes);
        const injection = injected.find(
          (item) =>
            item.remaining > 0 &&
            (item.pattern === undefined || item.pattern.test(`${method} ${url.pathname}`)),
        );
        if (injection !== undefined) {
          injection.remaining -= 1;
          answer = injection.answer;
        } else if (raw === "too-large") {
          answer = options.tooLarge;
        } else {
          const multipart = contentType.toLowerCase().startsWith("multipart/form-data");
          const parsed = multipart
            ? await parseMultipart(url, request.headers, raw)
            : { fields: {}, files: {} };
          Object.assign(record, parsed, { multipart });
          answer = await options.handler({
            method,
            url,
            headers: request.headers,
            contentType,
            raw,
            multipart,
            ...parsed,
          });
          const hookIndex =
            answer.status >= 200 && answer.status < 300
              ? hooks.findIndex((hook) => hook.pattern.test(`${method} ${url.pathname}`))
              : -1;
          if (hookIndex >= 0) {
            const [hook] = hooks.splice(hookIndex, 1);
            await hook?.action();
          }
        }
      } catch (error) {
        answer = { status: 500, body: { message: `fake failure: ${String(error)}` } };
      }
      record.status = answer.status;
      received.push(record);
      const headers: Record<string, string> = { "x-fake": "keyproof", ...(answer.headers ?? {}) };
      if (answer.body === undefined) response.writeHead(answer.status, headers).end();
      else {
        response.writeHead(answer.status, { "content-type": "application/json; charset=utf-8", ...headers });
        response.end(JSON.stringify(answer.body));
      }
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    accepted: () => received.filter((item) => item.status >= 200 && item.status < 300),
    failNext(count, answer, pattern) {
      injected.push({ remaining: count, answer, pattern });
    },
    clearFailures() {
      injected.length = 0;
    },
    beforeAnswer(pattern, action) {
      hooks.push({ pattern, action });
    },
    holdNext(pattern) {
      let arrive: () => void = () => undefined;
      let release: () => void = () => undefined;
      const arrived = new Promise<void>((resolve) => (arrive = resolve));
      const released = new Promise<void>((resolve) => (release = resolve));
      hooks.push({
        pattern,
        action: () => {
          arrive();
          return released;
        },
      });
      return { arrived, release };
    },
    close: () =>
      new Promise<void>((resolve) => {
        hooks.length = 0;
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The single value of a multipart field, or undefined when absent or repeated. */
export function single(fields: Record<string, string[]>, name: string): string | undefined {
  const values = fields[name];
  return values !== undefined && values.length === 1 ? values[0] : undefined;
}

export const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;
export const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
