/**
 * What `keyproof doctor` learns about one source, before any run: is it reachable, and may the identity make
 * every call keyproof makes. Each provider folder has a `*.doctor.ts` that probes with the provider's own
 * clients and the fewest calls that exercise each permission (one page of one item, on one key).
 */

export const PERMISSION_STATUSES = ["ok", "missing", "unreachable", "error", "untested"] as const;
/**
 * `ok` the call was allowed; `missing` it was refused (or no credentials/token at all); `unreachable` no
 * answer from the endpoint; `error` an answer that says nothing about the permission (5xx, throttling);
 * `untested` nothing to call it on (no key in the region, no trail) or an earlier probe already failed.
 */
export type PermissionStatus = (typeof PERMISSION_STATUSES)[number];

export interface PermissionCheck {
  /** The permission exactly as the platform names it: `kms:GetKeyPolicy`, `read sys/mounts`, `Microsoft.KeyVault/vaults/read`. */
  permission: string;
  status: PermissionStatus;
  /** Where and why: the region, the error code and message, what was called on. */
  detail?: string;
  /** What to change, for `missing` and `unreachable`. */
  fix?: string;
}

/** Only `ok` and `untested` (nothing to test on) leave the source usable; `doctor` exits 3 otherwise. */
export function isPermissionProblem(status: PermissionStatus): boolean {
  return status === "missing" || status === "unreachable" || status === "error";
}
