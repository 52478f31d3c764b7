import type { RotationEvent, RotationStatus } from "../../model/key.ts";

/**
 * Key Vault rotation policies to the model's `RotationStatus`. Rotation is on when any lifetime action is
 * `Rotate`; the data plane says `Rotate`/`Notify`, ARM and Bicep say `rotate`/`notify`, so the comparison is
 * case-insensitive. A key that never had a policy set gets a Notify-only default from Azure, and an empty
 * body from Lowkey Vault: both mean "no automatic rotation", not a failure.
 */

export interface AzureLifetimeAction {
  action: string;
  timeAfterCreate?: string;
  timeBeforeExpiry?: string;
}

export interface AzureRotationPolicy {
  id?: string;
  /** ISO-8601 duration: how long each new version lives (`P2Y`). */
  expiresIn?: string;
  lifetimeActions?: AzureLifetimeAction[];
  createdOn?: Date;
  updatedOn?: Date;
}

export interface KeyVersionInfo {
  version: string;
  /** UTC ISO-8601 */
  createdOn?: string;
}

const DURATION =
  /^P(?:(\d+(?:\.\d+)?)Y)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)W)?(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$/i;

/**
 * ISO-8601 duration → days. Years count 365 days and months 30, the convention Key Vault's own docs use for
 * rotation periods ("P1Y" rotates roughly yearly); undefined for anything that is not a duration.
 */
export function isoDurationToDays(duration: string | undefined): number | undefined {
  if (duration === undefined) return undefined;
  const match = DURATION.exec(duration.trim());
  if (match === null || duration.trim() === "P" || /T$/i.test(duration.trim())) return undefined;
  const [, years, months, weeks, days, hours, minutes, seconds] = match.map((part) =>
    part === undefined ? 0 : Number(part),
  ) as [unknown, number, number, number, number, number, number, number];
  const total = years * 365 + months * 30 + weeks * 7 + days + hours / 24 + minutes / 1440 + seconds / 86_400;
  return Math.round(total * 1000) / 1000;
}

/** A policy object with nothing in it: what the JS client makes of Lowkey's empty 200 body. */
export function isEmptyRotationPolicy(policy: AzureRotationPolicy | undefined): boolean {
  return (
    policy === undefined ||
    (policy.id === undefined &&
      policy.expiresIn === undefined &&
      (policy.lifetimeActions === undefined || policy.lifetimeActions.length === 0))
  );
}

function addDaysIso(iso: string, days: number): string {
  return new Date(Date.parse(iso) + days * 86_400_000).toISOString();
}

/**
 * Builds the rotation status from the policy and the key's versions. `periodDays` is the rotation interval
 * the policy implies: `timeAfterCreate` when set, otherwise `expiryTime - timeBeforeExpiry` (rotate N days
 * before each version expires). Versions after the first are recorded as `new-version` history entries:
 * Key Vault does not say whether a version came from the policy or a manual rotate.
 */
export function toRotationStatus(
  policy: AzureRotationPolicy | undefined,
  versions: readonly KeyVersionInfo[],
): RotationStatus {
  const sorted = versions
    .filter((version): version is KeyVersionInfo & { createdOn: string } => version.createdOn !== undefined)
    .sort((left, right) => left.createdOn.localeCompare(right.createdOn));
  const history: RotationEvent[] = sorted
    .slice(1)
    .map((version) => ({ date: version.createdOn, type: "new-version", version: version.version }));
  // The newest version is where the schedule counts from (the creation when the key never rotated);
  // lastRotation is only ever a real rotation, the last history event.
  const latest = sorted.at(-1)?.createdOn;
  const lastRotation = history.at(-1)?.date;
  const empty = isEmptyRotationPolicy(policy);
  // Azure's default for a key nobody configured: Notify-only, no creation stamp, no expiry time.
  const serviceDefault =
    !empty &&
    policy?.createdOn === undefined &&
    policy?.expiresIn === undefined &&
    (policy?.lifetimeActions ?? []).every((action) => action.action.toLowerCase() === "notify");
  const actions = policy?.lifetimeActions ?? [];
  const rotate = actions.find((action) => action.action.toLowerCase() === "rotate");
  const expiryDays = isoDurationToDays(policy?.expiresIn);
  const afterCreateDays = isoDurationToDays(rotate?.timeAfterCreate);
  const beforeExpiryDays = isoDurationToDays(rotate?.timeBeforeExpiry);
  let periodDays: number | undefined;
  if (afterCreateDays !== undefined) periodDays = afterCreateDays;
  else if (beforeExpiryDays !== undefined && expiryDays !== undefined)
    periodDays = expiryDays - beforeExpiryDays;

  const status: RotationStatus = {
    enabled: rotate !== undefined,
    history,
    detail: {
      policy: empty ? "none" : serviceDefault ? "service-default" : "set",
      ...(empty || serviceDefault
        ? { note: "no rotation policy was set on the key; the service default only notifies before expiry" }
        : {}),
      lifetimeActions: actions.map((action) => ({
        action: action.action,
        ...(action.timeAfterCreate === undefined ? {} : { timeAfterCreate: action.timeAfterCreate }),
        ...(action.timeBeforeExpiry === undefined ? {} : { timeBeforeExpiry: action.timeBeforeExpiry }),
      })),
      ...(policy?.expiresIn === undefined ? {} : { expiryTime: policy.expiresIn }),
      ...(expiryDays === undefined ? {} : { expiryDays }),
      ...(afterCreateDays === undefined ? {} : { timeAfterCreateDays: afterCreateDays }),
      ...(beforeExpiryDays === undefined ? {} : { timeBeforeExpiryDays: beforeExpiryDays }),
      versionCount: versions.length,
    },
  };
  if (periodDays !== undefined && rotate !== undefined) status.periodDays = periodDays;
  if (lastRotation !== undefined) status.lastRotation = lastRotation;
  if (rotate !== undefined && latest !== undefined && periodDays !== undefined) {
    status.nextRotation = addDaysIso(latest, periodDays);
  }
  return status;
}
