/**
 * A key reference of an Azure vault as `listKeys` writes it and `collectKeys` reads it back (possibly in
 * another process, through a file): the listed properties as plain JSON, checked before they are trusted.
 */
import type { KeyProperties } from "@azure/keyvault-keys";
import { z } from "zod";
import type { JsonValue, KeyRef } from "../key-provider.ts";
import { toIsoInstant } from "../shared/raw-value.ts";

/** An ISO-8601 instant exactly as `Date#toISOString` writes it, so reading it back gives the same string. */
const IsoInstantSchema = z.string().refine((value) => {
  const date = new Date(value);
  return !Number.isNaN(date.getTime()) && date.toISOString() === value;
}, "not an ISO-8601 instant");

/**
 * A key reference's `listed`: the listed `KeyProperties` a key record needs, as plain JSON (dates as ISO
 * strings, absent values omitted). The name addresses the key; the rest is what the record falls back to when
 * `getKey` fails, and the listed id is the record's `arn`, as when the location was collected in one call.
 */
export const ListedKeySchema = z.object({
  name: z.string().min(1),
  id: z.string().min(1).optional(),
  enabled: z.boolean().optional(),
  managed: z.boolean().optional(),
  tags: z.record(z.string(), z.string()).optional(),
  createdOn: IsoInstantSchema.optional(),
  expiresOn: IsoInstantSchema.optional(),
});
export type ListedKey = z.infer<typeof ListedKeySchema>;

/** A key's id within the source, as on its record (the vault URL is normalized, without a trailing slash). */
export function keyIdOf(location: string, name: string): string {
  return `${location}/keys/${name}`;
}

/** Code-unit order, not locale order: the same on every machine that cuts batches from the listing. */
export function byKeyId(left: KeyRef, right: KeyRef): number {
  if (left.keyId === right.keyId) return 0;
  return left.keyId < right.keyId ? -1 : 1;
}

/** The listed properties as a reference carries them: plain JSON, nothing undefined. */
export function toListedJson(properties: KeyProperties): { [field: string]: JsonValue } {
  const listed: { [field: string]: JsonValue } = { name: properties.name };
  if (properties.id !== undefined) listed["id"] = properties.id;
  if (properties.enabled !== undefined) listed["enabled"] = properties.enabled;
  if (properties.managed !== undefined) listed["managed"] = properties.managed;
  if (properties.tags !== undefined) listed["tags"] = { ...properties.tags };
  const created = toIsoInstant(properties.createdOn);
  if (created !== undefined) listed["createdOn"] = created;
  const expires = toIsoInstant(properties.expiresOn);
  if (expires !== undefined) listed["expiresOn"] = expires;
  return listed;
}

/**
 * Reads a reference back (it may come from another process, through a file): a `listed` that is not what
 * `listKeys` wrote, or that names another key or vault, is an error about that key rather than a throw.
 */
export function readKeyRef(
  location: string,
  ref: KeyRef,
): { ok: true; listed: ListedKey } | { ok: false; message: string } {
  // The type says KeyRef, but the value came through JSON from another process: check before trusting.
  const keyId: unknown = (ref as { keyId?: unknown } | null)?.keyId;
  if (typeof keyId !== "string") return { ok: false, message: "keyId is not a string" };
  const parsed = ListedKeySchema.safeParse(ref.listed);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where =
      issue === undefined || issue.path.length === 0 ? "listed" : `listed.${issue.path.join(".")}`;
    return { ok: false, message: `${where}: ${issue?.message ?? "invalid"}` };
  }
  const expected = keyIdOf(location, parsed.data.name);
  if (keyId !== expected) {
    return {
      ok: false,
      message: `listed name ${parsed.data.name} in ${location} is key ${expected}, not ${keyId}`,
    };
  }
  return { ok: true, listed: parsed.data };
}
