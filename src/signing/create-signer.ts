import path from "node:path";
import type { Config } from "../config/config.schema.ts";
import { createLocalEd25519Signer } from "./local-ed25519.signer.ts";
import type { Signer } from "./signer.ts";

/** The one place the `signing:` config becomes a Signer. Relative key paths resolve beside the config file. */
export async function createSigner(signing: Config["signing"], configDirectory: string): Promise<Signer> {
  return createLocalEd25519Signer(path.resolve(configDirectory, signing.localKeyFile));
}
