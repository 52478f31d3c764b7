import type { InventoryEntry } from "../../config/config.schema.ts";
import { keyReference } from "../../inventory/match-inventory.ts";
import type { Snapshot } from "../../model/snapshot.ts";
import { displayNameOf } from "./key-configuration.view-model.ts";
import { buildReportHeader, type ReportHeaderView } from "./report-header.view-model.ts";
import {
  CONSOLE_STYLES,
  compareText,
  describeState,
  describeUsage,
  formatDay,
  judgedRow,
  type Tone,
} from "./format.ts";
import { verdictOf, type DisplayStatus, type FindingIndex } from "./verdicts.ts";

/** Shown in the Owner column when no inventory entry names an owner for the key (the fact, coloured by the check). */
export const NO_OWNER_TEXT = "NO OWNER DOCUMENTED";

export type InventoryKeyView = {
  keyId: string;
  name: string;
  spec: string;
  /** The key's state, judged by `key-state-active`: `Could not be read` when that check says `error`. */
  state: string;
  stateTone: Tone;
  stateStatus: DisplayStatus;
  /** The check's message when it did not pass (disabled, pending deletion, the cause of an error). */
  stateNote: string;
  created: string;
  /** `key-rotation-enabled` on this key: `Enabled`, `Not enabled`, `Not applicable`... */
  rotation: string;
  rotationTone: Tone;
  rotationStatus: DisplayStatus;
  rotationNote: string;
  documented: boolean;
  ownerTone: Tone;
  ownerStatus: DisplayStatus;
  /** The entry is highlighted when key-owner-documented fails on it. */
  ownerFailed: boolean;
  /**
   * The declared owner, judged by `key-owner-documented`: `Not applicable` (provider-managed key) or
   * `Could not be read` where the check says so, `NO OWNER DOCUMENTED` where no entry names an owner.
   */
  owner: string;
  /** The check's message when it did not pass: why not applicable, the cause of an error, why it failed. */
  ownerNote: string;
  usage: string;
  systems: string;
  notes: string;
};

export type KeyInventoryView = {
  report: ReportHeaderView;
  sources: Array<{
    source: string;
    product: string;
    account: string;
    locations: Array<{ location: string; keys: InventoryKeyView[] }>;
  }>;
  keyCount: number;
  documentedCount: number;
  undocumentedCount: number;
  unmatched: Array<{ source: string; match: string; owner: string; usage: string; systems: string }>;
};

/** Identity of an entry as the user wrote it; entries may be copied between the snapshot and the match map. */
function entryIdentity(entry: InventoryEntry): string {
  return `${entry.source}\u0000${entry.match}`;
}

/** Pure: every discovered key with its declared owner, usage and systems; and declared entries nothing matched. */
export function buildKeyInventoryView(input: {
  snapshot: Pick<Snapshot, "organization" | "range" | "runId" | "capturedAt" | "sources" | "inventory">;
  inventoryEntryByKey: ReadonlyMap<string, InventoryEntry>;
  verdicts: FindingIndex;
  generatedAt: Date;
}): KeyInventoryView {
  let keyCount = 0;
  let documentedCount = 0;
  const sources = input.snapshot.sources.map((source) => ({
    source: source.source,
    product: CONSOLE_STYLES[source.type].productName,
    account: source.account ?? "",
    locations: source.locations.map((location) => ({
      location: location.location,
      keys: [...location.keys]
        .sort(
          (left, right) =>
            compareText(displayNameOf(left), displayNameOf(right)) || compareText(left.keyId, right.keyId),
        )
        .map((key): InventoryKeyView => {
          keyCount += 1;
          const entry = input.inventoryEntryByKey.get(keyReference(key));
          if (entry !== undefined) documentedCount += 1;
          const scope = { source: key.source, location: key.location, keyId: key.keyId };
          const state = verdictOf(input.verdicts, scope, "key-state-active");
          const rotation = verdictOf(input.verdicts, scope, "key-rotation-enabled", {
            pass: "Enabled",
            fail: "Not enabled",
          });
          const owner = verdictOf(input.verdicts, scope, "key-owner-documented");
          // The cells show the facts coloured by the findings; where a check could not judge (error,
          // not applicable) its label and reason replace the fact, exactly as on the key's screenshot.
          const stateCell = judgedRow("State", describeState(key.state), state);
          const declaredOwner = entry?.owner.trim() ?? "";
          const ownerCell = judgedRow("Owner", declaredOwner === "" ? NO_OWNER_TEXT : declaredOwner, owner);
          return {
            keyId: key.keyId,
            name: key.aliases.length > 0 ? key.aliases.join(", ") : displayNameOf(key),
            spec: key.keySpec,
            state: stateCell.value,
            stateTone: stateCell.tone,
            stateStatus: state.status,
            stateNote: stateCell.note,
            created: formatDay(key.createdAt),
            rotation: rotation.label,
            rotationTone: rotation.tone,
            rotationStatus: rotation.status,
            rotationNote:
              rotation.status === "not-applicable" || rotation.status === "error" ? rotation.reason : "",
            ownerTone: ownerCell.tone,
            ownerStatus: owner.status,
            ownerFailed: owner.status === "fail",
            documented: entry !== undefined,
            owner: ownerCell.value,
            ownerNote: ownerCell.note,
            usage: entry === undefined ? "" : describeUsage(entry.usage),
            systems: entry?.systems.join(", ") ?? "",
            notes: entry?.notes ?? "",
          };
        }),
    })),
  }));
  const matched = new Set([...input.inventoryEntryByKey.values()].map(entryIdentity));
  return {
    report: buildReportHeader(input.snapshot, "Key inventory", input.generatedAt),
    sources,
    keyCount,
    documentedCount,
    undocumentedCount: keyCount - documentedCount,
    unmatched: input.snapshot.inventory
      .filter((entry) => !matched.has(entryIdentity(entry)))
      .map((entry) => ({
        source: entry.source,
        match: entry.match,
        owner: entry.owner,
        usage: describeUsage(entry.usage),
        systems: entry.systems.join(", "),
      })),
  };
}
