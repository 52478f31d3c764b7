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
import rawMetadata from "./key-spec-approved.metadata.json" with { type: "json" };

const metadata = parseCheckMetadata(rawMetadata);

/**
 * The key's spec must be one of `policy.approvedKeySpecs` (exact match, as the source names it), and in a
 * source that requires HSM-backed keys (Azure `requireHsm`), the key must be HSM-backed.
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
      if (hsmRequired.has(key.source) && key.hsmBacked !== true) {
        return makeFinding(metadata, {
          ...base,
          status: "fail",
          message: `key ${key.keySpec} (${key.rawKeyType}) is software-protected; source ${key.source} requires HSM-backed keys`,
        });
      }
      if (approved.has(key.keySpec)) {
        return makeFinding(metadata, {
          ...base,
          status: "pass",
          message: `key spec ${key.keySpec} is approved`,
        });
      }
      return makeFinding(metadata, {
        ...base,
        status: "fail",
        message: `key spec ${key.keySpec} is not in the approved list (${[...approved].join(", ")})`,
      });
    });
    return [...keyFindings, ...keyPopulationGapFindings(metadata, snapshot)];
  },
};
