/** How a Vault source names its namespace, mounts, location and calls. Pure. */

/** `admin` / `/admin/` → `admin/`; undefined or empty → `""` (root namespace). */
export function normalizeNamespace(namespace: string | undefined): string {
  const trimmed = (namespace ?? "").replace(/^\/+|\/+$/g, "");
  return trimmed.length === 0 ? "" : `${trimmed}/`;
}

/** `team-a/transit/` → `team-a/transit`. */
export function normalizeMount(mount: string): string {
  return mount.replace(/^\/+|\/+$/g, "");
}

/** The single location of a source: the address, plus `/v1/<namespace>` for a namespace. */
export function vaultLocation(address: string, namespace: string | undefined): string {
  const base = address.replace(/\/+$/, "");
  const ns = normalizeNamespace(namespace);
  return ns.length === 0 ? base : `${base}/v1/${ns.replace(/\/$/, "")}`;
}

/** Calls are named like `vault:GET sys/policies/acl/app`, so a gap says exactly what failed. */
export function vaultCall(verb: "GET" | "LIST", apiPath: string): string {
  return `vault:${verb} ${apiPath}`;
}
