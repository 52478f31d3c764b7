/**
 * FAKE Vanta (Manage Vanta REST API), research/apis.md §3.1 and §3.5, developer.vanta.com "Upload a
 * document" and the Documents reference:
 * - `POST /oauth/token` (JSON `{client_id, client_secret, scope, grant_type: "client_credentials"}`) →
 *   `{access_token, expires_in, token_type: "Bearer"}`. Only ONE token per application is active: minting
 *   revokes the previous one (its holders get 401). The endpoint is rate-limited (default 5 per minute, as
 *   the docs say) → 429 with `Retry-After`.
 * - `POST /v1/documents/{documentId}/uploads` multipart: `file` (required, with a filename and a MIME type),
 *   `effectiveAtDate` (ISO date-time), `description` → 201 with the upload. 415 when not multipart, 404 for
 *   an unknown document, 400 without a proper `file` part, 413 above the body cap.
 * - `GET /v1/documents/{documentId}/uploads?pageSize&pageCursor` → `{results: {data, pageInfo}}`.
 * - `POST /v1/documents/{documentId}/submit` → 200; a second submit without new uploads → 422 "already
 *   submitted" (Vanta's real answer is not documented; the adapter treats it as done).
 * Error bodies are `{name, message}` [the real shape is not documented].
 */
import { randomUUID } from "node:crypto";
import {
  ISO_INSTANT,
  single,
  startGrcFake,
  type GrcAnswer,
  type GrcFakeServer,
  type GrcRequest,
} from "./grc-fake-http.ts";

export interface VantaUpload {
  id: string;
  documentId: string;
  fileName: string;
  mimeType: string;
  sizeBytes: number;
  sha256: string;
  description: string | null;
  effectiveDate: string | null;
  creationDate: string;
  /** The OAuth client whose token made the upload. */
  clientId: string;
}

export interface VantaFake {
  url: string;
  server: GrcFakeServer;
  addClient(clientId: string, clientSecret: string): void;
  addDocument(documentId: string): void;
  uploads: VantaUpload[];
  /** Tokens minted, per client id, in order. */
  mints(clientId: string): number;
  submits: string[];
  close(): Promise<void>;
}

export async function startVantaFake(
  options: { tokenLifetimeSeconds?: number; tokenMintsPerMinute?: number; maxBodyBytes?: number } = {},
): Promise<VantaFake> {
  const clients = new Map<string, string>();
  const documents = new Set<string>();
  const activeToken = new Map<string, { token: string; expiresAt: number }>();
  const mintTimes = new Map<string, number[]>();
  const mintCounts = new Map<string, number>();
  const uploads: VantaUpload[] = [];
  const submits: string[] = [];
  const submittedUploadCount = new Map<string, number>();
  const lifetime = options.tokenLifetimeSeconds ?? 3600;
  const perMinute = options.tokenMintsPerMinute ?? 5;

  const error = (
    status: number,
    name: string,
    message: string,
    headers?: Record<string, string>,
  ): GrcAnswer => ({
    status,
    body: { name, message },
    ...(headers === undefined ? {} : { headers }),
  });

  function mint(request: GrcRequest): GrcAnswer {
    if (!request.contentType.startsWith("application/json"))
      return error(415, "unsupported_media_type", "expected JSON");
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(request.raw.toString("utf8")) as Record<string, unknown>;
    } catch {
      return error(400, "invalid_request", "body is not JSON");
    }
    const clientId = body.client_id;
    if (body.grant_type !== "client_credentials")
      return error(400, "unsupported_grant_type", "grant_type must be client_credentials");
    if (typeof clientId !== "string" || clients.get(clientId) !== body.client_secret) {
      return error(401, "invalid_client", "client authentication failed");
    }
    if (typeof body.scope !== "string" || !body.scope.includes("vanta-api.all:write")) {
      return error(400, "invalid_scope", "scope must include vanta-api.all:write");
    }
    const now = Date.now();
    const recent = (mintTimes.get(clientId) ?? []).filter((time) => now - time < 60_000);
    if (recent.length >= perMinute) {
      const retryAfter = Math.max(1, Math.ceil((60_000 - (now - (recent[0] as number))) / 1000));
      return error(429, "rate_limited", "too many token requests", { "retry-after": String(retryAfter) });
    }
    recent.push(now);
    mintTimes.set(clientId, recent);
    mintCounts.set(clientId, (mintCounts.get(clientId) ?? 0) + 1);
    const token = `vat_${randomUUID().replace(/-/g, "")}`;
    // Minting revokes the application's previous token at once.
    activeToken.set(clientId, { token, expiresAt: now + lifetime * 1000 });
    return { status: 200, body: { access_token: token, expires_in: lifetime, token_type: "Bearer" } };
  }

  /** The client id the bearer token belongs to, if it is the active, unexpired one. */
  function authenticate(request: GrcRequest): string | undefined {
    const match = /^Bearer (\S+)$/.exec(request.headers.authorization ?? "");
    if (match === null) return undefined;
    for (const [clientId, active] of activeToken) {
      if (active.token === match[1] && Date.now() < active.expiresAt) return clientId;
    }
    return undefined;
  }

  function upload(request: GrcRequest, documentId: string, clientId: string): GrcAnswer {
    if (!request.multipart)
      return error(415, "unsupported_media_type", "Content-Type must be multipart/form-data");
    const file = request.files.file;
    if (file === undefined || file.name === "" || file.type === "") {
      return error(400, "invalid_request", "file is required, with a filename and a content type");
    }
    const effectiveAtDate = single(request.fields, "effectiveAtDate");
    if (effectiveAtDate !== undefined && !ISO_INSTANT.test(effectiveAtDate)) {
      return error(400, "invalid_request", "effectiveAtDate must be an ISO date-time");
    }
    const record: VantaUpload = {
      id: randomUUID(),
      documentId,
      fileName: file.name,
      mimeType: file.type,
      sizeBytes: file.size,
      sha256: file.sha256,
      description: single(request.fields, "description") ?? null,
      effectiveDate: effectiveAtDate ?? null,
      creationDate: new Date().toISOString(),
      clientId,
    };
    uploads.push(record);
    return { status: 201, body: view(record) };
  }

  function view(record: VantaUpload): Record<string, unknown> {
    return {
      id: record.id,
      fileName: record.fileName,
      title: record.fileName,
      description: record.description,
      url: `https://app.vanta.example/documents/${record.documentId}/${record.id}`,
      creationDate: record.creationDate,
      updatedDate: record.creationDate,
      effectiveDate: record.effectiveDate,
      deletionDate: null,
      mimeType: record.mimeType,
      uploadedBy: { id: record.clientId, type: "APPLICATION" },
    };
  }

  function list(request: GrcRequest, documentId: string): GrcAnswer {
    const pageSize = Number(request.url.searchParams.get("pageSize") ?? "10");
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 100)
      return error(400, "invalid_request", "pageSize must be 1..100");
    const start = Number(request.url.searchParams.get("pageCursor") ?? "0");
    const all = uploads.filter((item) => item.documentId === documentId);
    const page = all.slice(start, start + pageSize);
    const end = start + page.length;
    return {
      status: 200,
      body: {
        results: {
          data: page.map(view),
          pageInfo: {
            hasNextPage: end < all.length,
            hasPreviousPage: start > 0,
            startCursor: String(start),
            endCursor: String(end),
          },
        },
      },
    };
  }

  function submit(documentId: string): GrcAnswer {
    const count = uploads.filter((item) => item.documentId === documentId).length;
    if (submittedUploadCount.get(documentId) === count) {
      return error(422, "unprocessable", "document has already been submitted");
    }
    submittedUploadCount.set(documentId, count);
    submits.push(documentId);
    return { status: 200, body: { id: documentId, overallStatus: "OK" } };
  }

  const server = await startGrcFake({
    maxBodyBytes: options.maxBodyBytes ?? 50 * 1024 * 1024,
    tooLarge: error(413, "payload_too_large", "request entity too large"),
    handler(request) {
      const path = request.url.pathname;
      if (request.method === "POST" && path === "/oauth/token") return mint(request);
      const match = /^\/v1\/documents\/([^/]+)\/(uploads|submit)$/.exec(path);
      if (match === null) return error(404, "not_found", `no route ${request.method} ${path}`);
      const clientId = authenticate(request);
      if (clientId === undefined) return error(401, "unauthorized", "invalid or revoked token");
      const documentId = decodeURIComponent(match[1] as string);
      if (!documents.has(documentId)) return error(404, "not_found", `document ${documentId} not found`);
      if (match[2] === "uploads" && request.method === "POST") return upload(request, documentId, clientId);
      if (match[2] === "uploads" && request.method === "GET") return list(request, documentId);
      if (match[2] === "submit" && request.method === "POST") return submit(documentId);
      return error(405, "method_not_allowed", `${request.method} not allowed`);
    },
  });

  return {
    url: server.url,
    server,
    addClient: (clientId, clientSecret) => void clients.set(clientId, clientSecret),
    addDocument: (documentId) => void documents.add(documentId),
    uploads,
    mints: (clientId) => mintCounts.get(clientId) ?? 0,
    submits,
    close: () => server.close(),
  };
}
