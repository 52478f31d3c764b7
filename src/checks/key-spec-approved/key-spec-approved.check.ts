import type { Check } from "../check.ts";
import { keysOf, makeFinding } from "../check.ts";
import { parseCheckMetadata } from "../check-metadata.schema.ts";
import {
  configurationEvidence,
  customerManaged,
  describeCollectionError,
  keyFindingBase,
  keyPopulationGapFindings,
  ineligibleStatus,
} from "../eligibility.ts";
import type { KeyRecord } from "../../model/key.ts";
import rawMetadata from "./key-spec-approved.metadata.json" with { type: "json" };

const metadata = parseCheckMetadata(rawMetadata);

/** Suffix a provider puts on a spec whose size or curve the source does not report (`OCT_UNKNOWN`). */
const UNKNOWN_SUFFIX = "_UNKNOWN";

/**
 * A spec whose family is known but whose size or curve is not: the family prefix (`OCT_`) and why it is
 * unknown. Unknown is never a failure by itself (issue 10): it is judged `warn` unless no size of the
 * family is approved at all.
 */
function partlyUnknownSpec(key: KeyRecord): { family: string; reason: string } | undefined {
  if (!key.keySpec.endsWith(UNKNOWN_SUFFIX) && key.keySpecUnknownReason === undefined) return undefined;
  const family = key.keySpec.endsWith(UNKNOWN_SUFFIX)
    ? key.keySpec.slice(0, -UNKNOWN_SUFFIX.length + 1)
    : `${key.keySpec}_`;
  return {
    family,
    reason:
      key.keySpecUnknownReason ??
      `the source did not report the size of this ${key.rawKeyType} key; confirm it in the source`,
  };
}

/**
 * The key's spec must be one of `policy.approvedKeySpecs` (exact match, as the source names it), and in a
 * source that requires HSM-backed keys (Azure `requireHsm`), the key must be HSM-backed. A size or an HSM
 * backing the source does not report is a `warn` with the reason, never a `fail`.
 */
export const check: Check = {
  metadata,
  run(snapshot) {
    const approved = new Set(snapshot.policy.approvedKeySpecs);
    const hsmRequired = new Set(snapshot.policy.hsmRequiredSources);
    const keyFindings = keysOf(snapshot, metadata.sourceTypes).map((key) => {
      const base = { ...keyFindingBase(key), evidence: configurationEvidence(key) };
      const managed = customerManaged(key);
      if (!managed.eligible)
        return makeFinding(metadata, { ...base, status: ineligibleStatus(managed), message: managed.reason });
      if (key.keySpec.trim() === "") {
        // A provider that could not describe the key leaves the spec empty and records why on the key.
        const causes = key.errors.map(describeCollectionError);
        return makeFinding(metadata, {
          ...base,
          status: "error",
          message: `key spec not reported${causes.length > 0 ? `: ${causes.join("; ")}` : " by the source"}`,
        });
      }
      if (hsmRequired.has(key.source) && key.hsmBacked === false) {
        return makeFinding(metadata, {
          ...base,
          status: "fail",
          message: `key ${key.keySpec} (${key.rawKeyType}) is software-protected; source ${key.source} requires HSM-backed keys`,
        });
      }
      const unknownPart = partlyUnknownSpec(key);
      if (unknownPart !== undefined) {
        const sameFamily = [...approved].filter((spec) => spec.startsWith(unknownPart.family));
        if (sameFamily.length === 0) {
          // Whatever the size, no spec of this family is approved: that is known, so it fails.
          return makeFinding(metadata, {
            ...base,
            status: "fail",
            message: `key spec ${key.keySpec}: no ${unknownPart.family}* spec of any size is in the approved list (${[...approved].join(", ")})`,
          });
        }
        return makeFinding(metadata, {
          ...base,
          status: "warn",
          message: `${unknownPart.reason}; approved ${unknownPart.family}* specs are ${sameFamily.join(", ")}`,
        });
      }
      if (!approved.has(key.keySpec)) {
        return makeFinding(metadata, {
          ...base,
          status: "fail",
          message: `key spec ${key.keySpec} is not in the approved list (${[...approved].join(", ")})`,
        });
      }
      if (hsmRequired.has(key.source) && key.hsmBacked === undefined) {
        return makeFinding(metadata, {
          ...base,
          status: "warn",
          message: `key spec ${key.keySpec} is approved, but the source does not report whether the key is HSM-backed and ${key.source} requires HSM-backed keys; confirm its protection level in the source`,
        });
      }
      return makeFinding(metadata, {
        ...base,
        status: "pass",
        message: `key spec ${key.keySpec} is approved`,
      });
    });
    return [...keyFindings, ...keyPopulationGapFindings(metadata, snapshot)];
  },
};
