import { readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { KeyproofError, describeError, nodeErrorCode } from "../errors/errors.ts";
import type { AnnouncedSigner } from "./signer.ts";

/**
 * The rotation announcement `keyproof signer rotate` writes beside keyproof.yaml. Every run that signs with
 * the current key while it exists names the next signer's fingerprint in its manifest (`nextSigner`), so
 * `verify --chain` accepts the change of signer at the first bundle signed by the new key without a
 * warning. Once the configured key *is* the announced one, the file is inert (a signer never announces
 * itself) and may be deleted.
 */
export const NEXT_SIGNER_FILE = "keyproof-next-signer.json";

export const NextSignerFileSchema = z.strictObject({
  fingerprint: z
    .string()
    .regex(/^[0-9a-f]{64}$/, "must be the lowercase SHA-256 hex of the next key's SPKI DER"),
  keyId: z.string().min(1).optional(),
  /** When the announcement was written, for people reading the file. */
  announcedAt: z.string().optional(),
});
export type NextSignerFile = z.infer<typeof NextSignerFileSchema>;

/** The announcement beside the config, if any. A malformed file fails the run: a silent skip would break the chain later. */
export async function readNextSigner(configDirectory: string): Promise<AnnouncedSigner | undefined> {
  const file = join(configDirectory, NEXT_SIGNER_FILE);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    if (nodeErrorCode(error) === "ENOENT") return undefined;
    throw new KeyproofError("SIGNING_KEY_UNAVAILABLE", `cannot read ${file}: ${describeError(error)}`, {
      cause: error,
    });
  }
  let parsed: NextSignerFile;
  try {
    parsed = NextSignerFileSchema.parse(JSON.parse(text));
  } catch (error) {
    throw new KeyproofError(
      "CONFIG_INVALID",
      `${file} is not a keyproof rotation announcement: ${describeError(error)}`,
      {
        cause: error,
        remediation: "write it again with keyproof signer rotate, or delete it",
      },
    );
  }
  return { fingerprint: parsed.fingerprint, ...(parsed.keyId === undefined ? {} : { keyId: parsed.keyId }) };
}

export async function writeNextSigner(
  configDirectory: string,
  next: AnnouncedSigner,
  now = new Date(),
): Promise<string> {
  const file = join(configDirectory, NEXT_SIGNER_FILE);
  const content: NextSignerFile = { ...next, announcedAt: now.toISOString() };
  await writeFile(`${file}.tmp`, `${JSON.stringify(content, null, 2)}\n`);
  await rename(`${file}.tmp`, file);
  return file;
}
