import type { Check } from "../check.ts";
import { keysOf, makeFinding } from "../check.ts";
import { parseCheckMetadata } from "../check-metadata.schema.ts";
import {
  configurationEvidence,
  describeCollectionError,
  ineligibleStatus,
  keyFindingBase,
  keyPopulationGapFindings,
  rotationEligibility,
  summarizeList,
} from "../eligibility.ts";
import { rotationSubjectOf } from "../multi-region.ts";
import type { Finding } from "../../model/finding.ts";
import type { KeyRecord, RotationStatus } from "../../model/key.ts";
import type { DateRange } from "../../model/snapshot.ts";
import rawMetadata from "./rotation-performed.metadata.json" with { type: "json" };

const metadata = parseCheckMetadata(rawMetadata);

/**
 * Days a rotation may come late before its absence fails. Schedules do not fire on the exact day (AWS KMS
 * rotates "within a day or so" of the date, Azure runs its policy daily, Vault checks about every minute
 * but only while unsealed), and a key rotated by hand on the next business day has not lapsed in any
 * sense an auditor cares about; a week absorbs that without hiding a missed rotation.
 */
export const ROTATION_GRACE_DAYS = 7;

const DAY_MS = 86_400_000;

/** What a judgement needs besides the key: the period, when the facts were read, the policy maximum. */
export interface RotationPerformedContext {
  range: DateRange;
  capturedAt: string;
  maxRotationDays: number;
}

/** A span with no rotation longer than the interval plus grace. */
interface RotationGap {
  from: string;
  fromKind: "creation" | "rotation" | "period start";
  to: string;
  /** `rotation`: the gap ended with a rotation; `end`: none had come by the end of the judged span. */
  toKind: "rotation" | "end";
  /** Whole days, or one decimal when the gap is not a whole number of days. */
  days: string;
}

function formatDays(milliseconds: number): string {
  const days = milliseconds / DAY_MS;
  return Number.isInteger(days) ? String(days) : days.toFixed(1);
}

/** The interval a key is held to: its own period when the source reports one, else the policy maximum. */
function intervalOf(rotation: RotationStatus, maxRotationDays: number): { days: number; described: string } {
  if (rotation.enabled && rotation.periodDays !== undefined) {
    return { days: rotation.periodDays, described: `its rotation period of ${rotation.periodDays} days` };
  }
  const why = rotation.enabled ? "the source does not report its period" : "automatic rotation is off";
  return { days: maxRotationDays, described: `the policy maximum of ${maxRotationDays} days (${why})` };
}

function describeGap(gap: RotationGap): string {
  const to = gap.toKind === "end" ? `${gap.to} (end of the judged span, still none)` : gap.to;
  return `${gap.days} days from ${gap.from} (${gap.fromKind}) to ${to}`;
}

/**
 * Judges one key (already resolved to its rotation subject): every span between consecutive rotation
 * points from max(period start, creation) to min(period end, capture) must be at most interval + grace.
 * The starting point is the last rotation before that walk starts, else the creation (a starting point,
 * not a rotation). Exported so the rule is testable for every source type and range edge.
 */
export function judgeRotationPerformed(
  key: KeyRecord,
  context: RotationPerformedContext,
  note = "",
): Finding {
  const base = { ...keyFindingBase(key), evidence: configurationEvidence(key) };
  const { range } = context;
  const eligibility = rotationEligibility(key);
  if (!eligibility.eligible) {
    return makeFinding(metadata, {
      ...base,
      status: ineligibleStatus(eligibility),
      message: `${eligibility.reason}${note}`,
    });
  }
  // Unknown is not fail: without the history the check cannot say whether the key rotated.
  if (!key.rotation.ok) {
    return makeFinding(metadata, {
      ...base,
      status: "warn",
      message: `whether the key rotated in ${range.label} is unknown: the rotation history could not be read (${describeCollectionError(key.rotation.error)})${note}`,
    });
  }
  const rotation = key.rotation.value;
  if (rotation.historyUnavailable !== undefined) {
    return makeFinding(metadata, {
      ...base,
      status: "warn",
      message: `whether the key rotated in ${range.label} is unknown: the source did not report its rotation history (${rotation.historyUnavailable})${note}`,
    });
  }
  const interval = intervalOf(rotation, context.maxRotationDays);
  const limit = (interval.days + ROTATION_GRACE_DAYS) * DAY_MS;
  const allowed = `${interval.described} plus ${ROTATION_GRACE_DAYS} days' grace`;
  const periodStart = Date.parse(range.from);
  const end = Math.min(Date.parse(range.toExclusive), Date.parse(context.capturedAt));
  const endIso = new Date(end).toISOString();
  const created = key.createdAt === undefined ? undefined : Date.parse(key.createdAt);
  if (created !== undefined && end - created < limit) {
    return makeFinding(metadata, {
      ...base,
      status: "not-applicable",
      message: `key created ${key.createdAt} is younger than ${allowed} at the end of the judged span (${endIso}): no rotation was due yet${note}`,
    });
  }
  const walkStart = Math.max(periodStart, created ?? periodStart);
  // lastRotation is the last history event by contract; a record that carries it without the history
  // still names one known rotation, which counts.
  const dates = new Set([...rotation.history.map((event) => event.date), rotation.lastRotation ?? ""]);
  const rotations = [...dates]
    .map((date) => Date.parse(date))
    .filter((time) => !Number.isNaN(time))
    .sort((left, right) => left - right);
  const before = rotations.filter((time) => time <= walkStart).at(-1);
  const inSpan = rotations.filter((time) => time > walkStart && time <= end);
  let previous: { time: number; kind: RotationGap["fromKind"] };
  if (before !== undefined) previous = { time: before, kind: "rotation" };
  else if (created !== undefined) previous = { time: created, kind: "creation" };
  else {
    // No creation date and no rotation before the period: the span before the first rotation is only
    // partly known. It is judged from the period start; if even that part is too long, the rest is unknown.
    const first = inSpan[0] ?? end;
    if (first - periodStart > limit) {
      return makeFinding(metadata, {
        ...base,
        status: "warn",
        message: `the source reports neither the key's creation nor a rotation before ${range.from}, and the first rotation in ${range.label} came ${formatDays(first - periodStart)} days after its start; whether a rotation was missed is unknown${note}`,
      });
    }
    previous = { time: periodStart, kind: "period start" };
  }
  const anchor = previous;
  const gaps: RotationGap[] = [];
  const points = [
    ...inSpan.map((time) => ({ time, kind: "rotation" as const })),
    { time: end, kind: "end" as const },
  ];
  for (const point of points) {
    if (point.time - previous.time > limit) {
      gaps.push({
        from: new Date(previous.time).toISOString(),
        fromKind: previous.kind,
        to: new Date(point.time).toISOString(),
        toKind: point.kind,
        days: formatDays(point.time - previous.time),
      });
    }
    previous = { time: point.time, kind: "rotation" };
  }
  const seen = inSpan.map((time) => new Date(time).toISOString());
  const [firstGap] = gaps;
  if (firstGap !== undefined) {
    return makeFinding(metadata, {
      ...base,
      status: "fail",
      date: new Date(Date.parse(firstGap.from) + limit).toISOString(),
      message: `no rotation for ${summarizeList(gaps.map(describeGap), 3)} in ${range.label}, longer than ${allowed}; ${seen.length} rotation${seen.length === 1 ? "" : "s"} in the judged span${note}`,
    });
  }
  const from = `${new Date(anchor.time).toISOString()} (${anchor.kind})`;
  const what =
    seen.length === 0
      ? `no rotation was due: the last rotation point ${from} is within ${allowed} of the end of the judged span (${endIso})`
      : `rotated ${seen.length} time${seen.length === 1 ? "" : "s"} (${summarizeList(seen, 4)}), starting from ${from}, never more than ${allowed} apart up to ${endIso}`;
  return makeFinding(metadata, {
    ...base,
    status: "pass",
    ...(seen.length === 0 ? {} : { date: seen.at(-1) as string }),
    message: `in ${range.label} the key ${what}${note}`,
  });
}

/**
 * Rotation must have happened, not only be configured: every eligible key rotated at least every interval
 * plus grace across the period. A multi-Region replica is judged on its primary's rotations.
 */
export const check: Check = {
  metadata,
  run(snapshot) {
    const context: RotationPerformedContext = {
      range: snapshot.range,
      capturedAt: snapshot.capturedAt,
      maxRotationDays: snapshot.policy.maxRotationDays,
    };
    return [
      ...keysOf(snapshot, metadata.sourceTypes).map((listed) => {
        const { key, note } = rotationSubjectOf(snapshot, listed);
        return judgeRotationPerformed(key, context, note);
      }),
      ...keyPopulationGapFindings(metadata, snapshot),
    ];
  },
};
