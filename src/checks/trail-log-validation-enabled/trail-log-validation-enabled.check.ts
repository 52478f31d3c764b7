import type { Check } from "../check.ts";
import { parseCheckMetadata } from "../check-metadata.schema.ts";
import { runPerTrailCheck, trailLabel } from "../kms-trails.ts";
import type { KmsTrail, TrailVerdict } from "../kms-trails.ts";
import rawMetadata from "./trail-log-validation-enabled.metadata.json" with { type: "json" };

const metadata = parseCheckMetadata(rawMetadata);

export function judgeLogValidation({ sink, trail }: KmsTrail): TrailVerdict {
  return trail.logFileValidationEnabled
    ? { status: "pass", message: `log-file validation is on for ${trailLabel(sink)}` }
    : { status: "fail", message: `log-file validation is off for ${trailLabel(sink)}` };
}

/** Every trail that logs a location's KMS events writes signed digest files (LogFileValidationEnabled). */
export const check: Check = {
  metadata,
  run(snapshot) {
    return runPerTrailCheck(metadata, snapshot, "log-file validation", judgeLogValidation);
  },
};
