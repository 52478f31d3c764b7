/**
 * Reading fields of values whose shape the SDKs do not promise (thrown errors, log records): each helper
 * answers undefined instead of throwing, so a surprising value becomes a recorded gap, not a crash.
 */

export function asObject(value: unknown): Record<string, unknown> | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

/** A non-empty string, or undefined. */
export function asString(value: unknown): string | undefined {
  return typeof value === "string" && value.length > 0 ? value : undefined;
}

export function readProperty(value: unknown, property: string): unknown {
  if (typeof value !== "object" || value === null) return undefined;
  return (value as Record<string, unknown>)[property];
}

/** A property that is a non-empty string, or undefined. */
export function readString(value: unknown, property: string): string | undefined {
  return asString(readProperty(value, property));
}
