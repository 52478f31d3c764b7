import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import path from "node:path";
import picomatch from "picomatch";
import type { DeliveryTargetConfig } from "../config/deliver.schema.ts";
import { ManifestSchema, sha256Hex, type Manifest, type ManifestFile } from "../evidence/manifest.ts";
import { MANIFEST_FILE, SUMMARY_FILE } from "../evidence/paths.ts";
import type { RunSummary } from "../jobs/run-summary.ts";
import { storageRecordPath, type StorageRecord } from "../storage/store-sealed-bundle.ts";
import type { DeliveryLedger, LedgerEntry, LedgerSlot } from "./delivery-ledger.ts";
import type { DeliveryError } from "./delivery-target.ts";
import {
  type DeliveryArtifact,
  type DeliveryOutcome,
  type DeliveryRunSummary,
  type DeliveryTarget,
  type SentArtifact,
  type SkippedArtifact,
} from "./delivery-target.ts";

/**
 * The delivery of one sealed run to one target, the same for the queued worker, `keyproof run --inline`
 * and `keyproof deliver`: select the artifacts by the target's globs over the manifest, send each one the
 * ledger does not already record as delivered, then `finish`. Every outcome goes into the ledger first;
 * what the run record and delivery.json show is read back from it.
 */

/** The ledger path of a target's `finish` call (the webhook POST, Vanta's submit). */
export const FINISH_PATH = "(finish)";

export type TargetDeliveryState = "delivered" | "failed" | "retrying" | "pending";

/** One target's delivery as the run record, delivery.json and `keyproof deliver` show it. */
export interface TargetDelivery {
  target: string;
  type: DeliveryTargetConfig["type"];
  state: TargetDeliveryState;
  outcomes: DeliveryOutcome[];
}

/** A retryable failure after its outcome was recorded: the caller retries the whole target later. */
export class DeliveryRetryError extends Error {
  override readonly name = "DeliveryRetryError";
  constructor(
    message: string,
    /** The platform's Retry-After, when it sent one: the next attempt waits at least this long. */
    readonly retryAfterMs: number | undefined,
  ) {
    super(message);
  }
}

/** What the orchestrator needs from a sealed bundle directory (as the seal step left it). */
export interface SealedRun {
  bundleDirectory: string;
  manifest: Manifest;
  manifestSha256: string;
  summary: RunSummary;
  /** `<bundle>.storage.json`, when the run was stored. */
  storage?: StorageRecord;
}

export async function openSealedRun(bundleDirectory: string): Promise<SealedRun> {
  const manifestBytes = await readFile(path.join(bundleDirectory, MANIFEST_FILE));
  const manifest = ManifestSchema.parse(JSON.parse(manifestBytes.toString("utf8")));
  const summary = JSON.parse(await readFile(path.join(bundleDirectory, SUMMARY_FILE), "utf8")) as RunSummary;
  let storage: StorageRecord | undefined;
  try {
    storage = JSON.parse(
      await readFile(storageRecordPath({ directory: bundleDirectory }), "utf8"),
    ) as StorageRecord;
  } catch {
    storage = undefined; // not stored (no `storage:`), or not yet: the local archive is the location
  }
  return {
    bundleDirectory,
    manifest,
    manifestSha256: sha256Hex(manifestBytes),
    summary,
    ...(storage === undefined ? {} : { storage }),
  };
}

/** Pure: the summary every target is given (the webhook's body). */
export function deliveryRunSummaryOf(
  sealed: SealedRun,
  scope: string,
  schedule?: DeliveryRunSummary["schedule"],
): DeliveryRunSummary {
  const stored = sealed.storage?.stores.find((outcome) => outcome.stored);
  const location =
    stored !== undefined && stored.stored ? stored.location : `${sealed.bundleDirectory}.tar.gz`;
  const versionId = stored !== undefined && stored.stored ? stored.versionId : undefined;
  const { findings } = sealed.summary;
  return {
    runId: sealed.manifest.runId,
    scope: sealed.storage?.scope ?? scope,
    organization: sealed.manifest.organization,
    period: { ...sealed.summary.period },
    findings: { byStatus: { ...findings.byStatus }, bySeverity: { ...findings.failBySeverity } },
    gaps: sealed.summary.gaps,
    bundle: {
      location,
      ...(versionId === undefined ? {} : { versionId }),
      manifestSha256: sealed.manifestSha256,
    },
    ...(schedule === undefined ? {} : { schedule }),
  };
}

const MIME_TYPES: Record<string, string> = {
  ".pdf": "application/pdf",
  ".png": "image/png",
  ".json": "application/json",
  ".html": "text/html",
  ".csv": "text/csv",
  ".txt": "text/plain",
  ".md": "text/markdown",
  ".gz": "application/gzip",
};

/** Pure: the manifest files a target's globs select, in manifest order. The webhook sends none. */
export function selectArtifacts(
  config: DeliveryTargetConfig,
  bundleDirectory: string,
  files: readonly ManifestFile[],
): DeliveryArtifact[] {
  if (config.type === "webhook") return [];
  const matches = picomatch(config.artifacts, { dot: false });
  return files
    .filter((file) => matches(file.path))
    .map((file) => ({
      path: file.path,
      file: path.join(bundleDirectory, ...file.path.split("/")),
      sizeBytes: file.bytes,
      sha256: file.sha256,
      mimeType: MIME_TYPES[path.extname(file.path).toLowerCase()] ?? "application/octet-stream",
    }));
}

export interface DeliverToTargetInput {
  target: DeliveryTarget;
  run: DeliveryRunSummary;
  sealed: Pick<SealedRun, "bundleDirectory" | "manifest">;
  ledger: DeliveryLedger;
  /** Paths recorded as possibly delivered that the operator asked to send again (`--resend`). */
  resend?: readonly string[];
  /**
   * Send again what failed for good earlier (`keyproof deliver`: the operator fixed the cause). Automatic
   * retries leave permanent failures alone: a wrong document id stays wrong.
   */
  retryFailed?: boolean;
  now?: () => Date;
}

/** A message safe for records: the error's own text, which targets build without credentials or bodies. */
function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

interface PendingSend {
  path: string;
  sha256: string;
  /** Asks the platform whether an earlier cut-off attempt landed; absent: it cannot be asked. */
  find: (() => Promise<SentArtifact | undefined | "unknown">) | undefined;
  send: () => Promise<SentArtifact | SkippedArtifact | undefined>;
}

/**
 * Delivers what the ledger does not record as done and returns the target's delivery. A retryable failure
 * is recorded and then thrown as DeliveryRetryError (the caller decides whether attempts remain); a
 * permanent one is recorded and the other artifacts still go.
 */
export async function deliverToTarget(input: DeliverToTargetInput): Promise<TargetDelivery> {
  const { target, run, ledger } = input;
  const now = input.now ?? (() => new Date());
  const { config } = target;
  const resend = new Set(input.resend ?? []);
  const artifacts = selectArtifacts(config, input.sealed.bundleDirectory, input.sealed.manifest.files);
  const findSent = target.findSent?.bind(target);
  let retry: DeliveryRetryError | undefined;

  const outcomeOf = (
    pathName: string,
    sha256: string,
    state: DeliveryOutcome["state"],
    extra: Partial<Pick<DeliveryOutcome, "remoteId" | "httpStatus" | "reason">>,
  ): DeliveryOutcome => ({
    target: config.name,
    type: config.type,
    path: pathName,
    state,
    time: now().toISOString(),
    sha256,
    ...(extra.remoteId === undefined ? {} : { remoteId: extra.remoteId }),
    ...(extra.httpStatus === undefined ? {} : { httpStatus: extra.httpStatus }),
    ...(extra.reason === undefined ? {} : { reason: extra.reason }),
  });

  const deliverOne = async (pending: PendingSend): Promise<void> => {
    // A compare-and-set lost to another writer means someone else moved the entry: read again and decide.
    for (let round = 0; round < 5; round += 1) {
      const slot: LedgerSlot | undefined = (await ledger.read(run.runId, config.name)).get(pending.path);
      const entry = slot?.entry;
      const asked = resend.has(pending.path);
      if (entry?.state === "delivered" || entry?.state === "skipped") return;
      if (entry?.state === "failed" && entry.unconfirmed === true && !asked) return;
      if (entry?.state === "failed" && entry.retryable !== true && !asked && input.retryFailed !== true)
        return;
      // Cut off mid-send (`sending`), or no answer at all: the upload may have landed.
      const uncertain =
        entry?.state === "sending" ||
        (entry?.state === "failed" && entry.outcome?.httpStatus === undefined && !asked);
      if (uncertain && !asked) {
        // No lookup, or one that cannot tell: an attempt cut off mid-send may have landed.
        const found = pending.find === undefined ? "unknown" : await pending.find();
        if (found !== undefined && found !== "unknown") {
          const done: LedgerEntry = {
            state: "delivered",
            outcome: outcomeOf(pending.path, pending.sha256, "delivered", {
              ...(found.remoteId === undefined ? {} : { remoteId: found.remoteId }),
              httpStatus: found.httpStatus,
              reason: "found on the platform from an earlier attempt; not sent again",
            }),
          };
          if (await ledger.compareAndSet(run.runId, config.name, pending.path, slot?.raw, done)) return;
          continue;
        }
        if (found === "unknown" && entry?.state === "sending") {
          const unconfirmed: LedgerEntry = {
            state: "failed",
            unconfirmed: true,
            outcome: outcomeOf(pending.path, pending.sha256, "failed", {
              reason: `an attempt at ${entry.attemptAt ?? "an unknown time"} was cut off mid-send and ${config.type} ${pending.find === undefined ? "cannot be asked" : "could not tell"} whether it arrived; it may have been delivered: check ${config.name}, then send it again with keyproof deliver --run ${run.runId} --target ${config.name} --resend '${pending.path}'`,
            }),
          };
          if (await ledger.compareAndSet(run.runId, config.name, pending.path, slot?.raw, unconfirmed))
            return;
          continue;
        }
      }
      const sending: LedgerEntry = { state: "sending", attemptAt: now().toISOString() };
      const claimed = await ledger.compareAndSet(run.runId, config.name, pending.path, slot?.raw, sending);
      if (claimed === undefined) continue;
      let next: LedgerEntry;
      try {
        const sent = await pending.send();
        if (sent !== undefined && "skipped" in sent) {
          next = {
            state: "skipped",
            outcome: outcomeOf(pending.path, pending.sha256, "skipped", { reason: sent.reason }),
          };
        } else {
          next = {
            state: "delivered",
            outcome: outcomeOf(pending.path, pending.sha256, "delivered", {
              ...(sent?.remoteId === undefined ? {} : { remoteId: sent.remoteId }),
              ...(sent === undefined ? {} : { httpStatus: sent.httpStatus }),
            }),
          };
        }
      } catch (error) {
        const typed =
          error instanceof Error && error.name === "DeliveryError" ? (error as DeliveryError) : undefined;
        const retryable = typed?.retryable ?? false;
        next = {
          state: "failed",
          retryable,
          outcome: outcomeOf(pending.path, pending.sha256, "failed", {
            ...(typed?.status === undefined ? {} : { httpStatus: typed.status }),
            reason: reasonOf(error),
          }),
        };
        if (retryable && retry === undefined) {
          retry = new DeliveryRetryError(
            `${config.name}: ${pending.path}: ${reasonOf(error)}`,
            typed?.retryAfterMs,
          );
        }
      }
      await ledger.compareAndSet(run.runId, config.name, pending.path, claimed.raw, next);
      return;
    }
    throw new DeliveryRetryError(
      `${config.name}: ${pending.path}: the ledger kept changing under this worker`,
      undefined,
    );
  };

  for (const artifact of artifacts) {
    // After a retryable failure the platform is struggling: stop here, the retry resumes where this ended.
    if (retry !== undefined) break;
    await deliverOne({
      path: artifact.path,
      sha256: artifact.sha256,
      find: findSent === undefined ? undefined : () => findSent(artifact, run),
      send: () => target.sendArtifact(artifact, run),
    });
  }
  if (retry !== undefined) throw retry;

  const finish = target.finish?.bind(target);
  let delivery = await readTargetDelivery(ledger, run.runId, config, artifacts, finish !== undefined);
  // Finish only when every artifact went (a submit over missing uploads would be wrong); its own earlier
  // failure is no reason not to try it again.
  const artifactsDone = delivery.outcomes.every(
    (outcome) => outcome.path === FINISH_PATH || outcome.state !== "failed",
  );
  if (finish !== undefined && artifactsDone) {
    const sent = delivery.outcomes.filter((outcome) => outcome.path !== FINISH_PATH);
    await deliverOne({
      path: FINISH_PATH,
      sha256: createHash("sha256").update(JSON.stringify(run)).digest("hex"),
      // `finish` is not an upload a platform can be asked about.
      find: undefined,
      send: () => finish(run, sent),
    });
    if (retry !== undefined) throw retry;
    delivery = await readTargetDelivery(ledger, run.runId, config, artifacts, true);
  }
  return delivery;
}

/**
 * Whether a target's delivery ends with its own call (the webhook's POST, Vanta's submit), from its config:
 * for reading a delivery without building the target (and so without its credentials).
 */
export function expectsFinish(config: DeliveryTargetConfig): boolean {
  return config.type === "webhook" || (config.type === "vanta" && config.submit);
}

/** The target's delivery as the ledger has it: every selected artifact, then `(finish)` when recorded. */
export async function readTargetDelivery(
  ledger: DeliveryLedger,
  runId: string,
  config: DeliveryTargetConfig,
  artifacts: readonly Pick<DeliveryArtifact, "path">[],
  /** The target has a `finish` step (webhook, Vanta's submit): delivered only once it is recorded. */
  expectsFinish: boolean,
): Promise<TargetDelivery> {
  const slots = await ledger.read(runId, config.name);
  const outcomes: DeliveryOutcome[] = [];
  let pending = false;
  let retrying = false;
  for (const pathName of [...artifacts.map((artifact) => artifact.path), FINISH_PATH]) {
    const entry = slots.get(pathName)?.entry;
    if (entry?.outcome !== undefined) outcomes.push(entry.outcome);
    if (entry?.state === "failed" && entry.retryable === true) retrying = true;
    if ((entry === undefined && (pathName !== FINISH_PATH || expectsFinish)) || entry?.state === "sending")
      pending = true;
  }
  const failed = outcomes.some((outcome) => outcome.state === "failed");
  const state: TargetDeliveryState = retrying
    ? "retrying"
    : failed
      ? "failed"
      : pending
        ? "pending"
        : "delivered";
  return { target: config.name, type: config.type, state, outcomes };
}

/** After the last attempt, a target still retrying has failed: the state a run's outcome counts. */
export function finalState(delivery: TargetDelivery): TargetDelivery {
  return delivery.state === "retrying" || delivery.state === "pending"
    ? { ...delivery, state: "failed" }
    : delivery;
}
