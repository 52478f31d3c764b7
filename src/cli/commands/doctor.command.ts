import { loadConfig } from "../../config/load-config.ts";
import { doctorFoundProblems, formatDoctorReport, runDoctor } from "../../doctor/doctor.ts";
import { EXIT_CODES } from "../exit-codes.ts";
import type { CliIo } from "../cli-types.ts";

export interface DoctorCliOptions {
  config: string;
  json?: boolean;
  /** Only these source ids (repeatable or comma-separated). */
  source?: string[];
}

/** `keyproof doctor --config <file>`: 0 when every source is reachable with every permission, 3 otherwise. */
export async function runDoctorCommand(options: DoctorCliOptions, io: CliIo): Promise<number> {
  const loaded = await loadConfig(options.config);
  const wanted = options.source?.flatMap((value) => value.split(",")).filter((value) => value.length > 0);
  const sources =
    wanted === undefined || wanted.length === 0
      ? loaded.config.sources
      : loaded.config.sources.filter((source) => wanted.includes(source.id));
  const results = await runDoctor(sources, { baseDirectory: loaded.directory });
  if (options.json === true) io.stdout(`${JSON.stringify({ sources: results }, null, 2)}\n`);
  else io.stdout(formatDoctorReport(results));
  return doctorFoundProblems(results) ? EXIT_CODES.INCOMPLETE : EXIT_CODES.OK;
}
