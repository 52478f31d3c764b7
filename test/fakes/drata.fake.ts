/**
 * FAKE Drata public API, research/apis.md §3.2 and §3.5, developers.drata.com (v1 and v2 references):
 * - `Authorization: Bearer <API key>`, 401 otherwise; 412 for every call while the account has not accepted
 *   the API terms.
 * - v1 `POST /public/workspaces/{workspaceId}/evidence-library` multipart with required `name` (≤191),
 *   `renewalDate` (YYYY-MM-DD), `renewalScheduleType` (ONE_MONTH … NONE), `source` (URL, S3_FILE,
 *   TICKET_PROVIDER, NONE), `filedAt` (ISO), `ownerId` (number), `file` when `source=S3_FILE`, repeated
 *   `controlIds`; optional `description` → 201 `{id, name, description, …}`. 415 when not multipart, 404 for
 *   an unknown workspace, 400 for a missing or malformed field, 413 for a file above 25 MB (the documented
 *   per-file limit; configurable here so tests stay small).
 * - v2 `GET /public/v2/workspaces/{workspaceId}/evidence-library?name&size&cursor` → `{data, pagination:
 *   {cursor}}`, `name` as a substring filter.
 * Error body: `{statusCode, message, code}`.
 */
import {
  ISO_DATE,
  ISO_INSTANT,
  single,
  startGrcFake,
  type GrcAnswer,
  type GrcFakeServer,
  type GrcRequest,
} from "./grc-fake-http.ts";

const RENEWAL_TYPES = new Set([
  "ONE_MONTH",
  "TWO_MONTHS",
  "THREE_MONTHS",
  "SIX_MONTHS",
  "ONE_YEAR",
  "CUSTOM",
  "NONE",
]);
const SOURCES = new Set(["URL", "S3_FILE", "TICKET_PROVIDER", "NONE"]);

export interface DrataEvidence {
  id: number;
  workspaceId: number;
  name: string;
  description: string | null;
  renewalDate: string;
  renewalScheduleType: string;
  source: string;
  filedAt: string;
  ownerId: number;
  controlIds: number[];
  file: { name: string; type: string; size: number; sha256: string } | undefined;
}

export interface DrataFake {
  url: string;
  server: GrcFakeServer;
  addApiKey(key: string): void;
  addWorkspace(workspaceId: number): void;
  /** While false every call answers 412, as Drata does until an admin accepts the API terms. */
  setTermsAccepted(accepted: boolean): void;
  evidence: DrataEvidence[];
  close(): Promise<void>;
}

export async function startDrataFake(options: { maxFileBytes?: number } = {}): Promise<DrataFake> {
  const keys = new Set<string>();
  const workspaces = new Set<number>();
  const evidence: DrataEvidence[] = [];
  let termsAccepted = true;
  let nextId = 1000;
  const maxFileBytes = options.maxFileBytes ?? 25 * 1024 * 1024;

  const error = (statusCode: number, message: string, code: number): GrcAnswer => ({
    status: statusCode,
    body: { statusCode, message, code },
  });

  function create(request: GrcRequest, workspaceId: number): GrcAnswer {
    if (!request.multipart) return error(415, "Content-Type must be multipart/form-data", 41500);
    const fields = request.fields;
    const missing = ["name", "renewalDate", "renewalScheduleType", "source", "filedAt", "ownerId"].filter(
      (name) => single(fields, name) === undefined,
    );
    if (missing.length > 0) return error(400, `missing required field(s): ${missing.join(", ")}`, 40001);
    const name = single(fields, "name") as string;
    const renewalDate = single(fields, "renewalDate") as string;
    const renewalScheduleType = single(fields, "renewalScheduleType") as string;
    const source = single(fields, "source") as string;
    const filedAt = single(fields, "filedAt") as string;
    const ownerId = Number(single(fields, "ownerId"));
    if (name.length > 191) return error(400, "name must be at most 191 characters", 40002);
    if (!ISO_DATE.test(renewalDate)) return error(400, "renewalDate must be YYYY-MM-DD", 40003);
    if (!RENEWAL_TYPES.has(renewalScheduleType)) return error(400, "renewalScheduleType is not valid", 40004);
    if (!SOURCES.has(source)) return error(400, "source is not valid", 40005);
    if (!ISO_INSTANT.test(filedAt) && !ISO_DATE.test(filedAt))
      return error(400, "filedAt must be a date", 40006);
    if (!Number.isInteger(ownerId) || ownerId <= 0) return error(400, "ownerId must be a user id", 40007);
    const controlIds = (fields.controlIds ?? fields["controlIds[]"] ?? []).map(Number);
    if (controlIds.some((id) => !Number.isInteger(id) || id <= 0))
      return error(400, "controlIds must be numbers", 40008);
    const file = request.files.file;
    if (source === "S3_FILE" && file === undefined)
      return error(400, "file is required when source is S3_FILE", 40009);
    if (file !== undefined && file.size > maxFileBytes) return error(413, "File too large", 41300);
    const record: DrataEvidence = {
      id: nextId++,
      workspaceId,
      name,
      description: single(fields, "description") ?? null,
      renewalDate,
      renewalScheduleType,
      source,
      filedAt,
      ownerId,
      controlIds,
      file,
    };
    evidence.push(record);
    return { status: 201, body: view(record) };
  }

  function view(record: DrataEvidence): Record<string, unknown> {
    return {
      id: record.id,
      name: record.name,
      description: record.description,
      createdAt: new Date().toISOString(),
      renewalSchema: { renewalDate: record.renewalDate, renewalScheduleType: record.renewalScheduleType },
    };
  }

  function list(request: GrcRequest, workspaceId: number): GrcAnswer {
    const size = Number(request.url.searchParams.get("size") ?? "50");
    if (!Number.isInteger(size) || size < 1 || size > 500) return error(400, "size must be 1..500", 40010);
    const name = request.url.searchParams.get("name");
    const start = Number(request.url.searchParams.get("cursor") ?? "0");
    const all = evidence.filter(
      (item) => item.workspaceId === workspaceId && (name === null || item.name.includes(name)),
    );
    const page = all.slice(start, start + size);
    const end = start + page.length;
    return {
      status: 200,
      body: { data: page.map(view), pagination: { cursor: end < all.length ? String(end) : null } },
    };
  }

  const server = await startGrcFake({
    // Above the file limit so the fake's own 413 (with Drata's body) answers, not the gateway cap.
    maxBodyBytes: maxFileBytes + 1024 * 1024,
    tooLarge: error(413, "Payload Too Large", 41300),
    handler(request) {
      const match = /^\/public(\/v2)?\/workspaces\/([^/]+)\/evidence-library$/.exec(request.url.pathname);
      if (match === null) return error(404, `Cannot ${request.method} ${request.url.pathname}`, 40400);
      const bearer = /^Bearer (\S+)$/.exec(request.headers.authorization ?? "");
      if (bearer === null || !keys.has(bearer[1] as string))
        return error(401, "Invalid Authorization", 40100);
      if (!termsAccepted)
        return error(412, "You must accept the Drata terms and conditions to use the API", 41200);
      const workspaceId = Number(match[2]);
      if (!workspaces.has(workspaceId)) return error(404, "Workspace not found", 40401);
      const v2 = match[1] !== undefined;
      if (!v2 && request.method === "POST") return create(request, workspaceId);
      if (v2 && request.method === "GET") return list(request, workspaceId);
      return error(404, `Cannot ${request.method} ${request.url.pathname}`, 40400);
    },
  });

  return {
    url: server.url,
    server,
    addApiKey: (key) => void keys.add(key),
    addWorkspace: (workspaceId) => void workspaces.add(workspaceId),
    setTermsAccepted: (accepted) => {
      termsAccepted = accepted;
    },
    evidence,
    close: () => server.close(),
  };
}
