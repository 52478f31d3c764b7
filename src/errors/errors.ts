/**
 * Typed errors. They cross process boundaries (BullMQ jobs), so match on `name`/`code`, not `instanceof`.
 */
export const ERROR_CODES = {
  CONFIG_INVALID: { retryable: false, exitCode: 2 },
  ARGUMENT_INVALID: { retryable: false, exitCode: 2 },
  SIGNING_KEY_UNAVAILABLE: { retryable: false, exitCode: 1 },
  SOURCE_ACCESS_DENIED: { retryable: false, exitCode: 1 },
  SOURCE_UNAVAILABLE: { retryable: true, exitCode: 1 },
  BUNDLE_INVALID: { retryable: false, exitCode: 1 },
  STORAGE_REFUSED: { retryable: false, exitCode: 1 },
  /** A render timed out or the browser crashed twice: worth a retry on a fresh browser. */
  RENDER_FAILED: { retryable: true, exitCode: 1 },
  /** A worker cannot see a run's data directory (not the shared volume every worker must mount). */
  DATA_DIRECTORY_UNAVAILABLE: { retryable: false, exitCode: 1 },
  /** A bound on queued runs (`queue.maxQueuedRunsPerSource`) refused a new run; it passes once runs finish. */
  RUN_LIMIT_REACHED: { retryable: true, exitCode: 1 },
  /**
   * Sealing came too long after the evidence was read: a signature made now would fall outside the capture
   * window plus the margin `verify` accepts, so no bundle is sealed. Start a new run.
   */
  SEAL_TOO_LATE: { retryable: false, exitCode: 1 },
  /** No review with that id (a typo, another deployment's prefix): the API answers 404, the CLI exits 2. */
  REVIEW_NOT_FOUND: { retryable: false, exitCode: 2 },
  INTERNAL: { retryable: false, exitCode: 1 },
} as const;
export type ErrorCode = keyof typeof ERROR_CODES;

export class KeyproofError extends Error {
  override readonly name = "KeyproofError";
  readonly code: ErrorCode;
  readonly retryable: boolean;
  /** What the user can do about it. */
  readonly remediation: string | undefined;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; remediation?: string } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retryable = ERROR_CODES[code].retryable;
    this.remediation = options.remediation;
  }
}

export function isKeyproofError(error: unknown): error is KeyproofError {
  return error instanceof Error && error.name === "KeyproofError" && "code" in error;
}

/** One problem in a config file, located for `file:line field: message` output. */
export interface ConfigProblem {
  file: string;
  /** 1-based; 0 when the problem has no place in the text (the file cannot be read, is too large). */
  line: number;
  /** 1-based, when known (YAML syntax errors). */
  column?: number;
  field: string;
  message: string;
}

export class ConfigError extends KeyproofError {
  readonly problems: ConfigProblem[];
  constructor(problems: ConfigProblem[]) {
    super("CONFIG_INVALID", problems.map(formatConfigProblem).join("\n"));
    this.problems = problems;
  }
}

export function formatConfigProblem(problem: ConfigProblem): string {
  const column = problem.column === undefined ? "" : `:${problem.column}`;
  return `${problem.file}:${problem.line}${column} ${problem.field}: ${problem.message}`;
}

export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

/** The Node system-error `code` (`ENOENT`, `EEXIST`, ...) of a thrown value, if it has a string one. */
export function nodeErrorCode(error: unknown): string | undefined {
  return typeof error === "object" && error !== null && "code" in error && typeof error.code === "string"
    ? error.code
    : undefined;
}
