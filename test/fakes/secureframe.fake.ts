/**
 * FAKE Secureframe API (2023-10-18), research/apis.md §3.3 and §3.5, developer.secureframe.com ("Test
 * Evidence", "File Upload", "Evidence"):
 * - `Authorization: <API_KEY> <API_SECRET>` (no scheme word), 401 otherwise.
 * - `POST /tests/{test_id}/evidences?activity_completion=YYYY-MM-DD` with EXACTLY ONE of a multipart `file`
 *   or a query `upload_id` → 201 JSON:API `{data: {id, type: "evidence", attributes}}`; 404 unknown test,
 *   400 for neither/both, a bad date or an unknown / already redeemed / never-PUT upload id; 415 for a body
 *   that is neither empty nor multipart; 413 above the body cap.
 * - `POST /file_uploads?filename&byte_size&checksum&content_type` → `{data: {id, type: "file_upload",
 *   attributes: {url, headers, url_expires_at, id_expires_at}}}`; 400 above 32 MB. The `url` is this fake's
 *   own `PUT /storage/{id}`, which checks the returned headers, the byte count and the MD5.
 * - `GET /evidences?q&page&per_page` → `{data, meta: {total}}`, `q` understood as `field:"value"` terms
 *   joined by AND, on the attributes.
 * Evidence attributes carry `file_name` (ASSUMED: the published schema lists no file name; the adapter's
 * `findSent` depends on it and says so). Error body (JSON:API): `{errors: [{status, title, detail}]}`.
 */
import { createHash, randomUUID } from "node:crypto";
import {
  ISO_DATE,
  startGrcFake,
  type GrcAnswer,
  type GrcFakeServer,
  type GrcRequest,
} from "./grc-fake-http.ts";

const DIRECT_UPLOAD_MAX_BYTES = 32_000_000;

export interface SecureframeEvidence {
  id: string;
  testId: string;
  fileName: string;
  contentType: string;
  sizeBytes: number;
  sha256: string;
  activityCompletion: string;
  via: "multipart" | "upload_id";
}

interface StagedUpload {
  id: string;
  filename: string;
  byteSize: number;
  checksum: string;
  contentType: string;
  stored?: { sha256: string };
  redeemed: boolean;
}

export interface SecureframeFake {
  url: string;
  server: GrcFakeServer;
  addCredentials(apiKey: string, apiSecret: string): void;
  addTest(testId: string): void;
  evidence: SecureframeEvidence[];
  close(): Promise<void>;
}

export async function startSecureframeFake(
  options: {
    maxBodyBytes?: number;
    /** Answer evidence as the published schema has it: no `file_name` (a search on it matches nothing). */
    publishedSchema?: boolean;
  } = {},
): Promise<SecureframeFake> {
  const credentials = new Set<string>();
  const tests = new Set<string>();
  const evidence: SecureframeEvidence[] = [];
  const staged = new Map<string, StagedUpload>();
  let baseUrl = "";

  const error = (status: number, title: string, detail: string): GrcAnswer => ({
    status,
    body: { errors: [{ status: String(status), title, detail }] },
  });

  function view(record: SecureframeEvidence): Record<string, unknown> {
    return {
      id: record.id,
      type: "evidence",
      attributes: {
        id: record.id,
        accepted: false,
        activity_completion: record.activityCompletion,
        created_at: new Date().toISOString(),
        evidence_type: "custom",
        evidenceable_id: record.testId,
        evidenceable_type: "Company",
        ...(options.publishedSchema === true ? {} : { file_name: record.fileName }),
      },
    };
  }

  function createEvidence(request: GrcRequest, testId: string): GrcAnswer {
    const activity = request.url.searchParams.get("activity_completion");
    if (activity !== null && !ISO_DATE.test(activity))
      return error(400, "Bad Request", "activity_completion must be YYYY-MM-DD");
    const uploadId = request.url.searchParams.get("upload_id");
    if (!request.multipart && request.raw.length > 0)
      return error(415, "Unsupported Media Type", "send multipart/form-data");
    const file = request.files.file;
    if ((file === undefined) === (uploadId === null))
      return error(400, "Bad Request", "provide exactly one of file or upload_id");
    let record: SecureframeEvidence;
    if (file !== undefined) {
      record = {
        id: randomUUID(),
        testId,
        fileName: file.name,
        contentType: file.type,
        sizeBytes: file.size,
        sha256: file.sha256,
        activityCompletion: activity ?? new Date().toISOString().slice(0, 10),
        via: "multipart",
      };
    } else {
      const upload = staged.get(uploadId as string);
      if (upload === undefined || upload.redeemed)
        return error(400, "Bad Request", "upload_id is unknown or already used");
      if (upload.stored === undefined) return error(400, "Bad Request", "upload_id has no uploaded bytes");
      upload.redeemed = true;
      record = {
        id: randomUUID(),
        testId,
        fileName: upload.filename,
        contentType: upload.contentType,
        sizeBytes: upload.byteSize,
        sha256: upload.stored.sha256,
        activityCompletion: activity ?? new Date().toISOString().slice(0, 10),
        via: "upload_id",
      };
    }
    evidence.push(record);
    return { status: 201, body: { data: view(record) } };
  }

  function stage(request: GrcRequest): GrcAnswer {
    const query = request.url.searchParams;
    const filename = query.get("filename");
    const byteSize = Number(query.get("byte_size"));
    const checksum = query.get("checksum");
    if (
      filename === null ||
      filename === "" ||
      checksum === null ||
      !Number.isInteger(byteSize) ||
      byteSize <= 0
    ) {
      return error(400, "Bad Request", "filename, byte_size and checksum are required");
    }
    if (byteSize > DIRECT_UPLOAD_MAX_BYTES)
      return error(400, "Bad Request", "byte_size must be 32 MB or smaller");
    const id = randomUUID();
    const contentType = query.get("content_type") ?? "application/octet-stream";
    staged.set(id, { id, filename, byteSize, checksum, contentType, redeemed: false });
    const now = Date.now();
    return {
      status: 201,
      body: {
        data: {
          id,
          type: "file_upload",
          attributes: {
            id,
            url: `${baseUrl}/storage/${id}`,
            headers: { "Content-Type": contentType, "Content-MD5": checksum },
            url_expires_at: new Date(now + 15 * 60_000).toISOString(),
            id_expires_at: new Date(now + 60 * 60_000).toISOString(),
          },
        },
      },
    };
  }

  function store(request: GrcRequest, id: string): GrcAnswer {
    const upload = staged.get(id);
    if (upload === undefined) return { status: 403, body: { message: "SignatureDoesNotMatch" } };
    // Storage checks what staging declared: the headers verbatim, the size and the MD5 of the bytes.
    if (
      request.headers["content-md5"] !== upload.checksum ||
      request.headers["content-type"] !== upload.contentType
    ) {
      return { status: 403, body: { message: "headers differ from the staged upload" } };
    }
    const md5 = createHash("md5").update(request.raw).digest("base64");
    if (request.raw.length !== upload.byteSize || md5 !== upload.checksum) {
      return { status: 400, body: { message: "BadDigest" } };
    }
    if (request.headers.authorization !== undefined)
      return { status: 400, body: { message: "presigned URL takes no Authorization" } };
    upload.stored = { sha256: createHash("sha256").update(request.raw).digest("hex") };
    return { status: 200 };
  }

  function search(request: GrcRequest): GrcAnswer {
    const q = request.url.searchParams.get("q") ?? "";
    const page = Number(request.url.searchParams.get("page") ?? "1");
    const perPage = Number(request.url.searchParams.get("per_page") ?? "100");
    const terms = q === "" ? [] : q.split(/\s+AND\s+/);
    const filters: Array<[string, string]> = [];
    for (const term of terms) {
      const match = /^(\w+):"((?:[^"\\]|\\.)*)"$/.exec(term) ?? /^(\w+):(\S+)$/.exec(term);
      if (match === null) return error(400, "Bad Request", `cannot parse query term ${term}`);
      filters.push([match[1] as string, (match[2] as string).replace(/\\(.)/g, "$1")]);
    }
    const all = evidence
      .map(view)
      .filter((item) =>
        filters.every(
          ([field, value]) => String((item.attributes as Record<string, unknown>)[field]) === value,
        ),
      );
    return {
      status: 200,
      body: { data: all.slice((page - 1) * perPage, page * perPage), meta: { total: all.length } },
    };
  }

  const server = await startGrcFake({
    maxBodyBytes: options.maxBodyBytes ?? 40 * 1024 * 1024,
    tooLarge: error(413, "Payload Too Large", "request entity too large"),
    handler(request) {
      const path = request.url.pathname;
      const storage = /^\/storage\/([^/]+)$/.exec(path);
      if (storage !== null && request.method === "PUT") return store(request, storage[1] as string);
      if (!credentials.has(request.headers.authorization ?? ""))
        return error(401, "Unauthorized", "invalid API key or secret");
      if (path === "/file_uploads" && request.method === "POST") return stage(request);
      if (path === "/evidences" && request.method === "GET") return search(request);
      const test = /^\/tests\/([^/]+)\/evidences$/.exec(path);
      if (test !== null && request.method === "POST") {
        const testId = decodeURIComponent(test[1] as string);
        if (!tests.has(testId)) return error(404, "Not Found", "Resource not found");
        return createEvidence(request, testId);
      }
      return error(404, "Not Found", `no route ${request.method} ${path}`);
    },
  });
  baseUrl = server.url;

  return {
    url: server.url,
    server,
    addCredentials: (apiKey, apiSecret) => void credentials.add(`${apiKey} ${apiSecret}`),
    addTest: (testId) => void tests.add(testId),
    evidence,
    close: () => server.close(),
  };
}
