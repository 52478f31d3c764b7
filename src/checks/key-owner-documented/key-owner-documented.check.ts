import type { Check } from "../check.ts";
import type { InventoryEntry } from "../../model/inventory.ts";
import { keysOf, makeFinding } from "../check.ts";
import { parseCheckMetadata } from "../check-metadata.schema.ts";
import {
  allKeys,
  configurationEvidence,
  customerManaged,
  describeCollectionError,
  ineligibleStatus,
  inventoryEntryResource,
  keyFindingBase,
  keyPopulationGapFindings,
  nameCollectionErrors,
} from "../eligibility.ts";
import { INVENTORY_FILE } from "../../evidence/paths.ts";
import { keyReference, matchInventory } from "../../inventory/match-inventory.ts";
import rawMetadata from "./key-owner-documented.metadata.json" with { type: "json" };

const metadata = parseCheckMetadata(rawMetadata);

/** The inventory must name exactly one owner for every customer-managed key. */
export const check: Check = {
  metadata,
  run(snapshot) {
    const match = matchInventory(snapshot.inventory, allKeys(snapshot));
    const where = (entry: InventoryEntry) => inventoryEntryResource(snapshot.inventory.indexOf(entry));
    const keyFindings = keysOf(snapshot, metadata.sourceTypes).map((key) => {
      const base = { ...keyFindingBase(key), evidence: [INVENTORY_FILE, ...configurationEvidence(key)] };
      const managed = customerManaged(key);
      // A key whose metadata failed may be customer-managed: unknown eligibility is an error, never N/A.
      if (!managed.eligible)
        return makeFinding(metadata, { ...base, status: ineligibleStatus(managed), message: managed.reason });
      const reference = keyReference(key);
      const entry = match.entryByKey.get(reference);
      if (entry === undefined) {
        const hidden = nameCollectionErrors(key);
        if (hidden.length > 0) {
          return makeFinding(metadata, {
            ...base,
            status: "error",
            message: `no inventory entry names the key by id or ARN, and its aliases are unknown: ${hidden.map(describeCollectionError).join("; ")}`,
          });
        }
        return makeFinding(metadata, {
          ...base,
          status: "fail",
          message: "no inventory entry names this key, so it has no documented owner",
        });
      }
      const entries = match.duplicateEntries.get(reference) ?? [entry];
      const owners = [...new Set(entries.map((candidate) => candidate.owner.trim()))];
      if (owners.every((owner) => owner === "")) {
        return makeFinding(metadata, {
          ...base,
          status: "fail",
          message: `${where(entry)} names no owner`,
        });
      }
      if (owners.length > 1) {
        return makeFinding(metadata, {
          ...base,
          status: "warn",
          message: `${entries.map(where).join(", ")} name different owners (${owners.map((owner) => owner || "<none>").join(", ")}); accountability is ambiguous`,
        });
      }
      return makeFinding(metadata, {
        ...base,
        status: "pass",
        message: `owner ${owners[0] ?? ""} (${entries.map(where).join(", ")})`,
      });
    });
    return [...keyFindings, ...keyPopulationGapFindings(metadata, snapshot)];
  },
};
