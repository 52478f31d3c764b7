import type { Collected, CollectionError } from "../../src/model/key.ts";

/** The instant every factory stamps as `capturedAt`, so snapshots compare equal across runs. */
export const CAPTURED_AT = "2026-10-01T08:00:00.000Z";

/** A fact gathered successfully by `call`. */
export function collected<T>(value: T, call = "test:Call"): Collected<T> {
  return { ok: true, value, call, capturedAt: CAPTURED_AT };
}

export function makeCollectionError(overrides: Partial<CollectionError> = {}): CollectionError {
  return {
    call: "kms:GetKeyPolicy",
    code: "AccessDeniedException",
    message: "User is not authorized to perform this operation",
    retryable: false,
    ...overrides,
  };
}

/** A fact that could not be gathered: `notCollected("kms:GetKeyRotationStatus")`. */
export function notCollected<T = never>(
  call: string,
  overrides: Partial<Omit<CollectionError, "call">> = {},
): Collected<T> {
  return { ok: false, error: makeCollectionError({ call, ...overrides }), capturedAt: CAPTURED_AT };
}
