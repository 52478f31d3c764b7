/**
 * SDK outputs carry `$metadata` (request ids, retry counts) and `Date` objects. The bundle keeps the
 * response as AWS sent it, so `$metadata` is dropped and dates become ISO-8601 strings: the raw value
 * is then plain JSON and survives a trip through a job queue unchanged.
 */
export function toRawValue(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString();
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

/** UTC ISO-8601 of an SDK timestamp (a Date, or a string/number some emulators send). */
export function toIsoInstant(value: Date | string | number | undefined): string | undefined {
  if (value === undefined) return undefined;
  const date = value instanceof Date ? value : new Date(typeof value === "number" ? value * 1000 : value);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}
