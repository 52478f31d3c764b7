import type { Check } from "./check.ts";
import { makeFinding } from "./check.ts";
import { registry } from "./registry.ts";
import { describeError } from "../errors/errors.ts";
import type { Finding } from "../model/finding.ts";
import type { Snapshot } from "../model/snapshot.ts";

/** Source of the finding that stands in for a check that threw: not a configured source. */
export const CHECK_FAILURE_SOURCE = "keyproof";

/** Code-point order, locale-independent, so a bundle's findings.json is byte-identical wherever it is built. */
function compareText(left: string | undefined, right: string | undefined): number {
  if (left === right) return 0;
  if (left === undefined) return -1;
  if (right === undefined) return 1;
  return left < right ? -1 : 1;
}

/** Check id, then source, location, key id; source- and inventory-level findings (no location/key) first. */
export function compareFindings(left: Finding, right: Finding): number {
  return (
    compareText(left.checkId, right.checkId) ||
    compareText(left.source, right.source) ||
    compareText(left.location, right.location) ||
    compareText(left.keyId, right.keyId)
  );
}

/**
 * Runs every check on the snapshot. Pure: same snapshot, same findings in the same order (ties keep each
 * check's own order, e.g. inventory entries by index). A check that throws is a bug, but the rest of the
 * evidence must survive it: it becomes one `error` finding naming the check, never a silent gap.
 */
export function runChecks(snapshot: Snapshot, checks: readonly Check[] = registry): Finding[] {
  const findings: Finding[] = [];
  for (const check of checks) findings.push(...runOne(check, snapshot, findings));
  return findings.sort(compareFindings);
}

/** One check, given the findings of the checks before it (a copy: never a list that grows while it reads). */
function runOne(check: Check, snapshot: Snapshot, earlier: readonly Finding[]): Finding[] {
  try {
    return check.run(snapshot, { findings: [...earlier] });
  } catch (error) {
    return [
      makeFinding(check.metadata, {
        status: "error",
        source: CHECK_FAILURE_SOURCE,
        resource: `check:${check.metadata.id}`,
        message: `check ${check.metadata.id} failed to run: ${describeError(error)}`,
        evidence: [],
      }),
    ];
  }
}
