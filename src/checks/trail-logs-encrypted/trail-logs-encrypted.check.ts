import type { Check } from "../check.ts";
import { parseCheckMetadata } from "../check-metadata.schema.ts";
import { runPerTrailCheck, trailLabel } from "../kms-trails.ts";
import type { KmsTrail, TrailVerdict } from "../kms-trails.ts";
import rawMetadata from "./trail-logs-encrypted.metadata.json" with { type: "json" };

const metadata = parseCheckMetadata(rawMetadata);

export function judgeLogEncryption({ sink, trail }: KmsTrail): TrailVerdict {
  return trail.kmsKeyId === undefined
    ? {
        status: "fail",
        message: `${trailLabel(sink)} delivers its log files with SSE-S3 only (no KMS key)`,
      }
    : {
        status: "pass",
        message: `${trailLabel(sink)} encrypts its log files with KMS key ${trail.kmsKeyId}`,
      };
}

/** Every trail that logs a location's KMS events encrypts its log files with a KMS key (SSE-KMS). */
export const check: Check = {
  metadata,
  run(snapshot) {
    return runPerTrailCheck(metadata, snapshot, "log-file encryption", judgeLogEncryption);
  },
};
