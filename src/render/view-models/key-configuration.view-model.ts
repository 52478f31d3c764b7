import type { InventoryEntry } from "../../config/config.schema.ts";
import { keyConfigurationPath } from "../../evidence/paths.ts";
import type { FindingStatus } from "../../model/finding.ts";
import type { KeyRecord, RotationStatus } from "../../model/key.ts";
import type { Snapshot, SourceSnapshot } from "../../model/snapshot.ts";
import {
  buildCaptureBanner,
  type CaptureBannerView,
  type CaptureWindow,
} from "./capture-banner.view-model.ts";
import {
  CONSOLE_STYLES,
  NOT_REPORTED,
  compareText,
  describeCollectionError,
  describeOrigin,
  describeState,
  describeUsage,
  STATUS_TEXT,
  formatInstant,
  judgedRow,
  plural,
  row,
  type Row,
  type Tone,
} from "./format.ts";
import {
  STATUS_TONES,
  findingsOfKey,
  stripMarkdown,
  verdictOf,
  type DisplayStatus,
  type DisplayVerdict,
  type FindingIndex,
  type VerdictWording,
} from "./verdicts.ts";

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
  /** The finding status behind the headline: `key-rotation-enabled` on this key. */
  rotationVerdict: DisplayStatus;
  /** Why, when the headline is not a pass (`Not applicable: asymmetric key ...`). */
  rotationReason: string;
  sourceRows: Row[];
  generalRows: Row[];
  rotationRows: Row[];
  ownershipRows: Row[];
  tagRows: Row[];
  /** Every finding on this key, worst first: the verdicts the rows above are coloured by. */
  checks: KeyCheckView[];
  errors: Array<{ text: string }>;
};

export type KeyCheckView = {
  checkId: string;
  status: FindingStatus;
  label: string;
  tone: Tone;
  message: string;
};

export interface KeyViewInput {
  snapshot: Pick<Snapshot, "runId">;
  /** First and last API read of the run: the banner shows it. */
  capture: CaptureWindow;
  source: Pick<SourceSnapshot, "source" | "type" | "account">;
  key: KeyRecord;
  inventoryEntry: InventoryEntry | undefined;
  /** SHA-256 of the export this view is drawn from, undefined when it was not written. */
  exportSha256: string | undefined;
  /** The run's findings: the only source of any ok/bad wording or colour. */
  verdicts: FindingIndex;
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
    banner: buildCaptureBanner(
      { window: input.capture, runId: input.snapshot.runId },
      exportPath,
      input.exportSha256,
    ),
    keyIdLabel: style.keyIdLabel,
    keyId: input.key.keyId,
  };
}

const CHECK_ORDER: readonly FindingStatus[] = ["fail", "error", "warn", "pass", "not-applicable"];

/**
 * The rotation history as the source reported it, consistent with the last rotation: a source that reports
 * a last rotation but no history (Vault transit gives the latest version's time) is not "no rotations".
 */
export function describeRotationHistory(rotation: RotationStatus): string {
  const recent = [...rotation.history].sort((left, right) => compareText(right.date, left.date)).slice(0, 5);
  if (rotation.history.length > 0)
    return `${plural(rotation.history.length, "rotation")}; latest: ${recent.map((event) => `${formatInstant(event.date)} (${event.type})`).join(", ")}`;
  if (rotation.lastRotation !== undefined)
    return `Not reported by the source; the last rotation above is the latest known (${formatInstant(rotation.lastRotation)})`;
  return "No rotations recorded";
}

/** Pure: what the key-configuration screenshot shows, from the key, its findings and its inventory entry. */
export function buildKeyConfigurationView(input: KeyViewInput): KeyConfigurationView {
  const { key, source, inventoryEntry, verdicts } = input;
  const style = CONSOLE_STYLES[key.sourceType];
  const scope = { source: key.source, location: key.location, keyId: key.keyId };
  const verdict = (checkId: string, wording?: VerdictWording): DisplayVerdict =>
    verdictOf(verdicts, scope, checkId, wording);
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

  const stateVerdict = verdict("key-state-active");
  const generalRows = [
    row(style.keyIdLabel, key.keyId, { mono: true }),
    row(style.arnLabel, key.arn, { mono: true }),
    row(style.aliasLabel, key.aliases.length > 0 ? key.aliases.join(", ") : "None"),
    row("Description", key.description ?? "None"),
    judgedRow(
      style.specLabel,
      key.keySpec === key.rawKeyType ? key.keySpec : `${key.keySpec} (${key.rawKeyType})`,
      verdict("key-spec-approved"),
      { mono: true },
    ),
    row("Key usage", key.keyUsage ?? NOT_REPORTED),
    row("Origin", describeOrigin(key.origin)),
    row("Managed by", key.manager === "customer" ? "Customer" : "Provider"),
    judgedRow("Status", describeState(key.state), stateVerdict),
    row("Creation date", formatInstant(key.createdAt)),
  ];
  if (key.deletionDate !== undefined)
    generalRows.push(judgedRow("Scheduled deletion", formatInstant(key.deletionDate), stateVerdict));
  if (key.expiresAt !== undefined) generalRows.push(row("Expires", formatInstant(key.expiresAt)));
  if (key.multiRegion !== undefined) generalRows.push(row("Multi-Region", describeMultiRegion(key)));
  if (key.hsmBacked !== undefined) generalRows.push(row("HSM-backed", key.hsmBacked ? "Yes" : "No"));

  const rotationVerdict = verdict("key-rotation-enabled", { pass: "Enabled", fail: "Not enabled" });
  const periodVerdict = verdict("key-rotation-period");
  const rotationRows: Row[] = [];
  if (key.rotation.ok) {
    const rotation = key.rotation.value;
    rotationRows.push(
      judgedRow("Automatic rotation", rotation.enabled ? "On" : "Off", rotationVerdict),
      judgedRow(
        "Rotation period",
        rotation.periodDays === undefined ? NOT_REPORTED : plural(rotation.periodDays, "day"),
        periodVerdict,
      ),
      row("Last rotation", formatInstant(rotation.lastRotation)),
      row("Next rotation", formatInstant(rotation.nextRotation)),
      row("Rotation history", describeRotationHistory(rotation)),
      row("Read by", `${key.rotation.call} at ${formatInstant(key.rotation.capturedAt)}`),
    );
  } else {
    rotationRows.push(
      judgedRow("Automatic rotation", "Not collected", rotationVerdict),
      row(
        "Read by",
        `${describeCollectionError(key.rotation.error)} at ${formatInstant(key.rotation.capturedAt)}`,
      ),
    );
  }

  const ownerVerdict = verdict("key-owner-documented");
  const ownershipRows =
    inventoryEntry === undefined
      ? [judgedRow("Owner", "No inventory entry names this key", ownerVerdict)]
      : [
          judgedRow("Owner", inventoryEntry.owner, ownerVerdict),
          row("Usage", describeUsage(inventoryEntry.usage)),
          row("Systems", inventoryEntry.systems.join(", ")),
          ...(inventoryEntry.notes === undefined ? [] : [row("Notes", inventoryEntry.notes)]),
          judgedRow("Inventory match", inventoryEntry.match, verdict("key-in-inventory"), { mono: true }),
        ];

  const tagRows = Object.entries(key.tags)
    .sort(([left], [right]) => compareText(left, right))
    .map(([name, value]) => row(name, value, { mono: true }));

  const checks = [...findingsOfKey(verdicts, scope)]
    .sort(
      (left, right) =>
        CHECK_ORDER.indexOf(left.status) - CHECK_ORDER.indexOf(right.status) ||
        compareText(left.checkId, right.checkId),
    )
    .map((finding) => ({
      checkId: finding.checkId,
      status: finding.status,
      label: STATUS_TEXT[finding.status],
      tone: STATUS_TONES[finding.status],
      message: stripMarkdown(finding.message),
    }));

  return {
    ...frame,
    rotationStatus: rotationVerdict.label,
    rotationTone: rotationVerdict.tone,
    rotationVerdict: rotationVerdict.status,
    rotationReason: rotationVerdict.status === "pass" ? "" : rotationVerdict.reason,
    sourceRows,
    generalRows,
    rotationRows,
    ownershipRows,
    tagRows,
    checks,
    errors: key.errors.map((error) => ({ text: describeCollectionError(error) })),
  };
}

/**
 * `Yes — replica of <primary ARN> (us-east-1)`: a replica names its primary, where its rotation is set and
 * judged; a primary counts its replicas. Plain `Yes`/`No` when the source gave no configuration.
 */
function describeMultiRegion(key: KeyRecord): string {
  if (key.multiRegion !== true) return "No";
  const configuration = key.multiRegionConfiguration;
  if (configuration === undefined) return "Yes";
  if (configuration.role === "replica")
    return `Yes — replica of ${configuration.primaryArn} (${configuration.primaryRegion})`;
  const count = configuration.replicaArns.length;
  return `Yes — primary, ${count} replica${count === 1 ? "" : "s"}`;
}
