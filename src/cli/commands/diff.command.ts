import { KeyproofError } from "../../errors/errors.ts";
import { diffBundles, formatChanges } from "../../evidence/bundle-diff.ts";
import { readVerifiedBundleContents } from "../../storage/bundle-contents.ts";
import type { CliIo } from "../cli-types.ts";
import { EXIT_CODES } from "../exit-codes.ts";
import { resolveTrust } from "./verify.command.ts";

export interface DiffCliOptions {
  json?: boolean;
  /** The same pins as `keyproof verify`: the configured signer, a trust file, a public key. */
  config?: string;
  trust?: string;
  expectPublicKey?: string;
  region?: string;
  endpoint?: string;
}

/**
 * `keyproof diff <a> <b>`: what changed from bundle a to bundle b. Both must verify with a pinned signer
 * first: a diff of bundles nobody vouches for would report changes an editor made up.
 */
export async function runDiffCommand(
  previous: string,
  current: string,
  options: DiffCliOptions,
  io: CliIo,
): Promise<number> {
  const { trust, s3 } = await resolveTrust(options);
  if (trust.pins.length === 0) {
    throw new KeyproofError(
      "ARGUMENT_INVALID",
      "keyproof diff needs a pinned signer: give --config <keyproof.yaml>, --trust <trust file> or --expect-public-key <PEM file> (or set KEYPROOF_TRUST)",
    );
  }
  const verifyOptions = { trust, s3 };
  const before = await readVerifiedBundleContents(previous, verifyOptions);
  const after = await readVerifiedBundleContents(current, verifyOptions);
  const diff = diffBundles(before.contents, after.contents);
  io.stdout(options.json === true ? `${JSON.stringify(diff, null, 2)}\n` : formatChanges(diff));
  return EXIT_CODES.OK;
}
