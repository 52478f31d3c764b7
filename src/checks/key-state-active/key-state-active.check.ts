import type { Check } from "../check.ts";
import { keysOf, makeFinding } from "../check.ts";
import { parseCheckMetadata } from "../check-metadata.schema.ts";
import {
  configurationEvidence,
  describeCollectionError,
  keyFindingBase,
  keyPopulationGapFindings,
} from "../eligibility.ts";
import type { Finding } from "../../model/finding.ts";
import type { KeyRecord } from "../../model/key.ts";
import { UNKNOWN_KEY_SPEC } from "../../model/key.ts";
import rawMetadata from "./key-state-active.metadata.json" with { type: "json" };

const metadata = parseCheckMetadata(rawMetadata);

export function judgeKeyState(key: KeyRecord): Finding {
  const base = { ...keyFindingBase(key), evidence: configurationEvidence(key) };
  if (key.keySpec === UNKNOWN_KEY_SPEC) {
    // The key's metadata call failed: its state is a placeholder, not a fact (never "unavailable" or "other").
    const cause = key.errors[0];
    return makeFinding(metadata, {
      ...base,
      status: "error",
      message: `key state unknown: ${cause === undefined ? "the key's metadata was not read" : describeCollectionError(cause)}`,
    });
  }
  switch (key.state) {
    case "enabled":
      return makeFinding(metadata, { ...base, status: "pass", message: "key is enabled" });
    case "pending-deletion":
      return makeFinding(metadata, {
        ...base,
        status: "fail",
        ...(key.deletionDate === undefined
          ? {
              message:
                "key is pending deletion (deletion date not reported); confirm the deletion was approved",
            }
          : {
              message: `key is pending deletion and will be destroyed on ${key.deletionDate}; confirm the deletion was approved`,
              date: key.deletionDate,
            }),
      });
    // Disabled and unusable keys are not exposures in themselves, but a reviewer must account for them:
    // a warning at medium severity, below the high severity of an impending deletion.
    case "disabled":
      return makeFinding(metadata, {
        ...base,
        status: "warn",
        severity: "medium",
        message: "key is disabled; record why in the configuration review, or enable or retire it",
      });
    case "pending-import":
      return makeFinding(metadata, {
        ...base,
        status: "warn",
        severity: "medium",
        message: "key has no key material yet (pending import) and cannot be used",
      });
    case "unavailable":
      return makeFinding(metadata, {
        ...base,
        status: "warn",
        severity: "medium",
        message: "key is unavailable (its external or custom key store is disconnected) and cannot be used",
      });
    case "other":
      return makeFinding(metadata, {
        ...base,
        status: "warn",
        severity: "medium",
        message:
          "key is in a state keyproof does not recognize; review it in the source (raw state in the configuration export)",
      });
  }
}

/** Keys pending deletion fail; disabled or unusable keys are reported for review; enabled keys pass. */
export const check: Check = {
  metadata,
  run(snapshot) {
    return [
      ...keysOf(snapshot, metadata.sourceTypes).map(judgeKeyState),
      ...keyPopulationGapFindings(metadata, snapshot),
    ];
  },
};
