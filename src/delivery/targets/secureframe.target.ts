import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import type { SecureframeTargetConfig } from "../../config/deliver.schema.ts";
import type {
  DeliveryArtifact,
  DeliveryRunSummary,
  DeliveryTarget,
  SentArtifact,
} from "../delivery-target.ts";
import { DeliveryError } from "../delivery-target.ts";
import {
  artifactBlob,
  artifactFileName,
  failureFrom,
  fetchPlatform,
  jsonBody,
  periodEndDate,
  readCredential,
  type PlatformCall,
} from "./platform-http.ts";

/**
 * Secureframe (API 2023-10-18, research/apis.md §3.3; developer.secureframe.com "Test Evidence", "File
 * Upload", "Evidence"): `Authorization: <API_KEY> <API_SECRET>` (not Bearer); JSON:API bodies (`data.id`).
 * Upload: `POST /tests/{test_id}/evidences?activity_completion=YYYY-MM-DD` with a multipart `file`, or with
 * `upload_id` from the direct-upload flow: `POST /file_uploads?filename&byte_size&checksum(base64 MD5)
 * &content_type` → `data.attributes.{url, headers}` → `PUT url` (raw bytes, those headers) → `upload_id`.
 *
 * Secureframe's evidence has no description field, so the artifact's identity (run id and SHA-256 prefix) is
 * carried in the uploaded file name, which `findSent` looks for.
 */

const PLATFORM = "Secureframe";

/** `POST /file_uploads` refuses a `byte_size` above 32 MB ("must be 32 MB or smaller"); read as decimal MB. */
export const SECUREFRAME_MAX_FILE_BYTES = 32_000_000;

/**
 * Files up to this size go as a multipart `file`; larger ones through the direct upload the docs recommend
 * "for anything large". The multipart limit itself is not documented: 8 MiB is our assumption, small enough
 * for any API gateway's body limit.
 */
export const SECUREFRAME_MULTIPART_MAX_BYTES = 8 * 1024 * 1024;

const LIST_PAGE_SIZE = 100;
const MAX_LIST_PAGES = 20;

/** `findings-report.pdf` → `findings-report.keyproof-<run>-<sha256 prefix>.pdf`: unique per run and content. */
export function secureframeFileName(artifact: DeliveryArtifact, run: DeliveryRunSummary): string {
  const name = artifactFileName(artifact);
  const dot = name.lastIndexOf(".");
  const stem = dot > 0 ? name.slice(0, dot) : name;
  const extension = dot > 0 ? name.slice(dot) : "";
  const runId = run.runId.replace(/[^A-Za-z0-9_-]/g, "_");
  return `${stem}.keyproof-${runId}-${artifact.sha256.slice(0, 16)}${extension}`;
}

/** Base64 MD5 of the file, streamed (the direct upload's `checksum` and `Content-MD5`). */
async function md5Base64(file: string): Promise<string> {
  const hash = createHash("md5");
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest("base64");
}

function jsonApiMessage(body: unknown): string | undefined {
  const errors = (body as { errors?: unknown } | null)?.errors;
  if (!Array.isArray(errors)) return undefined;
  const parts = errors.flatMap((error: unknown) => {
    const { title, detail } = (error ?? {}) as { title?: unknown; detail?: unknown };
    const text = [title, detail].filter((part): part is string => typeof part === "string").join(": ");
    return text === "" ? [] : [text];
  });
  return parts.length === 0 ? undefined : parts.join("; ");
}

function readStagedUpload(
  body: unknown,
): { id: string; url: string; headers: Record<string, string> } | undefined {
  const data = (body as { data?: { id?: unknown; attributes?: Record<string, unknown> } } | null)?.data;
  const attributes = data?.attributes ?? {};
  const id = typeof data?.id === "string" ? data.id : attributes.id;
  const url = attributes.url;
  if (typeof id !== "string" || typeof url !== "string") return undefined;
  const headers: Record<string, string> = {};
  if (typeof attributes.headers === "object" && attributes.headers !== null) {
    for (const [name, value] of Object.entries(attributes.headers as Record<string, unknown>)) {
      if (typeof value === "string") headers[name] = value;
    }
  }
  return { id, url, headers };
}

export function createSecureframeTarget(
  config: SecureframeTargetConfig,
  env: NodeJS.ProcessEnv,
): DeliveryTarget {
  const baseUrl = config.baseUrl.replace(/\/+$/, "");
  const evidencesUrl = `${baseUrl}/tests/${encodeURIComponent(config.testId)}/evidences`;

  function session(): { authorization: string; call: PlatformCall } {
    const apiKey = readCredential(env, config.apiKeyEnv, PLATFORM);
    const apiSecret = readCredential(env, config.apiSecretEnv, PLATFORM);
    return {
      authorization: `${apiKey} ${apiSecret}`,
      call: { platform: PLATFORM, secrets: [apiKey, apiSecret] },
    };
  }

  /** The direct upload: stage, PUT the raw bytes with the returned headers, and hand back the `upload_id`. */
  async function stageUpload(
    artifact: DeliveryArtifact,
    fileName: string,
    authorization: string,
    call: PlatformCall,
  ): Promise<string> {
    const checksum = await md5Base64(artifact.file);
    const query = new URLSearchParams({
      filename: fileName,
      byte_size: String(artifact.sizeBytes),
      checksum,
      content_type: artifact.mimeType,
    });
    const what = `staging a direct upload of ${artifact.path}`;
    const response = await fetchPlatform(call, what, `${baseUrl}/file_uploads?${query.toString()}`, {
      method: "POST",
      headers: { authorization, accept: "application/json" },
    });
    if (!response.ok) throw await failureFrom(call, what, response, jsonApiMessage);
    const staged = readStagedUpload(await jsonBody(call, what, response));
    if (staged === undefined) {
      throw new DeliveryError(`${PLATFORM}: ${what} answered without data.id and a url`, {
        status: response.status,
        retryable: true,
      });
    }
    // The storage URL is presigned: our Authorization header must not go there.
    const putWhat = `uploading the bytes of ${artifact.path} to storage`;
    const put = await fetchPlatform(call, putWhat, staged.url, {
      method: "PUT",
      headers: staged.headers,
      body: await artifactBlob(artifact),
    });
    if (!put.ok) throw await failureFrom(call, putWhat, put);
    await put.body?.cancel();
    return staged.id;
  }

  return {
    config,

    async sendArtifact(artifact, run) {
      if (artifact.sizeBytes > SECUREFRAME_MAX_FILE_BYTES) {
        return {
          skipped: true,
          reason: `${artifact.path} is ${artifact.sizeBytes} bytes, above Secureframe's documented 32 MB upload limit; not uploaded`,
        };
      }
      const { authorization, call } = session();
      const fileName = secureframeFileName(artifact, run);
      const what = `uploading ${artifact.path} as evidence of test ${config.testId}`;
      const query = new URLSearchParams({ activity_completion: periodEndDate(run) });
      let init: RequestInit;
      if (artifact.sizeBytes > SECUREFRAME_MULTIPART_MAX_BYTES) {
        query.set("upload_id", await stageUpload(artifact, fileName, authorization, call));
        init = { method: "POST", headers: { authorization, accept: "application/json" } };
      } else {
        const form = new FormData();
        form.append("file", await artifactBlob(artifact), fileName);
        init = { method: "POST", headers: { authorization, accept: "application/json" }, body: form };
      }
      const response = await fetchPlatform(call, what, `${evidencesUrl}?${query.toString()}`, init);
      if (!response.ok) throw await failureFrom(call, what, response, jsonApiMessage);
      const body = (await jsonBody(call, what, response)) as { data?: { id?: unknown } } | null;
      const remoteId = body?.data?.id;
      return typeof remoteId === "string"
        ? { remoteId, httpStatus: response.status }
        : { httpStatus: response.status };
    },

    /**
     * ASSUMPTION (not in the published Evidence schema): the evidence carries its upload's name as
     * `attributes.file_name`, searchable as `file_name:"…"`. Only an exact `file_name` match counts, so when
     * the attribute is absent this finds nothing (the orchestrator then uploads again) rather than a wrong item.
     */
    async findSent(artifact, run): Promise<SentArtifact | undefined | "unknown"> {
      const { authorization, call } = session();
      const fileName = secureframeFileName(artifact, run);
      const what = "searching evidence";
      for (let page = 1; page <= MAX_LIST_PAGES; page += 1) {
        const query = new URLSearchParams({
          q: `file_name:"${fileName.replace(/["\\]/g, "\\$&")}"`,
          page: String(page),
          per_page: String(LIST_PAGE_SIZE),
        });
        const response = await fetchPlatform(call, what, `${baseUrl}/evidences?${query.toString()}`, {
          method: "GET",
          headers: { authorization, accept: "application/json" },
        });
        if (!response.ok) throw await failureFrom(call, what, response, jsonApiMessage);
        const body = (await jsonBody(call, what, response)) as { data?: unknown } | null;
        if (!Array.isArray(body?.data)) {
          throw new DeliveryError(`${PLATFORM}: ${what} answered without data`, {
            status: response.status,
            retryable: true,
          });
        }
        const items = body.data as Array<{ id?: unknown; attributes?: { file_name?: unknown } }>;
        const found = items.find(
          (item) => item.attributes?.file_name === fileName && typeof item.id === "string",
        );
        if (found !== undefined) return { remoteId: String(found.id), httpStatus: response.status };
        // Secureframe's published Evidence schema has no file name: a listing whose items carry none
        // cannot say the upload is absent, so it says it cannot tell rather than "not there" (which would
        // send the artifact a second time).
        if (items.some((item) => typeof item.attributes?.file_name !== "string")) return "unknown";
        if (items.length < LIST_PAGE_SIZE) return (await fileNamesListed()) ? undefined : "unknown";
      }
      // More pages than keyproof reads: absence is not established.
      return "unknown";

      /**
       * An empty search proves absence only if evidence carries `file_name` at all (a search on a field the
       * API does not have may just match nothing). One unfiltered item settles it; no evidence at all is
       * absence too.
       */
      async function fileNamesListed(): Promise<boolean> {
        const probe = await fetchPlatform(call, what, `${baseUrl}/evidences?page=1&per_page=1`, {
          method: "GET",
          headers: { authorization, accept: "application/json" },
        });
        if (!probe.ok) throw await failureFrom(call, what, probe, jsonApiMessage);
        const listed = (await jsonBody(call, what, probe)) as { data?: unknown } | null;
        if (!Array.isArray(listed?.data)) return false;
        const first = listed.data[0] as { attributes?: { file_name?: unknown } } | undefined;
        return first === undefined || typeof first.attributes?.file_name === "string";
      }
    },
  };
}
