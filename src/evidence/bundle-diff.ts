import { createHash } from "node:crypto";
import type { Finding, FindingStatus, Severity } from "../model/finding.ts";
import type { AccessGrant, KeyState } from "../model/key.ts";
import { canonicalJsonText } from "./manifest.ts";

/**
 * What changed between two evidence bundles: keys added and removed, rotation and state changes, access
 * changes per key, findings opened and resolved. Pure: the contents come from bundle-reader.ts (a verified
 * bundle, or the directory of a run being sealed), so `keyproof diff` and `changes-since-previous.json` are
 * the same computation.
 */

export const BUNDLE_DIFF_FORMAT = "keyproof-bundle-diff/1";

/** The part of one key's configuration export a diff compares (configuration.json → `configuration`). */
export interface KeyConfigurationFacts {
  state?: KeyState;
  /** Absent when the rotation status could not be collected in that bundle. */
  rotation?: { enabled: boolean; periodDays?: number };
}

/** The part of one key's access-policy export a diff compares; `collected: false` when it could not be read. */
export type KeyAccessFacts =
  | { collected: true; grants: AccessGrant[]; documents: Array<{ name: string; document: unknown }> }
  | { collected: false };

export interface BundleKeyContents {
  source: string;
  location: string;
  keyId: string;
  /** Absent when the bundle holds no configuration.json for the key. */
  configuration?: KeyConfigurationFacts;
  /** Absent when the bundle holds no access-policy.json for the key. */
  access?: KeyAccessFacts;
}

/** What a diff needs of one bundle, however it was read. */
export interface BundleContents {
  runId: string;
  period: { label: string; from: string; to: string };
  capturedAt: string;
  /** SHA-256 hex of manifest.json; absent for a bundle not sealed yet (the run writing its own diff). */
  manifestSha256?: string;
  findings: Finding[];
  keys: BundleKeyContents[];
}

export interface BundleReference {
  runId: string;
  period: { label: string; from: string; to: string };
  capturedAt: string;
  /**
   * Absent for the bundle being sealed: changes-since-previous.json is listed in its own manifest, so it
   * cannot hold that manifest's digest. `keyproof diff` of two sealed bundles has both.
   */
  manifestSha256?: string;
}

export interface KeyReference {
  source: string;
  location: string;
  keyId: string;
}

export interface RotationSetting {
  enabled: boolean;
  periodDays?: number;
}

export interface RotationChange {
  key: KeyReference;
  /** enabled/disabled: automatic rotation was switched; period: same switch, another period. */
  change: "enabled" | "disabled" | "period";
  before: RotationSetting;
  after: RotationSetting;
}

export interface StateChange {
  key: KeyReference;
  before: KeyState;
  after: KeyState;
}

/** A grant as a diff names it: principal + mechanism + the pointer an auditor follows. */
export interface GrantReference {
  principal: string;
  via: AccessGrant["via"];
  reference: string;
  effect: AccessGrant["effect"];
  actions: string[];
}

export interface DocumentChange {
  name: string;
  /** SHA-256 hex of the canonical JSON (RFC 8785) of the document; null when the bundle has no such document. */
  beforeSha256: string | null;
  afterSha256: string | null;
}

export interface AccessChange {
  key: KeyReference;
  grantsAdded: GrantReference[];
  grantsRemoved: GrantReference[];
  documentsChanged: DocumentChange[];
}

export interface FindingChange {
  checkId: string;
  source: string;
  location?: string;
  keyId?: string;
  resource: string;
  severity: Severity;
  /** null: the bundle has no finding of this check on this resource (a key added or removed). */
  before: FindingStatus | null;
  after: FindingStatus | null;
  /** The message of the finding that is open (the newer one when opened, the older one when resolved). */
  message: string;
}

/** A key present in both bundles whose access or rotation could not be compared, and why. */
export interface NotCompared {
  key: KeyReference;
  what: "access" | "rotation";
  reason: string;
}

export interface BundleDiff {
  format: typeof BUNDLE_DIFF_FORMAT;
  previous: BundleReference;
  current: BundleReference;
  /** True when none of the lists below has an entry. */
  unchanged: boolean;
  keys: { added: KeyReference[]; removed: KeyReference[] };
  rotation: RotationChange[];
  state: StateChange[];
  access: AccessChange[];
  findings: { opened: FindingChange[]; resolved: FindingChange[] };
  notCompared: NotCompared[];
}

/** `changes-since-previous.json` when there is no previous bundle to compare with, or it could not be read. */
export interface NoPreviousBundle {
  format: typeof BUNDLE_DIFF_FORMAT;
  previous: null;
  current: BundleReference;
  /** `first bundle of its chain`, or why the previous bundle could not be read or verified. */
  reason: string;
}

export type ChangesSincePrevious = BundleDiff | NoPreviousBundle;

export const FIRST_BUNDLE_REASON = "first bundle of its chain";

const OPEN_STATUSES: ReadonlySet<FindingStatus> = new Set(["fail", "warn", "error"]);

function referenceOf(contents: BundleContents): BundleReference {
  return {
    runId: contents.runId,
    period: contents.period,
    capturedAt: contents.capturedAt,
    ...(contents.manifestSha256 === undefined ? {} : { manifestSha256: contents.manifestSha256 }),
  };
}

export function noPreviousBundle(current: BundleContents, reason: string): NoPreviousBundle {
  return { format: BUNDLE_DIFF_FORMAT, previous: null, current: referenceOf(current), reason };
}

// NUL cannot occur in ids read from JSON exports of key managers, so joined keys never collide.
const joinKey = (...parts: Array<string | undefined>): string =>
  parts.map((part) => part ?? "").join("\u0000");

function keyReference(key: BundleKeyContents): KeyReference {
  return { source: key.source, location: key.location, keyId: key.keyId };
}

function compareKeys(left: KeyReference, right: KeyReference): number {
  return (
    left.source.localeCompare(right.source) ||
    left.location.localeCompare(right.location) ||
    left.keyId.localeCompare(right.keyId)
  );
}

function grantIdentity(grant: AccessGrant): string {
  return joinKey(grant.principal, grant.via, grant.reference);
}

function grantReference(grant: AccessGrant): GrantReference {
  return {
    principal: grant.principal,
    via: grant.via,
    reference: grant.reference,
    effect: grant.effect,
    actions: [...grant.actions].sort(),
  };
}

/** Digest of a policy document independent of key order, so re-serialization is not a change. */
export function documentSha256(document: unknown): string {
  return createHash("sha256").update(canonicalJsonText(document)).digest("hex");
}

function diffAccess(
  key: KeyReference,
  before: KeyAccessFacts | undefined,
  after: KeyAccessFacts | undefined,
): { change?: AccessChange; notCompared?: NotCompared } {
  if (before === undefined || after === undefined || !before.collected || !after.collected) {
    if (before === undefined && after === undefined) return {};
    const which =
      before === undefined || !before.collected
        ? after === undefined || !after.collected
          ? "either bundle"
          : "the previous bundle"
        : "the current bundle";
    return { notCompared: { key, what: "access", reason: `access could not be read in ${which}` } };
  }
  const beforeGrants = new Map(before.grants.map((grant) => [grantIdentity(grant), grant]));
  const afterGrants = new Map(after.grants.map((grant) => [grantIdentity(grant), grant]));
  const grantsAdded = [...afterGrants]
    .filter(([identity]) => !beforeGrants.has(identity))
    .map(([, grant]) => grantReference(grant));
  const grantsRemoved = [...beforeGrants]
    .filter(([identity]) => !afterGrants.has(identity))
    .map(([, grant]) => grantReference(grant));
  const beforeDocuments = new Map(before.documents.map((item) => [item.name, documentSha256(item.document)]));
  const afterDocuments = new Map(after.documents.map((item) => [item.name, documentSha256(item.document)]));
  const names = [...new Set([...beforeDocuments.keys(), ...afterDocuments.keys()])].sort();
  const documentsChanged: DocumentChange[] = names
    .map((name) => ({
      name,
      beforeSha256: beforeDocuments.get(name) ?? null,
      afterSha256: afterDocuments.get(name) ?? null,
    }))
    .filter((item) => item.beforeSha256 !== item.afterSha256);
  const byGrant = (left: GrantReference, right: GrantReference): number =>
    left.via.localeCompare(right.via) ||
    left.principal.localeCompare(right.principal) ||
    left.reference.localeCompare(right.reference);
  if (grantsAdded.length + grantsRemoved.length + documentsChanged.length === 0) return {};
  return {
    change: {
      key,
      grantsAdded: grantsAdded.sort(byGrant),
      grantsRemoved: grantsRemoved.sort(byGrant),
      documentsChanged,
    },
  };
}

function diffRotation(
  key: KeyReference,
  before: KeyConfigurationFacts | undefined,
  after: KeyConfigurationFacts | undefined,
): { change?: RotationChange; notCompared?: NotCompared } {
  const was = before?.rotation;
  const is = after?.rotation;
  if (was === undefined || is === undefined) {
    if (was === undefined && is === undefined) return {};
    return {
      notCompared: {
        key,
        what: "rotation",
        reason: `the rotation status could not be read in the ${was === undefined ? "previous" : "current"} bundle`,
      },
    };
  }
  const setting = (value: RotationSetting): RotationSetting => ({
    enabled: value.enabled,
    ...(value.periodDays === undefined ? {} : { periodDays: value.periodDays }),
  });
  if (was.enabled !== is.enabled) {
    return {
      change: { key, change: is.enabled ? "enabled" : "disabled", before: setting(was), after: setting(is) },
    };
  }
  // A period only matters while rotation is on: a disabled key's stale period is not a change.
  if (is.enabled && was.periodDays !== is.periodDays) {
    return { change: { key, change: "period", before: setting(was), after: setting(is) } };
  }
  return {};
}

function findingIdentity(finding: Finding): string {
  return joinKey(finding.checkId, finding.source, finding.location, finding.keyId, finding.resource);
}

function findingChange(
  before: Finding | undefined,
  after: Finding | undefined,
  open: Finding,
): FindingChange {
  return {
    checkId: open.checkId,
    source: open.source,
    ...(open.location === undefined ? {} : { location: open.location }),
    ...(open.keyId === undefined ? {} : { keyId: open.keyId }),
    resource: open.resource,
    severity: open.severity,
    before: before?.status ?? null,
    after: after?.status ?? null,
    message: open.message,
  };
}

function compareFindingChanges(left: FindingChange, right: FindingChange): number {
  return (
    left.checkId.localeCompare(right.checkId) ||
    left.source.localeCompare(right.source) ||
    left.resource.localeCompare(right.resource)
  );
}

/** Pure: the changes from `previous` to `current`. Every list is sorted, so equal inputs give equal JSON. */
export function diffBundles(previous: BundleContents, current: BundleContents): BundleDiff {
  const beforeKeys = new Map(previous.keys.map((key) => [joinKey(key.source, key.location, key.keyId), key]));
  const afterKeys = new Map(current.keys.map((key) => [joinKey(key.source, key.location, key.keyId), key]));
  const added = [...afterKeys]
    .filter(([identity]) => !beforeKeys.has(identity))
    .map(([, key]) => keyReference(key));
  const removed = [...beforeKeys]
    .filter(([identity]) => !afterKeys.has(identity))
    .map(([, key]) => keyReference(key));

  const rotation: RotationChange[] = [];
  const state: StateChange[] = [];
  const access: AccessChange[] = [];
  const notCompared: NotCompared[] = [];
  const kept = [...afterKeys]
    .filter(([identity]) => beforeKeys.has(identity))
    .map(([identity, after]) => ({ before: beforeKeys.get(identity), after }))
    .sort((left, right) => compareKeys(keyReference(left.after), keyReference(right.after)));
  for (const { before, after } of kept) {
    const key = keyReference(after);
    const rotated = diffRotation(key, before?.configuration, after.configuration);
    if (rotated.change !== undefined) rotation.push(rotated.change);
    if (rotated.notCompared !== undefined) notCompared.push(rotated.notCompared);
    const wasState = before?.configuration?.state;
    const isState = after.configuration?.state;
    if (wasState !== undefined && isState !== undefined && wasState !== isState) {
      state.push({ key, before: wasState, after: isState });
    }
    const accessDiff = diffAccess(key, before?.access, after.access);
    if (accessDiff.change !== undefined) access.push(accessDiff.change);
    if (accessDiff.notCompared !== undefined) notCompared.push(accessDiff.notCompared);
  }

  const beforeFindings = new Map(previous.findings.map((finding) => [findingIdentity(finding), finding]));
  const afterFindings = new Map(current.findings.map((finding) => [findingIdentity(finding), finding]));
  const opened: FindingChange[] = [];
  const resolved: FindingChange[] = [];
  for (const [identity, after] of afterFindings) {
    const before = beforeFindings.get(identity);
    if (OPEN_STATUSES.has(after.status) && (before === undefined || !OPEN_STATUSES.has(before.status))) {
      opened.push(findingChange(before, after, after));
    }
  }
  for (const [identity, before] of beforeFindings) {
    const after = afterFindings.get(identity);
    if (OPEN_STATUSES.has(before.status) && (after === undefined || !OPEN_STATUSES.has(after.status))) {
      resolved.push(findingChange(before, after, before));
    }
  }

  const changes =
    added.length +
    removed.length +
    rotation.length +
    state.length +
    access.length +
    opened.length +
    resolved.length;
  return {
    format: BUNDLE_DIFF_FORMAT,
    previous: referenceOf(previous),
    current: referenceOf(current),
    unchanged: changes === 0,
    keys: { added: added.sort(compareKeys), removed: removed.sort(compareKeys) },
    rotation,
    state,
    access,
    findings: {
      opened: opened.sort(compareFindingChanges),
      resolved: resolved.sort(compareFindingChanges),
    },
    notCompared,
  };
}

const keyText = (key: KeyReference): string => `${key.source} / ${key.location} / ${key.keyId}`;

function rotationText(setting: RotationSetting): string {
  if (!setting.enabled) return "disabled";
  return setting.periodDays === undefined ? "enabled" : `enabled every ${setting.periodDays} days`;
}

function grantText(grant: GrantReference): string {
  return `${grant.effect} ${grant.principal} via ${grant.via} ${grant.reference}${grant.actions.length > 0 ? ` (${grant.actions.join(", ")})` : ""}`;
}

function findingText(change: FindingChange): string {
  const where = [change.source, change.location].filter((part) => part !== undefined).join(" / ");
  return `${change.checkId} on ${change.resource} (${where}): ${change.before ?? "absent"} → ${change.after ?? "absent"}, ${change.severity}: ${change.message}`;
}

const shortDigest = (digest: string | null): string => (digest === null ? "none" : digest.slice(0, 12));

/**
 * The changes as one line each, grouped in the sections `keyproof diff` and the findings report show: keys,
 * rotation, key state, access, findings opened, findings resolved. Pure; shared by the CLI and the report.
 */
export function describeChanges(diff: BundleDiff): Array<{ title: string; lines: string[] }> {
  return [
    {
      title: "Keys",
      lines: [
        ...diff.keys.added.map((key) => `added: ${keyText(key)}`),
        ...diff.keys.removed.map((key) => `removed: ${keyText(key)}`),
      ],
    },
    {
      title: "Rotation",
      lines: diff.rotation.map(
        (change) =>
          `${keyText(change.key)}: ${change.change === "period" ? "period changed" : change.change}: ${rotationText(change.before)} → ${rotationText(change.after)}`,
      ),
    },
    {
      title: "Key state",
      lines: diff.state.map((change) => `${keyText(change.key)}: ${change.before} → ${change.after}`),
    },
    {
      title: "Access",
      lines: diff.access.flatMap((change) => [
        ...change.grantsAdded.map((grant) => `${keyText(change.key)}: grant added: ${grantText(grant)}`),
        ...change.grantsRemoved.map((grant) => `${keyText(change.key)}: grant removed: ${grantText(grant)}`),
        ...change.documentsChanged.map(
          (document) =>
            `${keyText(change.key)}: policy document ${document.name} changed: sha256 ${shortDigest(document.beforeSha256)} → ${shortDigest(document.afterSha256)}`,
        ),
      ]),
    },
    { title: "Findings opened", lines: diff.findings.opened.map(findingText) },
    { title: "Findings resolved", lines: diff.findings.resolved.map(findingText) },
  ];
}

function bundleLine(label: string, reference: BundleReference): string {
  return `${label}: run ${reference.runId}, period ${reference.period.label} (${reference.period.from} to ${reference.period.to}), captured ${reference.capturedAt}${reference.manifestSha256 === undefined ? "" : `, manifest sha256 ${reference.manifestSha256}`}`;
}

/** Plain text for a terminal: both bundles, then each section with its changes or "no changes". */
export function formatChanges(changes: ChangesSincePrevious): string {
  if (changes.previous === null) {
    return `${bundleLine("bundle", changes.current)}\nno comparison: ${changes.reason}\n`;
  }
  const lines = [bundleLine("from", changes.previous), bundleLine("to  ", changes.current)];
  if (changes.unchanged) lines.push("no changes");
  for (const section of describeChanges(changes)) {
    lines.push("", `${section.title} (${section.lines.length})`);
    if (section.lines.length === 0) lines.push("  no changes");
    for (const line of section.lines) lines.push(`  ${line}`);
  }
  for (const item of changes.notCompared) {
    lines.push(`note: ${keyText(item.key)}: ${item.what} not compared: ${item.reason}`);
  }
  return `${lines.join("\n")}\n`;
}
