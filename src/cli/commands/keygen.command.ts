import { generateSigningKey } from "../../signing/keygen.ts";
import type { CliIo } from "../cli-types.ts";
import { EXIT_CODES } from "../exit-codes.ts";

export async function runKeygenCommand(
  options: { out: string; force?: boolean },
  io: CliIo,
): Promise<number> {
  const key = await generateSigningKey(options.out, options.force === true ? { force: true } : {});
  io.stdout(
    `Wrote Ed25519 signing key ${key.path} (mode 0600)\nKey id: ${key.keyId}\nPublic key (share with your auditor):\n${key.publicKeyPem}`,
  );
  return EXIT_CODES.OK;
}
