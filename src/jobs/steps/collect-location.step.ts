import { rm } from "node:fs/promises";
import path from "node:path";
import { describeError } from "../../errors/errors.ts";
import type { BundleWriter } from "../../evidence/bundle-writer.ts";
import {
  buildKeyAccessPolicyExport,
  buildKeyConfigurationExport,
  buildLoggingExport,
  type ExportContext,
} from "../../evidence/key-exports.ts";
import { keyAccessPolicyPath, keyConfigurationPath, keyDirectory, loggingStatusPath, slugify } from "../../evidence/paths.ts";
import type { KeyRecord } from "../../model/key.ts";
import type { KeyProvider } from "../../providers/key-provider.ts";
import type { LocationSnapshot } from "../../model/snapshot.ts";
import type { WorkStore } from "../work-store.ts";

export interface CollectedLocation {
  account?: string;
  snapshot: LocationSnapshot;
}

export function locationWorkName(source: string, location: string): string {
  return `locations/${slugify(source)}--${slugify(location)}`;
}

/**
 * Collects one location of one source and writes its per-key exports and logging status into the bundle.
 * A provider that throws (rather than returning gaps) still yields a snapshot: an empty location with a gap
 * naming the cause, so the run seals and the gap is in the evidence.
 */
export async function collectLocationStep(input: {
  provider: KeyProvider;
  location: string;
  context: ExportContext;
  writer: BundleWriter;
  work: WorkStore;
  /** Restricts the run to some keys (an auditor's scoped request); the others are not exported or judged. */
  selectKeys?: (key: KeyRecord) => boolean;
}): Promise<CollectedLocation> {
  const { provider, location, context, writer, work } = input;
  let account: string | undefined;
  let snapshot: LocationSnapshot;
  try {
    account = await provider.describeAccount();
    snapshot = await provider.collectLocation(location);
  } catch (error) {
    snapshot = {
      source: provider.sourceId,
      location,
      keys: [],
      logging: { source: provider.sourceId, location, capturedAt: context.capturedAt, sinks: [], errors: [] },
      gaps: [
        {
          source: provider.sourceId,
          location,
          error: { call: `${provider.type}:collect`, code: errorCode(error), message: describeError(error), retryable: false },
        },
      ],
    };
  }

  if (input.selectKeys !== undefined) snapshot = { ...snapshot, keys: snapshot.keys.filter(input.selectKeys) };

  // A re-run of this step (retried or restarted job) must not leave the exports of a key that has gone
  // since the previous attempt: the location's key folder is this step's alone, so it starts empty.
  await rm(path.join(writer.directory, path.posix.dirname(keyDirectory(provider.sourceId, location, "_"))), {
    recursive: true,
    force: true,
  });
  for (const key of snapshot.keys) {
    await writer.writeJson(keyConfigurationPath(key.source, key.location, key.keyId), buildKeyConfigurationExport(key, context), {
      overwrite: true,
    });
    await writer.writeJson(keyAccessPolicyPath(key.source, key.location, key.keyId), buildKeyAccessPolicyExport(key, context), {
      overwrite: true,
    });
  }
  await writer.writeJson(
    loggingStatusPath(snapshot.source, snapshot.location),
    buildLoggingExport(snapshot.logging, provider.type, context),
    { overwrite: true },
  );

  const collected: CollectedLocation = account === undefined ? { snapshot } : { account, snapshot };
  await work.put(locationWorkName(provider.sourceId, location), collected);
  return collected;
}

function errorCode(error: unknown): string {
  if (error instanceof Error) return error.name;
  return "Error";
}
