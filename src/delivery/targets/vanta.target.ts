import type { VantaTargetConfig } from "../../config/deliver.schema.ts";
import type {
  DeliveryArtifact,
  DeliveryOutcome,
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
  periodEndInstant,
  readCredential,
  type PlatformCall,
} from "./platform-http.ts";

/**
 * Vanta (Manage Vanta REST API, research/apis.md §3.1; developer.vanta.com "Upload a document"):
 * `POST /oauth/token` (client credentials, JSON) → `Authorization: Bearer …`;
 * `POST /v1/documents/{documentId}/uploads` multipart `file` + `effectiveAtDate` + `description`;
 * `GET /v1/documents/{documentId}/uploads?pageSize&pageCursor` (`results.data`, `results.pageInfo`);
 * `POST /v1/documents/{documentId}/submit`.
 *
 * Only one token per application is active: minting revokes the previous one, and in-flight calls of every
 * holder then get 401. So one token per process and client id (the module-level cache below), minted by one
 * caller while concurrent callers await the same promise, kept until shortly before it expires, refreshed at
 * most once per failing call. The token endpoint is rate-limited (5/min in the docs), a second reason never
 * to mint in a loop.
 */

const PLATFORM = "Vanta";

/** The scopes the "Upload a document" guide names for upload, list and submit. */
const TOKEN_SCOPE = "vanta-api.all:read vanta-api.all:write vanta-api.documents:upload";

/** Refresh this long before `expires_in` runs out (or a tenth of the lifetime, if shorter), so no call races expiry. */
const EXPIRY_MARGIN_MS = 60_000;

/** Largest page of uploads `GET …/uploads` serves (documented range 1..100). */
const UPLOADS_PAGE_SIZE = 100;

/** Pages read by `findSent` before giving up: 50 × 100 uploads is far beyond one document's history. */
const MAX_UPLOAD_PAGES = 50;

interface CachedToken {
  accessToken: string;
  /** Epoch ms after which the token is not used any more. */
  usableUntil: number;
}

interface TokenSlot {
  current?: CachedToken | undefined;
  /** The mint in flight, awaited by every caller that needs a token meanwhile (single flight). */
  minting?: Promise<CachedToken> | undefined;
  /** The last tokens minted here, redacted from messages too: a body may echo the (revoked) one a call used. */
  issued: string[];
}

/** One slot per Vanta host and client id, for the life of the process (never persisted: the token is a secret). */
const tokenSlots = new Map<string, TokenSlot>();

function slotFor(baseUrl: string, clientId: string): TokenSlot {
  const key = `${baseUrl}\u0000${clientId}`;
  let slot = tokenSlots.get(key);
  if (slot === undefined) {
    slot = { issued: [] };
    tokenSlots.set(key, slot);
  }
  return slot;
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, "");
}

function readTokenAnswer(body: unknown): { accessToken: string; expiresInSeconds: number } | undefined {
  if (typeof body !== "object" || body === null) return undefined;
  const { access_token: accessToken, expires_in: expiresIn } = body as Record<string, unknown>;
  if (typeof accessToken !== "string" || accessToken === "") return undefined;
  // expires_in is the standard OAuth field; the docs only promise "about an hour", so that is the fallback.
  const expiresInSeconds = typeof expiresIn === "number" && expiresIn > 0 ? expiresIn : 3600;
  return { accessToken, expiresInSeconds };
}

interface UploadPage {
  uploads: Array<{ id: string; description: string | null }>;
  nextCursor: string | undefined;
}

function readUploadPage(body: unknown): UploadPage | undefined {
  const results = (body as { results?: unknown } | null)?.results as
    { data?: unknown; pageInfo?: { hasNextPage?: unknown; endCursor?: unknown } } | undefined;
  if (results === undefined || !Array.isArray(results.data)) return undefined;
  const uploads = results.data.flatMap((item: unknown) => {
    const record = item as { id?: unknown; description?: unknown; deletionDate?: unknown };
    // A deleted upload no longer counts as delivered: the auditor cannot see it.
    if (typeof record.id !== "string" || (record.deletionDate ?? null) !== null) return [];
    return [
      { id: record.id, description: typeof record.description === "string" ? record.description : null },
    ];
  });
  const hasNext = results.pageInfo?.hasNextPage === true;
  const cursor = results.pageInfo?.endCursor;
  return { uploads, nextCursor: hasNext && typeof cursor === "string" ? cursor : undefined };
}

/** 4xx answers of `submit` that mean the document is already submitted (not documented; matched by message). */
function isAlreadySubmitted(status: number, message: string): boolean {
  return (
    (status === 400 || status === 409 || status === 422) && /already\s+(been\s+)?submitted/i.test(message)
  );
}

export function createVantaTarget(config: VantaTargetConfig, env: NodeJS.ProcessEnv): DeliveryTarget {
  const baseUrl = trimSlash(config.baseUrl);
  const documentPath = `${baseUrl}/v1/documents/${encodeURIComponent(config.documentId)}`;

  function credentials(): { clientId: string; clientSecret: string; call: PlatformCall } {
    const clientId = readCredential(env, config.clientIdEnv, PLATFORM);
    const clientSecret = readCredential(env, config.clientSecretEnv, PLATFORM);
    const slot = slotFor(baseUrl, clientId);
    return {
      clientId,
      clientSecret,
      call: { platform: PLATFORM, secrets: [clientId, clientSecret, ...slot.issued] },
    };
  }

  async function mintToken(clientId: string, clientSecret: string, call: PlatformCall): Promise<CachedToken> {
    const response = await fetchPlatform(call, "the token request", `${baseUrl}/oauth/token`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify({
        client_id: clientId,
        client_secret: clientSecret,
        scope: TOKEN_SCOPE,
        grant_type: "client_credentials",
      }),
    });
    if (!response.ok) {
      const failure = await failureFrom(call, "the token request", response);
      if (response.status === 400 || response.status === 401 || response.status === 403) {
        throw new DeliveryError(
          `${failure.message} (check the OAuth application in ${config.clientIdEnv} / ${config.clientSecretEnv})`,
          { status: response.status, retryable: false },
        );
      }
      throw failure;
    }
    const answer = readTokenAnswer(await jsonBody(call, "the token request", response));
    if (answer === undefined) {
      throw new DeliveryError(`${PLATFORM}: the token request answered without an access_token`, {
        status: response.status,
        retryable: true,
      });
    }
    const lifetimeMs = answer.expiresInSeconds * 1000;
    return {
      accessToken: answer.accessToken,
      usableUntil: Date.now() + lifetimeMs - Math.min(EXPIRY_MARGIN_MS, lifetimeMs / 10),
    };
  }

  /**
   * The process's token for this client id. `stale` is a token a call was just refused with: it is replaced
   * only if it is still the cached one, so many calls failing with the same revoked token cause one mint.
   */
  async function accessToken(stale?: string): Promise<string> {
    const { clientId, clientSecret, call } = credentials();
    const slot = slotFor(baseUrl, clientId);
    const current = slot.current;
    if (current !== undefined && current.accessToken !== stale && Date.now() < current.usableUntil) {
      return current.accessToken;
    }
    if (slot.minting === undefined) {
      slot.current = undefined;
      slot.minting = mintToken(clientId, clientSecret, call)
        .then((token) => {
          slot.current = token;
          slot.issued = [token.accessToken, ...slot.issued].slice(0, 3);
          return token;
        })
        .finally(() => {
          slot.minting = undefined;
        });
    }
    return (await slot.minting).accessToken;
  }

  /** One API call with the shared token; on 401, one refresh and one retry, never more. */
  async function authorized(what: string, url: string, init: () => Promise<RequestInit>): Promise<Response> {
    let token = await accessToken();
    for (let attempt = 0; ; attempt += 1) {
      const request = await init();
      const { call } = credentials();
      const response = await fetchPlatform({ ...call, secrets: [...call.secrets, token] }, what, url, {
        ...request,
        headers: {
          ...(request.headers as Record<string, string>),
          authorization: `Bearer ${token}`,
          accept: "application/json",
        },
      });
      if (response.status !== 401 || attempt > 0) {
        if (response.status === 401) {
          const failure = await failureFrom({ ...call, secrets: [...call.secrets, token] }, what, response);
          throw new DeliveryError(
            `${failure.message} (refused again after one token refresh: another client may be minting tokens for the same Vanta application)`,
            { status: 401, retryable: false },
          );
        }
        return response;
      }
      // The token was revoked (another holder minted one) or expired early: refresh once and retry once.
      await response.body?.cancel();
      token = await accessToken(token);
    }
  }

  function callForErrors(): PlatformCall {
    return credentials().call;
  }

  async function findSent(
    artifact: DeliveryArtifact,
    run: DeliveryRunSummary,
  ): Promise<SentArtifact | undefined> {
    // GET /v1/documents/{documentId}/uploads is in the Manage Vanta reference ("List document's uploads").
    const marker = evidenceMarker(artifact, run);
    let cursor: string | undefined;
    for (let page = 0; page < MAX_UPLOAD_PAGES; page += 1) {
      const query = new URLSearchParams({ pageSize: String(UPLOADS_PAGE_SIZE) });
      if (cursor !== undefined) query.set("pageCursor", cursor);
      const what = "listing the document's uploads";
      const response = await authorized(what, `${documentPath}/uploads?${query.toString()}`, () =>
        Promise.resolve({ method: "GET" }),
      );
      if (!response.ok) throw await failureFrom(callForErrors(), what, response);
      const parsed = readUploadPage(await jsonBody(callForErrors(), what, response));
      if (parsed === undefined) {
        throw new DeliveryError(`${PLATFORM}: ${what} answered without results.data`, {
          status: response.status,
          retryable: true,
        });
      }
      const found = parsed.uploads.find((upload) => upload.description?.includes(marker) === true);
      if (found !== undefined) return { remoteId: found.id, httpStatus: response.status };
      if (parsed.nextCursor === undefined) return undefined;
      cursor = parsed.nextCursor;
    }
    return undefined;
  }

  return {
    config,

    async sendArtifact(artifact, run) {
      const what = `uploading ${artifact.path} to document ${config.documentId}`;
      const effectiveAtDate = periodEndInstant(run);
      const response = await authorized(what, `${documentPath}/uploads`, async () => {
        // A fresh body per attempt: a stream consumed by a refused attempt cannot be sent again.
        const form = new FormData();
        form.append("file", await artifactBlob(artifact), artifactFileName(artifact));
        form.append("effectiveAtDate", effectiveAtDate);
        form.append("description", evidenceDescription(artifact, run));
        return { method: "POST", body: form };
      });
      if (!response.ok) throw await failureFrom(callForErrors(), what, response);
      // The reference says 201, the guide shows 200: both are success.
      const body = (await jsonBody(callForErrors(), what, response)) as { id?: unknown } | null;
      const remoteId = typeof body?.id === "string" ? body.id : undefined;
      return remoteId === undefined
        ? { httpStatus: response.status }
        : { remoteId, httpStatus: response.status };
    },

    async finish(_run: DeliveryRunSummary, _sent: readonly DeliveryOutcome[]) {
      if (!config.submit) return undefined;
      const what = `submitting document ${config.documentId}`;
      const response = await authorized(what, `${documentPath}/submit`, () =>
        Promise.resolve({ method: "POST" }),
      );
      if (response.ok) {
        await response.body?.cancel();
        return { remoteId: config.documentId, httpStatus: response.status };
      }
      const failure = await failureFrom(callForErrors(), what, response);
      // Safe to call again after a crash: a document that is already submitted is what we wanted.
      if (isAlreadySubmitted(response.status, failure.message)) {
        return { remoteId: config.documentId, httpStatus: response.status };
      }
      throw failure;
    },

    findSent,
  };
}
