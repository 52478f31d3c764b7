import path from "node:path";
import type { Config } from "../config/config.schema.ts";
import { KeyproofError } from "../errors/errors.ts";
import { BundleWriter, type SealedBundle } from "../evidence/bundle-writer.ts";
import type { ManifestFields, ManifestSource } from "../evidence/manifest.ts";
import { annualReviewJsonPath, annualReviewPdfPath, slugify } from "../evidence/paths.ts";
import type { SourceType } from "../model/key.ts";
import type { ReviewRecord } from "../model/review.ts";
import type { BrowserPool } from "../render/browser-pool.ts";
import { renderAnnualReviewPdf } from "../render/render-annual-review.ts";
import type { TemplateLibrary } from "../render/template.ts";
import { createSigner } from "../signing/create-signer.ts";
import type { Signer } from "../signing/signer.ts";
import { chainScope } from "../storage/chain-scope.ts";
import { createBundleStores, type CreateStoresOptions } from "../storage/create-store.ts";
import {
  prepareBundleStorage,
  storeSealedBundle,
  type StorageRecord,
} from "../storage/store-sealed-bundle.ts";
import { parsePeriod } from "../time/date-range.ts";
import { KEYPROOF_VERSION } from "../version.ts";
import { decisionsSha256 } from "./canonical-decisions.ts";

/**
 * A signed annual review becomes evidence like any run: `review/annual-review-<year>.json` (the record as
 * signed) and `review/annual-review-<year>.pdf` in a bundle of their own, sealed by the keyproof signer,
 * stored under Object Lock and chained into the scope's other bundles (the same prepare → seal → store
 * sequence as src/jobs/run-inline.ts, so the manifest records the previous bundle of the scope).
 */

export interface SealReviewRequest {
  record: ReviewRecord;
  config: Config;
  /** Where relative paths of the config (the local signing key, `storage.local`) resolve. */
  configDirectory: string;
  /** The bundle directory is `<outDirectory>/<runId>`, its archive beside it, as for a run. */
  outDirectory: string;
  /** Defaults to the config's signer (`createSigner`). */
  signer?: Signer;
  pool: BrowserPool;
  /** The clock for the PDF's generation stamp, the capture window's end and storage; defaults to now. */
  now?: () => Date;
  /**
   * Source id → type for sources of the record the config no longer lists (a source removed since the
   * review was prepared). The config's own sources are looked up by id.
   */
  sourceTypes?: Readonly<Record<string, SourceType>>;
  /** Passed to createBundleStores (tests pass emulator credentials). */
  storeOptions?: CreateStoresOptions;
  templates?: TemplateLibrary;
}

export interface SealReviewResult {
  runId: string;
  bundle: SealedBundle;
  /** Where the bundle was stored (also in `<bundle>.storage.json`); absent without `storage:`. */
  storage?: StorageRecord;
}

/** `kp-review-2026-rv-2026-0001`; the review id is slugified so it is always one safe path segment. */
export function reviewRunId(record: Pick<ReviewRecord, "year" | "id">): string {
  return `kp-review-${record.year}-${slugify(record.id)}`;
}

/** Refuses what must never be sealed: an unsigned record, decisions changed after sign-off, another org. */
function assertSealable(record: ReviewRecord, config: Config): NonNullable<ReviewRecord["signOff"]> {
  const signOff = record.signOff;
  if (signOff === undefined) {
    throw new KeyproofError(
      "ARGUMENT_INVALID",
      `review ${record.id} is not signed; only a signed review is sealed`,
      {
        remediation: "decide every item and sign the review off, then seal it",
      },
    );
  }
  // Throws for an undecided item; a mismatch means the record was edited after the reviewer signed it.
  const actual = decisionsSha256(record);
  if (actual !== signOff.decisionsSha256) {
    throw new KeyproofError(
      "ARGUMENT_INVALID",
      `review ${record.id}: the decisions SHA-256 is ${actual}, but ${signOff.name} signed ${signOff.decisionsSha256}`,
      {
        remediation:
          "the decisions changed after sign-off: have the reviewer sign the current decisions again",
      },
    );
  }
  if (record.organization !== config.organization) {
    throw new KeyproofError(
      "ARGUMENT_INVALID",
      `review ${record.id} is for "${record.organization}", the config for "${config.organization}"`,
      { remediation: "seal the review with the config of the organization it reviewed" },
    );
  }
  return signOff;
}

/** The record's sources as the manifest lists them: type from the config (or `sourceTypes`), locations from the items. */
function manifestSources(
  record: ReviewRecord,
  config: Config,
  sourceTypes: Readonly<Record<string, SourceType>>,
): ManifestSource[] {
  return record.sources.map((id) => {
    const type = config.sources.find((source) => source.id === id)?.type ?? sourceTypes[id];
    if (type === undefined) {
      throw new KeyproofError(
        "ARGUMENT_INVALID",
        `review ${record.id} names source "${id}", which the config does not list`,
        { remediation: `pass its type in sourceTypes, or seal with the config the review was prepared from` },
      );
    }
    const locations = new Set<string>();
    for (const item of record.items)
      if (item.source === id && item.location !== undefined) locations.add(item.location);
    return { id, type, locations: [...locations].sort() };
  });
}

export async function sealReviewEvidence(request: SealReviewRequest): Promise<SealReviewResult> {
  const { record, config } = request;
  const now = request.now ?? (() => new Date());
  const signOff = assertSealable(record, config);
  const sources = manifestSources(record, config, request.sourceTypes ?? {});
  // Fail on the signing key and the stores' config before writing anything, as a run does.
  const signer = request.signer ?? (await createSigner(config.signing, request.configDirectory));
  const stores = createBundleStores(config.storage, request.configDirectory, request.storeOptions);
  const runId = reviewRunId(record);
  const writer = await BundleWriter.open(path.resolve(request.outDirectory, runId));

  const generatedAt = now();
  const pdf = await renderAnnualReviewPdf(record, request.pool, {
    generatedAt,
    ...(request.templates === undefined ? {} : { templates: request.templates }),
  });
  // overwrite: a retried seal of the same review rewrites its own two files (the record is the same).
  await writer.writeJson(annualReviewJsonPath(record.year), record, { overwrite: true });
  await writer.writeText(annualReviewPdfPath(record.year), pdf, { overwrite: true });

  const storage = stores.length === 0 ? undefined : await prepareBundleStorage(stores, chainScope(config));
  const range = parsePeriod(String(record.year), "year");
  // The window must contain the signature's time (signed-at.ts, verify refuses otherwise). A review's facts
  // are not API reads: they are the record, read from the review store now, so the window runs from the
  // review's preparation to the seal. Ending it at sign-off instead would make a seal more than 24 hours
  // after sign-off (a queued seal job, a retry) impossible to sign.
  const sealedAt = signer.now?.() ?? now();
  const signedAt = Date.parse(signOff.signedAt);
  const first = Math.min(Date.parse(record.createdAt), signedAt);
  const last = Math.max(signedAt, sealedAt.getTime());
  const manifestFields: ManifestFields = {
    runId,
    organization: config.organization,
    period: { label: range.label, from: range.from, to: range.to, toExclusive: range.toExclusive },
    capturedAt: new Date(signedAt).toISOString(),
    captureWindow: { first: new Date(first).toISOString(), last: new Date(last).toISOString() },
    keyproofVersion: KEYPROOF_VERSION,
    sources,
    ...(storage?.previousBundle === undefined ? {} : { previousBundle: storage.previousBundle }),
  };
  const bundle = await writer.seal({ manifestFields, signer });
  if (storage === undefined) return { runId, bundle };
  // Throws STORAGE_REFUSED naming the sealed archive (kept on disk) when a store refused or failed.
  const stored = await storeSealedBundle({ prepared: storage, bundle, now });
  return { runId, bundle, storage: stored };
}
