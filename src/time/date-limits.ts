/**
 * The bounds of every date range keyproof collects, without imports so config/ can use them too.
 * Why these values: see src/time/date-range.ts.
 */
export const MIN_YEAR = 1970;
export const MAX_YEAR = 2100;
/**
 * Default of `policy.maxRangeDays`: a year plus a margin (a leap year, a quarter-aligned audit window).
 * Collection costs grow with length (one CloudTrail S3 listing per day and region), so a 10-year typo is
 * refused before anything is contacted.
 */
export const DEFAULT_MAX_RANGE_DAYS = 400;
