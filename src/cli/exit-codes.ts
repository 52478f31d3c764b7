/** Exit codes are public interface: users script against them. */
export const EXIT_CODES = {
  OK: 0,
  FATAL: 1,
  VERIFY_FAILED: 1,
  BAD_INPUT: 2,
} as const;
