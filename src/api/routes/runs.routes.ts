import { createReadStream } from "node:fs";
import { readFile, realpath, stat } from "node:fs/promises";
import path from "node:path";
import type { FastifyInstance } from "fastify";
import { bundlePathProblem } from "../../evidence/bundle-path.ts";
import { GAPS_FILE } from "../../evidence/paths.ts";
import type { S3Client } from "@aws-sdk/client-s3";
import type { S3StorageConfig } from "../../config/config.schema.ts";
import { createS3Client } from "../../storage/s3-client.ts";
import { parseS3Url, type S3Location } from "../../storage/s3-location.ts";
import { presignS3Download } from "../../storage/s3-presign.ts";
import { storageRecordPath, type StorageRecord } from "../../storage/store-sealed-bundle.ts";
import { bundleDirectoryOf } from "../../jobs/queue/run-plan.ts";
import { readPublishedJson, remoteWorkOf } from "../../jobs/queue/run-workspace.ts";
import { readRunProgress } from "../../jobs/queue/run-progress.ts";
import type { RunRecord } from "../../jobs/queue/run-store.ts";
import { ApiError, badRequest } from "../api-error.ts";
import type { ApiServerOptions } from "../api-types.ts";
import {
  ArtifactParamsSchema,
  BundleQuerySchema,
  parseRequest,
  RunIdParamsSchema,
  RunListQuerySchema,
} from "../request-schemas.ts";
import type { RunView } from "../response-schemas.ts";

/** Lifetime of a presigned bundle URL: long enough to start a download, short enough not to be a share link. */
const PRESIGNED_URL_SECONDS = 300;

/** At most this many gaps inline in GET /v1/runs/{id}; the rest are in the bundle's gaps.json. */
const GAPS_INLINE = 100;

const CONTENT_TYPES: Record<string, string> = {
  ".json": "application/json",
  ".ndjson": "application/x-ndjson",
  ".csv": "text/csv; charset=utf-8",
  ".png": "image/png",
  ".pdf": "application/pdf",
  ".html": "text/html; charset=utf-8",
  ".txt": "text/plain; charset=utf-8",
  ".gz": "application/gzip",
};

/**
 * Answers never read the request back (the id or path asked for): the client knows what it asked, and a
 * body that echoes input is how reflected content reaches a log viewer or a browser.
 */
export function registerRunRoutes(app: FastifyInstance, options: ApiServerOptions): void {
  const { client } = options;

  async function findRun(id: string): Promise<RunRecord> {
    // A malformed id cannot name a run: same answer as an unknown one, never read back, never a Redis key.
    if (!RunIdParamsSchema.safeParse({ id }).success) throw new ApiError("not_found", "no run with that id");
    const record = await client.runs.get(id);
    if (record === undefined) throw new ApiError("not_found", "no run with that id");
    return record;
  }

  function sealedBundleOf(record: RunRecord): { directory: string; archive: string; remote?: string } {
    if (record.bundle === undefined) {
      throw new ApiError("conflict", `the run is ${record.status}; its bundle is not sealed yet`);
    }
    return record.bundle;
  }

  app.get("/v1/runs", { config: { permission: "read-runs" } }, async (request) => {
    const { limit, offset } = parseRequest(RunListQuerySchema, request.query);
    const page = await client.runs.list(offset, limit);
    const runs = page.runs.map((record) => runView(record));
    return {
      total: page.total,
      offset,
      limit,
      runs,
      ...(offset + limit < page.total ? { next: `/v1/runs?offset=${offset + limit}&limit=${limit}` } : {}),
    };
  });

  app.get<{ Params: { id: string } }>(
    "/v1/runs/:id",
    { config: { permission: "read-runs" } },
    async (request) => {
      const record = await findRun(request.params.id);
      request.accessRunId = record.runId;
      const progress = await readRunProgress(
        client,
        record.plan,
        record.keyBatches,
        record.screenshotBatches,
      );
      const gaps = await readGaps(record);
      return { ...runView(record), progress, ...(gaps === undefined ? {} : { gaps }) };
    },
  );

  // Built on first use, like the store's: region and endpoint from storage.s3, credentials from the provider chain.
  let s3Client: S3Client | undefined;
  function s3ClientFor(s3: S3StorageConfig): S3Client {
    s3Client ??= createS3Client({
      region: s3.region,
      ...(s3.endpoint === undefined ? {} : { endpoint: s3.endpoint }),
    });
    return s3Client;
  }

  app.get<{ Params: { id: string } }>(
    "/v1/runs/:id/bundle",
    { config: { permission: "download" } },
    async (request, reply) => {
      const { redirect } = parseRequest(BundleQuerySchema, request.query);
      const record = await findRun(request.params.id);
      request.accessRunId = record.runId;
      const bundle = sealedBundleOf(record);
      const s3 = options.service.config.storage?.s3;
      const stored = s3 === undefined ? undefined : await storedS3Version(bundle, record.runId, record.plan);
      if (s3 !== undefined && stored !== undefined) {
        const download = await presignS3Download(s3ClientFor(s3), stored, {
          expiresInSeconds: PRESIGNED_URL_SECONDS,
          fileName: `${record.runId}.tar.gz`,
        });
        if (redirect === "false") return reply.header("cache-control", "no-store").send(download);
        return reply.header("cache-control", "no-store").redirect(download.url, 302);
      }
      const size = await fileSize(bundle.archive);
      if (size === undefined)
        throw new ApiError("not_found", "the run's archive is no longer in the data directory");
      return reply
        .header("content-type", "application/gzip")
        .header("content-length", String(size))
        .header("content-disposition", `attachment; filename="${record.runId}.tar.gz"`)
        .header("x-manifest-sha256", record.bundle?.manifestSha256 ?? "")
        .send(createReadStream(bundle.archive));
    },
  );

  app.get<{ Params: { id: string; "*": string } }>(
    "/v1/runs/:id/artifacts/*",
    { config: { permission: "download" } },
    async (request, reply) => {
      const params = { id: request.params.id, path: request.params["*"] };
      const record = await findRun(params.id);
      request.accessRunId = record.runId;
      const relative = parseRequest(ArtifactParamsSchema, params).path;
      const problem = bundlePathProblem(relative);
      if (problem !== undefined) throw badRequest("path", `the path ${problem}`);
      const bundle = sealedBundleOf(record);
      const root = await realpath(bundle.directory).catch(() => undefined);
      if (root === undefined)
        throw new ApiError("not_found", "the run's bundle is no longer in the data directory");
      // Resolve symlinks too: a link inside the bundle must not lead outside it.
      const target = await realpath(path.join(root, ...relative.split("/"))).catch(() => undefined);
      if (target === undefined || !target.startsWith(`${root}${path.sep}`))
        throw new ApiError("not_found", "no such file in the run's bundle");
      const size = await fileSize(target);
      if (size === undefined) throw new ApiError("not_found", "no such file in the run's bundle");
      const type = CONTENT_TYPES[path.extname(target).toLowerCase()] ?? "application/octet-stream";
      return (
        reply
          .header("content-type", type)
          .header("content-length", String(size))
          .header("x-content-type-options", "nosniff")
          // Bundle files are evidence to download, not pages to run in the API's origin.
          .header("content-security-policy", "default-src 'none'; sandbox")
          .header("content-disposition", `attachment; filename="${path.basename(target).replace(/"/g, "")}"`)
          .send(createReadStream(target))
      );
    },
  );
}

/** The public shape of a run: no server paths, no config internals. */
export function runView(record: RunRecord): RunView {
  const { plan } = record;
  return {
    runId: record.runId,
    status: record.status,
    state: record.state,
    period: { label: plan.range.label, from: plan.range.from.slice(0, 10), to: plan.range.to },
    createdAt: record.createdAt,
    ...(record.startedAt === undefined ? {} : { startedAt: record.startedAt }),
    ...(record.finishedAt === undefined ? {} : { finishedAt: record.finishedAt }),
    request: plan.request,
    scope: {
      sources: plan.sources.map((source) => source.id),
      ...(plan.keys === undefined ? {} : { keys: plan.keys }),
    },
    ...(record.summary === undefined
      ? {}
      : { findings: record.summary.findings, gapCount: record.summary.gaps }),
    ...(record.bundle === undefined
      ? {}
      : {
          bundle: {
            manifestSha256: record.bundle.manifestSha256,
            download: `/v1/runs/${record.runId}/bundle`,
          },
        }),
    ...(record.error === undefined ? {} : { error: record.error }),
    ...(record.delivery === undefined ? {} : { delivery: record.delivery }),
  };
}

async function readGaps(record: RunRecord): Promise<{ count: number; items: unknown[] } | undefined> {
  try {
    // A run kept in S3 (storage.s3) has its gaps.json there, published by the judging worker.
    const gaps =
      remoteWorkOf(record.plan) === undefined
        ? (JSON.parse(
            await readFile(path.join(bundleDirectoryOf(record.plan), GAPS_FILE), "utf8"),
          ) as unknown)
        : await readPublishedJson<unknown>(record.plan, `${record.runId}/${GAPS_FILE}`);
    if (!Array.isArray(gaps)) return undefined;
    return { count: gaps.length, items: gaps.slice(0, GAPS_INLINE) };
  } catch {
    // Not judged yet: no gaps file.
    return undefined;
  }
}

/**
 * The S3 object version the deliver step stored this run's archive as, from `<bundle>.storage.json`;
 * undefined when the run was not stored in S3 (no record, or the S3 store refused it).
 */
async function storedS3Version(
  bundle: { directory: string; remote?: string },
  runId: string,
  plan: RunRecord["plan"],
): Promise<S3Location | undefined> {
  let record: Partial<StorageRecord>;
  try {
    // A queued run kept in S3 (storage.s3) has its storage.json there, published by the deliver job.
    const read =
      bundle.remote === undefined
        ? (JSON.parse(await readFile(storageRecordPath(bundle), "utf8")) as Partial<StorageRecord>)
        : await readPublishedJson<Partial<StorageRecord>>(plan, `${runId}.storage.json`);
    if (read === undefined) return undefined;
    record = read;
  } catch {
    return undefined;
  }
  if (record.runId !== runId || !Array.isArray(record.stores)) return undefined;
  for (const outcome of record.stores) {
    if (outcome.kind !== "s3" || !outcome.stored) continue;
    const location = parseS3Url(outcome.location);
    if (location === undefined) continue;
    // The record keeps the version id in the URL and beside it; either pins the sealed version.
    const versionId = location.versionId ?? outcome.versionId;
    return { ...location, ...(versionId === undefined ? {} : { versionId }) };
  }
  return undefined;
}

async function fileSize(file: string): Promise<number | undefined> {
  try {
    const info = await stat(file);
    return info.isFile() ? info.size : undefined;
  } catch {
    return undefined;
  }
}
