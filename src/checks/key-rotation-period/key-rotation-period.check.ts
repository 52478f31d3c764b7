import type { Check } from "../check.ts";
import type { Finding } from "../../model/finding.ts";
import type { KeyRecord } from "../../model/key.ts";
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
import rawMetadata from "./key-rotation-period.metadata.json" with { type: "json" };

const metadata = parseCheckMetadata(rawMetadata);

/**
 * AWS KMS rotated yearly before `RotationPeriodInDays` existed (2024), and still defaults to 365 days;
 * older API versions and emulators (moto) omit the field. An absent period on AWS is taken as 365 only
 * to pass a key under a maximum of at least 365 days; against a shorter maximum it is a `warn` (the real
 * period is unknown), never a `fail`.
 */
export const AWS_DEFAULT_ROTATION_PERIOD_DAYS = 365;

/** Judges one key against `maximumDays`; exported so the rule is testable for every source type. */
export function judgeRotationPeriod(key: KeyRecord, maximumDays: number): Finding {
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
      message: `rotation period unknown: ${describeCollectionError(key.rotation.error)}`,
    });
  }
  const rotation = key.rotation.value;
  if (!rotation.enabled) {
    return makeFinding(metadata, {
      ...base,
      status: "not-applicable",
      message: "automatic rotation is off, so there is no period to judge; key-rotation-enabled reports it",
    });
  }
  let period = rotation.periodDays;
  let note = "";
  if (period === undefined) {
    if (key.sourceType !== "aws-kms") {
      return makeFinding(metadata, {
        ...base,
        status: "warn",
        message: `rotation is enabled but the source does not report its period; confirm it is at most ${maximumDays} days`,
      });
    }
    if (AWS_DEFAULT_ROTATION_PERIOD_DAYS > maximumDays) {
      // The default would fail, but the real period is not reported: unknown is a warn, never a fail.
      return makeFinding(metadata, {
        ...base,
        status: "warn",
        ...(rotation.nextRotation === undefined ? {} : { date: rotation.nextRotation }),
        message: `rotation is enabled but the API did not report RotationPeriodInDays; the AWS default of ${AWS_DEFAULT_ROTATION_PERIOD_DAYS} days would exceed the policy maximum of ${maximumDays} days; confirm the period with \`aws kms get-key-rotation-status --key-id ${key.keyId}\``,
      });
    }
    period = AWS_DEFAULT_ROTATION_PERIOD_DAYS;
    note = ` (period not reported by the API; AWS default of ${AWS_DEFAULT_ROTATION_PERIOD_DAYS} days assumed)`;
  }
  const dated = rotation.nextRotation === undefined ? {} : { date: rotation.nextRotation };
  if (period > maximumDays) {
    return makeFinding(metadata, {
      ...base,
      ...dated,
      status: "fail",
      message: `key rotates every ${period} days${note}, longer than the policy maximum of ${maximumDays} days`,
    });
  }
  return makeFinding(metadata, {
    ...base,
    ...dated,
    status: "pass",
    message: `key rotates every ${period} days${note}, within the policy maximum of ${maximumDays} days`,
  });
}

/**
 * Rotation that is on must not be slower than `policy.maxRotationDays`. Rotation off is key-rotation-enabled's
 * finding. A multi-Region replica is judged on its primary's period (multi-region.ts).
 */
export const check: Check = {
  metadata,
  run(snapshot) {
    return [
      ...keysOf(snapshot, metadata.sourceTypes).map((listed) => {
        const { key, note } = rotationSubjectOf(snapshot, listed);
        const finding = judgeRotationPeriod(key, snapshot.policy.maxRotationDays);
        return note === "" ? finding : { ...finding, message: `${finding.message}${note}` };
      }),
      ...keyPopulationGapFindings(metadata, snapshot),
    ];
  },
};
