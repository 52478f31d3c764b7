import type { DrataTargetConfig } from "../../config/deliver.schema.ts";
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
  evidenceDescription,
  evidenceMarker,
  failureFrom,
  fetchPlatform,
  jsonBody,
  periodEndDate,
  periodEndInstant,
  readCredential,
  type PlatformCall,
} from "./platform-http.ts";

/**
 * Drata (public API, research/apis.md §3.2; developers.drata.com): `Authorization: Bearer <API key>`.
 * Upload: v1 `POST /public/workspaces/{workspaceId}/evidence-library`, multipart `name`, `description`,
 * `renewalDate`, `renewalScheduleType`, `source=S3_FILE`, `file`, `filedAt`, `ownerId`, `controlIds` (repeated)
 * → 201 with the item's `id`. Lookup: `GET /public/v2/workspaces/{workspaceId}/evidence-library?name=&size=
 * &cursor=` → `{data: [...], pagination: {cursor}}` (the v2 reference; the v1 listing's paging is not
 * documented). Errors: `{statusCode, message, code}`; 412 until the account accepted the API terms; 413 and
 * 429 with `Retry-After`.
 */

const PLATFORM = "Drata";

/**
 * Drata's documented per-file limit ("each uploaded file does not exceed 25 MB", help.drata.com, Evidence
 * Library). Read as decimal megabytes, the stricter reading: a file between 25,000,000 and 26,214,400 bytes
 * is skipped with its reason rather than risking a refused upload.
 */
export const DRATA_MAX_FILE_BYTES = 25_000_000;

/** Drata's `name` is at most 191 characters. */
const MAX_NAME_LENGTH = 191;

/** Largest page the v2 listing serves (documented 1..500). */
const LIST_PAGE_SIZE = 500;
const MAX_LIST_PAGES = 20;

type RenewalScheduleType = "ONE_MONTH" | "THREE_MONTHS" | "ONE_YEAR" | "NONE";

const RENEWAL_BY_SCHEDULE_PERIOD: Record<string, { type: RenewalScheduleType; months: number }> = {
  "previous-month": { type: "ONE_MONTH", months: 1 },
  "previous-quarter": { type: "THREE_MONTHS", months: 3 },
  "previous-year": { type: "ONE_YEAR", months: 12 },
};

/**
 * On-demand runs (no schedule) renew on no cadence: `NONE`. v1 still requires a `renewalDate`, so it is the
 * period end plus three months, the cadence of the default schedule, which keeps Drata from marking the
 * evidence expired the day after upload.
 */
const ON_DEMAND_RENEWAL = { type: "NONE" as const, months: 3 };

/** `YYYY-MM-DD` plus whole months, clamped to the month's last day (Jan 31 + 1 month = Feb 28/29). */
export function addMonths(day: string, months: number): string {
  const [year, month, date] = day.split("-").map(Number) as [number, number, number];
  const target = new Date(Date.UTC(year, month - 1 + months, 1));
  const lastDay = new Date(Date.UTC(target.getUTCFullYear(), target.getUTCMonth() + 1, 0)).getUTCDate();
  target.setUTCDate(Math.min(date, lastDay));
  return target.toISOString().slice(0, 10);
}

/** The renewal Drata should expect: the cadence of the schedule that produced the run. */
export function drataRenewal(run: DeliveryRunSummary): {
  renewalScheduleType: RenewalScheduleType;
  renewalDate: string;
} {
  const rule =
    (run.schedule === undefined ? undefined : RENEWAL_BY_SCHEDULE_PERIOD[run.schedule.period]) ??
    ON_DEMAND_RENEWAL;
  return { renewalScheduleType: rule.type, renewalDate: addMonths(periodEndDate(run), rule.months) };
}

/** The evidence item's name: the period and the bundle path, which is what an auditor looks for in the library. */
export function drataEvidenceName(artifact: DeliveryArtifact, run: DeliveryRunSummary): string {
  const name = `keyproof ${run.period.label} ${artifact.path}`;
  return name.length > MAX_NAME_LENGTH ? name.slice(0, MAX_NAME_LENGTH) : name;
}

function drataMessage(body: unknown): string | undefined {
  const message = (body as { message?: unknown } | null)?.message;
  const code = (body as { code?: unknown } | null)?.code;
  if (typeof message !== "string") return undefined;
  return code === undefined ? message : `${message} (code ${String(code)})`;
}

function skipped(reason: string): { skipped: true; reason: string } {
  return { skipped: true, reason };
}

export function createDrataTarget(config: DrataTargetConfig, env: NodeJS.ProcessEnv): DeliveryTarget {
  const baseUrl = config.baseUrl.replace(/\/+$/, "");
  const workspace = encodeURIComponent(String(config.workspaceId));

  function session(): { apiKey: string; call: PlatformCall } {
    const apiKey = readCredential(env, config.apiKeyEnv, PLATFORM);
    return { apiKey, call: { platform: PLATFORM, secrets: [apiKey] } };
  }

  async function failure(call: PlatformCall, what: string, response: Response): Promise<DeliveryError> {
    const error = await failureFrom(call, what, response, drataMessage);
    if (response.status === 412) {
      return new DeliveryError(
        `${error.message} (an admin must accept Drata's API terms and conditions in Settings → API Keys before keyproof can deliver)`,
        { status: 412, retryable: false },
      );
    }
    return error;
  }

  async function findSent(
    artifact: DeliveryArtifact,
    run: DeliveryRunSummary,
  ): Promise<SentArtifact | undefined> {
    const { apiKey, call } = session();
    const name = drataEvidenceName(artifact, run);
    const marker = evidenceMarker(artifact, run);
    const what = "listing the evidence library";
    let cursor: string | undefined;
    for (let page = 0; page < MAX_LIST_PAGES; page += 1) {
      const query = new URLSearchParams({ name, size: String(LIST_PAGE_SIZE) });
      if (cursor !== undefined) query.set("cursor", cursor);
      const response = await fetchPlatform(
        call,
        what,
        `${baseUrl}/public/v2/workspaces/${workspace}/evidence-library?${query.toString()}`,
        { method: "GET", headers: { authorization: `Bearer ${apiKey}`, accept: "application/json" } },
      );
      if (!response.ok) throw await failure(call, what, response);
      const body = (await jsonBody(call, what, response)) as {
        data?: unknown;
        pagination?: { cursor?: unknown };
      } | null;
      if (!Array.isArray(body?.data)) {
        throw new DeliveryError(`${PLATFORM}: ${what} answered without data`, {
          status: response.status,
          retryable: true,
        });
      }
      // The `name` filter narrows the page; the marker in the description decides (names repeat across runs).
      for (const item of body.data as Array<{ id?: unknown; description?: unknown }>) {
        if (
          typeof item.description === "string" &&
          item.description.includes(marker) &&
          item.id !== undefined
        ) {
          return { remoteId: String(item.id), httpStatus: response.status };
        }
      }
      const next = body.pagination?.cursor;
      if (typeof next !== "string" || next === "") return undefined;
      cursor = next;
    }
    return undefined;
  }

  return {
    config,

    async sendArtifact(artifact, run) {
      if (artifact.sizeBytes > DRATA_MAX_FILE_BYTES) {
        return skipped(
          `${artifact.path} is ${artifact.sizeBytes} bytes, above Drata's documented 25 MB per-file limit; not uploaded (attach it by hand or split the artifact glob)`,
        );
      }
      const { apiKey, call } = session();
      const what = `uploading ${artifact.path} to the evidence library of workspace ${config.workspaceId}`;
      const renewal = drataRenewal(run);
      const form = new FormData();
      form.append("name", drataEvidenceName(artifact, run));
      form.append("description", evidenceDescription(artifact, run));
      form.append("renewalDate", renewal.renewalDate);
      form.append("renewalScheduleType", renewal.renewalScheduleType);
      form.append("source", "S3_FILE");
      form.append("filedAt", periodEndInstant(run));
      form.append("ownerId", String(config.ownerId));
      for (const controlId of config.controlIds) form.append("controlIds", String(controlId));
      form.append("file", await artifactBlob(artifact), artifactFileName(artifact));

      const response = await fetchPlatform(
        call,
        what,
        `${baseUrl}/public/workspaces/${workspace}/evidence-library`,
        {
          method: "POST",
          headers: { authorization: `Bearer ${apiKey}`, accept: "application/json" },
          body: form,
        },
      );
      if (response.status === 413) {
        const error = await failure(call, what, response);
        return skipped(
          `${artifact.path} (${artifact.sizeBytes} bytes) was refused as too large: ${error.message}`,
        );
      }
      if (!response.ok) throw await failure(call, what, response);
      const body = (await jsonBody(call, what, response)) as { id?: unknown } | null;
      return body?.id === undefined || body.id === null
        ? { httpStatus: response.status }
        : { remoteId: String(body.id), httpStatus: response.status };
    },

    findSent,
  };
}
