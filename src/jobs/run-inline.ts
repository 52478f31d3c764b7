import { randomBytes } from "node:crypto";
import path from "node:path";
import type { LoadedConfig } from "../config/load-config.ts";
import { BundleWriter, type SealedBundle } from "../evidence/bundle-writer.ts";
import type { ExportContext } from "../evidence/key-exports.ts";
import type { DateRange } from "../model/snapshot.ts";
import { discoverSource } from "../providers/discover-source.ts";
import { createProvider, type ProviderOptions } from "../providers/create-provider.ts";
import type { KeyProvider } from "../providers/key-provider.ts";
import { createSigner } from "../signing/create-signer.ts";
import { chainScope } from "../storage/chain-scope.ts";
import { createBundleStores } from "../storage/create-store.ts";
import {
  prepareBundleStorage,
  storeSealedBundle,
  type StorageRecord,
} from "../storage/store-sealed-bundle.ts";
import { collectLocationStep } from "./steps/collect-location.step.ts";
import { extractUsageStep } from "./steps/extract-usage.step.ts";
import { judgeStep, type PlannedSource } from "./steps/judge.step.ts";
import { sealStep } from "./steps/seal.step.ts";
import { changesSincePreviousStep } from "./steps/changes.step.ts";
import { renderStep } from "./steps/render.step.ts";
import { BrowserPool } from "../render/browser-pool.ts";
import type { RunSummary } from "./run-summary.ts";
import { fanOutSettingsOf, resolveQueueSettings } from "./queue/queue-settings.ts";
import { readGovernanceFacts } from "./governance-facts.ts";
import type { GovernanceFacts } from "../model/review.ts";
import { describeError } from "../errors/errors.ts";
import { LocalWorkStore } from "./work-store.ts";
import { signerIdentityOf } from "../render/view-models/signer-identity.ts";
import type { TargetDelivery } from "../delivery/deliver-run.ts";
import type { BundleStore } from "../storage/bundle-store.ts";

export interface RunProgress {
  step: "collect" | "usage" | "judge" | "render" | "seal" | "store" | "deliver";
  target: string;
  done: number;
  total: number;
}

export interface RunRequest {
  loaded: LoadedConfig;
  range: DateRange;
  outDirectory: string;
  runId?: string;
  /** Defaults to now; injectable for reproducible tests. */
  capturedAt?: Date;
  onProgress?: (progress: RunProgress) => void;
  providerOptions?: ProviderOptions;
  /**
   * Render screenshots and PDF reports (default true). Off for pipelines without Chromium; the bundle then
   * holds the JSON evidence only, and says so in summary.json.
   */
  render?: boolean;
  /**
   * Where reviews and approvals are read (`--redis-url`, `--prefix`); otherwise REDIS_URL and the config's
   * `queue:` section. With no Redis anywhere the governance checks say so (`warn`).
   */
  queueOverrides?: { redisUrl?: string; prefix?: string };
}

export interface RunResult {
  runId: string;
  bundle: SealedBundle;
  summary: RunSummary;
  /** Where the sealed bundle was stored (also in `<bundle>.storage.json`); absent without `storage:`. */
  storage?: StorageRecord;
  /** One entry per `deliver:` target (also in `<bundle>.delivery.json`); absent without `deliver:`. */
  delivery?: TargetDelivery[];
}

/** `kp-20261128T163000Z-3f9a1c`: sortable by time, unique across machines. */
export function generateRunId(now: Date): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d{3}/, "");
  return `kp-${stamp}-${randomBytes(3).toString("hex")}`;
}

/**
 * Reviews and approvals for an inline run: a short client connection only when a Redis URL is configured,
 * closed at once (an inline run keeps no Redis connection open while it collects or renders).
 */
async function readInlineGovernance(request: RunRequest): Promise<GovernanceFacts> {
  const settings = resolveQueueSettings({
    config: request.loaded.config,
    configDirectory: request.loaded.directory,
    ...(request.queueOverrides === undefined ? {} : { overrides: request.queueOverrides }),
  });
  if (settings.redisUrl === undefined) return readGovernanceFacts(undefined, settings.prefix);
  const { assertRedisReachable, createRedisConnection } = await import("./queue/redis-connection.ts");
  const redis = createRedisConnection(settings.redisUrl, "client", "keyproof-inline-governance");
  try {
    // A configured but unreachable Redis would otherwise hold the run through every client retry.
    await assertRedisReachable(redis, settings.redisUrl);
    return await readGovernanceFacts(redis, settings.prefix);
  } catch (error) {
    return { state: "unavailable", severity: "error", reason: describeError(error) };
  } finally {
    redis.disconnect();
  }
}

/**
 * Runs the whole pipeline in this process: collect every location, extract usage, judge, seal.
 * The queued service runs the same steps as BullMQ jobs; this is the path for `keyproof run --inline`
 * and for CI pipelines without Redis.
 */
export async function runInline(request: RunRequest): Promise<RunResult> {
  const { config, directory: configDirectory } = request.loaded;
  const now = request.capturedAt ?? new Date();
  const capturedAt = now.toISOString();
  const runId = request.runId ?? generateRunId(now);
  const bundleDirectory = path.resolve(request.outDirectory, runId);
  const work = new LocalWorkStore(path.resolve(request.outDirectory, ".work", runId));
  // Fail fast on the signing key before any collection: a run that cannot be sealed is wasted API quota.
  const signer = await createSigner(config.signing, configDirectory);
  const stores = createBundleStores(config.storage, configDirectory);
  const writer = await BundleWriter.open(bundleDirectory);
  const context: ExportContext = {
    runId,
    organization: config.organization,
    capturedAt,
    range: request.range,
  };

  const providers: KeyProvider[] = config.sources.map((source) =>
    createProvider(source, { baseDirectory: configDirectory, ...request.providerOptions }),
  );
  // Discovery (organization accounts, subscriptions' vaults, namespaces) first: the population to collect.
  const planned: PlannedSource[] = await Promise.all(
    providers.map(async (provider) => {
      const discovery = await discoverSource(provider, () => now);
      return { id: provider.sourceId, type: provider.type, locations: discovery.locations, discovery };
    }),
  );
  const targets = planned.flatMap((source, index) => {
    const provider = providers[index];
    return provider === undefined ? [] : source.locations.map((location) => ({ provider, location }));
  });
  const report = request.onProgress ?? (() => undefined);
  // The same cut into key batches as the queued service, so both write the same work items.
  const { keyBatchSize } = fanOutSettingsOf(config);

  let done = 0;
  for (const { provider, location } of targets) {
    report({ step: "collect", target: `${provider.sourceId}/${location}`, done, total: targets.length });
    await collectLocationStep({ provider, location, context, writer, work, batchSize: keyBatchSize });
    done += 1;
  }
  report({ step: "collect", target: "all", done, total: targets.length });

  done = 0;
  for (const { provider, location } of targets) {
    report({ step: "usage", target: `${provider.sourceId}/${location}`, done, total: targets.length });
    await extractUsageStep({
      provider,
      location,
      range: request.range,
      generatedAt: capturedAt,
      writer,
      work,
    });
    done += 1;
  }
  report({ step: "usage", target: "all", done, total: targets.length });

  report({ step: "judge", target: "all", done: 0, total: 1 });
  const judged = await judgeStep({
    runId,
    config,
    range: request.range,
    capturedAt,
    sources: planned,
    writer,
    work,
    governance: await readInlineGovernance(request),
  });

  // After judging (findings.json and the key exports are written), before rendering (the findings report
  // shows the changes). Never fails the run: an unreadable previous bundle is recorded with its reason.
  await changesSincePreviousStep({
    runId,
    config,
    configDirectory,
    range: request.range,
    capturedAt,
    writer,
    signerPublicKeyPem: signer.publicKeyPem,
  });

  if (request.render !== false) {
    report({ step: "render", target: "screenshots and reports", done: 0, total: 1 });
    // One browser for the run, closed even when rendering fails (a leaked Chromium outlives the CLI).
    const pool = new BrowserPool();
    try {
      await renderStep({
        snapshot: judged.snapshot,
        findings: judged.findings,
        bundleDirectory,
        signer: signerIdentityOf(signer),
        pool,
        generatedAt: now,
      });
    } finally {
      await pool.close();
    }
    report({ step: "render", target: "screenshots and reports", done: 1, total: 1 });
  }

  // Stores are checked and the chain looked up before sealing: the manifest records the previous bundle.
  const storage = stores.length === 0 ? undefined : await prepareBundleStorage(stores, chainScope(config));
  report({ step: "seal", target: bundleDirectory, done: 0, total: 1 });
  const bundle = await sealStep({
    runId,
    config,
    range: request.range,
    capturedAt,
    sources: planned,
    snapshot: judged.snapshot,
    findings: judged.findings,
    writer,
    signer,
    ...(storage?.previousBundle === undefined ? {} : { previousBundle: storage.previousBundle }),
  });
  report({ step: "seal", target: bundleDirectory, done: 1, total: 1 });
  if (storage === undefined) {
    const delivery = await deliverInline(request, bundle, stores, report);
    return { runId, bundle, summary: judged.summary, ...(delivery === undefined ? {} : { delivery }) };
  }

  // Throws STORAGE_REFUSED (naming the sealed archive, which stays on disk) when a store refused or failed.
  report({ step: "store", target: stores.map((store) => store.description).join(", "), done: 0, total: 1 });
  const stored = await storeSealedBundle({ prepared: storage, bundle });
  report({ step: "store", target: stored.objectName, done: 1, total: 1 });
  const delivery = await deliverInline(request, bundle, stores, report);
  return {
    runId,
    bundle,
    summary: judged.summary,
    storage: stored,
    ...(delivery === undefined ? {} : { delivery }),
  };
}

/**
 * After sealing and storing: delivers to every `deliver:` target in this process with the queue's retry
 * rules (deliver-sealed-run.ts). The ledger is Redis when one is configured (shared with `keyproof
 * deliver` and the workers), else a file beside the bundle. A failed target never throws: it is recorded.
 */
async function deliverInline(
  request: RunRequest,
  bundle: SealedBundle,
  stores: readonly BundleStore[],
  report: (progress: RunProgress) => void,
): Promise<TargetDelivery[] | undefined> {
  const { config } = request.loaded;
  if (config.deliver.length === 0) return undefined;
  const { deliverSealedRun } = await import("../delivery/deliver-sealed-run.ts");
  const { openSealedRun } = await import("../delivery/deliver-run.ts");
  const { openDeliveryLedger } = await import("../delivery/open-ledger.ts");
  report({
    step: "deliver",
    target: config.deliver.map((target) => target.name).join(", "),
    done: 0,
    total: 1,
  });
  let ledger: Awaited<ReturnType<typeof openDeliveryLedger>>;
  try {
    ledger = await openDeliveryLedger({
      config,
      configDirectory: request.loaded.directory,
      bundleDirectory: bundle.directory,
      ...(request.queueOverrides === undefined ? {} : { overrides: request.queueOverrides }),
    });
  } catch (error) {
    // The bundle is sealed and stored; nothing was sent. Every target says why, and exit 3 follows.
    const time = new Date().toISOString();
    return config.deliver.map((target) => ({
      target: target.name,
      type: target.type,
      state: "failed" as const,
      outcomes: [
        {
          target: target.name,
          type: target.type,
          path: "(target)",
          state: "failed" as const,
          time,
          sha256: "",
          reason: `not delivered: ${describeError(error)}`,
        },
      ],
    }));
  }
  try {
    const delivered = await deliverSealedRun({
      sealed: await openSealedRun(bundle.directory),
      targets: config.deliver,
      scope: chainScope(config),
      ledger: ledger.ledger,
      stores,
    });
    report({ step: "deliver", target: "all", done: 1, total: 1 });
    return delivered.deliveries;
  } finally {
    ledger.close();
  }
}
