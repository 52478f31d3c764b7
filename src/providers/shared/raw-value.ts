/**
 * SDK outputs carry `$metadata` (AWS request ids, retry counts), `Date` objects and byte arrays. The bundle
 * keeps a response as the service sent it, so `$metadata` and undefined fields are dropped, dates become
 * ISO-8601 strings and bytes base64url: the raw value is then plain JSON and survives a trip through a job
 * queue unchanged.
 */
export function toRawValue(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString("base64url");
  if (Array.isArray(value)) return value.map(toRawValue);
  if (typeof value === "object" && value !== null) {
    const plain: Record<string, unknown> = {};
    for (const [name, entry] of Object.entries(value)) {
      if (name === "$metadata" || entry === undefined) continue;
      plain[name] = toRawValue(entry);
    }
    return plain;
  }
  return value;
}

/** UTC ISO-8601 of an SDK timestamp (a Date, or a string/number some emulators send); undefined if invalid. */
export function toIsoInstant(value: Date | string | number | undefined): string | undefined {
  if (value === undefined) return undefined;
  const date = value instanceof Date ? value : new Date(typeof value === "number" ? value * 1000 : value);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}
