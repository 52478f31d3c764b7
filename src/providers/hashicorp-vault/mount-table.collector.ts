/** The mount table (`GET sys/mounts`), the transit mounts to collect, and each mount's key names. */
import type { Collected, CollectionError } from "../../model/key.ts";
import type { SourceGap } from "../../model/snapshot.ts";
import { dataOf, type VaultApi } from "./vault-client.ts";
import { setupError, toVaultCollectionError } from "./vault-error.ts";
import { normalizeMount, vaultCall } from "./vault-paths.ts";

/** `GET sys/mounts`, read once: the table, or why there is none. */
export type MountTableRead =
  | { ok: true; table: Record<string, unknown>; call: string; capturedAt: string }
  | { ok: false; error: CollectionError; capturedAt: string };

/** `LIST <mount>/keys`, sorted: the names, or why there are none. */
export type KeyNamesRead =
  { ok: true; names: string[] } | { ok: false; error: CollectionError; capturedAt: string };

export async function readMountTable(api: VaultApi, now: () => string): Promise<MountTableRead> {
  const call = vaultCall("GET", "sys/mounts");
  try {
    const table = dataOf(await api.read("sys/mounts"));
    return { ok: true, table, call, capturedAt: now() };
  } catch (error) {
    return { ok: false, error: toVaultCollectionError(call, error), capturedAt: now() };
  }
}

/**
 * The transit mounts to list, sorted; configured mounts (`mountFilter`) that are missing or not transit
 * become gaps (built by `toGap`, pushed onto `gaps`).
 */
export function transitMounts(
  read: MountTableRead,
  mountFilter: ReadonlySet<string> | undefined,
  gaps: SourceGap[],
  toGap: (error: CollectionError) => SourceGap,
): string[] {
  if (!read.ok) {
    // Without the mount table only configured mounts can be listed. Their keys are then complete (a mount
    // that cannot be listed becomes its own gap), so the failure is kept on each key's raw mount entry;
    // without configured mounts nothing can be enumerated and the whole location is a gap.
    if (mountFilter === undefined) gaps.push(toGap(read.error));
    return [...(mountFilter ?? [])];
  }
  const transit = Object.entries(read.table)
    .filter(([, entry]) => (entry as { type?: unknown } | null)?.type === "transit")
    .map(([mountPath]) => normalizeMount(mountPath));
  if (mountFilter === undefined) return transit.sort((a, b) => a.localeCompare(b));
  for (const wanted of mountFilter) {
    if (transit.includes(wanted)) continue;
    const other = read.table[`${wanted}/`] as { type?: unknown } | undefined;
    gaps.push(
      toGap({
        call: read.call,
        code: "MountNotFound",
        message:
          other === undefined
            ? `configured mount "${wanted}" does not exist`
            : `configured mount "${wanted}" is a ${String(other.type)} mount, not transit`,
        retryable: false,
      }),
    );
  }
  return transit.filter((mount) => mountFilter.has(mount)).sort((a, b) => a.localeCompare(b));
}

/** The mount's `sys/mounts` entry, kept as raw evidence on each of its keys. */
export function mountEntry(read: MountTableRead, mount: string): Collected<unknown> {
  if (!read.ok) return { ok: false, error: read.error, capturedAt: read.capturedAt };
  const entry = read.table[`${mount}/`];
  // Only when the mount went away between the listing and this batch (another instance's listing).
  if (entry === undefined) {
    return {
      ok: false,
      error: setupError(read.call, "MountNotFound", `mount "${mount}" is not in the mount table`),
      capturedAt: read.capturedAt,
    };
  }
  return { ok: true, value: entry, call: read.call, capturedAt: read.capturedAt };
}

export async function listKeyNames(api: VaultApi, mount: string, now: () => string): Promise<KeyNamesRead> {
  try {
    return { ok: true, names: [...(await api.list(`${mount}/keys`))].sort() };
  } catch (error) {
    return {
      ok: false,
      error: toVaultCollectionError(vaultCall("LIST", `${mount}/keys`), error),
      capturedAt: now(),
    };
  }
}
