import { z } from "zod";

/**
 * The only error shape the API answers with, for its own errors and Fastify's (bad URL encoding, a too
 * long URL, a body that is not JSON, an unknown route, the rate limit). Bodies name the problem and, for
 * bad input, the field; they never carry a stack trace, an internal path of the server, a credential, or
 * the request's URL or body read back.
 */
export const API_ERROR_CODES = {
  bad_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  uri_too_long: 414,
  unsupported_media_type: 415,
  too_many_requests: 429,
  unavailable: 503,
  internal: 500,
} as const;
export type ApiErrorCode = keyof typeof API_ERROR_CODES;

const API_ERROR_CODE_NAMES = Object.keys(API_ERROR_CODES) as [ApiErrorCode, ...ApiErrorCode[]];

export const ApiErrorBodySchema = z
  .object({
    error: z.enum(API_ERROR_CODE_NAMES),
    message: z.string(),
    field: z
      .string()
      .optional()
      .meta({ description: "The request field at fault (`from`, `sources[1]`, `cron`), for 400s" }),
    requestId: z.string().optional().meta({ description: "Correlates with the server log, for 500s" }),
  })
  .meta({ id: "Error", description: "Every error the API answers, whatever its status" });
export type ApiErrorBody = z.infer<typeof ApiErrorBodySchema>;

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
