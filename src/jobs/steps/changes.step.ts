import type { Config } from "../../config/config.schema.ts";
import { describeError } from "../../errors/errors.ts";
import {
  FIRST_BUNDLE_REASON,
  diffBundles,
  noPreviousBundle,
  type BundleContents,
  type ChangesSincePrevious,
} from "../../evidence/bundle-diff.ts";
import type { BundleWriter } from "../../evidence/bundle-writer.ts";
import { CHANGES_FILE } from "../../evidence/paths.ts";
import type { DateRange } from "../../model/snapshot.ts";
import { REVIEW_RUN_PREFIX } from "../../review/reviewed-bundle.ts";
import { configuredSignersPin } from "../../signing/configured-trust.ts";
import { readUnsealedBundleContents, readVerifiedBundleContents } from "../../storage/bundle-contents.ts";
import { chainScope } from "../../storage/chain-scope.ts";
import { createBundleStores } from "../../storage/create-store.ts";

/**
 * Writes `changes-since-previous.json`: the diff between the previous evidence bundle of the run's chain and
 * what this run wrote so far (findings and key exports). Runs after judging and before rendering, so the
 * findings report can show it, in the inline and the queued pipeline alike.
 *
 * Never fails the run: a previous bundle that cannot be found, read or verified is recorded as
 * `previous: null` with the reason. The previous bundle is verified against this run's own signer and the
 * keys of `signing.trustFile` (earlier signers after a rotation), so a bundle signed by anyone else is
 * reported as unverifiable, never compared.
 */
export async function changesSincePreviousStep(input: {
  runId: string;
  config: Config;
  configDirectory: string;
  range: DateRange;
  capturedAt: string;
  writer: BundleWriter;
  /**
   * SPKI PEM of the key that will sign this run's bundle, or why it could not be loaded (a missing key
   * file): then nothing can be verified, the file says so, and the seal step fails the run with the cause.
   */
  signerPublicKeyPem: string | { unavailable: string };
}): Promise<ChangesSincePrevious> {
  const identity = {
    runId: input.runId,
    period: { label: input.range.label, from: input.range.from.slice(0, 10), to: input.range.to },
    capturedAt: input.capturedAt,
  };
  let current: BundleContents;
  try {
    current = await readUnsealedBundleContents(input.writer.directory, identity);
  } catch (error) {
    return write(input.writer, {
      ...noPreviousBundle(
        { ...identity, findings: [], keys: [] },
        `this run's own files could not be read: ${describeError(error)}`,
      ),
    });
  }
  const signer = input.signerPublicKeyPem;
  if (typeof signer !== "string") {
    return write(
      input.writer,
      noPreviousBundle(
        current,
        `this run's signer could not be loaded, so no bundle can be verified: ${signer.unavailable}`,
      ),
    );
  }
  return write(input.writer, await compareWithPrevious({ ...input, signerPublicKeyPem: signer }, current));
}

async function compareWithPrevious(
  input: Parameters<typeof changesSincePreviousStep>[0] & { signerPublicKeyPem: string },
  current: BundleContents,
): Promise<ChangesSincePrevious> {
  const stores = createBundleStores(input.config.storage, input.configDirectory);
  const chainStore = stores[0];
  if (chainStore === undefined) {
    return noPreviousBundle(
      current,
      "no bundle store is configured (storage:), so bundles are not chained and there is no previous bundle",
    );
  }
  const scope = chainScope(input.config);
  let location: string;
  try {
    // The manifest links to the immediate previous bundle, which may be a sealed review (no findings, no
    // keys): the comparison is with the latest evidence bundle instead.
    const previous = await chainStore.findPreviousBundle(
      scope,
      (name) => !name.includes(`-${REVIEW_RUN_PREFIX}`),
    );
    if (previous === undefined) {
      const anyBundle = await chainStore.findPreviousBundle(scope);
      return noPreviousBundle(
        current,
        anyBundle === undefined
          ? FIRST_BUNDLE_REASON
          : "no earlier evidence bundle in its chain: the bundles before it are sealed reviews",
      );
    }
    location = previous.location;
  } catch (error) {
    return noPreviousBundle(
      current,
      `the previous bundle could not be looked up in ${chainStore.description}: ${describeError(error)}`,
    );
  }
  try {
    const s3 = input.config.storage?.s3;
    const pin = await configuredSignersPin(
      input.config.signing,
      input.configDirectory,
      input.signerPublicKeyPem,
    );
    const previous = await readVerifiedBundleContents(location, {
      trust: { pins: [pin] },
      s3:
        s3 === undefined
          ? {}
          : { region: s3.region, ...(s3.endpoint === undefined ? {} : { endpoint: s3.endpoint }) },
    });
    return diffBundles(previous.contents, current);
  } catch (error) {
    return noPreviousBundle(
      current,
      `the previous bundle ${location} could not be read or verified against this run's signer` +
        (input.config.signing.trustFile === undefined
          ? ` (after a signer rotation, set signing.trustFile to the trust file from keyproof signer export so the earlier key is accepted)`
          : ` or the keys of signing.trustFile`) +
        `: ${describeError(error)}`,
    );
  }
}

async function write(writer: BundleWriter, changes: ChangesSincePrevious): Promise<ChangesSincePrevious> {
  await writer.writeJson(CHANGES_FILE, changes, { overwrite: true });
  return changes;
}
