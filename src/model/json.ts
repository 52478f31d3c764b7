/** Plain JSON: what may travel between jobs (and machines) and be written verbatim into evidence. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [field: string]: JsonValue };

/**
 * The value as JSON, or undefined when any part of it is not (functions, symbols, bigint, non-finite
 * numbers, class instances such as Date). Log records come from `JSON.parse`, so this only narrows their
 * `unknown` type; a value that fails was not read from a log and must not pass for one.
 */
export function toJsonValue(value: unknown): JsonValue | undefined {
  if (value === null || typeof value === "string" || typeof value === "boolean") return value;
  if (typeof value === "number") return Number.isFinite(value) ? value : undefined;
  if (Array.isArray(value)) {
    const items: JsonValue[] = [];
    for (const item of value) {
      const json = toJsonValue(item);
      if (json === undefined) return undefined;
      items.push(json);
    }
    return items;
  }
  if (typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
    const object: { [field: string]: JsonValue } = {};
    for (const [field, item] of Object.entries(value)) {
      const json = toJsonValue(item);
      if (json === undefined) return undefined;
      object[field] = json;
    }
    return object;
  }
  return undefined;
}
