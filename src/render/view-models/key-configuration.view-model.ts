import type { InventoryEntry } from "../../config/config.schema.ts";
import { keyConfigurationPath } from "../../evidence/paths.ts";
import type { KeyRecord } from "../../model/key.ts";
import type { Snapshot, SourceSnapshot } from "../../model/snapshot.ts";
import { buildCaptureBanner, type CaptureBannerView } from "./capture-banner.view-model.ts";
import {
  CONSOLE_STYLES,
  NOT_REPORTED,
  compareText,
  describeCollectionError,
  describeOrigin,
  describeState,
  describeUsage,
  formatInstant,
  plural,
  row,
  type Row,
  type Tone,
} from "./format.ts";

export type ConsoleFrameView = {
  theme: string;
  consoleName: string;
  breadcrumbs: Array<{ text: string }>;
  title: string;
  subtitle: string;
  banner: CaptureBannerView;
  keyIdLabel: string;
  keyId: string;
};

export type KeyConfigurationView = ConsoleFrameView & {
  rotationStatus: string;
  rotationTone: Tone;
  sourceRows: Row[];
  generalRows: Row[];
  rotationRows: Row[];
  ownershipRows: Row[];
  tagRows: Row[];
  errors: Array<{ text: string }>;
};

export interface KeyViewInput {
  snapshot: Pick<Snapshot, "capturedAt" | "runId">;
  source: Pick<SourceSnapshot, "source" | "type" | "account">;
  key: KeyRecord;
  inventoryEntry: InventoryEntry | undefined;
  /** SHA-256 of the export this view is drawn from, undefined when it was not written. */
  exportSha256: string | undefined;
}

/** The name a person uses for the key: first alias, else the last segment of its id. */
export function displayNameOf(key: Pick<KeyRecord, "aliases" | "keyId">): string {
  return key.aliases[0] ?? key.keyId.split("/").pop() ?? key.keyId;
}

export function buildBreadcrumbs(
  source: Pick<SourceSnapshot, "type" | "account">,
  location: string,
  tail: string[],
): Array<{ text: string }> {
  const head =
    source.type === "aws-kms"
      ? ["KMS", location, "Customer managed keys"]
      : source.type === "azure-key-vault"
        ? ["Key vaults", location, "Keys"]
        : ["Secrets engines", location, "Keys"];
  return [...head, ...tail].map((text) => ({ text }));
}

export function buildConsoleFrame(
  input: KeyViewInput,
  exportPath: string,
  subtitle: string,
): ConsoleFrameView {
  const style = CONSOLE_STYLES[input.key.sourceType];
  const name = displayNameOf(input.key);
  return {
    theme: style.theme,
    consoleName: style.consoleName,
    breadcrumbs: buildBreadcrumbs(input.source, input.key.location, [name]),
    title: name,
    subtitle,
    banner: buildCaptureBanner(input.snapshot, exportPath, input.exportSha256),
    keyIdLabel: style.keyIdLabel,
    keyId: input.key.keyId,
  };
}

/** Pure: what the key-configuration screenshot shows, from the key, its source and its inventory entry. */
export function buildKeyConfigurationView(input: KeyViewInput): KeyConfigurationView {
  const { key, source, inventoryEntry } = input;
  const style = CONSOLE_STYLES[key.sourceType];
  const frame = buildConsoleFrame(
    input,
    keyConfigurationPath(key.source, key.location, key.keyId),
    key.manager === "provider" ? "Provider-managed key" : "Customer-managed key",
  );

  const sourceRows = [
    row("Source", key.source),
    row(style.accountLabel, source.account ?? NOT_REPORTED, { mono: true }),
    row(style.locationLabel, key.location, { mono: true }),
  ];

  const stateTone: Tone = key.state === "enabled" ? "ok" : key.state === "pending-deletion" ? "bad" : "warn";
  const generalRows = [
    row(style.keyIdLabel, key.keyId, { mono: true }),
    row(style.arnLabel, key.arn, { mono: true }),
    row(style.aliasLabel, key.aliases.length > 0 ? key.aliases.join(", ") : "None"),
    row("Description", key.description ?? "None"),
    row(
      style.specLabel,
      key.keySpec === key.rawKeyType ? key.keySpec : `${key.keySpec} (${key.rawKeyType})`,
      { mono: true },
    ),
    row("Key usage", key.keyUsage ?? NOT_REPORTED),
    row("Origin", describeOrigin(key.origin)),
    row("Managed by", key.manager === "customer" ? "Customer" : "Provider"),
    row("Status", describeState(key.state), { tone: stateTone }),
    row("Creation date", formatInstant(key.createdAt)),
  ];
  if (key.deletionDate !== undefined)
    generalRows.push(row("Scheduled deletion", formatInstant(key.deletionDate), { tone: "bad" }));
  if (key.expiresAt !== undefined) generalRows.push(row("Expires", formatInstant(key.expiresAt)));
  if (key.multiRegion !== undefined) generalRows.push(row("Multi-Region", key.multiRegion ? "Yes" : "No"));
  if (key.hsmBacked !== undefined) generalRows.push(row("HSM-backed", key.hsmBacked ? "Yes" : "No"));

  let rotationStatus: string;
  let rotationTone: Tone;
  const rotationRows: Row[] = [];
  if (key.rotation.ok) {
    const rotation = key.rotation.value;
    rotationStatus = rotation.enabled ? "Enabled" : "Not enabled";
    rotationTone = rotation.enabled ? "ok" : "bad";
    rotationRows.push(
      row("Automatic rotation", rotationStatus, { tone: rotationTone }),
      row(
        "Rotation period",
        rotation.periodDays === undefined ? NOT_REPORTED : plural(rotation.periodDays, "day"),
      ),
      row("Last rotation", formatInstant(rotation.lastRotation)),
      row("Next rotation", formatInstant(rotation.nextRotation)),
    );
    const recent = [...rotation.history]
      .sort((left, right) => compareText(right.date, left.date))
      .slice(0, 5);
    rotationRows.push(
      row(
        "Rotation history",
        rotation.history.length === 0
          ? "No rotations recorded"
          : `${plural(rotation.history.length, "rotation")}; latest: ${recent.map((event) => `${formatInstant(event.date)} (${event.type})`).join(", ")}`,
      ),
    );
    rotationRows.push(row("Read by", `${key.rotation.call} at ${formatInstant(key.rotation.capturedAt)}`));
  } else {
    rotationStatus = "Not collected";
    rotationTone = "warn";
    rotationRows.push(
      row("Automatic rotation", rotationStatus, { tone: rotationTone }),
      row("Reason", describeCollectionError(key.rotation.error), { tone: "warn" }),
    );
  }

  const ownershipRows =
    inventoryEntry === undefined
      ? [row("Owner", "No inventory entry names this key", { tone: "bad" })]
      : [
          row("Owner", inventoryEntry.owner),
          row("Usage", describeUsage(inventoryEntry.usage)),
          row("Systems", inventoryEntry.systems.join(", ")),
          ...(inventoryEntry.notes === undefined ? [] : [row("Notes", inventoryEntry.notes)]),
          row("Inventory match", inventoryEntry.match, { mono: true }),
        ];

  const tagRows = Object.entries(key.tags)
    .sort(([left], [right]) => compareText(left, right))
    .map(([name, value]) => row(name, value, { mono: true }));

  return {
    ...frame,
    rotationStatus,
    rotationTone,
    sourceRows,
    generalRows,
    rotationRows,
    ownershipRows,
    tagRows,
    errors: key.errors.map((error) => ({ text: describeCollectionError(error) })),
  };
}
