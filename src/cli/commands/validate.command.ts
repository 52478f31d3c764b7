import { loadConfig } from "../../config/load-config.ts";
import type { CliIo } from "../cli-types.ts";
import { EXIT_CODES } from "../exit-codes.ts";

export async function runValidateCommand(options: { config: string }, io: CliIo): Promise<number> {
  const { config } = await loadConfig(options.config);
  io.stdout(
    `${options.config}: valid (${config.sources.length} source(s), ${config.keys.length} inventory entr${config.keys.length === 1 ? "y" : "ies"})\n`,
  );
  return EXIT_CODES.OK;
}
