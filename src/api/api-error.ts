/**
 * The only error shapes the API answers with. Bodies name the problem and, for bad input, the field;
 * they never carry a stack trace, an internal path of the server, or a credential.
 */
export const API_ERROR_CODES = {
  bad_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  unavailable: 503,
  internal: 500,
} as const;
export type ApiErrorCode = keyof typeof API_ERROR_CODES;

export interface ApiErrorBody {
  error: ApiErrorCode;
  message: string;
  /** The request field at fault (`from`, `sources[1]`, `period`), for 400s. */
  field?: string;
  /** Correlates with the server log for 500s. */
  requestId?: string;
}

export class ApiError extends Error {
  override readonly name = "ApiError";
  readonly status: number;

  constructor(
    readonly code: ApiErrorCode,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.status = API_ERROR_CODES[code];
  }

  toBody(): ApiErrorBody {
    return {
      error: this.code,
      message: this.message,
      ...(this.field === undefined ? {} : { field: this.field }),
    };
  }
}

export function badRequest(field: string, message: string): ApiError {
  return new ApiError("bad_request", `${field}: ${message}`, field);
}
