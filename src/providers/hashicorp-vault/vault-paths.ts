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

/**
 * The namespace a location addresses, the inverse of `vaultLocation`: `""` for the address itself,
 * `admin/team-a/` for `<address>/v1/admin/team-a`. Undefined for a location of another address. A worker
 * handed a location from the plan reads its namespace from it without having discovered anything.
 */
export function namespaceOfLocation(address: string, location: string): string | undefined {
  const base = address.replace(/\/+$/, "");
  if (location === base) return "";
  const prefix = `${base}/v1/`;
  if (!location.startsWith(prefix)) return undefined;
  const namespace = normalizeNamespace(location.slice(prefix.length));
  return namespace.length > 0 && vaultLocation(base, namespace) === location ? namespace : undefined;
}

/** `admin/` + `team-a/` (a key of `LIST sys/namespaces` in `admin/`) → `admin/team-a/`. */
export function childNamespace(parent: string, child: string): string {
  return normalizeNamespace(`${parent}${child}`);
}

/** Whether `namespace` is `root` itself or lies below it (both normalized; `""` is the root namespace). */
export function isWithinNamespace(root: string, namespace: string): boolean {
  return namespace.startsWith(root);
}
