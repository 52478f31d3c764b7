/** Exit codes are public interface: users script against them. */
export const EXIT_CODES = {
  /** `run`: a bundle was sealed and every configured source and location was collected completely. */
  OK: 0,
  FATAL: 1,
  VERIFY_FAILED: 1,
  /** Bad config or arguments: nothing was contacted. */
  BAD_INPUT: 2,
  /**
   * `run`: a bundle was sealed but the evidence is incomplete (a gap, or a finding with status `error`),
   * or a `deliver:` target failed for good (the bundle is sealed and stored; the others were delivered; a
   * queued run counts what settled within `--delivery-wait`).
   * `deliver`: a target failed. `doctor`: a source is unreachable or a permission is missing. Wins over
   * FAIL_ON when both apply: findings judged on incomplete evidence are themselves incomplete, and evidence
   * that did not reach where auditors look is not delivered.
   */
  INCOMPLETE: 3,
  /** `run --fail-on <severity>`: complete evidence, and an open `fail` at or above that severity. */
  FAIL_ON: 4,
  /**
   * `review import|sign`: refused because the review changed: a decision was changed by someone else since
   * the export, the review is signed (read-only), or items are still undecided. Nothing was saved.
   */
  REVIEW_CONFLICT: 5,
} as const;
