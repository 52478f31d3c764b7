import { verifyBundle, formatVerifyResult } from "../../evidence/verify-bundle.ts";
import type { CliIo } from "../main.ts";
import { EXIT_CODES } from "../exit-codes.ts";

export async function runVerifyCommand(
  bundle: string,
  options: { json?: boolean; expectKey?: string },
  io: CliIo,
): Promise<number> {
  const result = await verifyBundle(bundle, options.expectKey === undefined ? {} : { expectedKeyId: options.expectKey });
  if (options.json === true) io.stdout(`${JSON.stringify(result, null, 2)}\n`);
  else io.stdout(formatVerifyResult(result));
  return result.ok ? EXIT_CODES.OK : EXIT_CODES.VERIFY_FAILED;
}
