import { z } from "zod";
import { KeyproofError } from "../errors/errors.ts";
import type { CheckMetadata } from "./check.ts";
import { SEVERITIES } from "../model/finding.ts";
import { SOURCE_TYPES } from "../model/key.ts";

/** Check ids are public interface (findings, GRC exports, suppressions): kebab-case, stable. */
export const CHECK_ID_PATTERN = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;

/**
 * The `<id>.metadata.json` beside each check. JSON imports are typed loosely (`severity: string`),
 * so every check parses its metadata through this schema at module load: a typo fails at import.
 */
export const CheckMetadataSchema = z.strictObject({
  id: z.string().regex(CHECK_ID_PATTERN, "must be kebab-case"),
  title: z.string().min(1),
  severity: z.enum(SEVERITIES),
  risk: z.string().min(1),
  remediation: z.string().min(1),
  soc2: z
    .array(z.string().regex(/^CC\d+\.\d+$/, "must be a SOC 2 common criterion such as CC6.1"))
    .min(1, "map the check to at least one SOC 2 criterion"),
  procedureStep: z.string().min(1),
  sourceTypes: z.array(z.enum(SOURCE_TYPES)).min(1, "name the source types the check applies to"),
}) satisfies z.ZodType<CheckMetadata>;

/** Parses a check's metadata JSON; the error names the check so a broken file is found at once. */
export function parseCheckMetadata(raw: unknown): CheckMetadata {
  const result = CheckMetadataSchema.safeParse(raw);
  if (!result.success) {
    const id = typeof raw === "object" && raw !== null && "id" in raw ? String(raw.id) : "<unknown>";
    throw new KeyproofError("INTERNAL", `check metadata ${id}: ${z.prettifyError(result.error)}`);
  }
  return result.data;
}
