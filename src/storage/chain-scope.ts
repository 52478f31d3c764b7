import { createHash } from "node:crypto";
import type { Config } from "../config/config.schema.ts";
import { slugify } from "../evidence/paths.ts";

/**
 * Names for the hash chain. A scope is the set of bundles that chain to each other: by default one per
 * organization and set of sources (`example_corp__aws-prod+vault-main`), so adding or removing a source
 * starts a new chain rather than linking evidence of different populations; `storage.scope` names it
 * explicitly (for example to keep one chain across a renamed source). Objects are named
 * `<scope>/<stored-at>-<runId>.tar.gz`: the fixed-width UTC stamp makes key order the order of storage,
 * which is the order the chain links in (a run that seals late still links to the last stored bundle).
 */

const MAX_SCOPE = 100;

export function chainScope(config: Pick<Config, "organization" | "sources" | "storage">): string {
  const explicit = config.storage?.scope;
  if (explicit !== undefined) return explicit;
  const organization = slugify(config.organization).toLowerCase().slice(0, 40);
  const sources = config.sources.map((source) => source.id).sort();
  const joined = sources.join("+");
  const scope = `${organization}__${joined}`;
  if (scope.length <= MAX_SCOPE) return scope;
  // Many sources: a digest keeps the name short and still changes with the source set.
  const digest = createHash("sha256").update(joined).digest("hex").slice(0, 16);
  return `${organization}__sources-${digest}`;
}

/** `20261128T163000.123Z`: sortable as text, millisecond precision so quick successive runs keep their order. */
export function storageStamp(date: Date): string {
  return date.toISOString().replace(/[-:]/g, "");
}

/** `<scope>/<stamp>-<runId>.tar.gz` */
export function bundleObjectName(scope: string, runId: string, storedAt: Date): string {
  return `${scope}/${storageStamp(storedAt)}-${slugify(runId)}.tar.gz`;
}

/** True for names `bundleObjectName` produces, so foreign objects under a scope are not taken as bundles. */
export function isBundleObjectName(fileName: string): boolean {
  return /^\d{8}T\d{6}\.\d{3}Z-.+\.tar\.gz$/.test(fileName);
}
