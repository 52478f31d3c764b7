import type { Check } from "../check.ts";
import { keysOf, makeFinding } from "../check.ts";
import { parseCheckMetadata } from "../check-metadata.schema.ts";
import {
  configurationEvidence,
  describeCollectionError,
  keyFindingBase,
  keyPopulationGapFindings,
  rotationEligibility,
  ineligibleStatus,
} from "../eligibility.ts";
import { rotationSubjectOf } from "../multi-region.ts";
import rawMetadata from "./key-rotation-enabled.metadata.json" with { type: "json" };

const metadata = parseCheckMetadata(rawMetadata);

/**
 * Eligible keys (symmetric, platform material, customer-managed, not being deleted) must rotate automatically.
 * A multi-Region replica is judged on its primary's rotation (multi-region.ts), so the two never disagree.
 */
export const check: Check = {
  metadata,
  run(snapshot) {
    const keyFindings = keysOf(snapshot, metadata.sourceTypes).map((listed) => {
      const { key, note } = rotationSubjectOf(snapshot, listed);
      const base = { ...keyFindingBase(key), evidence: configurationEvidence(key) };
      const eligibility = rotationEligibility(key);
      if (!eligibility.eligible)
        return makeFinding(metadata, {
          ...base,
          status: ineligibleStatus(eligibility),
          message: eligibility.reason,
        });
      if (!key.rotation.ok) {
        return makeFinding(metadata, {
          ...base,
          status: "error",
          message: `rotation status unknown: ${describeCollectionError(key.rotation.error)}${note}`,
        });
      }
      const rotation = key.rotation.value;
      if (!rotation.enabled) {
        return makeFinding(metadata, {
          ...base,
          status: "fail",
          message: `automatic key rotation is disabled${note}`,
        });
      }
      const period = rotation.periodDays === undefined ? "" : ` every ${rotation.periodDays} days`;
      const next = rotation.nextRotation === undefined ? "" : `; next rotation ${rotation.nextRotation}`;
      return makeFinding(metadata, {
        ...base,
        status: "pass",
        message: `automatic key rotation is enabled${period}${next}${note}`,
        ...(rotation.lastRotation === undefined ? {} : { date: rotation.lastRotation }),
      });
    });
    return [...keyFindings, ...keyPopulationGapFindings(metadata, snapshot)];
  },
};
