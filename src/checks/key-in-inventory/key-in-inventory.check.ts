import type { Check } from "../check.ts";
import { keysOf, makeFinding } from "../check.ts";
import { parseCheckMetadata } from "../check-metadata.schema.ts";
import {
  allKeys,
  configurationEvidence,
  customerManaged,
  describeCollectionError,
  inventoryEntryResource,
  keyFindingBase,
  keyPopulationGapFindings,
  nameCollectionErrors,
} from "../eligibility.ts";
import { INVENTORY_FILE } from "../../evidence/paths.ts";
import { keyReference, matchInventory } from "../../inventory/match-inventory.ts";
import rawMetadata from "./key-in-inventory.metadata.json" with { type: "json" };

const metadata = parseCheckMetadata(rawMetadata);

/** Every customer-managed key a source holds must be declared in the inventory (shadow keys are findings). */
export const check: Check = {
  metadata,
  run(snapshot) {
    const match = matchInventory(snapshot.inventory, allKeys(snapshot));
    const keyFindings = keysOf(snapshot, metadata.sourceTypes).map((key) => {
      const base = { ...keyFindingBase(key), evidence: [INVENTORY_FILE, ...configurationEvidence(key)] };
      const managed = customerManaged(key);
      if (!managed.eligible)
        return makeFinding(metadata, { ...base, status: "not-applicable", message: managed.reason });
      const entry = match.entryByKey.get(keyReference(key));
      if (entry !== undefined) {
        return makeFinding(metadata, {
          ...base,
          status: "pass",
          message: `declared in ${inventoryEntryResource(snapshot.inventory.indexOf(entry))} as "${entry.match}"`,
        });
      }
      const hidden = nameCollectionErrors(key);
      if (hidden.length > 0) {
        return makeFinding(metadata, {
          ...base,
          status: "error",
          message: `no inventory entry names the key by id or ARN, and its aliases are unknown: ${hidden.map(describeCollectionError).join("; ")}`,
        });
      }
      const names = key.aliases.length > 0 ? ` (aliases: ${key.aliases.join(", ")})` : "";
      return makeFinding(metadata, {
        ...base,
        status: "fail",
        message: `key is not in the inventory${names}`,
      });
    });
    return [...keyFindings, ...keyPopulationGapFindings(metadata, snapshot)];
  },
};
