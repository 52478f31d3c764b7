/**
 * Reads vitest's JSON report (`--reporter=json`) for scripts/test.sh: the counts of its closing line and
 * the slowest tests. Counts come from the report, not from vitest's console output, so the line is exact.
 * Pure: the caller reads the file and prints.
 */
import path from "node:path";
import { z } from "zod";

/** The fields read here; vitest writes more (`JsonTestResults` in vitest/reporters), all ignored. */
const AssertionResultSchema = z.object({
  ancestorTitles: z.array(z.string()),
  title: z.string(),
  status: z.string(),
  // Absent or null for a test that never ran (skipped, todo, or its file failed to import).
  duration: z.number().nullish(),
});

const TestFileResultSchema = z.object({
  name: z.string(),
  status: z.string(),
  assertionResults: z.array(AssertionResultSchema),
});

export const VitestReportSchema = z.object({
  numPassedTests: z.number().default(0),
  numFailedTests: z.number().default(0),
  numPendingTests: z.number().default(0),
  numTodoTests: z.number().default(0),
  testResults: z.array(TestFileResultSchema).default([]),
});
export type VitestReport = z.infer<typeof VitestReportSchema>;

export interface ReportCounts {
  passed: number;
  failed: number;
  /** Skipped and todo tests. */
  skipped: number;
  /** Files that failed before running any test (an import error): they report no test at all. */
  unloadedFiles: number;
}

export function countTests(report: VitestReport): ReportCounts {
  return {
    passed: report.numPassedTests,
    failed: report.numFailedTests,
    skipped: report.numPendingTests + report.numTodoTests,
    unloadedFiles: report.testResults.filter(
      (file) => file.status === "failed" && file.assertionResults.length === 0,
    ).length,
  };
}

export interface TimedTest {
  /** Relative to the checkout, e.g. `test/integration/queue-run.test.ts`. */
  file: string;
  /** Describe blocks then the test's title, joined by ` > `. */
  name: string;
  durationMs: number;
  status: string;
}

/** The `limit` tests that took longest, slowest first; tests without a duration are left out. */
export function slowestTests(report: VitestReport, root: string, limit: number): TimedTest[] {
  const timed: TimedTest[] = [];
  for (const file of report.testResults) {
    for (const test of file.assertionResults) {
      if (test.duration === undefined || test.duration === null) continue;
      timed.push({
        file: path.relative(root, file.name),
        name: [...test.ancestorTitles, test.title].join(" > "),
        durationMs: test.duration,
        status: test.status,
      });
    }
  }
  return timed.sort((a, b) => b.durationMs - a.durationMs).slice(0, limit);
}

/** One line per test: seconds right-aligned, then `file > describe > test`, and `(failed)` when it did. */
export function formatSlowestTests(tests: readonly TimedTest[]): string[] {
  return tests.map((test) => {
    const seconds = (test.durationMs / 1000).toFixed(1).padStart(6);
    const failed = test.status === "failed" ? " (failed)" : "";
    return `${seconds} s  ${test.file} > ${test.name}${failed}`;
  });
}
